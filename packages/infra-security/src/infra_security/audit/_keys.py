"""The audit log's keys: HMAC chain key, redaction key and Ed25519 checkpoint-signing key.

Stored as one JSON file (mode 0600, refused if the group or others can read it)::

    {"type": "infra-security/audit-keys", "version": 1,
     "chain_key": "<base64url 32 bytes>", "redaction_key": "<base64url 32 bytes>",
     "signing_key": "<base64url Ed25519 private key, 32 bytes>"}

A verifier needs ``chain_key`` and the public half of ``signing_key`` (``verify_key`` may be given instead).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from infra_models.encoding import b64url_decode, b64url_encode
from infra_security.crypto._keyset_file import check_private_file, write_private_file
from infra_security.errors import AuditConfigError, KeysetError

__all__ = ["AUDIT_KEYS_TYPE", "AuditKeys"]

AUDIT_KEYS_TYPE = "infra-security/audit-keys"


def _b64(data: bytes) -> str:
    return b64url_encode(data)


def _unb64(text: object, field: str, source: str) -> bytes:
    if not isinstance(text, str):
        raise AuditConfigError(f"{source}: field `{field}` must be a base64url string")
    try:
        data = b64url_decode(text, what=f"field `{field}`")
    except ValueError as exc:
        raise AuditConfigError(f"{source}: field `{field}` is not base64url") from exc
    if len(data) != 32:
        raise AuditConfigError(f"{source}: field `{field}` must be 32 bytes, got {len(data)}")
    return data


@dataclass(frozen=True)
class AuditKeys:
    """Keys of one audit log. ``signing_key`` is absent on a verify-only copy."""

    chain_key: bytes = field(repr=False)
    redaction_key: bytes = field(repr=False)
    signing_key: Ed25519PrivateKey | None = field(repr=False)
    verify_key: Ed25519PublicKey = field(repr=False)

    def __repr__(self) -> str:
        """Names the keys by fingerprint; never shows key material."""
        kind = "signing" if self.signing_key is not None else "verify-only"
        return f"AuditKeys(key_id={self.key_id!r}, {kind})"

    @property
    def key_id(self) -> str:
        """A 16-hex-digit fingerprint of the chain key, written into every record (detects a re-keyed log)."""
        return hmac.digest(self.chain_key, b"infra-security/audit key id", hashlib.sha256)[:8].hex()

    @classmethod
    def generate(cls) -> AuditKeys:
        """Fresh random keys."""
        signing = Ed25519PrivateKey.generate()
        return cls(os.urandom(32), os.urandom(32), signing, signing.public_key())

    def to_json(self, *, include_signing_key: bool = True) -> bytes:
        """The keys file document (secret: contains the chain key)."""
        doc: dict[str, object] = {
            "type": AUDIT_KEYS_TYPE,
            "version": 1,
            "chain_key": _b64(self.chain_key),
            "redaction_key": _b64(self.redaction_key),
            "verify_key": _b64(self.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)),
        }
        if include_signing_key and self.signing_key is not None:
            doc["signing_key"] = _b64(self.signing_key.private_bytes_raw())
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"

    def save(self, path: Path) -> None:
        """Write atomically with mode 0600."""
        write_private_file(path, self.to_json())

    @classmethod
    def from_json(cls, raw: bytes, source: str) -> AuditKeys:
        """Parse a keys document; problems name ``source`` and the field."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise AuditConfigError(f"{source}: not JSON ({exc})") from exc
        if not isinstance(doc, dict) or doc.get("type") != AUDIT_KEYS_TYPE or doc.get("version") != 1:
            raise AuditConfigError(
                f'{source}: not an audit keys file (expected "type": "{AUDIT_KEYS_TYPE}", version 1)'
            )
        chain = _unb64(doc.get("chain_key"), "chain_key", source)
        redaction = _unb64(doc.get("redaction_key"), "redaction_key", source)
        signing = None
        if "signing_key" in doc:
            signing = Ed25519PrivateKey.from_private_bytes(_unb64(doc["signing_key"], "signing_key", source))
            verify = signing.public_key()
        elif "verify_key" in doc:
            verify = Ed25519PublicKey.from_public_bytes(_unb64(doc["verify_key"], "verify_key", source))
        else:
            raise AuditConfigError(f"{source}: needs `signing_key` or `verify_key`")
        return cls(chain, redaction, signing, verify)

    @classmethod
    def load(cls, path: Path) -> AuditKeys:
        """Read a keys file after checking that only its owner can access it."""
        try:
            check_private_file(path)
            raw = path.read_bytes()
        except KeysetError as exc:
            raise AuditConfigError(exc.message.replace("keyset", "audit keys"), code=exc.code) from exc
        except OSError as exc:
            raise AuditConfigError(f"{path}: cannot read ({exc.strerror})") from exc
        return cls.from_json(raw, str(path))
