"""Performance checks: a benchmark exists before PRODUCTION."""

from __future__ import annotations

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "benchmark_present"]

_BENCH_DIRS = ("bench", "benchmarks", "benchmark")


@check(
    id="PERF-001",
    title="Benchmark present",
    category=CheckCategory.PERFORMANCE,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation=(
        "Add bench/bench_<node>.py that measures the node's main operation and prints its figures next to an anchor "
        "(a raw library call or a peer) as a ratio; or use pytest-benchmark's `benchmark` fixture in a test."
    ),
)
def benchmark_present(node: NodeContext) -> Outcome:
    """The node has a benchmark: a Python script under ``bench/``, an asv config, or a pytest-benchmark test."""
    for folder in _BENCH_DIRS:
        scripts = [p for p in node.files if node.rel(p).startswith(f"{folder}/") and p.suffix == ".py"]
        if scripts:
            return Outcome.passed(f"{len(scripts)} benchmark script(s) under {folder}/")
    if node.exists("asv.conf.json"):
        return Outcome.passed("asv.conf.json")
    for path in node.test_files:
        if "benchmark(" in (node.text(path) or ""):
            return Outcome.passed(f"pytest-benchmark in {node.rel(path)}")
    return Outcome.failed("no benchmark", [Finding(message="no bench/*.py, asv.conf.json or pytest-benchmark test")])


CHECKS = (benchmark_present,)
