"""The AES-256-GCM primitive and the compact ciphertext format shared by local keyrings and Transit envelopes.

Compact binary form (all integers big-endian)::

    format 1 (local keyring):    0x01 | key id (u32) | type (1) | nonce (12) | ciphertext | tag (16)
    format 2 (Transit envelope): 0x02 | len (u16) | wrapped data key (ASCII) | type (1) | nonce (12) | ciphertext | tag

``type`` says how the plaintext is encoded (0 raw bytes, 1 JSON); it sits in the header rather than in the
plaintext so that large payloads are encrypted without being copied. The header (everything before the nonce)
and the caller's context are the associated data, so changing the version, the key id, the wrapped key, the
type or the context makes decryption fail. The text form is unpadded base64url.
"""

from __future__ import annotations

import binascii
import os
import threading
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra_security.errors import DecryptionError, EncryptionError

__all__ = [
    "AAD_DOMAIN",
    "CONTENT_BYTES",
    "CONTENT_JSON",
    "FORMAT_LOCAL",
    "FORMAT_TRANSIT",
    "KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "UnsupportedParameterError",
    "associated_data",
    "encode_context",
    "from_text",
    "fresh_nonce",
    "gcm_open",
    "gcm_seal",
    "open_sealed",
    "seal",
    "seal_small",
    "to_text",
]

FORMAT_LOCAL = 1
FORMAT_TRANSIT = 2
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
AAD_DOMAIN = b"infra-security/aead\x00"
CONTENT_BYTES = 0
CONTENT_JSON = 1
_ASCII_URL = bytes.maketrans(b"-_", b"+/")
# Above this size the ciphertext is written in place into one buffer (no concatenation copy): big allocations
# are page-fault bound, so one instead of two keeps 1 MiB messages near the speed of the raw primitive.
_IN_PLACE = 1 << 16
_HAS_INTO = hasattr(AESGCM, "encrypt_into")
_EMPTY_AAD_CONTEXT = b""


class UnsupportedParameterError(EncryptionError):
    """A parameter (such as a nonce size) that the AES-GCM primitive does not support."""

    default_code = "security.unsupported_parameter"


_BATCH = 4096
_TLS = [threading.local()]  # replaced (not mutated) in a forked child


def _refill() -> bytes:
    block = os.urandom(NONCE_SIZE * _BATCH)
    nonces = iter([block[i : i + NONCE_SIZE] for i in range(0, len(block), NONCE_SIZE)])
    _TLS[0].nonces = nonces
    return next(nonces)


def _after_fork_in_child() -> None:
    # A forked child must never reuse the parent's buffered nonces: drop every thread's buffer.
    _TLS[0] = threading.local()


os.register_at_fork(after_in_child=_after_fork_in_child)


def fresh_nonce() -> bytes:
    """A fresh random 96-bit nonce: ``os.urandom`` read 4,096 nonces at a time per thread, dropped on fork."""
    try:
        nonce: bytes = next(_TLS[0].nonces)
    except (AttributeError, StopIteration):
        nonce = _refill()
    return nonce


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Encode a caller context canonically: sorted pairs, each part length-prefixed, so no two contexts collide.

    Services encrypt under a handful of contexts over and over (a tenant, a table): the encodings of the last
    :data:`_CONTEXT_MEMO_SIZE` distinct small contexts are remembered, keyed by their items.
    """
    if not context:
        return _EMPTY_AAD_CONTEXT
    items = tuple(context.items())
    try:
        encoded = _context_memo.get(items)
    except TypeError:  # an unhashable value: not a string, refused below with the entry named
        encoded = None
    if encoded is None:
        encoded = _encode_context(context)
        if len(encoded) <= _CONTEXT_MEMO_MAX_BYTES:  # small ones only: the memo never holds more than ~0.5 MiB
            if len(_context_memo) >= _CONTEXT_MEMO_SIZE:
                _context_memo.clear()  # a burst of distinct contexts: start over rather than keep LRU bookkeeping
            _context_memo[items] = encoded  # only str-to-str contexts get here (_encode_context refuses the rest)
    return encoded


_CONTEXT_MEMO_SIZE = 256
_CONTEXT_MEMO_MAX_BYTES = 1024
_context_memo: dict[tuple[tuple[str, str], ...], bytes] = {}


def _encode_context(context: Mapping[str, str]) -> bytes:
    parts: list[bytes] = []
    for key in sorted(context):
        value = context[key]
        if not isinstance(key, str) or not isinstance(value, str):
            raise EncryptionError(
                f"context entry {key!r}: keys and values must be strings, got {type(value).__name__}",
                code="security.context_invalid",
            )
        k, v = key.encode(), value.encode()
        parts += (len(k).to_bytes(2, "big"), k, len(v).to_bytes(4, "big"), v)
    return b"".join(parts)


def associated_data(header: bytes, context: bytes) -> bytes:
    """The AAD of a message: a domain tag, the header (format and key id) and the encoded context."""
    return AAD_DOMAIN + header + context


def gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-GCM encrypt with a caller-supplied nonce; returns ciphertext with the tag appended."""
    try:
        return AESGCM(key).encrypt(nonce, plaintext, aad)
    except (ValueError, OverflowError) as exc:
        raise UnsupportedParameterError(
            f"AES-GCM refused key of {len(key)} bytes / nonce of {len(nonce)} bytes: {exc}"
        ) from exc


def gcm_open(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    """AES-GCM decrypt; a wrong key, nonce, tag or AAD raises :class:`DecryptionError`."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, aad)
    except InvalidTag as exc:
        raise DecryptionError("authentication failed: wrong key, tampered ciphertext or wrong context") from exc
    except (ValueError, OverflowError) as exc:
        raise UnsupportedParameterError(
            f"AES-GCM refused key of {len(key)} bytes / nonce of {len(nonce)} bytes: {exc}"
        ) from exc


def seal(aead: AESGCM, header: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt under a fresh random 96-bit nonce and return ``header | nonce | ciphertext | tag``.

    Messages of 64 KiB and more come back as a ``bytearray`` written in place (no extra copy).
    """
    nonce = fresh_nonce()
    aad = AAD_DOMAIN + header + context
    if len(plaintext) < _IN_PLACE or not _HAS_INTO:
        return header + nonce + aead.encrypt(nonce, plaintext, aad)
    start = len(header) + NONCE_SIZE
    out = bytearray(start + len(plaintext) + TAG_SIZE)
    out[: len(header)] = header
    out[len(header) : start] = nonce
    aead.encrypt_into(nonce, plaintext, aad, memoryview(out)[start:])
    return out  # type: ignore[return-value]  # a bytes-like result; see the docstring


def seal_small(aead: AESGCM, header: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """:func:`seal` for callers that precomputed the AAD (``AAD_DOMAIN | header | context``)."""
    if len(plaintext) >= _IN_PLACE:
        return seal(aead, header, plaintext, aad[len(AAD_DOMAIN) + len(header) :])
    try:
        nonce: bytes = next(_TLS[0].nonces)
    except (AttributeError, StopIteration):
        nonce = _refill()
    return header + nonce + aead.encrypt(nonce, plaintext, aad)


def open_sealed(aead: AESGCM, blob: bytes, header_size: int, context: bytes) -> bytes:
    """Decrypt what :func:`seal` produced; the header is the first ``header_size`` bytes of ``blob``."""
    if len(blob) < header_size + NONCE_SIZE + TAG_SIZE:
        raise DecryptionError(
            f"ciphertext is truncated: {len(blob)} bytes, at least {header_size + NONCE_SIZE + TAG_SIZE} needed"
        )
    body = header_size + NONCE_SIZE
    try:
        if len(blob) < _IN_PLACE:
            return aead.decrypt(blob[header_size:body], blob[body:], AAD_DOMAIN + blob[:header_size] + context)
        view = memoryview(blob)  # large: no copies of the body
        return aead.decrypt(view[header_size:body], view[body:], AAD_DOMAIN + bytes(view[:header_size]) + context)
    except InvalidTag as exc:
        raise DecryptionError(
            "authentication failed: the ciphertext was modified, the key is wrong, or the context differs "
            "from the one it was encrypted with"
        ) from exc


_TO_URL = bytes.maketrans(b"+/", b"-_")
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_BYTES = _B64URL.encode()
_UNUSED_BITS = {2: 0b1111, 3: 0b11}


def to_text(blob: bytes) -> str:
    """The unpadded base64url text form of a compact ciphertext."""
    return binascii.b2a_base64(blob, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def from_text(text: str) -> bytes:
    """Parse the base64url text form strictly (unpadded, no stray characters, canonical encoding only)."""
    if text.endswith("="):
        raise DecryptionError("ciphertext text is not the unpadded base64url this library writes: remove the `=`")
    tail = len(text) % 4
    if tail == 1:
        raise DecryptionError("ciphertext text is not base64url: its length is impossible (truncated?)")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise DecryptionError("ciphertext text is not base64url: it has non-ASCII characters") from exc
    if raw.translate(None, _B64URL_BYTES):
        raise DecryptionError("ciphertext text is not base64url: it has characters outside A-Z a-z 0-9 - _")
    if tail and _B64URL.find(text[-1]) & _UNUSED_BITS[tail]:
        raise DecryptionError("ciphertext text is not canonical base64url (trailing bits were altered)")
    try:
        return binascii.a2b_base64(raw.translate(_ASCII_URL) + b"=" * (-len(raw) % 4))
    except binascii.Error as exc:  # pragma: no cover - excluded by the checks above
        raise DecryptionError(f"ciphertext text is not base64url: {exc}") from exc
