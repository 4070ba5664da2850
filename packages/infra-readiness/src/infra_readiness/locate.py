"""Find nodes and packages on disk: their roots, contract file and import name, without importing them."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra_readiness.files import SKIPPED_DIRS, read_text, skipped_dir

__all__ = [
    "CONTRACT_FILE",
    "NOT_SOURCE_DIRS",
    "NodePlacement",
    "discover_nodes",
    "find_contract",
    "find_import_name",
    "find_project_root",
    "is_node_root",
    "nodes_inside",
    "place_node",
    "read_project_table",
    "source_roots",
]

CONTRACT_FILE = "contract.yaml"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Folders of a package that hold no node code: tests, benchmarks, examples, docs, scripts, templates.
NOT_SOURCE_DIRS = frozenset(
    {"tests", "test", "testing", "bench", "benchmarks", "examples", "docs", "scripts", "tools", "templates", "fixtures"}
)
#: How far up from a node folder the enclosing project's ``pyproject.toml`` is looked for.
_MAX_UP = 12


@dataclass(frozen=True)
class NodePlacement:
    """Where a node lives: its folder, the project that holds it, and the module it is imported as.

    A stand-alone package (``pyproject.toml`` in the folder) is its own project: ``package_root == root``. A node
    folder inside a service package (``src/<service>/nodes/node_<name>_<kind>/``) takes its package facts from
    the enclosing project and is imported as ``<service>.nodes.node_<name>_<kind>`` from ``source_root``.
    """

    root: Path
    package_root: Path
    module: str | None = None
    source_root: Path | None = None

    @property
    def inside_project(self) -> bool:
        """True for a node folder inside an enclosing project (not a stand-alone package)."""
        return self.package_root != self.root


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


def find_project_root(node_root: Path) -> Path | None:
    """The nearest folder above ``node_root`` holding a ``pyproject.toml`` (the enclosing project), or ``None``."""
    for count, parent in enumerate(node_root.parents):
        if count >= _MAX_UP:
            break
        if (parent / "pyproject.toml").is_file():
            return parent
    return None


def place_node(root: Path) -> NodePlacement:
    """Where the node at ``root`` lives: stand-alone, or a contract folder inside an enclosing project.

    A folder with ``contract.yaml`` and no ``pyproject.toml`` whose ancestor has a ``pyproject.toml`` is a node
    inside that project; its module is its dotted path under the project's source root (``src/`` or the root).
    """
    if (root / "pyproject.toml").exists() or not (root / CONTRACT_FILE).exists():
        return NodePlacement(root=root, package_root=root)
    project = find_project_root(root)
    if project is None:
        return NodePlacement(root=root, package_root=root)
    for base in source_roots(project):
        try:
            parts = root.relative_to(base).parts
        except ValueError:
            continue
        if parts and all(_IDENT.match(part) for part in parts):
            return NodePlacement(root=root, package_root=project, module=".".join(parts), source_root=base)
    return NodePlacement(root=root, package_root=project)


def nodes_inside(package_root: Path, *, limit: int = 5000) -> list[Path]:
    """The ONEX node folders (``contract.yaml``) inside a package's source tree, the package's own contract excepted.

    Only importable folders are searched (identifiers all the way down: no templates, tests or examples), so a
    cookiecutter template or a test fixture holding a ``contract.yaml`` is not taken for a node.
    """
    own = find_contract(package_root)
    found: list[Path] = []
    for base in source_roots(package_root):
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            here = Path(dirpath)
            if here != base and CONTRACT_FILE in filenames and (here / CONTRACT_FILE) != own:
                found.append(here)
                dirnames[:] = []
                if len(found) >= limit:
                    return found
                continue
            dirnames[:] = sorted(
                d
                for d in dirnames
                if _IDENT.match(d) and d not in SKIPPED_DIRS and d not in NOT_SOURCE_DIRS and d != "__pycache__"
            )
    return found


def discover_nodes(top: Path) -> list[Path]:
    """Every node root under ``top`` (``top`` itself included), and the ONEX nodes inside each package found.

    A node's own subfolders are not searched; a package's source tree is searched for ``node_*/contract.yaml``
    folders only (:func:`nodes_inside`). Hidden, cache and build folders are skipped, and symlinked folders are
    never entered.
    """
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(top, followlinks=False):
        here = Path(dirpath)
        if is_node_root(here):
            found.append(here)
            if (here / "pyproject.toml").is_file():
                found += nodes_inside(here)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(d for d in dirnames if not skipped_dir(here, d))
    return found


def _is_module(base: Path, name: str) -> bool:
    return (base / name / "__init__.py").is_file() or (base / f"{name}.py").is_file()


def _children(base: Path) -> list[Path]:
    try:
        return [p for p in base.iterdir() if p.is_dir()]
    except OSError:
        return []
