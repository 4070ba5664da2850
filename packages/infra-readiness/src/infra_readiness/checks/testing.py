"""Testing checks: asserting tests exist, pass and cover the code (``--run-tests``); integration tests; idempotency.

Without ``--run-tests`` a node cannot reach PRODUCTION (TST-006): the tests' outcome and coverage are unknown.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, CheckStatus, Finding, ReadinessLevel
from infra_readiness.checks._declared import per_file
from infra_readiness.checks._test_run import interpreter, run_tests
from infra_readiness.checks._test_scan import TestFunction, test_functions
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = [
    "CHECKS",
    "count_tests",
    "coverage_thresholds",
    "coverage_for_production",
    "coverage_for_staging",
    "integration_tests_present",
    "reducer_idempotency_tested",
    "tests_exist",
    "tests_pass",
    "tests_were_run",
]

#: Coverage (per cent of the node's lines) a node needs at each level, unless ``[tool.infra-readiness.coverage]``
#: says otherwise (``staging = 70``, ``production = 90``).
DEFAULT_COVERAGE = {ReadinessLevel.STAGING: 60.0, ReadinessLevel.PRODUCTION: 80.0}
_INTEGRATION_DIRS = frozenset({"integration", "integration_tests", "e2e", "it"})
_INTEGRATION_MARK = re.compile(r"pytest\.mark\.(?:integration|e2e)\b|pytestmark\s*=.*\b(?:integration|e2e)\b")


def _scan(node: NodeContext) -> list[tuple[Path, TestFunction]]:
    cached: list[tuple[Path, TestFunction]] | None = getattr(node, "_readiness_test_scan", None)
    if cached is None:
        cached = [
            (path, item)
            for path in node.test_files
            for item in per_file("TST-scan", path, partial(_functions_of, node, path))
        ]
        node._readiness_test_scan = cached  # type: ignore[attr-defined]
    return cached


def _functions_of(node: NodeContext, path: Path) -> list[TestFunction]:
    text = node.text(path) or ""
    return test_functions(text) if "def test" in text else []


def count_tests(node: NodeContext) -> int:
    """Test functions (``test_*``, also in ``Test*`` classes) that assert something that can fail."""
    return sum(1 for _, item in _scan(node) if item.asserts)


@check(
    id="TST-001",
    title="Tests exist and assert",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    remediation=(
        "Add tests under tests/ (pytest: files test_*.py with functions test_*) that exercise the node's behaviour "
        "and assert its results; `assert True` or a test without assertions does not count."
    ),
)
def tests_exist(node: NodeContext) -> Outcome:
    """The node has at least one pytest test that asserts something (a test that asserts nothing does not count)."""
    found = _scan(node)
    empty = [(path, item) for path, item in found if not item.asserts]
    notes = [
        Finding(
            message=f"`{item.name}` asserts nothing (or only a constant): it does not count",
            severity=Severity.INFO,
            file=node.rel(path),
            line=item.line,
        )
        for path, item in empty[:20]
    ]
    counted = len(found) - len(empty)
    if counted == 0:
        what = f"{len(found)} test(s), none asserts anything" if found else "no tests found"
        return Outcome.failed(
            what, [Finding(message="no test_* function that asserts, under tests/", severity=Severity.HIGH), *notes]
        )
    skipped = f"; {len(empty)} without assertions not counted" if empty else ""
    return Outcome(CheckStatus.PASS, f"{counted} test(s) in {len(node.test_files)} file(s){skipped}", tuple(notes))


@check(
    id="TST-002",
    title="Tests pass",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    requires=("TST-001",),
    remediation="Run `python -m pytest` in the node and fix the failures shown.",
)
def tests_pass(node: NodeContext) -> Outcome:
    """The node's tests pass under pytest in a separate process. Runs only with ``--run-tests`` (SKIP otherwise)."""
    if not node.options.run_tests:
        return Outcome.skipped("tests not run: pass --run-tests to run them")
    run = run_tests(node)
    if run.timed_out:
        return Outcome.failed(f"tests did not finish in {node.options.test_timeout:g} s")
    if run.error is not None or run.returncode is None:
        return Outcome.errored(run.error or "pytest did not run")
    tail = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()][-1:] or [""]
    if run.returncode == 0:
        return Outcome.passed(tail[0])
    if run.returncode in (1, 5):
        reason = "no tests were collected" if run.returncode == 5 else tail[0]
        return Outcome.failed(
            f"tests fail: {reason}", [Finding(message=_first_failure(run.stdout) or reason, severity=Severity.HIGH)]
        )
    if "No module named pytest" in run.stderr:
        return Outcome.errored(f"pytest is not installed in {interpreter(node)}")
    return Outcome.errored(f"pytest stopped with exit status {run.returncode}: {tail[0]}")


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line[:500]
    return ""


def coverage_thresholds(node: NodeContext) -> dict[ReadinessLevel, float]:
    """The coverage each level needs: the defaults, overridden by ``[tool.infra-readiness.coverage]``."""
    wanted = dict(DEFAULT_COVERAGE)
    table = node.readiness_table.get("coverage")
    if isinstance(table, dict):
        for level in wanted:
            value = table.get(level.value.lower())
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100:
                wanted[level] = float(value)
    return wanted


def _coverage(node: NodeContext, level: ReadinessLevel) -> Outcome:
    if not node.options.run_tests:
        return Outcome.skipped("coverage not measured: pass --run-tests")
    run = run_tests(node)
    if run.coverage is None:
        return Outcome.errored(run.coverage_problem or "coverage was not measured")
    needed = coverage_thresholds(node)[level]
    figure = f"{run.coverage:.1f}% of the node's lines covered"
    if run.coverage + 1e-9 < needed:
        return Outcome.failed(
            f"{figure}; {level.value} needs {needed:g}%",
            [Finding(message=f"coverage {run.coverage:.1f}% < {needed:g}% needed for {level.value}")],
        )
    return Outcome.passed(f"{figure} (>= {needed:g}%)")


@check(
    id="TST-004",
    title="Coverage meets the STAGING threshold",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.STAGING,
    severity=Severity.MEDIUM,
    requires=("TST-002",),
    remediation=(
        "Test the uncovered code (`python -m coverage report -m` lists the lines); the threshold is 60% unless "
        "`[tool.infra-readiness.coverage] staging = N` says otherwise."
    ),
)
def coverage_for_staging(node: NodeContext) -> Outcome:
    """With ``--run-tests``: coverage.py measures the tests' line coverage of the node's code; STAGING needs 60%."""
    return _coverage(node, ReadinessLevel.STAGING)


@check(
    id="TST-005",
    title="Coverage meets the PRODUCTION threshold",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    requires=("TST-004",),
    remediation="Raise line coverage to 80% (or `[tool.infra-readiness.coverage] production = N`).",
)
def coverage_for_production(node: NodeContext) -> Outcome:
    """With ``--run-tests``: PRODUCTION needs 80% line coverage of the node's code (configurable)."""
    return _coverage(node, ReadinessLevel.PRODUCTION)


@check(
    id="TST-006",
    title="Tests were run",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    remediation="Rate the node with `infra-readiness check --run-tests` (and `--python` for its own environment).",
)
def tests_were_run(node: NodeContext) -> Outcome:
    """PRODUCTION is claimed only when the tests were run: without ``--run-tests`` this check blocks it."""
    if node.options.run_tests:
        return Outcome.passed("tests were run (TST-002, TST-004, TST-005)")
    return Outcome.failed(
        "tests were not run: a node cannot reach PRODUCTION without --run-tests",
        [Finding(message="PRODUCTION needs passing tests and coverage: run `infra-readiness check --run-tests`")],
    )


@check(
    id="TST-007",
    title="Serving node has integration tests",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.MEDIUM,
    requires=("TST-001",),
    remediation=(
        "Add tests that talk to the real systems the node uses, under tests/integration/ or marked "
        "`@pytest.mark.integration`, and run them in CI against real services."
    ),
)
def integration_tests_present(node: NodeContext) -> Outcome:
    """A node that serves has integration tests: under an ``integration``/``e2e`` folder, or marked so."""
    if not node.serves:
        return Outcome.skipped("not a serving node")
    counted = [(path, item) for path, item in _scan(node) if item.asserts]
    for path, item in counted:
        parts = {part.lower() for part in Path(node.rel(path)).parts[:-1]}
        if parts & _INTEGRATION_DIRS:
            return Outcome.passed(f"integration tests under {node.rel(path.parent)} (`{item.name}`)")
    for path in sorted({path for path, _ in counted}):
        if _INTEGRATION_MARK.search(node.text(path) or ""):
            return Outcome.passed(f"integration-marked tests in {node.rel(path)}")
    return Outcome.failed(
        "no integration tests",
        [Finding(message="no asserting test under tests/integration/ or marked @pytest.mark.integration")],
    )


@check(
    id="TST-003",
    title="REDUCER tests its idempotency",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.LOW,
    kinds=(NodeKind.REDUCER,),
    remediation="Add a test that applies the same event twice and asserts the state is unchanged the second time.",
)
def reducer_idempotency_tested(node: NodeContext) -> Outcome:
    """A REDUCER sees redelivered events: some test should apply an event twice (a recommendation, not a gate)."""
    for path in node.test_files:
        text = node.text(path) or ""
        if "idempot" in text.lower():
            return Outcome.passed(f"idempotency tested in {node.rel(path)}")
    return Outcome.failed("no test mentions idempotency")


CHECKS = (
    tests_exist,
    tests_pass,
    reducer_idempotency_tested,
    coverage_for_staging,
    coverage_for_production,
    tests_were_run,
    integration_tests_present,
)
