"""`pending`: the packages with changes since their last release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workspace import Package, Workspace

from releasing import changelog
from releasing.gitutil import git
from releasing.history import Release, last_release

__all__ = ["Pending", "pending"]


@dataclass(frozen=True)
class Pending:
    """One package's state against its last release."""

    dist: str
    version: str
    last: Release | None
    commits: int
    files: tuple[str, ...]
    unreleased_entries: int

    @property
    def is_pending(self) -> bool:
        """Never released, or changed since the release."""
        return self.last is None or bool(self.commits or self.files)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "package": self.dist,
            "version": self.version,
            "last_release": self.last.as_dict() if self.last else None,
            "pending": self.is_pending,
            "commits_since": self.commits,
            "files_changed": list(self.files),
            "unreleased_entries": self.unreleased_entries,
        }


def _state(root: Path, pkg: Package) -> Pending:
    rel = last_release(root, pkg)
    folder = pkg.path.relative_to(root).as_posix()
    text = pkg.changelog_path.read_text(encoding="utf-8") if pkg.changelog_path.is_file() else ""
    section = changelog.unreleased(text) if text else None
    n_entries = sum(1 for line in changelog.entries(section) if line.lstrip().startswith(("-", "*"))) if section else 0
    if rel is None:
        count = len(git(root, "log", "--format=%H", "--", folder, check=False).split())
        return Pending(pkg.dist, pkg.version, None, count, (), n_entries)
    commits = git(root, "log", "--format=%H", f"{rel.commit}..HEAD", "--", folder).split()
    files = git(root, "diff", "--name-only", rel.commit, "HEAD", "--", folder).split()
    return Pending(pkg.dist, pkg.version, rel, len(commits), tuple(files), n_entries)


def pending(ws: Workspace, names: list[str] | None = None) -> list[Pending]:
    """State of every member (or of `names`), in dependency order (release infra-models first)."""
    return [_state(ws.root, ws.get(d)) for d in ws.order(names)]
