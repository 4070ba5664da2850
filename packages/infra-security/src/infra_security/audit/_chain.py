"""The keyed HMAC chain: one JSON line per record, each MACed over its canonical bytes and the previous MAC.

A record line::

    {"seq":N,"prev":"<hex MAC of record N-1>","kid":"<chain key id>","mac":"<hex>","event":{...}}

``mac = HMAC-SHA256(chain_key, "infra-audit/v1" | seq (8 bytes) | prev (32 bytes) | kid | canonical(event))``
where ``canonical`` is JSON with sorted keys and no whitespace (orjson). The first record has ``prev`` of 32
zero bytes. Without the key nobody can rewrite, insert or reorder records and recompute the chain.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

__all__ = [
    "ChainMac",
    "HashState",
    "KeyedSha256",
    "keyed_sha256",
    "GENESIS",
    "MAC_DOMAIN",
    "ChainHead",
    "ParsedRecord",
    "Tip",
    "canonical",
    "encode_record",
    "parse_record",
    "record_mac",
]

GENESIS = bytes(32)
MAC_DOMAIN = b"infra-audit/v1\x00"
_DOMAIN = MAC_DOMAIN
_SORT = orjson.OPT_SORT_KEYS


class HashState(Protocol):
    """What :class:`KeyedSha256` needs of a ``hashlib`` hash object."""

    def copy(self) -> HashState:
        """A copy of the state."""
        ...

    def update(self, data: bytes, /) -> None:
        """Absorb ``data``."""
        ...

    def digest(self) -> bytes:
        """The digest of what was absorbed."""
        ...


class KeyedSha256:
    """HMAC-SHA256 under one key, keyed once (RFC 2104 with the padded-key states precomputed).

    Built on :mod:`hashlib` states: per message, two ``copy()`` and two ``update()`` calls in C, no key schedule
    and no private CPython module. Same digests as :func:`hmac.digest` (tested).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, prefix: bytes = b"") -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._inner.update(prefix)
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def mac(self, msg: bytes) -> bytes:
        """HMAC-SHA256 of ``prefix | msg``."""
        inner = self._inner.copy()
        inner.update(msg)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def states(self) -> tuple[HashState, HashState]:
        """The keyed inner and outer SHA-256 states (copy before use), for callers that feed a message in parts."""
        return self._inner, self._outer

    def hexmac(self, msg: bytes) -> str:
        """:meth:`mac` as hex text."""
        return self.mac(msg).hex()


_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def keyed_sha256(key: bytes, prefix: bytes = b"") -> KeyedSha256:
    """A keyed HMAC-SHA256 (``prefix`` already absorbed) whose :meth:`~KeyedSha256.mac` is called per message."""
    return KeyedSha256(key, prefix)


def canonical(event: Any) -> bytes:
    """The canonical bytes of an event: sorted keys, no whitespace, UTF-8."""
    return orjson.dumps(event, option=_SORT)


def record_mac(key: bytes, seq: int, prev: bytes, kid: str, event_bytes: bytes) -> bytes:
    """The MAC of one record."""
    return hmac.digest(key, _DOMAIN + seq.to_bytes(8, "big") + prev + kid.encode("ascii") + event_bytes, hashlib.sha256)


class ChainMac:
    """:func:`record_mac` with the key schedule done once (copying a keyed HMAC is cheaper than re-keying)."""

    def __init__(self, key: bytes, kid: str) -> None:
        keyed = KeyedSha256(key, _DOMAIN)
        self._inner, self._outer = keyed.states()
        self._kid = kid.encode("ascii")

    def mac(self, seq: int, prev: bytes, event_bytes: bytes) -> bytes:
        """The MAC of record ``seq`` following ``prev``."""
        inner = self._inner.copy()  # the parts fed one by one: no concatenated copy of the event
        inner.update(_PACK_SEQ(seq) + prev + self._kid)
        inner.update(event_bytes)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def next_record(self, head: Tip, event_bytes: bytes) -> tuple[Tip, bytes]:
        """The record after ``head``: the new head and the line to write (the writer's one call per event)."""
        seq, prev, prev_hex = head
        seq += 1
        inner = self._inner.copy()
        inner.update(_PACK_SEQ(seq) + prev + self._kid)
        inner.update(event_bytes)
        outer = self._outer.copy()
        outer.update(inner.digest())
        mac = outer.digest()
        mac_hex = _hexlify(mac)
        return (seq, mac, mac_hex), _RECORD % (seq, prev_hex, self._kid, mac_hex, event_bytes)


Tip = tuple[int, bytes, bytes]
"""A chain head as the writer keeps it: sequence number, MAC, and the MAC as hex (ASCII bytes)."""
_PACK_SEQ = struct.Struct(">Q").pack
_hexlify = binascii.hexlify


@dataclass(frozen=True)
class ChainHead:
    """Where a chain stands: the last sequence number and its MAC (0 and 32 zero bytes when empty)."""

    seq: int = 0
    mac: bytes = GENESIS


def encode_record(seq: int, prev_hex: bytes, kid: bytes, mac_hex: bytes, event_bytes: bytes) -> bytes:
    """The JSON line of a record (hex MACs and ``event_bytes``, canonical JSON, are embedded as they are)."""
    return _RECORD % (seq, prev_hex, kid, mac_hex, event_bytes)


_RECORD = b'{"seq":%d,"prev":"%s","kid":"%s","mac":"%s","event":%s}\n'
"""The one layout of a record line (``verify`` recognises exactly this layout on its fast path)."""


@dataclass(frozen=True)
class ParsedRecord:
    """A record read back from a line."""

    seq: int
    prev: bytes
    kid: str
    mac: bytes
    event: dict[str, Any]


_RECORD_FIELDS = ("seq", "prev", "kid", "mac", "event")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key `{key}` appears twice in one object (readers disagree on which one counts)")
        seen[key] = value
    return seen


def parse_record(line: bytes) -> ParsedRecord:
    """Parse one line strictly; raises ``ValueError`` naming what is wrong.

    Only what the MAC covers may be in a record: exactly the fields ``seq, prev, kid, mac, event``, no key twice
    in any object (an unauthenticated ``"approved_by"`` or a second ``"actor"`` would otherwise ride along).
    """
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    extra = sorted(set(doc) - set(_RECORD_FIELDS))
    if extra:
        raise ValueError(f"unknown field(s) {', '.join(f'`{k}`' for k in extra)}: content outside the MAC")
    try:
        seq, prev, kid, mac, event = doc["seq"], doc["prev"], doc["kid"], doc["mac"], doc["event"]
    except KeyError as exc:
        raise ValueError(f"field `{exc.args[0]}` is missing") from exc
    try:
        json.loads(line, object_pairs_hook=_no_duplicates)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ValueError("field `seq` must be a positive integer")
    if not isinstance(event, dict):
        raise ValueError("field `event` must be an object")
    if not isinstance(kid, str) or not kid.isascii():
        raise ValueError("field `kid` must be an ASCII string")
    try:
        prev_b, mac_b = bytes.fromhex(prev), bytes.fromhex(mac)
    except (TypeError, ValueError) as exc:
        raise ValueError("fields `prev` and `mac` must be hex strings") from exc
    if len(prev_b) != 32 or len(mac_b) != 32:
        raise ValueError("fields `prev` and `mac` must be 32 bytes")
    return ParsedRecord(seq, prev_b, kid, mac_b, event)
