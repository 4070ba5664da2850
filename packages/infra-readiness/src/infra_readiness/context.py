"""What a check sees of a node: its files (bounded reads), contract, pyproject, sources, tests and options."""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra_models.errors import ContractError
from infra_models.node import NodeContract, NodeKind
from infra_readiness.files import FileProblem, printable, read_text, walk_files
from infra_readiness.importcheck import ImportResult
from infra_readiness.locate import find_contract, find_import_name, source_roots

if TYPE_CHECKING:
    from infra_readiness.config import ReadinessConfig

__all__ = ["NodeContext", "NodeOptions", "TEST_DIRS"]

#: Folders whose files are tests, not the node's code.
TEST_DIRS = frozenset({"tests", "test", "testing"})
_NOT_SOURCE = TEST_DIRS | {"bench", "benchmarks", "examples", "docs", "scripts", "tools"}


class NodeOptions:
    """Options of one run: whether to run tests, the date that decides waiver expiry, timeouts."""

    def __init__(
        self,
        *,
        run_tests: bool = False,
        today: date | None = None,
        test_timeout: float = 600.0,
        python: str | None = None,
    ) -> None:
        self.run_tests = run_tests
        self.today = today or date.today()
        self.test_timeout = test_timeout
        self.python = python


class NodeContext:
    """One node or package under check. Everything is read lazily, once, and within size limits."""

    def __init__(self, root: Path, *, display: str | None = None, options: NodeOptions | None = None) -> None:
        self.root = root
        self.display = printable(display if display is not None else str(root))
        self.options = options or NodeOptions()
        self.problems: list[FileProblem] = []
        self._texts: dict[Path, str | None] = {}
        self._trees: dict[Path, ast.Module | None] = {}
        self.import_future: Future[ImportResult] | None = None
        self.on_import_needed: Callable[[], Future[ImportResult]] | None = None

    # -- paths -------------------------------------------------------------------------------------------------
    def rel(self, path: Path) -> str:
        """``path`` relative to the node root, with forward slashes."""
        try:
            return printable(path.relative_to(self.root).as_posix())
        except ValueError:
            return printable(path.as_posix())

    def exists(self, *names: str) -> Path | None:
        """The first of ``names`` (relative to the root) that is a file, or ``None``."""
        for name in names:
            candidate = self.root / name
            if candidate.is_file():
                return candidate
        return None

    @cached_property
    def files(self) -> list[Path]:
        """Every file of the node, hidden and cache folders excepted; symlinked folders are not entered."""
        return walk_files(self.root, self.problems)

    def text(self, path: Path) -> str | None:
        """The text of a file, or ``None`` for a huge, binary, unreadable or looping one (recorded in problems)."""
        if path not in self._texts:
            self._texts[path] = read_text(path, self.problems)
        return self._texts[path]

    def tree(self, path: Path) -> ast.Module | None:
        """The parsed module of a Python file, or ``None`` when unreadable or not valid Python."""
        if path not in self._trees:
            source = self.text(path)
            parsed: ast.Module | None = None
            if source is not None:
                from infra_readiness.checks._parse import parse_source  # 3.12+ syntax via a newer interpreter

                try:
                    parsed = parse_source(source, str(path), python=self.options.python)
                except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
                    line = getattr(exc, "lineno", None)
                    where = f" at line {line}" if line else ""
                    self.problems.append(FileProblem(path, f"not valid Python{where}: {exc}"))
            self._trees[path] = parsed
        return self._trees[path]

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
        if (self.root / "src").is_dir():
            return [p for p in python if self._top(p) == "src"]
        if self.import_name and (self.root / self.import_name).is_dir():
            return [p for p in python if self._top(p) == self.import_name]
        return [p for p in python if self._top(p) not in _NOT_SOURCE and not _is_test_file(p)]

    @cached_property
    def test_files(self) -> list[Path]:
        """Python test files: under a ``tests/`` folder, or named ``test_*.py`` / ``*_test.py``."""
        return [
            p
            for p in self.files
            if p.suffix == ".py"
            and (_is_test_file(p) or any(part in TEST_DIRS for part in self.rel(p).split("/")[:-1]))
        ]

    @cached_property
    def _test_set(self) -> frozenset[Path]:
        return frozenset(self.test_files)

    def in_tests(self, path: Path) -> bool:
        """True for a file that belongs to the tests."""
        return path in self._test_set or any(part in TEST_DIRS for part in self.rel(path).split("/")[:-1])

    # -- contract ----------------------------------------------------------------------------------------------
    @cached_property
    def contract_path(self) -> Path | None:
        """The node's ``contract.yaml``, or ``None`` for a package without one."""
        return find_contract(self.root)

    @cached_property
    def _contract(self) -> tuple[NodeContract | None, ContractError | None]:
        if self.contract_path is None:
            return None, None
        from infra_models.contract_yaml import load_contract

        try:
            return load_contract(self.contract_path), None
        except ContractError as exc:
            return None, exc
        except (RecursionError, MemoryError) as exc:  # a YAML bomb or absurd nesting: report, do not crash
            error = ContractError(f"{self.contract_path}: nested too deeply to read", code="contract.too_deep")
            error.__cause__ = exc
            return None, error

    @property
    def contract(self) -> NodeContract | None:
        """The validated contract, or ``None`` (no contract, or one that does not validate)."""
        return self._contract[0]

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
        text = self.text(self.contract_path)
        if text is None:
            return {}
        import yaml

        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
        except (yaml.YAMLError, RecursionError, MemoryError):
            return {}
        return data if isinstance(data, dict) else {}

    @cached_property
    def kind(self) -> NodeKind | None:
        """The node kind from the contract (best effort when the contract does not validate); ``None`` for a package."""
        if self.contract is not None:
            return self.contract.kind
        raw = self.raw_contract.get("kind")
        try:
            return NodeKind(raw) if isinstance(raw, str) else None
        except ValueError:
            return None

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
        return bool(self.contract is not None and self.contract.topics.consumed)

    # -- pyproject ---------------------------------------------------------------------------------------------
    @cached_property
    def pyproject_path(self) -> Path | None:
        """``pyproject.toml`` at the root, or ``None``."""
        path = self.root / "pyproject.toml"
        return path if path.exists() or path.is_symlink() else None

    @cached_property
    def _pyproject(self) -> tuple[dict[str, Any] | None, str | None]:
        if self.pyproject_path is None:
            return None, None
        text = self.text(self.pyproject_path)
        if text is None:
            problem = next((p.reason for p in self.problems if p.path == self.pyproject_path), "unreadable")
            return None, f"pyproject.toml is {problem}"
        try:
            return tomllib.loads(text), None
        except tomllib.TOMLDecodeError as exc:
            return None, f"pyproject.toml is not valid TOML: {exc}"
        except (RecursionError, MemoryError):
            return None, "pyproject.toml is nested too deeply to read"

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
        return source_roots(self.root)

    def import_result(self) -> ImportResult | None:
        """The outcome of importing the node's package in a fresh interpreter (started on first need)."""
        if self.import_future is None and self.on_import_needed is not None:
            self.import_future = self.on_import_needed()
        return None if self.import_future is None else self.import_future.result()


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py"
