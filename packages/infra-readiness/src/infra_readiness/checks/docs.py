"""Documentation checks: a README with the sections users need, and a CHANGELOG."""

from __future__ import annotations

import re

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "changelog_present", "headings", "readme_present", "readme_sections"]

_README = ("README.md", "README.rst", "README.txt", "README")
_CHANGELOG = ("CHANGELOG.md", "CHANGELOG.rst", "CHANGES.md", "CHANGES.rst", "HISTORY.md", "HISTORY.rst", "CHANGELOG")
_SECTIONS: dict[str, tuple[str, ...]] = {
    "Installation": ("install",),
    "Usage": ("usage", "use", "example", "quickstart", "quick start", "getting started", "how to use"),
}
_EFFECT_SECTIONS: dict[str, tuple[str, ...]] = {"Configuration": ("config", "setting", "environment")}
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")
_VERSION_HEADING = re.compile(r"^(unreleased|\[?v?\d+\.\d+)", re.IGNORECASE)


def headings(text: str) -> list[tuple[int, str]]:
    """``(line, title)`` of every Markdown (``#``) or reStructuredText (underlined) heading."""
    found: list[tuple[int, str]] = []
    lines = text.splitlines()
    fenced = False
    for index, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            if title:
                found.append((index + 1, title))
        elif index + 1 < len(lines) and line.strip() and _RST_UNDERLINE.match(lines[index + 1]):
            found.append((index + 1, line.strip()))
    return found


@check(
    id="DOC-001",
    title="README present",
    category=CheckCategory.DOCUMENTATION,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.MEDIUM,
    remediation="Add a README.md that says what the node does, in a title and a paragraph at least.",
)
def readme_present(node: NodeContext) -> Outcome:
    """The node has a README with some content (a title and a few lines)."""
    path = node.exists(*_README)
    if path is None:
        return Outcome.failed("no README", [Finding(message="no README.md at the node root")])
    text = node.text(path)
    if text is None or len([line for line in text.splitlines() if line.strip()]) < 3:
        return Outcome.failed(
            f"{path.name} is empty or unreadable", [Finding(message="fewer than 3 lines of text", file=path.name)]
        )
    return Outcome.passed(path.name)


@check(
    id="DOC-002",
    title="README has the sections users need",
    category=CheckCategory.DOCUMENTATION,
    gates=ReadinessLevel.STAGING,
    severity=Severity.MEDIUM,
    requires=("DOC-001",),
    remediation=(
        "Give the README an Installation section and a Usage (or Example, Quickstart) section with a real example; "
        "an EFFECT node also documents its Configuration."
    ),
)
def readme_sections(node: NodeContext) -> Outcome:
    """The README has Installation and Usage sections (Configuration too for an EFFECT node)."""
    path = node.exists(*_README)
    assert path is not None
    titles = [title.lower() for _, title in headings(node.text(path) or "")]
    wanted = dict(_SECTIONS)
    if node.kind is NodeKind.EFFECT:
        wanted.update(_EFFECT_SECTIONS)
    missing = [name for name, words in wanted.items() if not any(_mentions(t, words) for t in titles)]
    if missing:
        return Outcome.failed(
            f"README lacks {', '.join(missing)}",
            [Finding(message=f"no `{name}` section", file=path.name) for name in missing],
        )
    return Outcome.passed(f"sections: {', '.join(wanted)}")


def _mentions(title: str, words: tuple[str, ...]) -> bool:
    tokens = set(re.findall(r"[a-z]+", title))
    return any(w in title if " " in w else any(t == w or t.startswith(w) for t in tokens) for w in words)


@check(
    id="DOC-003",
    title="CHANGELOG present",
    category=CheckCategory.DOCUMENTATION,
    gates=ReadinessLevel.STAGING,
    severity=Severity.MEDIUM,
    remediation="Add a CHANGELOG.md with an `## Unreleased` section on top and one section per release.",
)
def changelog_present(node: NodeContext) -> Outcome:
    """The node keeps a CHANGELOG with an ``Unreleased`` or version section."""
    path = node.exists(*_CHANGELOG)
    if path is None:
        return Outcome.failed("no CHANGELOG", [Finding(message="no CHANGELOG.md at the node root")])
    sections = [title for _, title in headings(node.text(path) or "") if _VERSION_HEADING.match(title)]
    if not sections:
        return Outcome.failed(
            f"{path.name} has no Unreleased or version section",
            [Finding(message="add `## Unreleased` (and `## 1.2.0` per release)", file=path.name)],
        )
    return Outcome.passed(f"{path.name}: {len(sections)} section(s), latest `{sections[0]}`")


CHECKS = (readme_present, readme_sections, changelog_present)
