"""Unpadded base64url, the one text form of bytes used everywhere in the infra packages (keys, ciphertexts, MACs).

One implementation, strict on input: the decoder accepts only canonical text (the alphabet ``A-Z a-z 0-9 - _``,
optional ``=`` padding of the right length, zero unused bits), so two different strings never decode to the same
bytes and a tampered or truncated value is refused instead of silently shortened.

Example:
    >>> b64url_encode(b"\\xfb\\xff")
    '-_8'
    >>> b64url_decode("-_8")
    b'\\xfb\\xff'
"""

from __future__ import annotations

import binascii

__all__ = ["Base64UrlError", "b64url_decode", "b64url_encode"]

_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_UNUSED_BITS = {2: 0b1111, 3: 0b11}  # low bits of the last character that must be zero, by length mod 4


class Base64UrlError(ValueError):
    """Text that is not canonical base64url; the message names what is wrong."""


def b64url_encode(data: bytes | bytearray | memoryview) -> str:
    """Encode bytes as unpadded base64url text."""
    return binascii.b2a_base64(bytes(data), newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes, *, what: str = "value") -> bytes:
    """Decode canonical base64url text (padded or not); raise :class:`Base64UrlError` naming ``what`` otherwise."""
    raw = text.encode("ascii", "replace") if isinstance(text, str) else bytes(text)
    body = raw.rstrip(b"=")
    padding = len(raw) - len(body)
    tail = len(body) % 4
    if body.translate(None, _ALPHABET):
        raise Base64UrlError(f"{what} is not base64url text: use only A-Z a-z 0-9 - _ (and = padding at the end)")
    if tail == 1:
        raise Base64UrlError(f"{what} is not base64url text: {len(body)} characters cannot encode whole bytes")
    if padding and padding != -len(body) % 4:
        raise Base64UrlError(f"{what} is not base64url text: {padding} '=' where {-len(body) % 4} belong")
    if tail and _ALPHABET.find(body[-1:]) & _UNUSED_BITS[tail]:
        raise Base64UrlError(f"{what} is not canonical base64url text: the last character has unused bits set")
    return binascii.a2b_base64(body.translate(_FROM_URL) + b"=" * (-len(body) % 4))
