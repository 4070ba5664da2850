"""Find nodes and packages on disk: their roots, contract file and import name, without importing them."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from infra_readiness.files import SKIPPED_DIRS, read_text

__all__ = [
    "CONTRACT_FILE",
    "discover_nodes",
    "find_contract",
    "find_import_name",
    "is_node_root",
    "read_project_table",
    "source_roots",
]

CONTRACT_FILE = "contract.yaml"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_node_root(path: Path) -> bool:
    """True for a folder holding a ``contract.yaml`` or a ``pyproject.toml``."""
    return (path / CONTRACT_FILE).is_file() or (path / "pyproject.toml").is_file()


def find_contract(root: Path) -> Path | None:
    """The node's ``contract.yaml``: at the root, or inside its single ``src/<package>/`` folder."""
    direct = root / CONTRACT_FILE
    if direct.is_file() or direct.is_symlink():
        return direct
    src = root / "src"
    if src.is_dir():
        found = sorted(p for p in src.glob(f"*/{CONTRACT_FILE}") if p.is_file())
        if len(found) == 1:
            return found[0]
    return None


def source_roots(root: Path) -> list[Path]:
    """Folders to put on ``sys.path`` to import the node: ``src/`` for a src layout, else the root."""
    src = root / "src"
    return [src] if src.is_dir() else [root]


def find_import_name(root: Path, contract_name: object = None, project: dict[str, Any] | None = None) -> str | None:
    """The top-level module: the contract name for a node; for a package its project name or its only package."""
    bases = source_roots(root)
    candidates: list[str] = []
    if isinstance(contract_name, str):
        candidates.append(contract_name)
    name = (project or {}).get("name")
    if isinstance(name, str):
        candidates.append(re.sub(r"[-.]+", "_", name).lower())
    for candidate in candidates:
        if _IDENT.match(candidate) and any(_is_module(base, candidate) for base in bases):
            return candidate
    if isinstance(contract_name, str):
        return None  # a node's contract name is its import name: no guessing past it
    packages = sorted(
        p.name for base in bases for p in _children(base) if _IDENT.match(p.name) and (p / "__init__.py").is_file()
    )
    packages = [p for p in packages if p not in {"tests", "test", "bench", "benchmarks", "examples", "docs"}]
    return packages[0] if len(packages) == 1 else None


def read_project_table(root: Path) -> dict[str, Any] | None:
    """``[project]`` of the node's pyproject, or ``None`` when missing or unreadable (checks report why)."""
    text = read_text(root / "pyproject.toml", [])
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError, MemoryError):
        return None
    project = data.get("project")
    return project if isinstance(project, dict) else None


def discover_nodes(top: Path) -> list[Path]:
    """Every node root under ``top`` (``top`` itself included); a node's own subfolders are not searched.

    Hidden, cache and build folders are skipped, and symlinked folders are never entered.
    """
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(top, followlinks=False):
        here = Path(dirpath)
        if is_node_root(here):
            found.append(here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in SKIPPED_DIRS and not d.endswith(".egg-info")
        )
    return found


def _is_module(base: Path, name: str) -> bool:
    return (base / name / "__init__.py").is_file() or (base / f"{name}.py").is_file()


def _children(base: Path) -> list[Path]:
    try:
        return [p for p in base.iterdir() if p.is_dir()]
    except OSError:
        return []
