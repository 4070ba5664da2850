"""Find the ONEX service package an output folder belongs to: its root, the nodes' import path, its tests folder.

An output folder is the ``nodes/`` folder of an ONEX service when an enclosing ``pyproject.toml`` depends on
``omnibase-core`` (any spelling: ``omnibase_core``, ``omnibase-core[extra]>=0.47``), or when the folder already holds
``node_*/contract.yaml`` siblings. Nodes then go to ``<output>/node_<name>_<kind>/`` and their tests to the
service's ``tests/unit/nodes/node_<name>_<kind>/``, as in ``OmniNode-ai/omnibase_infra``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from infra_gen.errors import InvalidAnswerError

__all__ = ["OnexService", "depends_on_omnibase_core", "find_onex_service"]

_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class OnexService:
    """An ONEX service package seen from its ``nodes/`` folder."""

    root: Path
    """The folder holding ``pyproject.toml`` (or the top of the package tree when there is none)."""
    nodes_dir: Path
    """Where node folders go (the output folder)."""
    nodes_package: str
    """Import path of ``nodes_dir``, such as ``my_service.nodes``."""
    service: str
    """Service name in topic names (kebab-case), such as ``my-service``."""

    @property
    def tests_dir(self) -> Path:
        """Where node tests go: ``<root>/tests/unit/nodes``."""
        return self.root / "tests" / "unit" / "nodes"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(data: dict[str, object]) -> list[str]:
    project = data.get("project")
    found: list[str] = []
    if isinstance(project, dict):
        deps = project.get("dependencies")
        if isinstance(deps, list):
            found.extend(d for d in deps if isinstance(d, str))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            for group in optional.values():
                if isinstance(group, list):
                    found.extend(d for d in group if isinstance(d, str))
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        found.extend(str(k) for k in poetry["dependencies"])
    return found


def depends_on_omnibase_core(pyproject: Path) -> bool:
    """Whether ``pyproject`` lists ``omnibase-core`` among its (optional) dependencies; False when unreadable."""
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    for requirement in _requirements(data):
        match = _REQUIREMENT_NAME.match(requirement)
        if match is not None and _normalise(match.group(1)) == "omnibase-core":
            return True
    return False


def _project_name(pyproject: Path) -> str | None:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def _has_sibling_nodes(folder: Path) -> bool:
    try:
        return any(p.is_dir() and (p / "contract.yaml").is_file() for p in folder.glob("node_*"))
    except OSError:
        return False


def _enclosing_pyproject(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    return None


def _package_path(root: Path, folder: Path) -> str | None:
    """Dotted import path of ``folder`` under ``root`` (``src/`` layout or flat), or None when not importable."""
    try:
        rel = folder.relative_to(root)
    except ValueError:
        return None
    parts = list(rel.parts)
    if parts and parts[0] == "src":
        parts = parts[1:]
    if not parts or not all(_IDENTIFIER.match(p) for p in parts):
        return None
    return ".".join(parts)


def find_onex_service(output_dir: Path) -> OnexService | None:
    """The ONEX service whose nodes folder is ``output_dir``, or None for a stand-alone node.

    Raises:
        InvalidAnswerError: ``output_dir`` is inside an ONEX service but not inside its import package (for example
            the service root), so no node import path can be given; the message names the folder to use.
    """
    folder = output_dir.resolve()
    existing = next((p for p in (folder, *folder.parents) if p.is_dir()), None)
    if existing is None:  # pragma: no cover - "/" always exists
        return None
    pyproject = _enclosing_pyproject(existing)
    onex_project = pyproject is not None and depends_on_omnibase_core(pyproject)
    siblings = folder.is_dir() and _has_sibling_nodes(folder)
    if not onex_project and not siblings:
        return None
    if pyproject is not None:
        root = pyproject.parent
    else:  # sibling nodes without a pyproject: the package tree is as deep as its __init__.py files go
        top = folder
        while (top.parent / "__init__.py").is_file():
            top = top.parent
        root = top.parent.parent if top.parent.name == "src" else top.parent
    package = _package_path(root, folder)
    if package is None:
        hint = next(iter(sorted((root / "src").glob("*/nodes"))), None) if (root / "src").is_dir() else None
        where = f"such as {hint}" if hint is not None else "such as src/<service>/nodes"
        raise InvalidAnswerError(
            f"{output_dir} is in the ONEX service {root} (it depends on omnibase-core), but not inside its import "
            f"package: give -o/--output the service's nodes folder, {where}",
            code="gen.onex.output_dir",
            details={"output_dir": str(output_dir), "service_root": str(root)},
        )
    top_package = package.split(".")[0]
    name = (_project_name(pyproject) if pyproject is not None else None) or top_package
    service = _normalise(name)
    if not re.match(r"^[a-z0-9][a-z0-9-]*$", service):
        service = _normalise(top_package)
    return OnexService(root=root, nodes_dir=folder, nodes_package=package, service=service)
