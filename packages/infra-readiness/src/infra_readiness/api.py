"""The Python API: :class:`ProductionReadinessCheck` (the original utilities' entry point), :func:`check_path`.

Example:
    >>> import asyncio
    >>> checker = ProductionReadinessCheck(node_path="path/to/node")      # doctest: +SKIP
    >>> result = asyncio.run(checker.check_readiness())                   # doctest: +SKIP
    >>> result.level, result.issues, result.recommendations               # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from infra_models.readiness import ReadinessReport, ReadinessSummary
from infra_readiness.__about__ import __version__
from infra_readiness.context import NodeContext, NodeOptions, RunCache
from infra_readiness.errors import ReadinessInputError
from infra_readiness.locate import discover_nodes, find_contract, is_node_root, place_node
from infra_readiness.plugin import Check
from infra_readiness.runner import Progress, check_contexts

__all__ = ["ProductionReadinessCheck", "check_path", "check_tree", "find_nodes", "summarize"]


def _resolve(path: str | Path) -> Path:
    given = Path(path)
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError as exc:
        raise ReadinessInputError(f"{given}: no such file or folder", code="readiness.not_found") from exc
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on older Pythons
        raise ReadinessInputError(
            f"{given}: cannot be resolved ({exc}); is it a symlink loop?", code="readiness.bad_path"
        ) from exc
    if resolved.is_file() and resolved.name in {"contract.yaml", "pyproject.toml"}:
        resolved = resolved.parent
    if not resolved.is_dir():
        raise ReadinessInputError(f"{given}: not a folder; give a node's folder (with contract.yaml or pyproject.toml)")
    return resolved


def package_of(root: Path) -> Path:
    """The folder to rate for ``root``: the package itself when ``root`` holds the package's own contract.

    A stand-alone package keeps its contract in ``src/<package>/contract.yaml``; checked at that folder it is
    rated as the whole package, so it gets the same rating at its contract folder as at its project root.
    """
    placement = place_node(root)
    if placement.inside_project and find_contract(placement.package_root) == root / "contract.yaml":
        return placement.package_root
    return root


def find_nodes(path: str | Path, *, recursive: bool) -> list[tuple[Path, str]]:
    """``(root, display path)`` of the node at ``path``, or of every node under it with ``recursive``.

    With ``recursive``, a package's ONEX nodes (``contract.yaml`` folders in its source tree) are listed after it.

    Raises:
        ReadinessInputError: the path does not exist, is not a node (without ``recursive``), or holds no node.
    """
    root = _resolve(path)
    shown = str(path).rstrip("/") or "/"
    if not recursive:
        if not is_node_root(root):
            raise ReadinessInputError(
                f"{path}: not a node or package (no contract.yaml or pyproject.toml); "
                "give a node's folder, or add --recursive to check every node under it",
                code="readiness.not_a_node",
            )
        return [(package_of(root), shown)]
    found = list(dict.fromkeys(package_of(p) for p in discover_nodes(root)))
    if not found:
        raise ReadinessInputError(
            f"{path}: no node or package found under it (no contract.yaml or pyproject.toml)", code="readiness.no_nodes"
        )
    return [(p, _shown(shown, root, p)) for p in found]


def _shown(shown: str, top: Path, root: Path) -> str:
    if root == top:
        return shown
    if root.is_relative_to(top):
        return f"{shown}/{root.relative_to(top).as_posix()}"
    return str(root)  # the package of a contract folder found under ``top``


def check_tree(
    path: str | Path,
    *,
    recursive: bool = False,
    run_tests: bool = False,
    today: date | None = None,
    now: datetime | None = None,
    checks: Sequence[Check] | None = None,
    progress: Progress | None = None,
    python: str | None = None,
    run_benchmarks: bool = False,
    audit_dependencies: bool = False,
) -> list[ReadinessReport]:
    """Check the node at ``path`` (or every node under it) and return one report per node.

    ``python`` is the interpreter that imports the packages and runs their tests (default: the current one).
    """
    options = NodeOptions(
        run_tests=run_tests,
        today=today,
        python=python,
        run_benchmarks=run_benchmarks,
        audit_dependencies=audit_dependencies,
    )
    cache = RunCache()
    contexts = [
        NodeContext(root, display=shown, options=options, cache=cache)
        for root, shown in find_nodes(path, recursive=recursive)
    ]
    return check_contexts(contexts, checks=checks, now=now, progress=progress)


def check_path(path: str | Path, **kwargs: object) -> ReadinessReport:
    """Check the single node at ``path``."""
    return check_tree(path, recursive=False, **kwargs)[0]  # type: ignore[arg-type]


def summarize(path: str | Path, reports: Sequence[ReadinessReport], *, now: datetime | None = None) -> ReadinessSummary:
    """Gather reports of one run into a :class:`ReadinessSummary` (its level is the lowest reached)."""
    return ReadinessSummary(
        path=str(path),
        level=min(r.level for r in reports),
        reports=tuple(reports),
        generated_at=now or datetime.now(UTC),
        tool_version=__version__,
    )


class ProductionReadinessCheck:
    """Rate one node NOT_READY to PRODUCTION; the entry point of the original utilities, kept by name.

    Example:
        >>> checker = ProductionReadinessCheck(node_path="path/to/node")  # doctest: +SKIP
        >>> report = checker.check_readiness_sync()                       # doctest: +SKIP
        >>> report.level, report.blockers                                 # doctest: +SKIP
    """

    def __init__(
        self,
        node_path: str | Path,
        *,
        run_tests: bool = False,
        today: date | None = None,
        checks: Sequence[Check] | None = None,
    ) -> None:
        self.node_path = node_path
        self.run_tests = run_tests
        self.today = today
        self.checks = checks

    def check_readiness_sync(self) -> ReadinessReport:
        """Run the checks and return the report (blocking)."""
        return check_path(self.node_path, run_tests=self.run_tests, today=self.today, checks=self.checks)

    async def check_readiness(self) -> ReadinessReport:
        """Run the checks in a worker thread and return the report, without blocking the event loop."""
        import asyncio  # here: the CLI never needs it, and it costs ~30 ms to import

        return await asyncio.to_thread(self.check_readiness_sync)
