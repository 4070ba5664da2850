"""One read and one parse per file per run, shared by every node that sees the file, within a memory budget.

The nodes of one service share files (the project's README, pyproject and test folders), and several checks read
the same sources. Texts are kept up to :data:`TEXT_BUDGET` characters and parsed trees up to :data:`TREE_BUDGET`
characters of source (a tree takes about 20 times its source in memory); past a budget a file is read or parsed
again when asked, so memory stays bounded on a whole repository. :meth:`FileCache.forget_trees` drops the trees
of a node once it has been rated.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

from infra_readiness.files import FileProblem, read_text

__all__ = ["TEXT_BUDGET", "TREE_BUDGET", "FileCache"]

#: Characters of file text kept in memory per run.
TEXT_BUDGET = 24_000_000
#: Characters of source whose parsed trees are kept in memory per run (about 20 bytes of tree per character).
TREE_BUDGET = 4_000_000


class FileCache:
    """Texts and parsed Python trees of one run, each computed once while within budget."""

    def __init__(self, *, text_budget: int = TEXT_BUDGET, tree_budget: int = TREE_BUDGET) -> None:
        self.text_budget = text_budget
        self.tree_budget = tree_budget
        self._texts: dict[Path, tuple[str | None, str | None]] = {}
        self._trees: dict[Path, tuple[ast.Module | None, str | None]] = {}
        self._tree_sizes: dict[Path, int] = {}
        self._text_chars = 0
        self._tree_chars = 0
        self.parses = 0

    def text(self, path: Path) -> tuple[str | None, str | None]:
        """``(text, None)``, or ``(None, why)`` for a huge, binary, unreadable or looping file."""
        cached = self._texts.get(path)
        if cached is not None:
            return cached
        problems: list[FileProblem] = []
        text = read_text(path, problems)
        answer = (text, problems[0].reason if problems and text is None else None)
        size = len(text) if text is not None else 0
        if self._text_chars + size <= self.text_budget:
            self._texts[path] = answer
            self._text_chars += size
        return answer

    def tree(self, path: Path, *, python: str | None = None) -> tuple[ast.Module | None, str | None]:
        """``(module, None)``, or ``(None, why)`` when the file is unreadable (``why`` is None) or not valid Python."""
        cached = self._trees.get(path)
        if cached is not None:
            return cached
        source, _ = self.text(path)
        if source is None:
            return None, None
        from infra_readiness.checks._parse import parse_source

        parsed: ast.Module | None = None
        problem: str | None = None
        self.parses += 1
        try:
            parsed = parse_source(source, str(path), python=python)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            line = getattr(exc, "lineno", None)
            where = f" at line {line}" if line else ""
            problem = f"not valid Python{where}: {exc}"
        if self._tree_chars + len(source) <= self.tree_budget:
            self._trees[path] = (parsed, problem)
            self._tree_sizes[path] = len(source)
            self._tree_chars += len(source)
        return parsed, problem

    def forget_trees_of(self, paths: list[Path]) -> None:
        """Drop the trees of ``paths`` (a rated node's tests in the project's test tree)."""
        for path in paths:
            if self._trees.pop(path, None) is not None:
                self._tree_chars -= self._tree_sizes.pop(path, 0)

    def forget_trees(self, folder: Path) -> None:
        """Drop the trees of files under ``folder`` (a node already rated), freeing their share of the budget."""
        prefix = os.path.join(folder, "")
        for path in [p for p in self._trees if os.fspath(p).startswith(prefix)]:
            self._trees.pop(path)
            self._tree_chars -= self._tree_sizes.pop(path, 0)
