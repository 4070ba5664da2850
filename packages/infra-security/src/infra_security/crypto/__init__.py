"""AES-256-GCM payload encryption: keyrings, keyset files, field encryption, Vault/OpenBao Transit envelopes."""

from __future__ import annotations

from infra_security.crypto._encryption import EnvelopeBackend, PayloadEncryption
from infra_security.crypto._fields import FieldEncryption
from infra_security.crypto._keyring import KeyInfo, Keyring, KeyState
from infra_security.crypto._transit import TransitEnvelope
from infra_security.crypto._usage import MemoryCounter, UsageCounter

__all__ = [
    "EnvelopeBackend",
    "FieldEncryption",
    "KeyInfo",
    "KeyState",
    "Keyring",
    "MemoryCounter",
    "PayloadEncryption",
    "TransitEnvelope",
    "UsageCounter",
]
