"""Testing checks: tests exist, they pass (with ``--run-tests``), and a REDUCER tests its idempotency."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._ast import walk
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "count_tests", "reducer_idempotency_tested", "tests_exist", "tests_pass"]


def count_tests(node: NodeContext) -> int:
    """Test functions (``test_*``) and methods of ``Test*`` classes in the node's test files."""
    total = 0
    for _, tree in node.python_trees(node.test_files):
        for item in walk(tree):
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name.startswith("test"):
                total += 1
    return total


@check(
    id="TST-001",
    title="Tests exist",
    category=CheckCategory.TESTING,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    remediation=(
        "Add tests under tests/ (pytest: files test_*.py with functions test_*) that exercise the node's behaviour."
    ),
)
def tests_exist(node: NodeContext) -> Outcome:
    """The node has at least one pytest test function."""
    count = count_tests(node)
    if count == 0:
        return Outcome.failed(
            "no tests found", [Finding(message="no test_* function under tests/", severity=Severity.HIGH)]
        )
    return Outcome.passed(f"{count} test(s) in {len(node.test_files)} file(s)")


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
    env = dict(os.environ)
    paths = [str(p) for p in node.import_paths]
    env["PYTHONPATH"] = (
        os.pathsep.join([*paths, env["PYTHONPATH"]]) if env.get("PYTHONPATH") else os.pathsep.join(paths)
    )
    env.pop("PYTEST_ADDOPTS", None)
    target = "tests" if (node.root / "tests").is_dir() else "."
    command = [node.options.python or sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", target]
    try:
        proc = subprocess.run(
            command,
            cwd=node.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=node.options.test_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome.failed(f"tests did not finish in {node.options.test_timeout:g} s")
    except OSError as exc:
        return Outcome.errored(f"cannot run pytest: {exc.strerror}")
    tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-1:] or [""]
    if proc.returncode == 0:
        return Outcome.passed(tail[0])
    if proc.returncode in (1, 5):
        reason = "no tests were collected" if proc.returncode == 5 else tail[0]
        return Outcome.failed(
            f"tests fail: {reason}", [Finding(message=_first_failure(proc.stdout) or reason, severity=Severity.HIGH)]
        )
    if "No module named pytest" in proc.stderr:
        return Outcome.errored("pytest is not installed in the interpreter that runs the checks")
    return Outcome.errored(f"pytest stopped with exit status {proc.returncode}: {tail[0]}")


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line[:500]
    return ""


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


CHECKS = (tests_exist, tests_pass, reducer_idempotency_tested)
