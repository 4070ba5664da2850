"""What a node declares about itself, read from its contract or ``[tool.infra-readiness]``.

The contract is read as plain YAML here (not through the validated model), so ONEX contracts' own sections count:
``security.authentication``, ``security.sensitive_fields``, ``performance.thresholds``. The same facts may be
written in ``[tool.infra-readiness]`` (``auth``, ``sensitive-fields``, ``budgets``) for a package without one.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from infra_readiness.context import NodeContext

__all__ = ["MISSING", "contract_data", "lookup", "mentioning", "missing_extra", "per_file", "remember", "remembered"]

T = TypeVar("T")


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
    key = f"mentions:{pattern.pattern}"
    return [path for path in files if per_file(key, path, partial(_matches, node, path, pattern))]


def _matches(node: NodeContext, path: Path, pattern: re.Pattern[str]) -> bool:
    return pattern.search(node.text(path) or "") is not None


_MEMO: dict[tuple[str, str, int, int], Any] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_LIMIT = 200_000
MISSING: Any = object()


def _memo_key(key: str, path: Path) -> tuple[str, str, int, int] | None:
    try:
        info = os.stat(path)  # not Path.stat: this runs for every file of every node of every check
    except OSError:
        return None
    return (key, os.fspath(path), info.st_mtime_ns, info.st_size)


def remembered(key: str, path: Path) -> Any:
    """What :func:`remember` stored for ``path`` under ``key`` while the file is unchanged, else ``MISSING``."""
    memo_key = _memo_key(key, path)
    with _MEMO_LOCK:
        return _MEMO.get(memo_key, MISSING) if memo_key is not None else MISSING


def remember(key: str, path: Path, value: Any) -> None:
    """Keep ``value`` for ``path`` under ``key`` until the file changes (size or mtime)."""
    memo_key = _memo_key(key, path)
    if memo_key is None:
        return
    with _MEMO_LOCK:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[memo_key] = value


def per_file(key: str, path: Path, compute: Callable[[], T]) -> T:
    """``compute()`` for one file, remembered while the file is unchanged (size and mtime).

    Nodes of one project share files (the package root and each node folder inside it see the same sources), so a
    file's findings are computed once per process, not once per node that contains it.
    """
    found = remembered(key, path)
    if found is not MISSING:
        return cast(T, found)
    value = compute()
    remember(key, path, value)
    return value
