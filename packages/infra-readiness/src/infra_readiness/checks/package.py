"""Package checks: metadata is complete, the package imports in a fresh interpreter, dependencies are bounded."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = [
    "CHECKS",
    "DEV_EXTRAS",
    "declared_but_absent",
    "dependencies_bounded",
    "imports_cleanly",
    "metadata_complete",
    "requirement_bounds",
]

#: Extras for the package's own development; users never install them, so they are not checked.
DEV_EXTRAS = frozenset({"test", "tests", "testing", "dev", "develop", "docs", "doc", "lint", "typing", "bench"})
_UPPER = frozenset({"<", "<=", "==", "~=", "==="})
_LOWER = frozenset({">", ">=", "==", "~=", "==="})


@check(
    id="PKG-001",
    title="Package metadata is complete",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.HIGH,
    remediation=(
        'Add a pyproject.toml with a [project] table: name, version (or dynamic = ["version"]), description '
        "and requires-python."
    ),
)
def metadata_complete(node: NodeContext) -> Outcome:
    """``pyproject.toml`` parses and its ``[project]`` table names the package, its version, purpose and Python."""
    if node.pyproject_path is None:
        where = "at the node root" if not node.is_node else "in the node folder nor in a folder above it"
        return Outcome.failed(
            "no pyproject.toml", [Finding(message=f"no pyproject.toml {where}", severity=Severity.HIGH)]
        )
    file = node.rel(node.pyproject_path)
    if node.pyproject_error is not None:
        line = _toml_line(node.pyproject_error)
        return Outcome.failed(
            node.pyproject_error,
            [Finding(message=node.pyproject_error, severity=Severity.HIGH, file=file, line=line)],
        )
    project = node.project
    if not project:
        return Outcome.failed("pyproject.toml has no [project] table", [_missing("[project] table", file)])
    raw_dynamic = project.get("dynamic")
    dynamic: list[Any] = raw_dynamic if isinstance(raw_dynamic, list) else []
    missing = [key for key in ("name", "description", "requires-python") if not project.get(key)]
    if not project.get("version") and "version" not in dynamic:
        missing.insert(1, "version")
    if missing:
        return Outcome.failed(
            f"[project] lacks {', '.join(missing)}", [_missing(f"[project] {k}", file) for k in missing]
        )
    whose = f" (the enclosing project, {file})" if node.inside_project else ""
    return Outcome.passed(f"{project['name']}{whose}: name, version, description and requires-python are set")


def _missing(what: str, file: str = "pyproject.toml") -> Finding:
    return Finding(message=f"missing {what}", severity=Severity.HIGH, file=file)


def _toml_line(message: str) -> int | None:
    marker = "(at line "
    if marker in message:
        digits = message.split(marker, 1)[1].split(",", 1)[0]
        return int(digits) if digits.isdigit() and int(digits) >= 1 else None
    return None


@check(
    id="PKG-002",
    title="Package imports in a fresh interpreter",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.CRITICAL,
    remediation=(
        "Make `python -c 'import <package>'` work from a clean interpreter: fix the error shown, declare missing "
        "dependencies, and avoid work at import time that needs the network or configuration."
    ),
)
def imports_cleanly(node: NodeContext) -> Outcome:
    """The node's package imports in a new interpreter, with its own folder first on ``sys.path``.

    This runs the package's import-time code, as any user's first ``import`` would.
    """
    # A node folder inside a service is imported as its dotted module (<service>.nodes.<node_folder>) from the
    # project's source root. When the only failure is a dependency the project declares but this interpreter
    # lacks, the import cannot be judged here: SKIP, naming the dependency and --python. An undeclared missing
    # module is a FAIL. (Kept out of the docstring: it is the check's description in SARIF and `explain`.)
    if node.import_name is None:
        expected = node.raw_contract.get("name") or node.project.get("name") or "<package>"
        return Outcome.failed(
            "no importable package found",
            [
                Finding(
                    message=f"expected src/{expected}/__init__.py (or {expected}/__init__.py)",
                    severity=Severity.CRITICAL,
                )
            ],
        )
    result = node.import_result()
    if result is None:
        return Outcome.errored("the import was not run")
    if result.ok:
        return Outcome.passed(f"`import {node.import_name}` works")
    if result.timed_out or result.crashed:
        return Outcome.errored(f"`import {node.import_name}`: {result.error}")
    absent = declared_but_absent(result.error, node)
    if absent is not None:
        return Outcome.skipped(
            f"not judged here: `import {node.import_name}` needs {absent}; "
            "run with --python <the project's interpreter> to check the import"
        )
    file = node.rel(Path(result.file).resolve()) if result.file else None
    return Outcome.failed(
        f"`import {node.import_name}` fails: {result.error}",
        [Finding(message=result.error, severity=Severity.CRITICAL, file=file, line=result.line if file else None)],
    )


@check(
    id="PKG-003",
    title="Dependencies are bounded",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.STAGING,
    requires=("PKG-001",),
    severity=Severity.MEDIUM,
    remediation=(
        "Give every dependency a range with both bounds, such as `pydantic>=2.6,<3`, so a new major release of a "
        "dependency cannot break installs of this version."
    ),
)
def dependencies_bounded(node: NodeContext) -> Outcome:
    """Every requirement users install has a lower and an upper bound.

    That is ``[project] dependencies`` and every extra but the development ones (test, dev, docs, lint, ...).
    """
    project = node.project
    groups: list[tuple[str, Any]] = [("dependencies", project.get("dependencies", []))]
    optional = project.get("optional-dependencies", {})
    if isinstance(optional, dict):
        groups += [
            (f"optional-dependencies.{extra}", reqs)
            for extra, reqs in sorted(optional.items())
            if extra.lower() not in DEV_EXTRAS
        ]
    text = node.text(node.pyproject_path) if node.pyproject_path else None
    file = node.rel(node.pyproject_path) if node.pyproject_path else "pyproject.toml"
    own = canonicalize_name(str(project.get("name", "")))
    findings: list[Finding] = []
    count = 0
    for group, requirements in groups:
        if not isinstance(requirements, list):
            findings.append(Finding(message=f"`{group}` must be a list of requirement strings", file=file))
            continue
        for raw in requirements:
            count += 1
            problem = requirement_bounds(str(raw), own)
            if problem:
                findings.append(
                    Finding(
                        message=f"{group}: `{raw}` {problem}",
                        severity=Severity.MEDIUM,
                        file=file,
                        line=_line_of(text, str(raw)),
                    )
                )
    if findings:
        return Outcome.failed(f"{len(findings)} of {count} requirement(s) not bounded", findings)
    return Outcome.passed(f"{count} requirement(s), each with both bounds")


_NO_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([\w.]+)'")
_NO_METADATA = re.compile(r"^PackageNotFoundError: No package metadata was found for ([\w.\-]+)")
#: Import names that differ from their distribution's name (the common ones).
_DIST_OF = {
    "yaml": "pyyaml",
    "jwt": "pyjwt",
    "dateutil": "python-dateutil",
    "dotenv": "python-dotenv",
    "zmq": "pyzmq",
    "attr": "attrs",
    "pil": "pillow",
    "sklearn": "scikit-learn",
    "google": "protobuf",
    "kafka": "kafka-python",
    "magic": "python-magic",
    "multipart": "python-multipart",
}


def declared_but_absent(error: str, node: NodeContext) -> str | None:
    """The missing module of an import error when the project declares it as a dependency, else ``None``.

    A module of the project itself (its own import name) is never such a dependency: that failure is the node's.
    """
    metadata = _NO_METADATA.match(error)
    if metadata is not None:  # `version("<dist>")` at import time: the project itself is not installed here
        wanted_dist = canonicalize_name(metadata.group(1))
        if wanted_dist == canonicalize_name(str(node.project.get("name", ""))):
            return f"the metadata of `{metadata.group(1)}` (this project: it is not installed in this interpreter)"
    match = _NO_MODULE.match(error)
    if match is None:
        return None
    top = match.group(1).split(".")[0]
    own = (node.import_name or "").split(".")[0]
    if not top or top == own:
        return None
    wanted = {canonicalize_name(top), canonicalize_name(_DIST_OF.get(top.lower(), top))}
    project = node.project
    declared: list[Any] = list(project.get("dependencies") or [])
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        declared += [r for reqs in optional.values() if isinstance(reqs, list) for r in reqs]
    for raw in declared:
        try:
            name = canonicalize_name(Requirement(str(raw)).name)
        except InvalidRequirement:
            continue
        if name in wanted:
            return f"`{top}` (declared in pyproject.toml, not installed in this interpreter)"
    return None


@lru_cache(maxsize=4096)  # the nodes of one service share its requirements: parse each once per run
def requirement_bounds(raw: str, own: str = "") -> str | None:
    """What is wrong with the bounds of one requirement string, or ``None`` when it has both.

    A package's reference to its own extras (``pkg[a,b]`` inside ``pkg``'s ``all`` extra) needs no bounds.
    """
    try:
        requirement = Requirement(raw)
    except InvalidRequirement as exc:
        return f"is not a valid requirement ({exc})"
    if own and canonicalize_name(requirement.name) == own:
        return None
    if requirement.url:
        return "is a direct URL reference: publish it and depend on a version range"
    operators = {spec.operator for spec in requirement.specifier}
    lacks = [name for name, ops in (("lower", _LOWER), ("upper", _UPPER)) if not operators & ops]
    if lacks:
        return f"has no {' and no '.join(lacks)} bound"
    return None


def _line_of(text: str | None, needle: str) -> int | None:
    if not text:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


CHECKS = (metadata_complete, imports_cleanly, dependencies_bounded)
