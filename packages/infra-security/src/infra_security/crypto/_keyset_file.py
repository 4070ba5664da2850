"""Keyset storage: the JSON document, a permission-checked file, and the environment variables.

A keyset file is JSON (``"type": "infra-security/keyset"``) and must be readable by its owner only
(mode 0600); a group- or world-accessible file is refused. Writes are atomic (temporary file, fsync, rename)
and serialised by an ``fcntl`` lock on ``<file>.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson

from infra_models.encoding import b64url_decode, b64url_encode
from infra_security.errors import KeyNotConfiguredError, KeysetError

__all__ = [
    "ENV_KEYSET",
    "ENV_KEYSET_FILE",
    "KEYSET_TYPE",
    "KeyRecord",
    "KeyState",
    "KeysetData",
    "check_private_file",
    "dump_keyset",
    "keyset_source_from_environment",
    "locked",
    "parse_keyset",
    "read_keyset_file",
    "update_keyset_file",
    "write_private_file",
]

ENV_KEYSET = "INFRA_SECURITY_KEYSET"
ENV_KEYSET_FILE = "INFRA_SECURITY_KEYSET_FILE"
KEYSET_TYPE = "infra-security/keyset"


class KeyState(StrEnum):
    """Lifecycle of a key: one PRIMARY encrypts; DECRYPT_ONLY keys still open old data."""

    PRIMARY = "primary"
    DECRYPT_ONLY = "decrypt-only"
    DISABLED = "disabled"
    DESTROYED = "destroyed"


@dataclass
class KeyRecord:
    """One key of a keyset, as stored."""

    key_id: int
    state: KeyState
    created_at: datetime
    material: bytes | None = field(repr=False)  # key material never appears in a repr, log line or traceback
    encryptions: int = 0


@dataclass
class KeysetData:
    """A whole keyset, as stored: its name and its keys."""

    name: str
    keys: list[KeyRecord] = field(default_factory=list)


def _b64(data: bytes) -> str:
    return b64url_encode(data)


def _unb64(text: str) -> bytes:
    return b64url_decode(text, what="field `material`")


def dump_keyset(data: KeysetData) -> bytes:
    """Serialise a keyset to its JSON document."""
    keys = [
        {
            "id": k.key_id,
            "state": k.state.value,
            "created_at": k.created_at.isoformat(),
            "encryptions": k.encryptions,
            "material": None if k.material is None else _b64(k.material),
        }
        for k in data.keys
    ]
    doc = {"type": KEYSET_TYPE, "version": 1, "name": data.name, "keys": keys}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"


def _field(obj: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in obj:
        raise KeysetError(f"{where}: field `{name}` is missing")
    value = obj[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise KeysetError(f"{where}: field `{name}` must be {kind.__name__}, got {type(value).__name__}")
    return value


def parse_keyset(raw: bytes | str, source: str) -> KeysetData:
    """Parse and validate a keyset document; every problem names ``source`` and the field."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise KeysetError(f"{source}: not a JSON keyset ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") != KEYSET_TYPE:
        raise KeysetError(f'{source}: not an infra-security keyset (expected "type": "{KEYSET_TYPE}")')
    if doc.get("version") != 1:
        raise KeysetError(f"{source}: unsupported keyset version {doc.get('version')!r} (this release reads 1)")
    name = _field(doc, "name", str, source)
    keys: list[KeyRecord] = []
    for i, item in enumerate(_field(doc, "keys", list, source)):
        where = f"{source}: keys[{i}]"
        if not isinstance(item, dict):
            raise KeysetError(f"{where}: must be an object")
        key_id = _field(item, "id", int, where)
        if not 0 < key_id < 2**32:
            raise KeysetError(f"{where}: `id` must be in 1..2^32-1, got {key_id}")
        try:
            state = KeyState(_field(item, "state", str, where))
        except ValueError as exc:
            raise KeysetError(f"{where}: `state` must be one of {', '.join(s.value for s in KeyState)}") from exc
        try:
            created = datetime.fromisoformat(_field(item, "created_at", str, where))
        except ValueError as exc:
            raise KeysetError(f"{where}: `created_at` is not an ISO 8601 time") from exc
        encryptions = item.get("encryptions", 0)
        if not isinstance(encryptions, int) or isinstance(encryptions, bool) or encryptions < 0:
            raise KeysetError(f"{where}: `encryptions` must be a non-negative integer")
        material: bytes | None = None
        if state is not KeyState.DESTROYED:
            try:
                material = _unb64(_field(item, "material", str, where))
            except ValueError as exc:  # Base64UrlError included
                raise KeysetError(f"{where}: `material` is not base64url") from exc
            if len(material) != 32:
                raise KeysetError(f"{where}: `material` must be 32 bytes (AES-256), got {len(material)}")
        keys.append(
            KeyRecord(key_id, state, created if created.tzinfo else created.replace(tzinfo=UTC), material, encryptions)
        )
    ids = [k.key_id for k in keys]
    if len(set(ids)) != len(ids):
        raise KeysetError(f"{source}: duplicate key ids {sorted(i for i in set(ids) if ids.count(i) > 1)}")
    primaries = [k.key_id for k in keys if k.state is KeyState.PRIMARY]
    if len(primaries) > 1:
        raise KeysetError(f"{source}: more than one primary key ({primaries}); keep exactly one")
    return KeysetData(name=name, keys=keys)


def check_private_file(path: Path) -> None:
    """Refuse a secret file that the group or others can access (fix: ``chmod 600 PATH``)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeysetError(f"{path}: file not found") from exc
    except OSError as exc:
        raise KeysetError(f"{path}: cannot read ({exc.strerror})") from exc
    if not stat.S_ISREG(mode):
        raise KeysetError(f"{path}: not a regular file")
    if mode & 0o077:
        raise KeysetError(
            f"{path}: permissions {stat.filemode(mode)} let the group or others access a secret; "
            f"run `chmod 600 {path}`",
            code="security.keyset_permissions",
        )


def read_keyset_file(path: Path) -> KeysetData:
    """Read a keyset file after checking that only its owner can access it."""
    check_private_file(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KeysetError(f"{path}: cannot read ({exc.strerror})") from exc
    return parse_keyset(raw, str(path))


def write_private_file(path: Path, content: bytes) -> None:
    """Write atomically with mode 0600: temporary file in the same folder, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(content)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed write (full disk, quota) leaves no .tmp file behind
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on ``<path>.lock`` (serialises writers across processes)."""
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def update_keyset_file(path: Path, change: Callable[[KeysetData], None]) -> KeysetData:
    """Re-read the file under its lock, apply ``change``, write it back atomically; return the new data."""
    with locked(path):
        data = read_keyset_file(path)
        change(data)
        write_private_file(path, dump_keyset(data))
        return data


def keyset_source_from_environment(name: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """Which keyset the environment configures: ``("file", path)`` or ``("env", json)``; fail closed if none."""
    path, inline = environ.get(ENV_KEYSET_FILE, ""), environ.get(ENV_KEYSET, "")
    if path and inline:
        raise KeysetError(f"both {ENV_KEYSET_FILE} and {ENV_KEYSET} are set; set only one")
    if path:
        return "file", path
    if inline:
        return "env", inline
    raise KeyNotConfiguredError(
        f"no encryption key configured for {name!r}: set {ENV_KEYSET_FILE} to a keyset file "
        f"(create one with `infra-security keys generate --name {name} -o PATH`) or {ENV_KEYSET} to a "
        "keyset's JSON (development only); no key is ever generated implicitly",
        details={"key_id": name, "variables": [ENV_KEYSET_FILE, ENV_KEYSET]},
    )
