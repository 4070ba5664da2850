"""Plans: what rendering would do to the file system, computed in memory, then applied exactly and atomically.

A :class:`Plan` lists every path with its action (create, overwrite, identical, skip, conflict, delete), the
SHA-256 of the new and the existing bytes, and a unified diff for text changes. ``--dry-run`` prints the plan;
:func:`apply_plan` writes exactly that plan: every new file is first written beside its target, then all are
renamed into place; any failure removes what was created and restores what was overwritten, so nothing is
left half-written. A file that changed since planning stops the apply before anything is written.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from infra_gen.errors import ConflictError, InvalidAnswerError, StalePlanError, UnsafePathError, WriteError
from infra_gen.render import RenderedFile

__all__ = ["Action", "OnConflict", "Plan", "PlannedFile", "apply_plan", "build_plan", "merge_plans"]

OnConflict = Literal["abort", "skip", "overwrite"]
_MAX_DIFF_LINES = 400


class Action(StrEnum):
    """What applying a plan does to one path."""

    CREATE = "create"
    OVERWRITE = "overwrite"
    IDENTICAL = "identical"
    SKIP = "skip"
    CONFLICT = "conflict"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """One path of a plan: the action, new content (absent for delete) and the hashes it was planned against."""

    path: str
    action: Action
    content: bytes | None
    sha256: str | None
    existing_sha256: str | None
    diff: str | None = None
    executable: bool = False
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (without the content)."""
        data: dict[str, Any] = {
            "path": self.path,
            "action": self.action.value,
            "sha256": self.sha256,
            "existing_sha256": self.existing_sha256,
            "size": None if self.content is None else len(self.content),
        }
        if self.diff is not None:
            data["diff"] = self.diff
        if self.note is not None:
            data["note"] = self.note
        return data


@dataclass(frozen=True, slots=True)
class Plan:
    """Every path a generation or update touches, relative to ``root``."""

    root: Path
    files: tuple[PlannedFile, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def conflicts(self) -> tuple[PlannedFile, ...]:
        """Paths that would overwrite different content under ``--on-conflict abort``."""
        return tuple(f for f in self.files if f.action is Action.CONFLICT)

    @property
    def writes(self) -> tuple[PlannedFile, ...]:
        """Paths whose bytes change when the plan is applied (create, overwrite, delete)."""
        return tuple(f for f in self.files if f.action in {Action.CREATE, Action.OVERWRITE, Action.DELETE})

    def counts(self) -> dict[str, int]:
        """Number of paths per action."""
        out = {a.value: 0 for a in Action}
        for f in self.files:
            out[f.action.value] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the plan."""
        return {
            "root": str(self.root),
            **dict(self.meta),
            "counts": self.counts(),
            "files": [f.to_dict() for f in self.files],
        }


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def _diff(path: str, old: bytes | None, new: bytes | None) -> str | None:
    if path.endswith(".infra-gen.json"):
        return None  # machine-owned: its text diff repeats every other file's
    try:
        old_text = "" if old is None else old.decode("utf-8")
        new_text = "" if new is None else new.decode("utf-8")
    except UnicodeDecodeError:
        return None  # binary: the hashes say enough
    lines = list(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}" if new is not None else "/dev/null",
        )
    )
    if len(lines) > _MAX_DIFF_LINES:
        lines = [*lines[:_MAX_DIFF_LINES], f"... ({len(lines) - _MAX_DIFF_LINES} more diff lines)\n"]
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def safe_target(root: Path, rel: str, _parents: dict[Path, Path] | None = None) -> Path:
    """The absolute target of ``rel`` under ``root``; refuses absolute paths, ``..`` and symlinks leading out.

    ``_parents`` caches resolved folders for one plan (a node has a handful of folders and many files).
    """
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in rel:
        raise UnsafePathError(f"refusing path {rel!r}: it must stay inside {root}", details={"path": rel})
    target = root.joinpath(*pure.parts)
    cache = {} if _parents is None else _parents
    resolved_root = cache.get(root)
    if resolved_root is None:
        resolved_root = cache[root] = root.resolve()
    parent = cache.get(target.parent)
    if parent is None:
        parent = cache[target.parent] = target.parent.resolve()
    if parent != resolved_root and resolved_root not in parent.parents:
        raise UnsafePathError(
            f"refusing path {rel!r}: a symlink leads it outside {root}", details={"path": rel, "resolved": str(parent)}
        )
    return target


def _read(target: Path) -> bytes | None:
    """The bytes of the regular file ``target``, ``None`` when absent; refuses folders and symlinks."""
    try:
        info = os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePathError(f"{target} exists and is not a regular file", details={"path": str(target)})
    try:
        return target.read_bytes()
    except OSError as exc:
        raise WriteError(f"cannot read {target}: {exc.strerror}", details={"path": str(target)}) from exc


def plan_file(
    root: Path,
    rendered: RenderedFile,
    on_conflict: OnConflict = "abort",
    *,
    note: str | None = None,
    _parents: dict[Path, Path] | None = None,
) -> PlannedFile:
    """Plan one rendered file against what is on disk under ``root``."""
    target = safe_target(root, rendered.path, _parents)
    existing = _read(target)
    new_hash = sha256(rendered.content)
    if existing is None:
        return PlannedFile(
            rendered.path, Action.CREATE, rendered.content, new_hash, None, None, rendered.executable, note
        )
    old_hash = sha256(existing)
    if existing == rendered.content:
        return PlannedFile(
            rendered.path, Action.IDENTICAL, rendered.content, new_hash, old_hash, None, rendered.executable, note
        )
    action = {"abort": Action.CONFLICT, "skip": Action.SKIP, "overwrite": Action.OVERWRITE}[on_conflict]
    diff = _diff(rendered.path, existing, rendered.content)
    return PlannedFile(rendered.path, action, rendered.content, new_hash, old_hash, diff, rendered.executable, note)


def plan_delete(root: Path, rel: str, *, note: str | None = None) -> PlannedFile:
    """Plan removing ``rel`` (which must exist) under ``root``."""
    target = safe_target(root, rel)
    existing = _read(target)
    if existing is None:
        raise UnsafePathError(f"cannot plan deleting {rel!r}: it does not exist", details={"path": rel})
    return PlannedFile(rel, Action.DELETE, None, None, sha256(existing), _diff(rel, existing, None), False, note)


def build_plan(
    root: Path | str,
    rendered: Iterable[RenderedFile],
    *,
    on_conflict: OnConflict = "abort",
    meta: Mapping[str, Any] | None = None,
) -> Plan:
    """Compare rendered files with ``root`` on disk and decide each path's action; writes nothing."""
    base = Path(root)
    parents: dict[Path, Path] = {}
    files = tuple(plan_file(base, f, on_conflict, _parents=parents) for f in rendered)
    return Plan(base, files, dict(meta or {}))


def merge_plans(plans: Sequence[Plan], sources: Sequence[str] | None = None) -> Plan:
    """One plan of several (a bulk generation), relative to their common root, applied all or nothing.

    A path two plans write with the same bytes (a shared ``__init__.py``) is kept once; with different bytes it is
    an :class:`InvalidAnswerError` naming both sources (``sources[i]`` names ``plans[i]``, e.g. its contract).

    Raises:
        InvalidAnswerError: two plans write one path differently.
    """
    if not plans:
        raise ValueError("merge_plans needs at least one plan")
    names = list(sources) if sources is not None else [str(i) for i in range(len(plans))]
    root = Path(os.path.commonpath([str(p.root.resolve()) for p in plans]))
    merged: dict[str, tuple[PlannedFile, str]] = {}
    for plan, source in zip(plans, names, strict=True):
        prefix = PurePosixPath(plan.root.resolve().relative_to(root).as_posix())
        for planned in plan.files:
            rel = (prefix / planned.path).as_posix()
            seen = merged.get(rel)
            if seen is None:
                merged[rel] = (replace(planned, path=rel, diff=_rebased_diff(planned, rel)), source)
            elif (seen[0].action, seen[0].sha256) != (planned.action, planned.sha256):
                raise InvalidAnswerError(
                    f"{seen[1]} and {source} both generate {rel} with different content; generate them apart "
                    "or into different folders",
                    details={"path": rel, "sources": [seen[1], source]},
                )
    files = tuple(planned for planned, _ in merged.values())
    return Plan(root, files, {"plans": [{"source": n, **dict(p.meta)} for p, n in zip(plans, names, strict=True)]})


def _rebased_diff(planned: PlannedFile, rel: str) -> str | None:
    """The file's diff with its headers naming ``rel`` (the path in the merged plan), so it stays a valid patch."""
    if planned.diff is None or rel == planned.path:
        return planned.diff
    head, sep, body = planned.diff.partition("\n@@")
    head = head.replace(f"--- a/{planned.path}\n", f"--- a/{rel}\n").replace(f"+++ b/{planned.path}", f"+++ b/{rel}")
    return head + sep + body


def apply_plan(plan: Plan) -> list[str]:
    """Write exactly ``plan``: all of it or, on any failure, nothing. Returns the paths written.

    Raises:
        ConflictError: the plan has conflicts (nothing is written).
        StalePlanError: a target changed since the plan was made (nothing is written).
    """
    if plan.conflicts:
        paths = ", ".join(f.path for f in plan.conflicts[:5])
        more = f" and {len(plan.conflicts) - 5} more" if len(plan.conflicts) > 5 else ""
        raise ConflictError(
            f"{len(plan.conflicts)} file(s) already exist with other content under {plan.root}: {paths}{more}; "
            "nothing was written. Use --on-conflict skip or overwrite, or `infra-gen update` for a merge",
            details={"conflicts": [f.path for f in plan.conflicts]},
        )
    writes = plan.writes
    parents: dict[Path, Path] = {}
    targets = [safe_target(plan.root, f.path, parents) for f in writes]
    for planned, target in zip(writes, targets, strict=True):
        current = _read(target)
        current_hash = None if current is None else sha256(current)
        if current_hash != planned.existing_sha256:
            raise StalePlanError(
                f"{target} changed after the plan was made; nothing was written. Plan again",
                details={"path": planned.path},
            )
    try:
        _Transaction(writes, targets).run()
    except OSError as exc:
        where = exc.filename or plan.root
        raise WriteError(
            f"cannot write {where}: {exc.strerror or exc}; nothing was written",
            details={"path": str(where)},
        ) from exc
    return [f.path for f in writes]


class _Transaction:
    """Stage every file beside its target, then rename all into place; undo everything on any failure."""

    def __init__(self, files: tuple[PlannedFile, ...], targets: list[Path]) -> None:
        self.files = files
        self.targets = targets
        self.created_dirs: list[Path] = []
        self.staged: dict[Path, Path] = {}
        self.backups: dict[Path, Path] = {}
        self.placed: list[Path] = []

    def run(self) -> None:
        try:
            for planned, target in zip(self.files, self.targets, strict=True):
                if planned.content is not None:
                    self._stage(planned, target)
            for planned, target in zip(self.files, self.targets, strict=True):
                if planned.action is not Action.CREATE:
                    self._backup(target)
            for planned, target in zip(self.files, self.targets, strict=True):
                if planned.content is not None:
                    os.replace(self.staged[target], target)
                    del self.staged[target]
                    self.placed.append(target)
        except BaseException:
            self._rollback()
            raise
        for backup in self.backups.values():
            backup.unlink(missing_ok=True)

    def _mkdirs(self, directory: Path) -> None:
        missing: list[Path] = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for d in reversed(missing):
            d.mkdir()
            self.created_dirs.append(d)

    def _stage(self, planned: PlannedFile, target: Path) -> None:
        self._mkdirs(target.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".infra-gen-tmp", dir=target.parent)
        self.staged[target] = Path(tmp)
        with os.fdopen(fd, "wb") as out:
            out.write(planned.content or b"")
        mode = 0o755 if planned.executable else 0o644
        if target.exists():
            mode = target.stat().st_mode & 0o777 | (0o111 if planned.executable else 0)
        os.chmod(tmp, mode)

    def _backup(self, target: Path) -> None:
        # A hard link keeps the old bytes reachable under a second name while the target is replaced.
        backup = target.with_name(f".{target.name}.infra-gen-bak")
        backup.unlink(missing_ok=True)
        try:
            os.link(target, backup)
        except OSError:  # no hard links on this file system: copy instead
            shutil.copy2(target, backup)
        self.backups[target] = backup
        if target not in self.staged:  # a delete: remove now, restore from the backup on failure
            target.unlink()

    def _rollback(self) -> None:
        # Best effort on every step: one failure must not stop the others from being undone.
        for tmp in self.staged.values():
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        for target in self.placed:
            if target not in self.backups:
                with contextlib.suppress(OSError):
                    target.unlink(missing_ok=True)
        for target, backup in self.backups.items():
            with contextlib.suppress(OSError):
                if target.exists() and os.path.samefile(target, backup):
                    backup.unlink()  # never replaced: rename() between two links of one file does nothing
                else:
                    os.replace(backup, target)
        for directory in reversed(self.created_dirs):
            with contextlib.suppress(OSError):  # not empty: something else put a file there
                directory.rmdir()
