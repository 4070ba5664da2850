"""Envelope encryption with Vault/OpenBao Transit (``pip install infra-security[vault]``).

Each message (or each batch of ``messages_per_data_key`` messages) is encrypted locally with AES-256-GCM under
a fresh data key from ``<mount>/datakey/plaintext/<key>``; the data key, wrapped by the Transit key
(``vault:vN:...``), travels in the ciphertext (format 2, see :mod:`infra_security.crypto._aead`). Decryption unwraps
it with one Transit call (cached per wrapped key); ``rewrap`` re-wraps the data key server-side under the
newest Transit key version. The Transit key never leaves the server.

Example:
    >>> envelope = TransitEnvelope("orders", url="http://127.0.0.1:8200", token="...")  # doctest: +SKIP
    >>> PayloadEncryption("orders", backend=envelope).encrypt_payload({"a": 1})  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra_security.crypto._aead import CONTENT_BYTES, FORMAT_TRANSIT, KEY_SIZE, open_sealed, seal
from infra_security.errors import DecryptionError, TransitError

__all__ = ["TransitEnvelope"]

_log = logging.getLogger("infra_security.crypto")


class TransitEnvelope:
    """An :class:`~infra_security.crypto._encryption.EnvelopeBackend` whose data keys are wrapped by Transit."""

    def __init__(
        self,
        key_name: str,
        client: Any = None,
        *,
        url: str | None = None,
        token: str | None = None,
        mount_point: str = "transit",
        messages_per_data_key: int = 1,
        cache_size: int = 1024,
        policy_ttl: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        if messages_per_data_key < 1:
            raise ValueError("messages_per_data_key must be at least 1")
        if client is None:
            try:
                import hvac  # type: ignore[import-untyped]
            except ImportError as exc:  # pragma: no cover - depends on the extra
                raise TransitError("Transit needs hvac: pip install 'infra-security[vault]'") from exc
            url = url or os.environ.get("VAULT_ADDR")
            if not url:
                raise TransitError(
                    "no Vault/OpenBao address: pass url= or set VAULT_ADDR", code="security.transit_config"
                )
            # A bounded timeout (hvac's own default is 30 s): a hung server fails the call within it.
            client = hvac.Client(url=url, token=token or os.environ.get("VAULT_TOKEN"), timeout=timeout)
        self.name = key_name
        self.client = client
        self.mount_point = mount_point
        self.messages_per_data_key = messages_per_data_key
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, AESGCM] = OrderedDict()
        self._lock = threading.Lock()
        self._current: tuple[AESGCM, bytes] | None = None
        self._uses = 0
        self.data_keys_issued = 0
        # The key's min_decryption_version as last read (0: unknown), and when: cached data keys below it are
        # refused, so raising it on the server stops this process within policy_ttl seconds.
        self.policy_ttl = policy_ttl
        self._min_version = 0
        self._policy_read_at = -math.inf

    # --- EnvelopeBackend ----------------------------------------------------------------------------

    def seal(self, plaintext: bytes, context: bytes, content_type: int = CONTENT_BYTES) -> bytes:
        """Encrypt under the current data key (a new one per message or per batch)."""
        aead, header = self._data_key()
        return seal(aead, header + bytes([content_type]), plaintext, context)

    def open(self, blob: bytes, context: bytes) -> tuple[int, bytes]:
        """Unwrap the data key (cached) and decrypt; returns (content type, plaintext)."""
        wrapped, header_size = self._wrapped(blob)
        plaintext = open_sealed(self._unwrap(wrapped), blob, header_size, context)
        return blob[header_size - 1], plaintext

    def describe(self, blob: bytes) -> str:
        """``transit:<key>:vN``: the Transit key version that wrapped the data key."""
        wrapped, _ = self._wrapped(blob)
        parts = wrapped.split(b":")
        version = parts[1].decode("ascii", "replace") if len(parts) > 2 and parts[1][:1] == b"v" else "v?"
        return f"transit:{self.name}:{version}"

    def rewrap(self, blob: bytes, context: bytes) -> bytes:
        """Re-wrap the data key under the newest Transit key version (server-side) and re-seal the body."""
        wrapped, header_size = self._wrapped(blob)
        plaintext = open_sealed(self._unwrap(wrapped), blob, header_size, context)
        data = self._call("rewrap", self.client.secrets.transit.rewrap_data, ciphertext=wrapped.decode("ascii"))
        new_wrapped = str(data["ciphertext"]).encode("ascii")
        aead = self._unwrap(wrapped)
        with self._lock:
            self._remember(new_wrapped, aead)
        return seal(aead, _header(new_wrapped) + bytes([blob[header_size - 1]]), plaintext, context)

    # --- data keys ----------------------------------------------------------------------------------

    def new_data_key(self) -> None:
        """Start a new data key for the next message (ends the current batch)."""
        with self._lock:
            self._current = None

    def _data_key(self) -> tuple[AESGCM, bytes]:
        with self._lock:
            if self._current is None or self._uses >= self.messages_per_data_key:
                data = self._call("datakey", self.client.secrets.transit.generate_data_key, key_type="plaintext")
                key = base64.b64decode(data["plaintext"])
                if len(key) != KEY_SIZE:
                    raise TransitError(f"Transit returned a {len(key) * 8}-bit data key; 256 bits are required")
                wrapped = str(data["ciphertext"]).encode("ascii")
                aead = AESGCM(key)
                self._current, self._uses = (aead, _header(wrapped)), 0
                self._remember(wrapped, aead)
                self.data_keys_issued += 1
            self._uses += 1
            return self._current

    def refresh_key_policy(self) -> int:
        """Read the Transit key's ``min_decryption_version`` now; cached data keys below it are dropped.

        Called by decryption every ``policy_ttl`` seconds. Needs ``read`` on ``transit/keys/<name>``; without it
        the cache is emptied and kept off, so every decryption asks Transit, which enforces the version itself.
        """
        try:
            reply = self.client.secrets.transit.read_key(name=self.name, mount_point=self.mount_point)
            minimum = int(reply["data"]["min_decryption_version"])
        except Exception as exc:
            _log.warning("cannot read Transit key %r policy (%s); data-key cache disabled", self.name, exc)
            minimum = -1
        with self._lock:
            self._policy_read_at = time.monotonic()
            self._min_version = minimum
            if minimum < 0:
                self._cache.clear()
            else:
                for wrapped in [w for w in self._cache if _version(w) < minimum]:
                    del self._cache[wrapped]
        return minimum

    def _unwrap(self, wrapped: bytes) -> AESGCM:
        if time.monotonic() - self._policy_read_at >= self.policy_ttl:
            self.refresh_key_policy()
        with self._lock:
            cached = self._cache.get(wrapped) if self._min_version >= 0 else None
            if cached is not None:
                if _version(wrapped) < self._min_version:
                    del self._cache[wrapped]
                    raise TransitError(
                        f"data key of transit:{self.name}:v{_version(wrapped)} is below the key's "
                        f"min_decryption_version {self._min_version}: rewrap old ciphertexts before retiring versions",
                        code="security.transit_version_retired",
                    )
                self._cache.move_to_end(wrapped)
                return cached
        data = self._call("decrypt", self.client.secrets.transit.decrypt_data, ciphertext=wrapped.decode("ascii"))
        try:
            key = base64.b64decode(data["plaintext"], validate=True)
        except (ValueError, TypeError) as exc:
            raise DecryptionError("Transit returned no usable data key for this ciphertext") from exc
        if len(key) != KEY_SIZE:
            raise DecryptionError(f"the wrapped data key is {len(key)} bytes, not {KEY_SIZE}")
        aead = AESGCM(key)
        with self._lock:
            self._remember(wrapped, aead)
        return aead

    def _remember(self, wrapped: bytes, aead: AESGCM) -> None:
        if self._cache_size and self._min_version >= 0:
            self._cache[wrapped] = aead
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _call(self, what: str, method: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            reply = method(name=self.name, mount_point=self.mount_point, **kwargs)
        except Exception as exc:
            status = type(exc).__name__
            raise TransitError(
                f"Transit {what} with key {self.name!r} at mount {self.mount_point!r} failed ({status}: "
                f"{str(exc).strip() or 'no message'}); check the address, the token's policy and that the key exists",
                details={"key": self.name, "mount": self.mount_point, "operation": what},
            ) from exc
        if not isinstance(reply, dict) or not isinstance(reply.get("data"), dict):
            raise TransitError(f"Transit {what} with key {self.name!r} returned no data")
        data: dict[str, Any] = reply["data"]
        return data

    @staticmethod
    def _wrapped(blob: bytes) -> tuple[bytes, int]:
        if len(blob) < 3:
            raise DecryptionError(f"ciphertext is truncated: {len(blob)} bytes")
        if blob[0] != FORMAT_TRANSIT:
            raise DecryptionError(f"ciphertext format {blob[0]} is not a Transit envelope (format {FORMAT_TRANSIT})")
        size = int.from_bytes(blob[1:3], "big")
        wrapped = bytes(blob[3 : 3 + size])
        if len(wrapped) != size or len(blob) < 4 + size or not wrapped.startswith(b"vault:v"):
            raise DecryptionError("ciphertext is truncated or its wrapped data key is malformed")
        if not _WRAPPED.fullmatch(wrapped):
            raise DecryptionError("the wrapped data key is malformed (expected vault:vN:<base64>); tampered?")
        return wrapped, 4 + size


_WRAPPED = re.compile(rb"vault:v[1-9][0-9]{0,9}:[A-Za-z0-9+/=]+")


def _version(wrapped: bytes) -> int:
    """The Transit key version of a well-formed wrapped key (``vault:vN:...``)."""
    return int(wrapped[7 : wrapped.index(b":", 7)])


def _header(wrapped: bytes) -> bytes:
    return bytes([FORMAT_TRANSIT]) + len(wrapped).to_bytes(2, "big") + wrapped
