"""`bump` (new version + CHANGELOG release heading) and `release-notes` (print a release's section)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import Version
from workspace import Package

from releasing import changelog
from releasing.errors import FindingsError, UsageError
from releasing.gitutil import tags
from releasing.history import releases

__all__ = ["SEGMENTS", "Bumped", "bump", "next_version", "plan", "release_notes"]

SEGMENTS = ("major", "minor", "patch", "current")


@dataclass(frozen=True)
class Bumped:
    """The result of a bump."""

    dist: str
    old: str
    new: str
    date: str
    note: str = ""


_RANK = {"patch": 1, "minor": 2, "major": 3}


def next_version(current: str, segment: str) -> str:
    """`0.1.3` + `minor` -> `0.2.0`; `current` keeps the version (a first release); pre-releases are refused."""
    if segment not in SEGMENTS:
        raise UsageError(f"segment {segment!r}: expected one of {', '.join(SEGMENTS)}")
    version = Version(current)
    if version.is_prerelease or version.is_devrelease or version.local:
        raise UsageError(f"current version {current} is a pre-release or local version; set a final one by hand")
    major, minor, patch = [*version.release, 0, 0, 0][:3]
    if segment == "current":
        return current
    if segment == "major":
        return f"{major + 1}.0.0"
    if segment == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def _segment_moved(old: str, new: str) -> int:
    a, b = Version(old), Version(new)
    if b.major > a.major:
        return _RANK["major"]
    if b.minor > a.minor:
        return _RANK["minor"]
    return _RANK["patch"] if b > a else 0


def plan(root: Path, pkg: Package, segment: str) -> tuple[str, str]:
    """(new version, note): the segment moves from the last release, so a version raised by hand is not raised twice.

    `current` releases the version already in `__about__.py` (a first release, or a version raised by hand); a
    `- Breaking:` entry under `## Unreleased` refuses a bump smaller than the break needs.
    """
    known = releases(root, pkg)
    last = known[0] if known else None
    current = Version(pkg.version)
    note = ""
    if last is not None and current < Version(last.version):
        raise UsageError(f"{pkg.dist}: __about__.py says {pkg.version}, older than the last release {last.version}")
    if segment == "current":
        if any(Version(r.version) == current for r in known):
            raise UsageError(
                f"{pkg.dist} {pkg.version} was released before ({last.source if last else ''}); `current` releases "
                "a version not yet released: use patch/minor/major"
            )
        new = next_version(pkg.version, "current")
    elif last is not None and current > Version(last.version):
        target = next_version(last.version, segment)
        new = max(target, pkg.version, key=Version)
        if new != target:
            note = f"{pkg.version} was already set by hand, above the {segment} bump {target} of {last.version}: kept"
        else:
            note = f"{pkg.version} was set by hand: {segment} bump of the last release {last.version}"
    else:
        new = next_version(pkg.version, segment)
    base = last.version if last is not None else None
    text = pkg.changelog_path.read_text(encoding="utf-8") if pkg.changelog_path.is_file() else ""
    declared = changelog.declared_breaking(text)
    if declared and base is not None:
        needed = "minor" if Version(base).major == 0 else "major"
        if _segment_moved(base, new) < _RANK[needed]:
            raise UsageError(
                f"{pkg.dist}: `## Unreleased` declares a break ({declared[0]}); {base} -> {new} is too small: "
                f"use `bump {pkg.dist} {needed}`"
            )
    return new, note


def bump(root: Path, pkg: Package, segment: str, date: str | None = None, *, dry_run: bool = False) -> Bumped:
    """Write the new version to `__about__.py` and turn the Unreleased section into its release heading."""
    new, note = plan(root, pkg, segment)
    if tags(root, f"{pkg.dist}-v{new}"):
        raise UsageError(f"tag {pkg.dist}-v{new} already exists; {new} was released before")
    day = date or datetime.now(UTC).date().isoformat()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        raise UsageError(f"--date {day!r}: expected YYYY-MM-DD")
    about_text = pkg.about_path.read_text(encoding="utf-8")
    new_about, count = re.subn(
        r"""^(__version__\s*=\s*)(["'])[^"']+\2""", rf"\g<1>\g<2>{new}\g<2>", about_text, count=1, flags=re.M
    )
    if count != 1:
        raise UsageError(f'{pkg.about_path}: no `__version__ = "X.Y.Z"` line to rewrite')
    new_changelog = changelog.turn_unreleased_into(pkg.changelog_path.read_text(encoding="utf-8"), new, day)
    if not dry_run:  # both texts are computed before either file is written: nothing half-done
        pkg.changelog_path.write_text(new_changelog, encoding="utf-8")
        pkg.about_path.write_text(new_about, encoding="utf-8")
    return Bumped(pkg.dist, pkg.version, new, day, note)


def release_notes(pkg: Package, version: str | None = None) -> str:
    """The body of the CHANGELOG section of `version` (default: the current `__about__` version)."""
    wanted = version or pkg.version
    text = pkg.changelog_path.read_text(encoding="utf-8")
    section = changelog.release_section(text, wanted)
    if section is None:
        raise FindingsError(
            f"{pkg.changelog_path.name} of {pkg.dist} has no `## {wanted} - YYYY-MM-DD` section; "
            f"run `python tools/release.py bump {pkg.dist} <segment>` first"
        )
    body = "\n".join(section.body).strip("\n")
    if not body.strip():
        raise FindingsError(f"{pkg.dist} {wanted}: its CHANGELOG section is empty")
    return body + "\n"
