"""A disk cache of compiled template code, so a fresh ``infra-gen`` process does not recompile every template.

Compiling the ~60 Jinja templates of a kind costs a fresh CLI process about 30 ms; Jinja's bytecode caches
only serve loader-based templates, so infra-gen keeps the same thing for its own: the templates' code objects,
marshalled into one file per (template contents, Jinja version, Python version). A changed template gets a new
key; a missing, unreadable or corrupt file, or one someone else could have written, means compiling again. The
folder is ``$INFRA_GEN_CACHE_DIR``, else ``$XDG_CACHE_HOME/infra-gen``, else ``~/.cache/infra-gen``; set
``INFRA_GEN_CACHE_DIR`` to an empty string to turn the cache off.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import stat
import sys
import tempfile
from pathlib import Path
from types import CodeType

__all__ = ["cache_dir", "cache_key", "load_codes", "store_codes"]

_FORMAT = b"infra-gen-codes-1"


def cache_dir() -> Path | None:
    """Where compiled templates are kept, or None when the cache is turned off."""
    configured = os.environ.get("INFRA_GEN_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "infra-gen"


def cache_key(template_digest: str, jinja_version: str) -> str:
    """The key of one template folder's code: its contents, the Jinja version and the Python bytecode version."""
    parts = (_FORMAT.decode(), template_digest, jinja_version, sys.implementation.cache_tag or "", sys.version)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def load_codes(key: str, count: int) -> list[CodeType] | None:
    """The ``count`` code objects stored under ``key``, or None when there is no usable entry."""
    folder = cache_dir()
    if folder is None:
        return None
    path = folder / f"{key}.codes"
    try:
        if not (_private(folder) and _private(path)):
            return None
        data = path.read_bytes()
        if not data.startswith(_FORMAT):
            return None
        # Code is only loaded from a file and folder this user owns and nobody else can write (as Python trusts
        # its __pycache__ and Jinja its bytecode cache).
        codes = marshal.loads(data[len(_FORMAT) :])  # noqa: S302
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not isinstance(codes, tuple) or len(codes) != count or not all(isinstance(c, CodeType) for c in codes):
        return None
    return list(codes)


def _private(path: Path) -> bool:
    """True when ``path`` belongs to this user and no one else can write it (always true where there are no uids)."""
    info = path.stat()
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return True
    return info.st_uid == getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def store_codes(key: str, codes: list[CodeType]) -> None:
    """Keep ``codes`` under ``key``; written atomically, and any failure is ignored (the cache is optional)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".codes-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_FORMAT + marshal.dumps(tuple(codes)))
            os.replace(tmp, folder / f"{key}.codes")
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, ValueError):
        return
