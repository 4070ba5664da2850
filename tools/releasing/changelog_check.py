"""`changelog-check`: a change under a package's `src/` needs a new entry in its CHANGELOG.

The release commit that `bump` writes passes too: its only `src/` change is the version in `__about__.py`, and
its CHANGELOG gains the release heading of that version instead of a new entry (the entries only move).
"""

from __future__ import annotations

from workspace import Workspace

from releasing import changelog
from releasing.errors import UsageError
from releasing.gitutil import changed_files, merge_base, show_file

__all__ = ["check_changelogs"]


def _new_lines(before: str, after: str) -> set[str]:
    """Entry lines of `after`'s Unreleased and release sections that `before` did not have."""
    old = {line.strip() for line in before.splitlines() if line.strip()}
    new: set[str] = set()
    for section in changelog.sections(after):
        new |= {line.strip() for line in changelog.entries(section) if line.strip() not in old}
    return new


def _gained_heading(before: str, after: str, version: str) -> bool:
    """True when `after` has the release section of `version` and `before` did not."""
    try:
        had = changelog.release_section(before, version) is not None if before else False
    except UsageError:
        had = False
    return not had and changelog.release_section(after, version) is not None


def check_changelogs(ws: Workspace, base: str) -> tuple[list[str], list[str]]:
    """(problems, checked packages) for the changes since the merge-base with `base`."""
    changed = changed_files(ws.root, base)
    start = merge_base(ws.root, base)
    problems: list[str] = []
    checked: list[str] = []
    for pkg in ws.packages:
        src = pkg.src_path.relative_to(ws.root).as_posix() + "/"
        touched = [p for p in changed if p.startswith(src)]
        if not touched:
            continue
        checked.append(pkg.dist)
        path = pkg.changelog_path.relative_to(ws.root).as_posix()
        if not pkg.changelog_path.is_file():
            problems.append(f"{pkg.dist}: {path} is missing")
            continue
        after = pkg.changelog_path.read_text(encoding="utf-8")
        try:
            if changelog.unreleased(after) is None:
                problems.append(f"{pkg.dist}: {path} has no `## Unreleased` section")
                continue
            added = _new_lines(show_file(ws.root, start, path), after)
        except UsageError as exc:
            problems.append(f"{pkg.dist}: {path}: {exc}")
            continue
        about = pkg.about_path.relative_to(ws.root).as_posix()
        others = [p for p in touched if p != about]
        if added:
            continue
        if not others and _gained_heading(show_file(ws.root, start, path), after, pkg.version):
            continue  # the release commit: __about__.py and the `## X.Y.Z - date` heading
        if not others:
            problems.append(
                f"{pkg.dist}: {about} changed but {path} gained neither an entry nor the `## {pkg.version} - "
                f"YYYY-MM-DD` heading: release with `python tools/release.py bump {pkg.dist} <segment>`"
            )
            continue
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        problems.append(
            f"{pkg.dist}: {shown} changed but {path} gained no entry: add a line under `## Unreleased` "
            "(or label the pull request `skip-changelog`)"
        )
    return problems, checked
