"""Read a node's readiness settings: ``[tool.infra-readiness]`` in pyproject and/or a ``readiness.toml``.

Settings: ``target-level``, ``serves`` (a package that serves, for the observability checks) and ``waivers``,
each ``{check, reason, owner, expires}``. Problems become findings of check CFG-001, never a crash.

Example ``readiness.toml``::

    target-level = "PRODUCTION"

    [[waivers]]
    check = "PERF-001"
    reason = "benchmark lands with the 0.3 load tests"
    owner = "team-data"
    expires = 2026-12-31
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from infra_models.enums import Severity
from infra_models.readiness import Finding, ReadinessLevel, Waiver
from infra_readiness.context import NodeContext

__all__ = ["READINESS_FILE", "ReadinessConfig", "load_config"]

READINESS_FILE = "readiness.toml"
_KEYS = {
    "target-level",
    "serves",
    "waivers",
    # read by the checks themselves (see docs/infra-readiness.md): SEC-004, SEC-005, SEC-006, TST-004, PERF-002
    "auth",
    "sensitive-fields",
    "audit-dependencies",
    "coverage",
    "budgets",
    "docstring-coverage",
}
_WAIVER_KEYS = {"check", "reason", "owner", "expires"}


@dataclass
class ReadinessConfig:
    """A node's readiness settings and the problems found while reading them."""

    target_level: ReadinessLevel | None = None
    waivers: list[Waiver] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def waiver_for(self, check_id: str) -> Waiver | None:
        """The waiver of ``check_id``, or ``None``."""
        return next((w for w in self.waivers if w.check_id == check_id), None)


def load_config(node: NodeContext) -> ReadinessConfig:
    """Merge ``[tool.infra-readiness]`` and ``readiness.toml`` (the latter wins for ``target-level``)."""
    config = ReadinessConfig()
    if node.pyproject_path is not None and node.readiness_table:
        _apply(
            config,
            node.readiness_table,
            "pyproject.toml",
            node.text(node.pyproject_path) or "",
            "tool.infra-readiness.",
        )
    path = node.root / READINESS_FILE
    if path.exists() or path.is_symlink():
        text = node.text(path)
        if text is None:
            config.problems.append(_finding(f"{READINESS_FILE} cannot be read as text", READINESS_FILE, None))
        else:
            try:
                table = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                config.problems.append(
                    _finding(f"{READINESS_FILE} is not valid TOML: {exc}", READINESS_FILE, _toml_line(exc))
                )
            except (RecursionError, MemoryError):
                config.problems.append(_finding(f"{READINESS_FILE} is nested too deeply to read", READINESS_FILE, None))
            else:
                _apply(config, table, READINESS_FILE, text, "")
    return config


def _apply(config: ReadinessConfig, table: dict[str, Any], file: str, text: str, prefix: str) -> None:
    config.sources.append(file)
    for key in sorted(set(table) - _KEYS):
        config.problems.append(
            _finding(
                f"unknown setting `{prefix}{key}`: use one of {', '.join(sorted(_KEYS))}", file, _line_of(text, key)
            )
        )
    target = table.get("target-level")
    if target is not None:
        try:
            config.target_level = ReadinessLevel(str(target).upper())
        except ValueError:
            levels = ", ".join(level.value for level in ReadinessLevel)
            config.problems.append(
                _finding(
                    f"`{prefix}target-level` is {target!r}: use one of {levels}", file, _line_of(text, "target-level")
                )
            )
    serves = table.get("serves")
    if serves is not None and not isinstance(serves, bool):
        config.problems.append(
            _finding(f"`{prefix}serves` must be true or false, not {serves!r}", file, _line_of(text, "serves"))
        )
    waivers = table.get("waivers", [])
    if not isinstance(waivers, list):
        config.problems.append(
            _finding(
                f"`{prefix}waivers` must be an array of tables ([[{prefix}waivers]])", file, _line_of(text, "waivers")
            )
        )
        return
    for index, entry in enumerate(waivers):
        _add_waiver(config, entry, index=index, file=file, text=text, prefix=prefix)


def _add_waiver(config: ReadinessConfig, entry: object, *, index: int, file: str, text: str, prefix: str) -> None:
    where = f"`{prefix}waivers[{index}]`"
    if not isinstance(entry, dict):
        config.problems.append(_finding(f"{where} must be a table with check, reason, owner and expires", file, None))
        return
    check_id = entry.get("check")
    line = _line_of(text, str(check_id)) if isinstance(check_id, str) else None
    unknown = sorted(set(entry) - _WAIVER_KEYS)
    if unknown:
        config.problems.append(
            _finding(f"{where} has unknown key(s) {', '.join(unknown)}: use check, reason, owner, expires", file, line)
        )
    missing = [k for k in ("check", "reason", "owner", "expires") if not entry.get(k)]
    if missing:
        label = f"waiver of {check_id}" if isinstance(check_id, str) else where
        config.problems.append(
            _finding(
                f"{label} lacks {', '.join(missing)}: every waiver needs check, reason, owner and expires", file, line
            )
        )
        return
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            config.problems.append(
                _finding(f"waiver of {check_id}: expires {expires!r} is not a date such as 2026-12-31", file, line)
            )
            return
    try:
        waiver = Waiver(check_id=str(check_id), reason=str(entry["reason"]), owner=str(entry["owner"]), expires=expires)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field_name = ".".join(str(p) for p in problem["loc"])
        config.problems.append(_finding(f"waiver of {check_id}: `{field_name}` {problem['msg']}", file, line))
        return
    if config.waiver_for(waiver.check_id) is not None:
        config.problems.append(_finding(f"{waiver.check_id} is waived twice: keep one waiver per check", file, line))
        return
    config.waivers.append(waiver)


def _finding(message: str, file: str, line: int | None) -> Finding:
    return Finding(
        message=message, severity=Severity.HIGH, file=file, line=line, remediation="Fix the readiness settings."
    )


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle and needle in line:
            return number
    return None


def _toml_line(exc: tomllib.TOMLDecodeError) -> int | None:
    marker = " (at line "
    message = str(exc)
    if marker in message:
        digits = message.split(marker, 1)[1].split(",", 1)[0]
        return int(digits) if digits.isdigit() else None
    return None
