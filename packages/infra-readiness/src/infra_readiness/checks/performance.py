"""Performance checks: a benchmark that measures something, declared budgets, and (``--run-benchmarks``) budgets met.

A benchmark is a ``bench/`` (or ``benchmarks/``) script whose code does something, a pytest-benchmark test (a
test taking the ``benchmark`` fixture), a ``tests/performance/`` suite, or an asv configuration. Budgets are
declared in the contract (``performance: {budgets: {p99_ms, peak_memory_mb}}``, or ONEX's
``performance.thresholds.<operation>_ms.default``) or in ``[tool.infra-readiness.budgets]``
(``p99-ms``, ``peak-memory-mb``, and ``<operation>-ms`` per operation).
"""

from __future__ import annotations

import ast
import re
from functools import partial
from pathlib import Path

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._bench_run import BenchResult, run_pytest_benchmark, run_script
from infra_readiness.checks._declared import contract_data, lookup, per_file
from infra_readiness.checks._test_scan import test_functions
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "Budgets", "benchmark_present", "budgets", "budgets_declared", "budgets_met"]

_BENCH_DIRS = ("bench", "benchmarks", "benchmark")
_PERF_TEST_DIRS = frozenset({"performance", "perf", "benchmarks", "benchmark", "load"})
_BENCHMARK_TEST = re.compile(
    r"def[ \t]+test\w*[ \t]*\([^)]*\bbenchmark\b[^)]*\)[^\n]*\n(?:[ \t]+[^\n]*\n?)*?[ \t]+benchmark[.(]"
)


class Budgets:
    """Declared performance budgets: overall p99 and peak memory, and p99 per named operation."""

    def __init__(self, p99_ms: float | None, peak_memory_mb: float | None, operations: dict[str, float]) -> None:
        self.p99_ms = p99_ms
        self.peak_memory_mb = peak_memory_mb
        self.operations = operations

    @property
    def empty(self) -> bool:
        """True when nothing is declared."""
        return self.p99_ms is None and self.peak_memory_mb is None and not self.operations

    def p99_for(self, operation: str) -> float | None:
        """The p99 budget of ``operation`` (its own, else the overall one)."""
        return self.operations.get(operation, self.p99_ms)


def _number(value: object) -> float | None:
    if isinstance(value, dict):
        value = value.get("default")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


def budgets(node: NodeContext) -> Budgets:
    """The budgets from ``[tool.infra-readiness.budgets]`` and the contract's ``performance`` section."""
    operations: dict[str, float] = {}
    contract = contract_data(node)
    declared = lookup(contract, "performance", "budgets")
    table = declared if isinstance(declared, dict) else {}
    thresholds = lookup(contract, "performance", "thresholds")
    if isinstance(thresholds, dict):
        for key, value in thresholds.items():
            figure = _number(value)
            if figure is not None and str(key).endswith("_ms"):
                operations[str(key)[: -len("_ms")]] = figure
    configured = node.readiness_table.get("budgets")
    merged = {**{str(k).replace("_", "-"): v for k, v in table.items()}}
    if isinstance(configured, dict):
        merged.update({str(k).replace("_", "-"): v for k, v in configured.items()})
    for key, value in merged.items():
        figure = _number(value)
        if figure is not None and key.endswith("-ms") and key != "p99-ms":
            operations[key[: -len("-ms")].replace("-", "_")] = figure
    return Budgets(_number(merged.get("p99-ms")), _number(merged.get("peak-memory-mb")), operations)


def _does_something(tree: ast.Module) -> bool:
    """True when a script holds a statement that does work (not only imports, docstrings, ``pass`` and ``...``)."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            pending.extend(statement.body)
        elif isinstance(statement, ast.If) and "__name__" in ast.unparse(statement.test):
            continue  # the `if __name__ == "__main__": main()` guard only calls what is defined above
        elif isinstance(statement, ast.Import | ast.ImportFrom | ast.Pass):
            continue
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring or `...`
        elif isinstance(statement, ast.Return) and (
            statement.value is None or isinstance(statement.value, ast.Constant)
        ):
            continue
        else:
            return True
    return False


def _scripts(node: NodeContext) -> tuple[list[Path], list[Path]]:
    """``(working, empty)`` benchmark scripts under the bench folders."""
    working: list[Path] = []
    empty: list[Path] = []
    for path in node.files:
        rel = node.rel(path)
        if (
            path.suffix != ".py"
            or rel.split("/", 1)[0] not in _BENCH_DIRS
            or path.name in {"__init__.py", "conftest.py"}
        ):
            continue
        tree = node.tree(path)
        (working if tree is not None and _does_something(tree) else empty).append(path)
    return working, empty


def _benchmark_tests(node: NodeContext) -> list[Path]:
    return [p for p in node.test_files if per_file("PERF-bench-test", p, partial(_benchmark_test_file, node, p))]


def _benchmark_test_file(node: NodeContext, path: Path) -> bool:
    text = node.text(path) or ""
    return "benchmark" in text and _BENCHMARK_TEST.search(text) is not None


def _performance_suite(node: NodeContext) -> list[Path]:
    found = []
    for path in node.test_files:
        folders = {part.lower() for part in Path(node.rel(path)).parts[:-1]}
        if folders & _PERF_TEST_DIRS and any(t.asserts for t in test_functions(node.text(path) or "")):
            found.append(path)
    return found


@check(
    id="PERF-001",
    title="Benchmark present",
    category=CheckCategory.PERFORMANCE,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation=(
        "Add bench/bench_<node>.py that measures the node's main operation and prints its result line "
        '({"benchmark": "<operation>", "samples": N, "p99_ms": X}), a pytest-benchmark test, or a '
        "tests/performance/ suite. A script that only imports or passes does not count."
    ),
)
def benchmark_present(node: NodeContext) -> Outcome:
    """The node has a benchmark that does something: a ``bench/`` script, pytest-benchmark tests, or a perf suite."""
    working, empty = _scripts(node)
    if working:
        folder = node.rel(working[0]).split("/", 1)[0]
        return Outcome.passed(f"{len(working)} benchmark script(s) under {folder}/")
    tests = _benchmark_tests(node)
    if tests:
        return Outcome.passed(f"pytest-benchmark test(s) in {node.rel(tests[0])}")
    suite = _performance_suite(node)
    if suite:
        return Outcome.passed(f"performance suite: {node.rel(suite[0].parent)}/")
    if node.exists("asv.conf.json"):
        return Outcome.passed("asv.conf.json")
    findings = [
        Finding(message="benchmark script does nothing (only imports, docstrings, pass)", file=node.rel(p))
        for p in empty
    ]
    if findings:
        return Outcome.failed("the benchmark is empty", findings)
    return Outcome.failed(
        "no benchmark",
        [Finding(message="no bench/*.py, pytest-benchmark test, tests/performance/ suite or asv.conf.json")],
    )


@check(
    id="PERF-002",
    title="Performance budgets declared",
    category=CheckCategory.PERFORMANCE,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation=(
        "Declare the main operation's budgets: `[tool.infra-readiness.budgets]` with `p99-ms = 50` and "
        "`peak-memory-mb = 256`, or the contract's `performance: {budgets: {p99_ms: 50, peak_memory_mb: 256}}`."
    ),
)
def budgets_declared(node: NodeContext) -> Outcome:
    """The node declares a p99 latency budget (overall or per operation) and/or a peak-memory budget."""
    declared = budgets(node)
    if declared.empty:
        return Outcome.failed("no performance budget", [Finding(message="no p99-ms or peak-memory-mb budget declared")])
    parts = [f"p99 {declared.p99_ms:g} ms"] if declared.p99_ms else []
    parts += [f"{name} {ms:g} ms" for name, ms in sorted(declared.operations.items())]
    parts += [f"peak memory {declared.peak_memory_mb:g} MB"] if declared.peak_memory_mb else []
    return Outcome.passed(", ".join(parts))


def _compare(result: BenchResult, declared: Budgets, where: str) -> list[Finding]:
    problems = []
    if result.samples <= 0:
        problems.append(Finding(message=f"{result.name}: 0 samples: the benchmark measured nothing", file=where))
        return problems
    limit = declared.p99_for(result.name)
    if limit is not None and result.p99_ms > limit:
        problems.append(Finding(message=f"{result.name}: p99 {result.p99_ms:.3g} ms > budget {limit:g} ms", file=where))
    if (
        declared.peak_memory_mb is not None
        and result.peak_memory_mb is not None
        and result.peak_memory_mb > declared.peak_memory_mb
    ):
        problems.append(
            Finding(
                message=f"{result.name}: peak memory {result.peak_memory_mb:.1f} MB > budget "
                f"{declared.peak_memory_mb:g} MB",
                file=where,
            )
        )
    return problems


@check(
    id="PERF-003",
    title="Benchmark meets the budgets",
    category=CheckCategory.PERFORMANCE,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    requires=("PERF-001", "PERF-002"),
    remediation="Make the operation faster or leaner, or (after review) raise the budget in the contract.",
)
def budgets_met(node: NodeContext) -> Outcome:
    """With ``--run-benchmarks``: the benchmark runs, measures at least one sample, and stays within the budgets."""
    if not getattr(node.options, "run_benchmarks", False):
        return Outcome.skipped("benchmarks not run: pass --run-benchmarks to run them and compare with the budgets")
    declared = budgets(node)
    working, _ = _scripts(node)
    findings: list[Finding] = []
    measured: list[BenchResult] = []
    for script in working:
        results, problem = run_script(node, script)
        if problem:
            findings.append(Finding(message=f"benchmark {problem}", file=node.rel(script)))
        elif not results:
            findings.append(
                Finding(
                    message='printed no result line ({"benchmark": ..., "samples": ..., "p99_ms": ...})',
                    file=node.rel(script),
                )
            )
        for result in results:
            findings += _compare(result, declared, node.rel(script))
        measured += results
    tests = _benchmark_tests(node)
    if tests:
        results, problem = run_pytest_benchmark(node, tests)
        if problem:
            findings.append(Finding(message=f"pytest-benchmark: {problem}"))
        for result in results:
            findings += _compare(result, declared, node.rel(tests[0]))
        measured += results
    if not working and not tests:
        return Outcome.skipped("no runnable benchmark (a tests/performance/ suite or asv is not run here)")
    if findings:
        return Outcome.failed(f"{len(findings)} budget or benchmark problem(s)", findings)
    summary = ", ".join(
        f"{r.name} p99 {r.p99_ms:.3g} ms" + (f", {r.peak_memory_mb:.0f} MB" if r.peak_memory_mb else "")
        for r in measured[:5]
    )
    return Outcome.passed(f"within budgets: {summary}")


CHECKS = (benchmark_present, budgets_declared, budgets_met)
