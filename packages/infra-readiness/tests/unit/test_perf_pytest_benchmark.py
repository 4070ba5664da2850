"""PERF-003 through pytest-benchmark: a node's benchmark tests are run and their JSON compared with its budgets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from infra_models import CheckStatus
from infra_models.testing import in_ci
from infra_readiness.checks.performance import benchmark_present, budgets_met
from infra_readiness.context import NodeContext, NodeOptions

FAST = "def test_fast(benchmark):\n    benchmark.pedantic(sum, args=(range(100),), rounds=5, iterations=1)\n"
SLOW = (
    "import time\n\n\ndef test_slow(benchmark):\n"
    "    benchmark.pedantic(time.sleep, args=(0.03,), rounds=3, iterations=1)\n"
)


@pytest.fixture(autouse=True)
def _needs_pytest_benchmark() -> None:
    if importlib.util.find_spec("pytest_benchmark") is None:
        message = "pytest-benchmark is not installed (hatch.toml's default env installs it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def _node(root: Path, budget_ms: float, tests: str) -> NodeContext:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "svc"\nversion = "0.1.0"\n\n[tool.infra-readiness.budgets]\np99-ms = {budget_ms}\n'
    )
    (root / "tests" / "test_speed.py").write_text(tests)
    return NodeContext(root, options=NodeOptions(run_benchmarks=True))


def test_benchmark_within_its_budget_passes_with_the_figure(tmp_path):
    node = _node(tmp_path / "svc", 2000, FAST)
    assert benchmark_present(node).status is CheckStatus.PASS  # the route PERF-001 recognises
    outcome = budgets_met(node)
    assert outcome.status is CheckStatus.PASS, (outcome.message, outcome.findings)
    assert "test_fast p99" in outcome.message


def test_benchmark_over_its_budget_fails_naming_test_and_figures(tmp_path):
    node = _node(tmp_path / "svc", 5, SLOW)  # each round sleeps 30 ms: over a 5 ms budget
    outcome = budgets_met(node)
    assert outcome.status is CheckStatus.FAIL, outcome.message
    [finding] = outcome.findings
    assert finding.message.startswith("test_slow: p99 ") and "> budget 5 ms" in finding.message
    measured = float(finding.message.split("p99 ")[1].split(" ms")[0])
    assert measured >= 30  # the slowest round, not an average that could hide it


def test_one_slow_benchmark_among_fast_ones_still_fails(tmp_path):
    node = _node(tmp_path / "svc", 20, FAST + "\n\n" + SLOW)
    outcome = budgets_met(node)
    assert outcome.status is CheckStatus.FAIL
    assert [f.message.split(":")[0] for f in outcome.findings] == ["test_slow"]


def test_benchmark_test_that_fails_is_not_a_pass(tmp_path):
    broken = "def test_broken(benchmark):\n    benchmark.pedantic(sum, args=([1],), rounds=2)\n    assert False\n"
    outcome = budgets_met(_node(tmp_path / "svc", 2000, broken))
    assert outcome.status is CheckStatus.FAIL
    assert "pytest exited with status 1" in outcome.findings[0].message
