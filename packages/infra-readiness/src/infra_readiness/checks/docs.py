"""Documentation checks: a README with the sections users need, and a CHANGELOG."""

from __future__ import annotations

import re
from functools import lru_cache

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._parse import parse_source
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Check, Outcome, check

__all__ = ["CHECKS", "changelog_present", "headings", "readme_present", "readme_sections"]

_README = ("README.md", "README.rst", "README.txt", "README")
_CHANGELOG = ("CHANGELOG.md", "CHANGELOG.rst", "CHANGES.md", "CHANGES.rst", "HISTORY.md", "HISTORY.rst", "CHANGELOG")
_SECTIONS: dict[str, tuple[str, ...]] = {
    "Installation": ("install",),
    "Usage": ("usage", "use", "example", "quickstart", "quick start", "getting started", "how to use"),
}
_EFFECT_SECTIONS: dict[str, tuple[str, ...]] = {"Configuration": ("config", "setting", "environment")}
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")
_VERSION_HEADING = re.compile(
    r"^(unreleased|\[?v?\d+\.\d+|(?:version|release|v)\s*[:\-]?\s*\[?v?\d+\.\d+|[\w.-]+\s+v?\d+\.\d+\.\d+)",
    re.IGNORECASE,
)


@lru_cache(maxsize=64)  # the nodes of one service share the project's README and CHANGELOG
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
    """The README has Installation and Usage sections with content (Configuration too for an EFFECT node).

    A section holding only "TBD", "TODO" or nothing fails; the Usage section needs a code example, and a Python
    example must parse (doctest prompts are stripped; 3.12+ syntax is accepted).
    """
    path = node.exists(*_README)
    assert path is not None
    wanted = dict(_SECTIONS)
    if node.kind is NodeKind.EFFECT:
        wanted.update(_EFFECT_SECTIONS)
    text = node.text(path) or ""
    sections = section_bodies(text)
    findings: list[Finding] = []
    for name, words in wanted.items():
        found = [(line, body) for line, title, body in sections if _mentions(title.lower(), words)]
        if not found:
            findings.append(Finding(message=f"no `{name}` section", file=node.rel(path)))
            continue
        line, body = max(found, key=lambda item: len(_words(item[1])))
        if _placeholder_body(body):
            findings.append(
                Finding(
                    message=f"the `{name}` section has no content (empty, TBD or TODO)", file=node.rel(path), line=line
                )
            )
        elif name == "Usage":
            findings += [
                Finding(message=message, file=node.rel(path), line=line + offset)
                for offset, message in _usage_problems(body, node)
            ]
    if findings:
        return Outcome.failed(f"README: {len(findings)} section problem(s)", findings)
    return Outcome.passed(f"sections with content: {', '.join(wanted)}; the Usage example parses")


_PLACEHOLDER = re.compile(r"^(tbd|todo|tba|n/?a|coming soon|wip|to be (written|done|added)|\.\.\.|-|fixme)\W*$", re.I)
_FENCE = re.compile(r"^([ \t]*)(```+|~~~+)[ \t]*([\w+-]*)")
_SHELL_LANGS = frozenset({"bash", "sh", "shell", "console", "zsh", "powershell", "cmd", "text", "toml", "yaml", "json",
                          "ini", "env", "dockerfile", "sql", "http"})  # fmt: skip


@lru_cache(maxsize=64)
def section_bodies(text: str) -> list[tuple[int, str, str]]:
    """``(line, title, body)`` of every heading: the body runs to the next heading of the same or a higher level."""
    lines = text.splitlines()
    marks = headings(text)
    out: list[tuple[int, str, str]] = []
    for index, (line, title) in enumerate(marks):
        level = _level(lines[line - 1])
        end = len(lines)
        for later, _ in marks[index + 1 :]:
            if _level(lines[later - 1]) <= level:
                end = later - 1
                break
        start = line + (1 if lines[line - 1].startswith("#") else 2)  # RST titles have an underline
        out.append((line, title, "\n".join(lines[start:end])))
    return out


def _level(line: str) -> int:
    return len(line) - len(line.lstrip("#")) if line.startswith("#") else 1


def _words(body: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_]{2,}", body)


def _placeholder_body(body: str) -> bool:
    meaningful = [line.strip() for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return not meaningful or all(_PLACEHOLDER.match(line) for line in meaningful)


def code_blocks(body: str) -> list[tuple[int, str, str]]:
    """``(line offset, language, code)`` of every fenced block in a Markdown section body."""
    blocks: list[tuple[int, str, str]] = []
    lines = body.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, lang, start = match.group(2), match.group(3).lower(), index
        index += 1
        code: list[str] = []
        while index < len(lines) and not lines[index].strip().startswith(fence):
            code.append(lines[index])
            index += 1
        blocks.append((start + 1, lang, "\n".join(code)))
        index += 1
    return blocks


def _python_of(code: str) -> str:
    """Doctest prompts (``>>> ``, ``... ``) stripped; other code as it is."""
    lines = code.splitlines()
    if any(line.lstrip().startswith(">>>") for line in lines):
        kept = [line.lstrip()[4:] for line in lines if line.lstrip().startswith((">>>", "..."))]
        return "\n".join(kept)
    return code


def _usage_problems(body: str, node: NodeContext) -> list[tuple[int, str]]:
    blocks = code_blocks(body)
    rst_literal = "::" in body and re.search(r"^\s{2,}\S", body, re.MULTILINE)
    if not blocks and not rst_literal:
        return [(1, "the Usage section has no code example (a fenced ``` block)")]
    problems: list[tuple[int, str]] = []
    for offset, lang, code in blocks:
        if lang in _SHELL_LANGS or not code.strip():
            continue
        source = _python_of(code)
        try:
            parse_source(source, "README usage", python=node.options.python)
        except (SyntaxError, ValueError) as exc:
            if lang in {"python", "py", "python3", "pycon"}:
                problems.append(
                    (
                        offset,
                        f"the Usage example does not parse as Python: {getattr(exc, 'msg', exc)}",
                    )
                )
    return problems


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


def _all_checks() -> tuple[Check, ...]:
    from infra_readiness.checks import api_docs

    return (readme_present, readme_sections, changelog_present, *api_docs.CHECKS)


CHECKS = _all_checks()
