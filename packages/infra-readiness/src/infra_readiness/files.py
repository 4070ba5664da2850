"""Bounded, loop-safe access to a node's files: no symlinked directory is followed, no file read whole if huge."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BUILD_OUTPUT_DIRS",
    "MAX_FILES",
    "MAX_FILE_BYTES",
    "FileProblem",
    "SKIPPED_DIRS",
    "printable",
    "read_text",
    "skipped_dir",
    "walk_files",
]

#: Files larger than this are not scanned (a finding says so).
MAX_FILE_BYTES = 1_000_000
#: A node with more files than this is scanned only up to it (a finding says so).
MAX_FILES = 20_000
#: Folders never entered: caches, virtual environments, coverage output (and hidden folders, ``*.egg-info``).
SKIPPED_DIRS = frozenset(
    {
        "__pycache__",
        "node_modules",
        "site-packages",
        "htmlcov",
    }
)
#: Build output beside a ``pyproject.toml``; elsewhere (or holding ``__init__.py``) these are real packages.
BUILD_OUTPUT_DIRS = frozenset({"build", "dist"})
_SNIFF = 8192


def printable(text: str) -> str:
    """``text`` safe for JSON and terminals: undecodable bytes of file names (surrogates) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if not text.isascii() else text


@dataclass(frozen=True)
class FileProblem:
    """A file that could not be read as text: too large, binary, unreadable or a symlink loop."""

    path: Path
    reason: str


def skipped_dir(parent: Path, name: str) -> bool:
    """True for a folder a walk does not enter: hidden, a cache, ``*.egg-info``, or build output of a package."""
    if name.startswith(".") or name in SKIPPED_DIRS or name.endswith(".egg-info"):
        return True
    return (
        name in BUILD_OUTPUT_DIRS
        and (parent / "pyproject.toml").is_file()
        and not (parent / name / "__init__.py").exists()
    )


def walk_files(root: Path, problems: list[FileProblem], *, limit: int = MAX_FILES) -> list[Path]:
    """Every file under ``root`` in a stable order, skipping hidden and cache folders.

    Symlinked folders are listed but never entered, so a symlink loop cannot make the walk endless.
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=None):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(here, d))
        for name in sorted(filenames):
            if len(found) >= limit:
                problems.append(FileProblem(root, f"more than {limit} files: the rest were not scanned"))
                return found
            found.append(Path(dirpath) / name)
    return found


def read_text(path: Path, problems: list[FileProblem], *, max_bytes: int = MAX_FILE_BYTES) -> str | None:
    """The text of ``path``, or ``None`` (with a problem recorded) when it is not a readable, small text file."""
    try:
        info = path.stat()
    except OSError as exc:
        reason = "a symlink loop" if exc.errno == errno.ELOOP else f"unreadable ({exc.strerror})"
        problems.append(FileProblem(path, reason))
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(FileProblem(path, "not a regular file"))
        return None
    if info.st_size > max_bytes:
        problems.append(FileProblem(path, f"larger than {max_bytes} bytes ({info.st_size}); not scanned"))
        return None
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        problems.append(FileProblem(path, f"unreadable ({exc.strerror})"))
        return None
    if len(data) > max_bytes:
        problems.append(FileProblem(path, f"grew past {max_bytes} bytes while read; not scanned"))
        return None
    if b"\x00" in data[:_SNIFF]:
        problems.append(FileProblem(path, "binary; not scanned"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(FileProblem(path, "not UTF-8 text; not scanned"))
        return None
