"""What a node declares about itself, read from its contract or ``[tool.infra-readiness]``.

The contract is read as plain YAML here (not through the validated model), so ONEX contracts' own sections count:
``security.authentication``, ``security.sensitive_fields``, ``performance.thresholds``. The same facts may be
written in ``[tool.infra-readiness]`` (``auth``, ``sensitive-fields``, ``budgets``) for a package without one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infra_readiness.context import NodeContext

__all__ = ["contract_data", "lookup", "mentioning", "missing_extra"]


def contract_data(node: NodeContext) -> dict[str, Any]:
    """The contract's YAML as a mapping (empty without a contract or when it does not parse); read once."""
    cached: dict[str, Any] | None = getattr(node, "_readiness_contract_data", None)
    if cached is not None:
        return cached
    data: Any = {}
    if node.contract_path is not None:
        text = node.text(node.contract_path)
        if text is not None:
            import yaml

            try:
                data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - safe
            except (yaml.YAMLError, RecursionError, MemoryError):
                data = {}
    result = data if isinstance(data, dict) else {}
    node._readiness_contract_data = result  # type: ignore[attr-defined]
    return result


def lookup(data: object, *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or ``None`` when any step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def missing_extra(module: str, extra: str) -> str | None:
    """A message asking to install ``infra-readiness[extra]`` when ``module`` cannot be imported, else ``None``."""
    from importlib.util import find_spec

    try:
        found = find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return None
    return f"{module} is not installed: install infra-readiness[{extra}] (pip install 'infra-readiness[{extra}]')"


def mentioning(node: NodeContext, files: list[Path], pattern: re.Pattern[str]) -> list[Path]:
    """The files of ``files`` whose text matches ``pattern``: a cheap filter so that clean files are never parsed."""
    return [path for path in files if pattern.search(node.text(path) or "")]
