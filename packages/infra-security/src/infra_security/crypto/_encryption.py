"""``PayloadEncryption``: encrypt JSON values and bytes to :class:`infra_models.EncryptedPayload` and back.

Where the key comes from (fails closed, never a random key):

1. ``keyring=`` / ``backend=`` passed explicitly (a :class:`Keyring` or a :class:`TransitEnvelope`);
2. otherwise ``INFRA_SECURITY_KEYSET_FILE`` (path of a 0600 keyset file) or ``INFRA_SECURITY_KEYSET`` (the
   keyset JSON itself, for development); the keyset's name must equal ``key_id``.

Example:
    >>> from infra_security import Keyring, PayloadEncryption
    >>> encryptor = PayloadEncryption(key_id="encryption_key_1", keyring=Keyring.generate("encryption_key_1"))
    >>> encrypted = encryptor.encrypt_payload({"card": "4111"}, context={"tenant": "acme"})
    >>> encryptor.decrypt_payload(encrypted)
    {'card': '4111'}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, ValidationError

from infra_models.security import EncryptedPayload
from infra_security.crypto._aead import CONTENT_BYTES, CONTENT_JSON, FORMAT_LOCAL, encode_context, from_text, to_text
from infra_security.crypto._keyring import Keyring
from infra_security.errors import DecryptionError, EncryptionError

__all__ = ["EnvelopeBackend", "PayloadEncryption"]


class EnvelopeBackend(Protocol):
    """Something that seals and opens compact ciphertexts: a local :class:`Keyring` or a Transit envelope."""

    @property
    def name(self) -> str:
        """Name of the key (keyset name or Transit key name)."""
        ...

    def seal(self, plaintext: bytes, context: bytes, content_type: int = CONTENT_BYTES) -> bytes:
        """Encrypt ``plaintext`` (encoded as ``content_type``) bound to the encoded ``context``."""
        ...

    def open(self, blob: bytes, context: bytes) -> tuple[int, bytes]:
        """Decrypt a compact ciphertext bound to the encoded ``context``: (content type, plaintext)."""
        ...

    def describe(self, blob: bytes) -> str:
        """The key label a ciphertext names (``name:vN``)."""
        ...

    def rewrap(self, blob: bytes, context: bytes) -> bytes:
        """The same plaintext under the current primary key."""
        ...


class _LocalBackend:
    """Adapts a :class:`Keyring` to :class:`EnvelopeBackend`."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.name = keyring.name

    def seal(self, plaintext: bytes, context: bytes, content_type: int = CONTENT_BYTES) -> bytes:
        return self.keyring.seal(plaintext, context, content_type)

    def open(self, blob: bytes, context: bytes) -> tuple[int, bytes]:
        return self.keyring.open(blob, context)

    def describe(self, blob: bytes) -> str:
        return self.keyring.label(self.keyring.key_id_of(blob))

    def rewrap(self, blob: bytes, context: bytes) -> bytes:
        if self.keyring.key_id_of(blob) == self.keyring.primary_id:
            self.keyring.open(blob, context)  # still authenticate before declaring it current
            return blob
        content_type, plaintext = self.keyring.open(blob, context)
        return self.keyring.seal(plaintext, context, content_type)


class PayloadEncryption:
    """Encrypts payloads (JSON values or bytes) with AES-256-GCM under a keyring, bound to an optional context."""

    def __init__(
        self,
        key_id: str,
        *,
        keyring: Keyring | None = None,
        backend: EnvelopeBackend | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if keyring is not None and backend is not None:
            raise EncryptionError("pass either keyring= or backend=, not both")
        if backend is None:
            backend = _LocalBackend(keyring or Keyring.from_environment(key_id, environ))
        if backend.name != key_id:
            raise EncryptionError(
                f"key_id {key_id!r} does not match the keyring's name {backend.name!r}",
                code="security.key_id_mismatch",
            )
        self.key_id = key_id
        self.backend = backend
        self._local = backend.keyring if isinstance(backend, _LocalBackend) else None

    # --- compact binary -----------------------------------------------------------------------------

    def encrypt(self, payload: Any, context: Mapping[str, str] | None = None) -> bytes:
        """Encrypt a JSON value, a pydantic model or bytes to the compact binary form."""
        if type(payload) is bytes:
            content_type, data = CONTENT_BYTES, payload
        else:
            content_type, data = _encode(payload)
        ctx = encode_context(context) if context else b""
        if self._local is not None:
            return self._local.seal_labelled(data, ctx, content_type)[0]
        return self.backend.seal(data, ctx, content_type)

    def decrypt(self, blob: bytes, context: Mapping[str, str] | None = None) -> Any:
        """Decrypt the compact binary form; returns the JSON value or bytes. Nothing is returned on failure."""
        if self._local is not None and not context:
            opened = self._local.try_open(blob, b"")
            if opened is not None:
                return opened[1] if opened[0] == CONTENT_BYTES else _decode(opened[0], opened[1])
        if not blob:
            raise DecryptionError("ciphertext is empty")
        ctx = encode_context(context) if context else b""
        if self._local is not None:
            content_type, plaintext = self._local.open(blob, ctx)
        else:
            content_type, plaintext = self.backend.open(blob, ctx)
        if content_type == CONTENT_BYTES:
            return plaintext
        return _decode(content_type, plaintext)

    # --- EncryptedPayload / text --------------------------------------------------------------------

    def encrypt_payload(self, payload: Any, context: Mapping[str, str] | None = None) -> EncryptedPayload:
        """Encrypt to an :class:`~infra_models.EncryptedPayload` carrying key id, format version and context."""
        if type(payload) is bytes:
            content_type, data = CONTENT_BYTES, payload
        else:
            content_type, data = _encode(payload)
        if context:
            ctx = dict(context)
            aad = encode_context(ctx)
        else:
            ctx, aad = {}, b""
        if self._local is not None:
            blob, label = self._local.seal_labelled(data, aad, content_type)
            return _from_sealed(blob[0], label, blob, ctx)
        blob = self.backend.seal(data, aad, content_type)
        return _from_sealed(blob[0], self._describe(blob), blob, ctx)

    def encrypt_text(self, payload: Any, context: Mapping[str, str] | None = None) -> str:
        """Encrypt to the base64url text form (the context is not carried; pass it again to decrypt)."""
        return to_text(self.encrypt(payload, context))

    def decrypt_payload(
        self,
        encrypted: EncryptedPayload | Mapping[str, Any] | str | bytes,
        context: Mapping[str, str] | None = None,
    ) -> Any:
        """Decrypt an EncryptedPayload (the model, its dict or its JSON text), the text form or the binary form.

        ``context`` defaults to the payload's own; pass the expected context to enforce the binding (a
        ciphertext moved to another tenant then fails).
        """
        if type(encrypted) is EncryptedPayload and self._local is not None:
            # Fast path: a model naming a key of the local keyring; anything unusual takes the explanatory path.
            blob = encrypted.ciphertext
            if encrypted.format_version == FORMAT_LOCAL and encrypted.key_id == self._local.label_of(blob):
                ctx = encrypted.context if context is None else context
                opened = self._local.try_open(blob, encode_context(ctx) if ctx else b"")
                if opened is not None:
                    return opened[1] if opened[0] == CONTENT_BYTES else _decode(opened[0], opened[1])
        blob, ctx = self._unpack(encrypted)
        if context is not None:
            ctx = dict(context)
        return self.decrypt(blob, ctx)

    def rewrap(
        self, encrypted: EncryptedPayload | str | bytes, context: Mapping[str, str] | None = None
    ) -> EncryptedPayload | str | bytes:
        """Re-encrypt under the current primary key, keeping the form (model, text or bytes) of the input."""
        blob, ctx = self._unpack(encrypted)
        if context is not None:
            ctx = dict(context)
        new = self.backend.rewrap(blob, encode_context(ctx))
        if isinstance(encrypted, EncryptedPayload):
            return _from_sealed(new[0], self._describe(new), new, ctx)
        if isinstance(encrypted, str):
            if encrypted.lstrip().startswith("{"):
                return _from_sealed(new[0], self._describe(new), new, ctx).model_dump_json()
            return to_text(new)
        return new

    def key_of(self, encrypted: EncryptedPayload | str | bytes) -> str:
        """The key label (``name:vN``) a ciphertext was encrypted with."""
        return self._describe(self._unpack(encrypted)[0])

    # --- internals ----------------------------------------------------------------------------------

    def _describe(self, blob: bytes) -> str:
        if self._local is not None and blob[0] == FORMAT_LOCAL and len(blob) >= 5:
            return self._local.label_of(blob) or self._local.label(self._local.key_id_of(blob))
        return self.backend.describe(blob)

    def _unpack(self, encrypted: object) -> tuple[bytes, dict[str, str]]:
        if type(encrypted) is EncryptedPayload:
            pass  # the common case first: skip the ABC checks below
        elif isinstance(encrypted, bytes | bytearray | memoryview):
            return bytes(encrypted), {}
        elif isinstance(encrypted, str):
            text = encrypted.strip()
            if not text.startswith("{"):
                return from_text(text), {}
            try:
                encrypted = EncryptedPayload.model_validate_json(text)
            except ValidationError as exc:
                raise DecryptionError(f"not an EncryptedPayload JSON text: {_first_error(exc)}") from exc
        elif isinstance(encrypted, Mapping):
            try:
                encrypted = EncryptedPayload.model_validate(encrypted)
            except ValidationError as exc:
                raise DecryptionError(f"not an EncryptedPayload: {_first_error(exc)}") from exc
        if not isinstance(encrypted, EncryptedPayload):
            raise DecryptionError(
                f"cannot decrypt a {type(encrypted).__name__}; pass an EncryptedPayload, str or bytes"
            )
        blob = encrypted.ciphertext
        if not blob:
            raise DecryptionError("ciphertext is empty")
        named = self._describe(blob)
        if encrypted.key_id != named:
            raise DecryptionError(f"EncryptedPayload.key_id is {encrypted.key_id!r} but the ciphertext names {named!r}")
        if encrypted.format_version != blob[0]:
            raise DecryptionError(
                f"EncryptedPayload.format_version is {encrypted.format_version} but the ciphertext is format {blob[0]}"
            )
        return blob, dict(encrypted.context)


# The model's owner builds it (validated through pydantic's public API; a large sealed buffer is not copied).
_from_sealed = EncryptedPayload.from_sealed


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


_dumps = orjson.dumps


def _encode(payload: Any) -> tuple[int, bytes]:
    kind = type(payload)
    if kind is dict or kind is list:  # the common case first, without ABC checks (errors are explained below)
        try:
            data = _dumps(payload)
        except TypeError:
            pass
        else:
            if b"null" in data:  # orjson writes NaN and Infinity as null: refuse them rather than change the value
                _refuse_non_finite(payload)
            return CONTENT_JSON, data
    if isinstance(payload, bytes):
        return CONTENT_BYTES, payload
    if isinstance(payload, bytearray | memoryview):
        return CONTENT_BYTES, bytes(payload)
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    try:
        data = orjson.dumps(payload)
        if b"null" in data:
            _refuse_non_finite(payload)
        return CONTENT_JSON, data
    except TypeError as exc:
        raise EncryptionError(
            f"payload of type {type(payload).__name__} is not JSON-serialisable ({exc}); pass JSON values, "
            "a pydantic model or bytes",
            code="security.payload_invalid",
        ) from exc


def _refuse_non_finite(payload: Any) -> None:
    """Raise when a JSON payload holds NaN or Infinity (JSON has neither; orjson would write null)."""
    stack = [payload]
    while stack:
        item = stack.pop()
        if type(item) is float and not math.isfinite(item):
            raise EncryptionError(
                f"payload holds {item!r}, which JSON cannot represent (it would decrypt as null); send a finite "
                "number or a string",
                code="security.payload_invalid",
            )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _decode(content_type: int, plaintext: bytes) -> Any:
    if content_type == CONTENT_JSON:
        return orjson.loads(plaintext)
    if content_type == CONTENT_BYTES:
        return plaintext
    raise DecryptionError(f"unknown payload encoding {content_type}")
