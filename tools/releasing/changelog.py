"""Per-package CHANGELOG.md: `## Unreleased` on top, then `## X.Y.Z - YYYY-MM-DD` release sections."""

from __future__ import annotations

import re
from dataclasses import dataclass

from releasing.errors import FindingsError, UsageError

__all__ = [
    "Section",
    "declared_breaking",
    "entries",
    "release_heading",
    "released_versions",
    "sections",
    "turn_unreleased_into",
]

_HEADING = re.compile(
    r"^## \[?(?P<title>Unreleased|\d+\.\d+\.\d+[0-9A-Za-z.+-]*)\]?(?:\s+-\s+(?P<date>\d{4}-\d{2}-\d{2}))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Section:
    """One `## ...` section: its title (`Unreleased` or a version), date, and body lines."""

    title: str
    date: str | None
    start: int  # index of the heading line
    end: int  # index one past the last body line
    body: tuple[str, ...]

    @property
    def is_unreleased(self) -> bool:
        """True for the `## Unreleased` section."""
        return self.title.lower() == "unreleased"


def sections(text: str) -> list[Section]:
    """The `## ` sections in file order; a `## ` heading that is neither form raises `UsageError`."""
    lines = text.splitlines()
    heads: list[tuple[int, str, str | None]] = []
    for i, line in enumerate(lines):
        if line.startswith("## "):
            match = _HEADING.match(line)
            if match is None:
                raise UsageError(
                    f"CHANGELOG line {i + 1}: {line!r} is neither `## Unreleased` nor `## X.Y.Z - YYYY-MM-DD`"
                )
            heads.append((i, match.group("title"), match.group("date")))
    found = []
    for n, (i, title, date) in enumerate(heads):
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        found.append(Section(title, date, i, end, tuple(lines[i + 1 : end])))
    return found


def entries(section: Section) -> list[str]:
    """The non-blank body lines of a section (its entries and their continuation lines)."""
    return [line for line in section.body if line.strip()]


def unreleased(text: str) -> Section | None:
    """The `## Unreleased` section, if any."""
    return next((s for s in sections(text) if s.is_unreleased), None)


_BREAKING_ENTRY = re.compile(r"^\s*[-*]\s+(?:\*\*)?breaking(?:\*\*)?\s*:(?:\*\*)?", re.IGNORECASE)


def declared_breaking(text: str) -> list[str]:
    """The `- Breaking: ...` entries of `## Unreleased`: a break announced before the release bumps for it."""
    section = unreleased(text)
    if section is None:
        return []
    return [line.strip() for line in section.body if _BREAKING_ENTRY.match(line)]


def released_versions(text: str) -> list[str]:
    """Versions with a release heading, newest first as written."""
    return [s.title for s in sections(text) if not s.is_unreleased]


def release_heading(version: str, date: str) -> str:
    """The heading line `bump` writes."""
    return f"## {version} - {date}"


def release_section(text: str, version: str) -> Section | None:
    """The section released as `version`, if any."""
    return next((s for s in sections(text) if not s.is_unreleased and s.title == version), None)


def turn_unreleased_into(text: str, version: str, date: str) -> str:
    """Rename `## Unreleased` to the release heading and put a fresh empty Unreleased section above it."""
    current = unreleased(text)
    if current is None:
        raise UsageError("CHANGELOG has no `## Unreleased` section to release; add one with the changes")
    if not entries(current):
        raise FindingsError("the `## Unreleased` section is empty: nothing to release (add the changes first)")
    if release_section(text, version) is not None:
        raise UsageError(f"CHANGELOG already has a `## {version}` section")
    lines = text.splitlines()
    new = [*lines[: current.start], "## Unreleased", "", release_heading(version, date), *lines[current.start + 1 :]]
    return "\n".join(new) + "\n"
