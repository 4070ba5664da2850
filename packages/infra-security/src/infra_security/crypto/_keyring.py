"""A local keyring: several AES-256 keys, one primary for encryption, older ones decrypt-only.

Example:
    >>> ring = Keyring.generate("orders")
    >>> blob = ring.seal(b"hello", b"")
    >>> ring.open(blob, b"")
    (0, b'hello')
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from infra_security.crypto._aead import (
    AAD_DOMAIN,
    CONTENT_BYTES,
    FORMAT_LOCAL,
    KEY_SIZE,
    NONCE_SIZE,
    TAG_SIZE,
    open_sealed,
    seal_small,
)
from infra_security.crypto._keyset_file import (
    KeyRecord,
    KeysetData,
    KeyState,
    dump_keyset,
    keyset_source_from_environment,
    parse_keyset,
    read_keyset_file,
    update_keyset_file,
    write_private_file,
)
from infra_security.crypto._usage import NIST_RANDOM_NONCE_LIMIT, MemoryCounter, ReservingCounter, UsageCounter
from infra_security.errors import (
    DecryptionError,
    KeysetError,
    KeyStateError,
    KeyUsageExceededError,
    UnknownKeyError,
)

__all__ = ["KeyInfo", "Keyring", "KeyState"]

_HEADER_SIZE = 6
_MIN_SIZE = _HEADER_SIZE + NONCE_SIZE + TAG_SIZE
_SMALL = 1 << 16
_Change = Callable[[KeysetData], int]
_Sealer = tuple[AESGCM, bytes, bytes, str]
"""What sealing with one key and content type needs: the AEAD, the header, the AAD prefix and the key's label."""


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown of a key: id, state, creation time, encryptions counted (never the material)."""

    key_id: int
    state: KeyState
    created_at: datetime
    encryptions: int

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {
            "id": self.key_id,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "encryptions": self.encryptions,
        }


class Keyring:
    """AES-256-GCM keys with states; encrypts with the primary, decrypts with any enabled key.

    ``usage_limit`` caps encryptions per key (default 2^32, the NIST SP 800-38D random-nonce bound); with
    ``auto_rotate`` a fresh primary is created (and saved, for a file keyset) when the primary reaches it,
    otherwise encryption raises :class:`KeyUsageExceededError`.
    """

    def __init__(
        self,
        data: KeysetData,
        *,
        path: Path | None = None,
        counter: UsageCounter | None = None,
        usage_limit: int = NIST_RANDOM_NONCE_LIMIT,
        auto_rotate: bool = False,
        reserve_block: int = 65_536,
        first_reserve_block: int = 256,
    ) -> None:
        if not 0 < usage_limit <= NIST_RANDOM_NONCE_LIMIT:
            raise ValueError(f"usage_limit must be in 1..2^32, got {usage_limit}")
        self._data = data
        self._path = path
        self._usage_limit = usage_limit
        self._auto_rotate = auto_rotate
        self._lock = threading.Lock()
        self._rotate_lock = threading.Lock()
        start = {k.key_id: k.encryptions for k in data.keys}
        if counter is not None:
            self._counter: UsageCounter = counter
        elif path is not None:
            self._counter = ReservingCounter(start, self._reserve, block=reserve_block, first_block=first_reserve_block)
        else:
            self._counter = MemoryCounter(start)
        self._count = self._counter.add  # bound once: this runs per encryption
        self._index()

    # --- construction -------------------------------------------------------------------------------

    @classmethod
    def generate(cls, name: str, **options: object) -> Keyring:
        """A new keyring named ``name`` with one fresh primary key (id 1)."""
        data = KeysetData(name=name, keys=[KeyRecord(1, KeyState.PRIMARY, _now(), os.urandom(KEY_SIZE))])
        return cls(data, **options)  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, raw: bytes | str, *, source: str = "keyset", **options: object) -> Keyring:
        """A keyring from a keyset JSON document (held in memory; usage counted in-process only)."""
        return cls(parse_keyset(raw, source), **options)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path, **options: object) -> Keyring:
        """A keyring from a keyset file (mode 0600 required); usage reservations are saved back to it."""
        path = Path(path)
        return cls(read_keyset_file(path), path=path, **options)  # type: ignore[arg-type]

    @classmethod
    def from_environment(cls, name: str, environ: Mapping[str, str] | None = None, **options: object) -> Keyring:
        """The keyring configured by ``INFRA_SECURITY_KEYSET_FILE`` or ``INFRA_SECURITY_KEYSET``; fails closed."""
        kind, value = keyset_source_from_environment(name, os.environ if environ is None else environ)
        ring = (
            cls.load(value, **options)
            if kind == "file"
            else cls.from_json(value, source="$INFRA_SECURITY_KEYSET", **options)
        )
        if ring.name != name:
            raise KeysetError(
                f"the configured keyset is named {ring.name!r}, not {name!r}; "
                f"use key_id={ring.name!r} or point the variable at the {name!r} keyset"
            )
        return ring

    def reload(self) -> None:
        """Re-read the keyset file (to pick up a rotation made by another process, e.g. on SIGHUP)."""
        if self._path is None:
            raise KeysetError(f"keyring {self.name!r} was not loaded from a file; nothing to reload")
        data = read_keyset_file(self._path)
        with self._lock:
            self._data = data
            self._index()

    def save(self, path: str | Path) -> None:
        """Write the keyset to ``path`` atomically with mode 0600."""
        with self._lock:
            self._sync_counts()
            write_private_file(Path(path), dump_keyset(self._data))

    def to_json(self) -> bytes:
        """The keyset document (contains key material: treat as a secret)."""
        with self._lock:
            self._sync_counts()
            return dump_keyset(self._data)

    # --- inspection ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The keyset's name (what ``PayloadEncryption(key_id=...)`` selects)."""
        return self._data.name

    @property
    def primary_id(self) -> int | None:
        """Id of the primary key, or None when the keyring has none (decrypt only)."""
        return self._primary_id

    def list_keys(self) -> list[KeyInfo]:
        """All keys, oldest first."""
        return [
            KeyInfo(k.key_id, k.state, k.created_at, max(k.encryptions, self._counter.count(k.key_id)))
            for k in self._data.keys
        ]

    def label(self, key_id: int) -> str:
        """``name:vN``, the key id as shown in :class:`infra_models.EncryptedPayload`."""
        return f"{self._data.name}:v{key_id}"

    # --- lifecycle ----------------------------------------------------------------------------------

    def rotate(self) -> int:
        """Add a new primary key; the old primary becomes decrypt-only. Returns the new id."""
        return self._change(_rotate)

    def set_state(self, key_id: int, state: KeyState) -> None:
        """Move a key to ``state`` (promote, demote, disable, enable, destroy)."""
        self._change(lambda data: _set_state(data, key_id, state))

    def _change(self, change: _Change) -> int:
        with self._lock:
            if self._path is not None:
                result: list[int] = []
                update_keyset_file(self._path, lambda data: result.append(change(data)))
                self._data = read_keyset_file(self._path)
                self._index()
                return result[0]
            value = change(self._data)
            self._index()
            return value

    # --- encryption ---------------------------------------------------------------------------------

    def seal(self, plaintext: bytes, context: bytes, content_type: int = CONTENT_BYTES) -> bytes:
        """Encrypt with the primary key: ``0x01 | key id | type | nonce | ciphertext | tag``."""
        return self.seal_labelled(plaintext, context, content_type)[0]

    def seal_labelled(self, plaintext: bytes, context: bytes, content_type: int = CONTENT_BYTES) -> tuple[bytes, str]:
        """:meth:`seal`, also returning the label (``name:vN``) of the key that sealed it, for an EncryptedPayload.

        The hot path of every encryption: one counted use of the primary key, one table lookup, one AEAD call.
        """
        key_id = self._primary_id
        if key_id is None:
            raise KeyStateError(f"keyring {self.name!r} has no primary key; run `infra-security keys rotate`")
        if self._count(key_id) > self._usage_limit:
            key_id = self._exhausted(key_id)
        sealers = self._sealers.get(key_id)
        if sealers is None:  # the key changed state between the two reads (a concurrent rotation): count again
            return self.seal_labelled(plaintext, context, content_type)
        aead, header, aad, label = sealers[content_type]
        return seal_small(aead, header, aad + context if context else aad, plaintext), label

    def _exhausted(self, key_id: int) -> int:
        if not self._auto_rotate:
            raise KeyUsageExceededError(
                f"key {self.label(key_id)} reached its limit of {self._usage_limit} encryptions (random-nonce "
                "bound, NIST SP 800-38D); run `infra-security keys rotate` or enable auto_rotate",
                details={"key_id": self.label(key_id), "limit": self._usage_limit},
            )
        while True:
            with self._rotate_lock:  # check and rotate as one step: racing threads rotate once, not once each
                if self._primary_id == key_id:
                    self.rotate()
            new_id = self._primary_id
            assert new_id is not None
            if self._counter.add(new_id) <= self._usage_limit:
                return new_id
            key_id = new_id  # other threads used the new key up meanwhile: rotate past it as well

    def open(self, blob: bytes, context: bytes) -> tuple[int, bytes]:
        """Decrypt a format-1 ciphertext with the key it names; returns (content type, plaintext)."""
        opened = self.try_open(blob, context)
        if opened is not None:
            return opened
        aead = self._decryptor(blob)  # raises the precise error (truncated, unknown, disabled)
        plaintext = open_sealed(aead, blob, _HEADER_SIZE, context)
        return blob[_HEADER_SIZE - 1], plaintext

    def try_open(self, blob: bytes, context: bytes) -> tuple[int, bytes] | None:
        """The fast path of :meth:`open`: one table lookup and one AEAD call for a small ciphertext.

        Returns ``(content type, plaintext)``, or None for anything unusual (large, truncated, unknown or disabled
        key, bad tag), which :meth:`open` then explains with a precise error. Never returns partial plaintext.
        """
        if type(blob) is not bytes or len(blob) >= _SMALL:
            return None
        entry = self._openers.get(blob[:_HEADER_SIZE])
        if entry is None or len(blob) < _MIN_SIZE:
            return None
        try:
            plaintext = entry[0].decrypt(
                blob[_HEADER_SIZE : _HEADER_SIZE + NONCE_SIZE],
                blob[_HEADER_SIZE + NONCE_SIZE :],
                entry[1] + context if context else entry[1],
            )
        except InvalidTag:
            return None
        return blob[_HEADER_SIZE - 1], plaintext

    def label_of(self, blob: bytes | bytearray) -> str | None:
        """``name:vN`` of the key a format-1 ciphertext names, when this keyring holds that key; else None."""
        key_id = blob[1:5]
        return self._labels.get(key_id if type(key_id) is bytes else bytes(key_id))

    def key_id_of(self, blob: bytes) -> int:
        """The key id a format-1 ciphertext names."""
        if len(blob) < _HEADER_SIZE:
            raise DecryptionError(f"ciphertext is truncated: {len(blob)} bytes, the header alone is {_HEADER_SIZE}")
        if blob[0] != FORMAT_LOCAL:
            raise DecryptionError(
                f"ciphertext format {blob[0]} is not a local-keyring ciphertext (format {FORMAT_LOCAL})"
            )
        return int.from_bytes(blob[1:5], "big")

    def _decryptor(self, blob: bytes) -> AESGCM:
        key_id = self.key_id_of(blob)
        aead = self._decryptors.get(key_id)
        if aead is not None:
            return aead
        record = self._by_id.get(key_id)
        if record is None:
            raise UnknownKeyError(
                f"ciphertext names key {self.label(key_id)}, which keyring {self.name!r} does not hold",
                details={"key_id": self.label(key_id)},
            )
        raise KeyStateError(
            f"key {self.label(key_id)} is {record.state.value}; it cannot decrypt "
            + (
                "(re-enable it with `infra-security keys enable`)"
                if record.state is KeyState.DISABLED
                else "(its material was destroyed)"
            ),
            details={"key_id": self.label(key_id), "state": record.state.value},
        )

    # --- internals ----------------------------------------------------------------------------------

    def _index(self) -> None:
        # Build new tables, then publish them: threads encrypting meanwhile see the old or the new, never half.
        decryptors: dict[int, AESGCM] = {}
        sealers: dict[int, tuple[_Sealer, _Sealer]] = {}  # key id -> per content type (bytes, JSON)
        openers: dict[bytes, tuple[AESGCM, bytes]] = {}  # header -> (key, AAD prefix), for decryption
        primary: int | None = None
        for k in self._data.keys:
            if k.state in (KeyState.PRIMARY, KeyState.DECRYPT_ONLY) and k.material is not None:
                aead = AESGCM(k.material)
                decryptors[k.key_id] = aead
                base = bytes([FORMAT_LOCAL]) + k.key_id.to_bytes(4, "big")
                headers = (base + b"\x00", base + b"\x01")  # content types: bytes, JSON
                label = self.label(k.key_id)
                sealers[k.key_id] = (
                    (aead, headers[0], AAD_DOMAIN + headers[0], label),
                    (aead, headers[1], AAD_DOMAIN + headers[1], label),
                )
                for header in headers:
                    openers[header] = (aead, AAD_DOMAIN + header)
            if k.state is KeyState.PRIMARY:
                primary = k.key_id
        self._by_id = {k.key_id: k for k in self._data.keys}
        self._labels = {k.key_id.to_bytes(4, "big"): self.label(k.key_id) for k in self._data.keys}
        self._decryptors, self._openers = decryptors, openers
        self._sealers = sealers
        self._primary_id = primary

    def _reserve(self, key_id: int, block: int) -> int:
        assert self._path is not None
        recorded: list[int] = []

        def change(data: KeysetData) -> None:
            for k in data.keys:
                if k.key_id == key_id:
                    k.encryptions += block
                    recorded.append(k.encryptions)
            if not recorded:
                raise UnknownKeyError(f"key {self.label(key_id)} vanished from {self._path}")

        update_keyset_file(self._path, change)
        return recorded[0]

    def _sync_counts(self) -> None:
        for k in self._data.keys:
            k.encryptions = max(k.encryptions, self._counter.count(k.key_id))


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _rotate(data: KeysetData) -> int:
    new_id = max((k.key_id for k in data.keys), default=0) + 1
    if new_id >= 2**32:
        raise KeysetError(f"keyset {data.name!r} has used every key id; start a new keyset")
    for k in data.keys:
        if k.state is KeyState.PRIMARY:
            k.state = KeyState.DECRYPT_ONLY
    data.keys.append(KeyRecord(new_id, KeyState.PRIMARY, _now(), os.urandom(KEY_SIZE)))
    return new_id


def _set_state(data: KeysetData, key_id: int, state: KeyState) -> int:
    record = next((k for k in data.keys if k.key_id == key_id), None)
    if record is None:
        raise UnknownKeyError(f"keyset {data.name!r} has no key {key_id} (ids: {[k.key_id for k in data.keys]})")
    if record.state is KeyState.DESTROYED and state is not KeyState.DESTROYED:
        raise KeyStateError(f"key {data.name}:v{key_id} was destroyed; it cannot be brought back")
    if record.state is KeyState.PRIMARY and state is not KeyState.PRIMARY:
        raise KeyStateError(
            f"key {data.name}:v{key_id} is the primary; rotate (or promote another key) before making it {state.value}"
        )
    if state is KeyState.PRIMARY:
        for k in data.keys:
            if k.state is KeyState.PRIMARY:
                k.state = KeyState.DECRYPT_ONLY
    record.state = state
    if state is KeyState.DESTROYED:
        record.material = None
    return key_id
