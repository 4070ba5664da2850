"""The facts of one project, read once per run and shared by every node inside it: pyproject and test layout.

A service package holds many nodes (``src/<service>/nodes/node_<name>_<kind>/``) whose tests live in the
project's test tree, not beside them. The ONEX layouts found in the public omnibase repositories are all
recognised: ``tests/unit/nodes/<node_folder>/``, ``tests/integration/nodes/<node_folder>/``,
``tests/**/test_<node_folder>/``, ``test_<node_folder>*.py`` anywhere under the test folders, and any test
file that imports (or patches) the node's module or a submodule (``<service>.nodes.<node_folder>.handlers``).
"""

from __future__ import annotations

import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

from infra_readiness.filecache import FileCache
from infra_readiness.files import FileProblem, walk_files

__all__ = ["TEST_FOLDERS", "ProjectFacts"]

#: Top-level folders of a project that hold its tests.
TEST_FOLDERS = ("tests", "test")


class ProjectFacts:
    """One project (a folder with ``pyproject.toml``): its parsed pyproject and an index of its tests."""

    def __init__(self, root: Path, files: FileCache) -> None:
        self.root = root
        self._files = files
        self.problems: list[FileProblem] = []
        self._refs: dict[str, dict[str, set[Path]]] = {}

    @cached_property
    def pyproject(self) -> tuple[dict[str, Any] | None, str | None]:
        """The parsed ``pyproject.toml`` and ``None``, or ``None`` and why it could not be read."""
        path = self.root / "pyproject.toml"
        if not (path.exists() or path.is_symlink()):
            return None, None
        text, why = self._files.text(path)
        if text is None:
            return None, f"pyproject.toml is {why or 'unreadable'}"
        try:
            return tomllib.loads(text), None
        except tomllib.TOMLDecodeError as exc:
            return None, f"pyproject.toml is not valid TOML: {exc}"
        except (RecursionError, MemoryError):
            return None, "pyproject.toml is nested too deeply to read"

    @cached_property
    def test_files(self) -> list[Path]:
        """Every Python file under the project's ``tests/`` (or ``test/``) folder."""
        found: list[Path] = []
        for name in TEST_FOLDERS:
            folder = self.root / name
            if folder.is_dir() and not folder.is_symlink():
                found += [p for p in walk_files(folder, self.problems) if p.suffix == ".py"]
        return found

    @cached_property
    def _by_name(self) -> dict[str, list[Path]]:
        """Test files by each folder name on their path and by their own stem (one pass, then lookups)."""
        index: dict[str, list[Path]] = {}
        for path in self.test_files:
            parts = path.relative_to(self.root).parts
            for name in {*parts[:-1], path.stem}:
                index.setdefault(name, []).append(path)
        return index

    def tests_for(self, node_root: Path, module: str | None) -> list[Path]:
        """The project's test files for the node at ``node_root`` (imported as ``module``), by layout and by import."""
        folder = node_root.name
        prefixed = f"test_{folder}"
        chosen: dict[Path, None] = {}
        for name in (folder, prefixed):
            chosen.update(dict.fromkeys(self._by_name.get(name, ())))
        chosen.update(
            dict.fromkeys(
                path
                for name, paths in self._by_name.items()
                if name.startswith(prefixed + "_")
                for path in paths
                if path.stem == name
            )
        )
        if module:
            chosen.update(dict.fromkeys(self._references(module.split(".")[0]).get(module, ())))
        if folder.startswith("node_"):  # the ONEX naming: a test naming the node folder (a contract path...) tests it
            chosen.update(dict.fromkeys(self._node_names.get(folder, ())))
        return sorted(chosen)

    @cached_property
    def _node_names(self) -> dict[str, set[Path]]:
        """Test files by every ``node_<name>`` word they contain."""
        word = re.compile(r"\bnode_\w+")
        index: dict[str, set[Path]] = {}
        for path in self.test_files:
            text, _ = self._files.text(path)
            if text is None or "node_" not in text:
                continue
            for name in set(word.findall(text)):
                index.setdefault(name, set()).add(path)
        return index

    def _references(self, top: str) -> dict[str, set[Path]]:
        """Test files by every dotted prefix of the names under ``top`` they mention (imports, patch targets)."""
        if top in self._refs:
            return self._refs[top]
        dotted = re.compile(rf"{re.escape(top)}(?:\.\w+)+")
        from_import = re.compile(rf"from[ \t]+({re.escape(top)}(?:\.\w+)*)[ \t]+import[ \t]+\(?([\w \t,\n]*)")
        index: dict[str, set[Path]] = {}
        for path in self.test_files:
            text, _ = self._files.text(path)
            if text is None or top not in text:
                continue
            names = set(dotted.findall(text))
            for module, imported in from_import.findall(text):
                names.update(f"{module}.{n.split()[0]}" for n in imported.replace("\n", ",").split(",") if n.strip())
            prefixes = {
                ".".join(parts[:i]) for parts in (n.split(".") for n in names) for i in range(2, len(parts) + 1)
            }
            for prefix in prefixes:
                index.setdefault(prefix, set()).add(path)
        self._refs[top] = index
        return index
