"""What a check sees of a node: its files (bounded reads), contract, pyproject, sources, tests and options.

A node is rated where it lives. A stand-alone package is its own project. A node folder inside a service
package (``src/<service>/nodes/node_<name>_<kind>/`` holding ``contract.yaml``) keeps its own files, sources and
contract, and takes its package facts (pyproject, README, CHANGELOG, dependency bounds, the import) from the
enclosing project and its tests also from the project's ONEX test layout. Facts shared by several nodes are read
once per run (:class:`RunCache`).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra_models.errors import ContractError
from infra_models.node import NodeContract, NodeKind
from infra_readiness.filecache import FileCache
from infra_readiness.files import FileProblem, printable, walk_files
from infra_readiness.importcheck import ImportResult
from infra_readiness.locate import NodePlacement, find_contract, find_import_name, place_node, source_roots
from infra_readiness.project import ProjectFacts

if TYPE_CHECKING:
    from infra_models.onex import OnexContract
    from infra_readiness.config import ReadinessConfig

__all__ = ["NodeContext", "NodeOptions", "RunCache", "TEST_DIRS"]

#: Folders whose files are tests, not the node's code.
TEST_DIRS = frozenset({"tests", "test", "testing"})
_NOT_SOURCE = TEST_DIRS | {"bench", "benchmarks", "examples", "docs", "scripts", "tools"}


class NodeOptions:
    """Options of one run: whether to run tests or benchmarks, audit dependencies, the date, timeouts."""

    def __init__(
        self,
        *,
        run_tests: bool = False,
        today: date | None = None,
        test_timeout: float = 600.0,
        python: str | None = None,
        run_benchmarks: bool = False,
        audit_dependencies: bool = False,
    ) -> None:
        self.run_tests = run_tests
        self.today = today or date.today()
        self.test_timeout = test_timeout
        self.python = python
        self.run_benchmarks = run_benchmarks
        self.audit_dependencies = audit_dependencies


class RunCache:
    """What one run reads once and shares among its nodes: file texts, parsed trees, and each project's facts."""

    def __init__(self, files: FileCache | None = None) -> None:
        self.files = files or FileCache()
        self._projects: dict[Path, ProjectFacts] = {}

    def project(self, root: Path) -> ProjectFacts:
        """The facts of the project at ``root``, read on first use."""
        if root not in self._projects:
            self._projects[root] = ProjectFacts(root, self.files)
        return self._projects[root]


class NodeContext:
    """One node or package under check. Everything is read lazily, once, and within size limits."""

    def __init__(
        self,
        root: Path,
        *,
        display: str | None = None,
        options: NodeOptions | None = None,
        cache: RunCache | None = None,
    ) -> None:
        self.root = root
        self.display = printable(display if display is not None else str(root))
        self.options = options or NodeOptions()
        self.cache = cache or RunCache()
        self.problems: list[FileProblem] = []
        self.import_future: Future[ImportResult] | None = None
        self.on_import_needed: Callable[[], Future[ImportResult]] | None = None

    # -- placement ---------------------------------------------------------------------------------------------
    @cached_property
    def placement(self) -> NodePlacement:
        """Where the node lives: stand-alone, or a contract folder inside an enclosing project."""
        return place_node(self.root)

    @property
    def package_root(self) -> Path:
        """The folder of the ``pyproject.toml`` that packages this node (the node root for a stand-alone package)."""
        return self.placement.package_root

    @property
    def inside_project(self) -> bool:
        """True for a node folder inside an enclosing project, whose package facts come from that project."""
        return self.placement.inside_project

    @cached_property
    def _project(self) -> ProjectFacts:
        return self.cache.project(self.package_root)

    # -- paths -------------------------------------------------------------------------------------------------
    def rel(self, path: Path) -> str:
        """``path`` relative to the node root, with forward slashes (``../../README.md`` for the project's files)."""
        try:
            return printable(path.relative_to(self.root).as_posix())
        except ValueError:
            if self.inside_project and path.is_relative_to(self.package_root):
                return printable(Path(os.path.relpath(path, self.root)).as_posix())
            return printable(path.as_posix())

    def exists(self, *names: str) -> Path | None:
        """The first of ``names`` that is a file in the node folder, else in the enclosing project, or ``None``."""
        folders = (self.root, self.package_root) if self.inside_project else (self.root,)
        for folder in folders:
            for name in names:
                candidate = folder / name
                if candidate.is_file():
                    return candidate
        return None

    @cached_property
    def files(self) -> list[Path]:
        """Every file of the node, hidden and cache folders excepted; symlinked folders are not entered."""
        return walk_files(self.root, self.problems)

    def _report(self, path: Path, reason: str | None) -> None:
        if reason is not None and (path, reason) not in self._reported_reasons:
            self._reported_reasons.add((path, reason))
            self.problems.append(FileProblem(path, reason))

    @cached_property
    def _reported_reasons(self) -> set[tuple[Path, str]]:
        return set()

    def text(self, path: Path) -> str | None:
        """The text of a file, or ``None`` for a huge, binary, unreadable or looping one (recorded in problems)."""
        text, reason = self.cache.files.text(path)
        self._report(path, reason)
        return text

    def tree(self, path: Path) -> ast.Module | None:
        """The parsed module of a Python file, or ``None`` when unreadable or not valid Python.

        Parsed with ``checks._parse.parse_source`` (3.12+ syntax through a newer interpreter), once per run.
        """
        self.text(path)  # records why an unreadable file has no tree
        parsed, reason = self.cache.files.tree(path, python=self.options.python)
        self._report(path, reason)
        return parsed

    def python_trees(self, files: list[Path]) -> Iterator[tuple[Path, ast.Module]]:
        """``(path, module)`` for each Python file of ``files`` that parses."""
        for path in files:
            parsed = self.tree(path)
            if parsed is not None:
                yield path, parsed

    def _top(self, path: Path) -> str:
        parts = path.relative_to(self.root).parts
        return parts[0] if len(parts) > 1 else ""

    @cached_property
    def source_files(self) -> list[Path]:
        """The node's own Python code: under ``src/`` or its package folder; never tests, benchmarks or examples."""
        python = [p for p in self.files if p.suffix == ".py"]
        if self.inside_project:  # a node folder: all of it is the node's code, its tests/ excepted
            return [p for p in python if self._top(p) not in _NOT_SOURCE and not _is_test_file(p)]
        if (self.root / "src").is_dir():
            return [p for p in python if self._top(p) == "src"]
        if self.import_name and (self.root / self.import_name).is_dir():
            return [p for p in python if self._top(p) == self.import_name]
        return [p for p in python if self._top(p) not in _NOT_SOURCE and not _is_test_file(p)]

    @cached_property
    def test_files(self) -> list[Path]:
        """Python test files: under a ``tests/`` folder, or named ``test_*.py`` / ``*_test.py``.

        For a node folder inside a project, also the project's tests of this node (the ONEX layout
        ``tests/unit/nodes/<node_folder>/``, ``test_<node_folder>*.py``, and test files importing the node's module).
        """
        own = [
            p
            for p in self.files
            if p.suffix == ".py"
            and (_is_test_file(p) or any(part in TEST_DIRS for part in self.rel(p).split("/")[:-1]))
        ]
        if not self.inside_project:
            return own
        return sorted({*own, *self._project.tests_for(self.root, self.placement.module)})

    @cached_property
    def _test_set(self) -> frozenset[Path]:
        return frozenset(self.test_files)

    def in_tests(self, path: Path) -> bool:
        """True for a file that belongs to the tests."""
        if path in self._test_set:
            return True
        try:
            parts = path.relative_to(self.root).parts[:-1]
        except ValueError:
            parts = Path(self.rel(path)).parts[:-1]
        return any(part in TEST_DIRS for part in parts)

    # -- contract ----------------------------------------------------------------------------------------------
    @cached_property
    def contract_path(self) -> Path | None:
        """The node's ``contract.yaml``, or ``None`` for a package without one."""
        return find_contract(self.root)

    @cached_property
    def _contract(self) -> tuple[NodeContract | OnexContract | None, ContractError | None]:
        if self.contract_path is None:
            return None, None
        from infra_readiness.contracts import read_contract

        return read_contract(self.contract_path)

    @property
    def contract(self) -> NodeContract | None:
        """The validated infra-format contract, or ``None`` (none, an ONEX contract, or one that does not validate)."""
        found = self._contract[0]
        return found if isinstance(found, NodeContract) else None

    @property
    def onex_contract(self) -> OnexContract | None:
        """The validated ONEX contract (``node_type``, ``handler_routing``...), or ``None``."""
        found = self._contract[0]
        return None if found is None or isinstance(found, NodeContract) else found

    @property
    def contract_valid(self) -> bool:
        """True when the node's contract validates, in either format."""
        return self._contract[0] is not None

    @property
    def contract_error(self) -> ContractError | None:
        """Why the contract does not validate, or ``None``."""
        return self._contract[1]

    @cached_property
    def raw_contract(self) -> dict[str, Any]:
        """The contract's YAML as a mapping, even when it does not validate; empty when not a mapping."""
        if self.contract_path is None:
            return {}
        if self.contract is not None:  # already parsed and valid: no need to read the YAML again
            return {"name": self.contract.name, "kind": self.contract.kind.value}
        onex = self.onex_contract
        if onex is not None:
            return {"name": onex.display_name, "kind": onex.kind.value if onex.kind else None}
        from infra_readiness.contracts import read_raw_mapping

        return read_raw_mapping(self.contract_path)

    @cached_property
    def kind(self) -> NodeKind | None:
        """The node kind from the contract (best effort when the contract does not validate); ``None`` for a package."""
        if self.contract is not None:
            return self.contract.kind
        if self.onex_contract is not None:
            return self.onex_contract.kind
        from infra_readiness.contracts import kind_of

        return kind_of(self.raw_contract)

    @property
    def is_node(self) -> bool:
        """True when the folder has a contract (an ONEX node), False for a plain package."""
        return self.contract_path is not None

    @cached_property
    def serves(self) -> bool:
        """True for a node that serves: EFFECT and ORCHESTRATOR, any node that consumes topics, or ``serves = true``."""
        configured = self.readiness_table.get("serves")
        if isinstance(configured, bool):
            return configured
        if self.kind in (NodeKind.EFFECT, NodeKind.ORCHESTRATOR):
            return True
        if self.onex_contract is not None:
            return bool(self.onex_contract.subscribe_topics)
        return bool(self.contract is not None and self.contract.topics.consumed)

    # -- pyproject ---------------------------------------------------------------------------------------------
    @cached_property
    def pyproject_path(self) -> Path | None:
        """``pyproject.toml`` at the root (or of the enclosing project for a node folder), or ``None``."""
        path = self.package_root / "pyproject.toml"
        return path if path.exists() or path.is_symlink() else None

    @property
    def _pyproject(self) -> tuple[dict[str, Any] | None, str | None]:
        if self.pyproject_path is None:
            return None, None
        self.text(self.pyproject_path)  # records why an unreadable pyproject could not be read
        return self._project.pyproject

    @property
    def pyproject(self) -> dict[str, Any] | None:
        """The parsed ``pyproject.toml``, or ``None`` when missing or malformed."""
        return self._pyproject[0]

    @property
    def pyproject_error(self) -> str | None:
        """Why ``pyproject.toml`` could not be read, or ``None``."""
        return self._pyproject[1]

    @property
    def project(self) -> dict[str, Any]:
        """The ``[project]`` table, empty when missing."""
        table = (self.pyproject or {}).get("project")
        return table if isinstance(table, dict) else {}

    @property
    def readiness_table(self) -> dict[str, Any]:
        """``[tool.infra-readiness]`` of the pyproject, empty when missing."""
        tool = (self.pyproject or {}).get("tool")
        table = tool.get("infra-readiness") if isinstance(tool, dict) else None
        return table if isinstance(table, dict) else {}

    @cached_property
    def config(self) -> ReadinessConfig:
        """The node's readiness settings (target level, waivers) and the problems found reading them."""
        from infra_readiness.config import load_config

        return load_config(self)

    # -- naming and import -------------------------------------------------------------------------------------
    @cached_property
    def import_name(self) -> str | None:
        """The node's top-level module, or ``None`` when no package folder can be found."""
        if self.inside_project:
            return self.placement.module
        return find_import_name(self.root, self.raw_contract.get("name"), self.project)

    @property
    def name(self) -> str:
        """The node's name: contract name, project name, or folder name."""
        for value in (self.raw_contract.get("name"), self.project.get("name")):
            if isinstance(value, str) and value:
                return value
        return self.root.name

    @property
    def import_paths(self) -> list[Path]:
        """Folders to put first on ``sys.path`` to import the node."""
        if self.placement.source_root is not None:
            return [self.placement.source_root]
        return source_roots(self.root)

    def import_result(self) -> ImportResult | None:
        """The outcome of importing the node's package in a fresh interpreter (started on first need)."""
        if self.import_future is None and self.on_import_needed is not None:
            self.import_future = self.on_import_needed()
        return None if self.import_future is None else self.import_future.result()


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py"
