"""The AES-256-GCM primitive and the compact ciphertext format shared by local keyrings and Transit envelopes.

Compact binary form (all integers big-endian)::

    format 1 (local keyring):   0x01 | key id (u32) | nonce (12) | ciphertext | tag (16)
    format 2 (Transit envelope): 0x02 | len (u16) | wrapped data key (ASCII) | nonce (12) | ciphertext | tag (16)

The header (everything before the nonce) and the caller's context are the associated data, so changing the
version, the key id, the wrapped key or the context makes decryption fail. The text form is unpadded base64url.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra_security.errors import DecryptionError, EncryptionError

__all__ = [
    "AAD_DOMAIN",
    "FORMAT_LOCAL",
    "FORMAT_TRANSIT",
    "KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "UnsupportedParameterError",
    "associated_data",
    "encode_context",
    "from_text",
    "gcm_open",
    "gcm_seal",
    "open_sealed",
    "seal",
    "to_text",
]

FORMAT_LOCAL = 1
FORMAT_TRANSIT = 2
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
AAD_DOMAIN = b"infra-security/aead\x00"
_ASCII_URL = bytes.maketrans(b"-_", b"+/")
_EMPTY_AAD_CONTEXT = b""


class UnsupportedParameterError(EncryptionError):
    """A parameter (such as a nonce size) that the AES-GCM primitive does not support."""

    default_code = "security.unsupported_parameter"


def encode_context(context: Mapping[str, str] | None) -> bytes:
    """Encode a caller context canonically: sorted pairs, each part length-prefixed, so no two contexts collide."""
    if not context:
        return _EMPTY_AAD_CONTEXT
    parts: list[bytes] = []
    for key in sorted(context):
        value = context[key]
        if not isinstance(key, str) or not isinstance(value, str):
            raise EncryptionError(
                f"context entry {key!r}: keys and values must be strings, got {type(value).__name__}",
                code="security.context_invalid",
            )
        k, v = key.encode(), value.encode()
        parts.append(len(k).to_bytes(2, "big") + k + len(v).to_bytes(4, "big") + v)
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
    """Encrypt under a fresh random 96-bit nonce and return ``header | nonce | ciphertext | tag``."""
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + aead.encrypt(nonce, plaintext, AAD_DOMAIN + header + context)


def open_sealed(aead: AESGCM, blob: bytes, header_size: int, context: bytes) -> bytes:
    """Decrypt what :func:`seal` produced; the header is the first ``header_size`` bytes of ``blob``."""
    if len(blob) < header_size + NONCE_SIZE + TAG_SIZE:
        raise DecryptionError(
            f"ciphertext is truncated: {len(blob)} bytes, at least {header_size + NONCE_SIZE + TAG_SIZE} needed"
        )
    header = blob[:header_size]
    nonce = blob[header_size : header_size + NONCE_SIZE]
    try:
        return aead.decrypt(nonce, blob[header_size + NONCE_SIZE :], AAD_DOMAIN + header + context)
    except InvalidTag as exc:
        raise DecryptionError(
            "authentication failed: the ciphertext was modified, the key is wrong, or the context differs "
            "from the one it was encrypted with"
        ) from exc


def to_text(blob: bytes) -> str:
    """The unpadded base64url text form of a compact ciphertext."""
    return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def from_text(text: str) -> bytes:
    """Parse the base64url text form strictly (no stray characters, canonical encoding only)."""
    try:
        raw = text.encode("ascii").translate(_ASCII_URL)
        raw += b"=" * (-len(raw) % 4)
        blob = base64.b64decode(raw, validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise DecryptionError(f"ciphertext text is not base64url: {exc}") from exc
    if to_text(blob) != text.rstrip("="):
        raise DecryptionError("ciphertext text is not canonical base64url (trailing bits were altered)")
    return blob
