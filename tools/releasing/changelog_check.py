"""`changelog-check`: a change under a package's `src/` needs a new entry in its CHANGELOG."""

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
        if not added:
            shown = ", ".join(touched[:3]) + (" ..." if len(touched) > 3 else "")
            problems.append(
                f"{pkg.dist}: {shown} changed but {path} gained no entry: add a line under `## Unreleased` "
                "(or label the pull request `skip-changelog`)"
            )
    return problems, checked
