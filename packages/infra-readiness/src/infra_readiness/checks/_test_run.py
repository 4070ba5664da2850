"""Run a node's tests once per check run, under coverage.py when the interpreter has it, and keep the outcome.

TST-002 (tests pass), TST-004 and TST-005 (coverage) read the same run. The interpreter is ``--python`` (resolved
to an absolute path first, since the tests run from the node's folder) or this one. Coverage is measured with
``python -m coverage run --source=<the node's code> -m pytest`` and read back from ``coverage json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra_readiness.context import NodeContext

__all__ = ["TestRun", "interpreter", "run_tests"]


@dataclass(frozen=True)
class TestRun:
    """The outcome of one pytest run: exit status, output, and the coverage percentage (``None`` if unmeasured)."""

    __test__ = False

    returncode: int | None
    stdout: str
    stderr: str
    coverage: float | None = None
    coverage_problem: str | None = None
    timed_out: bool = False
    error: str | None = None


def interpreter(node: NodeContext) -> str:
    """The absolute path of the interpreter that runs the node's tests (``--python`` may be relative)."""
    chosen = node.options.python
    if not chosen:
        return sys.executable
    found = shutil.which(chosen) or chosen
    return os.path.abspath(found)


def _sources(node: NodeContext) -> list[Path]:
    if getattr(node, "inside_project", False):
        return [node.root]
    if (node.root / "src").is_dir():
        return [node.root / "src"]
    if node.import_name and (node.root / node.import_name).is_dir():
        return [node.root / node.import_name]
    return [node.root]


def _targets(node: NodeContext) -> tuple[Path, list[str]]:
    """The folder to run pytest in and what to hand it."""
    if getattr(node, "inside_project", False):
        base: Path = node.package_root
        return base, [os.path.relpath(p, base) for p in node.test_files] or ["tests"]
    return node.root, ["tests" if (node.root / "tests").is_dir() else "."]


def _has_coverage(python: str, env: dict[str, str]) -> bool:
    try:
        probe = subprocess.run([python, "-c", "import coverage"], env=env, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def run_tests(node: NodeContext) -> TestRun:
    """The node's test run (started on the first call, then remembered on the node)."""
    cached: TestRun | None = getattr(node, "_readiness_test_run", None)
    if cached is None:
        cached = _run(node)
        node._readiness_test_run = cached  # type: ignore[attr-defined]
    return cached


def _run(node: NodeContext) -> TestRun:
    python = interpreter(node)
    env = dict(os.environ)
    paths = [str(p) for p in node.import_paths]
    env["PYTHONPATH"] = (
        os.pathsep.join([*paths, env["PYTHONPATH"]]) if env.get("PYTHONPATH") else os.pathsep.join(paths)
    )
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("COVERAGE_PROCESS_START", None)
    cwd, targets = _targets(node)
    pytest_args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", *targets]
    measured = _has_coverage(python, env)
    with tempfile.TemporaryDirectory(prefix="readiness-cov-") as scratch:
        data = Path(scratch) / ".coverage"
        if measured:
            source = ",".join(str(p) for p in _sources(node))
            command = [python, "-m", "coverage", "run", f"--data-file={data}", f"--source={source}", *pytest_args]
        else:
            command = [python, *pytest_args]
        try:
            proc = subprocess.run(
                command,
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=node.options.test_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return TestRun(None, "", "", timed_out=True)
        except OSError as exc:
            return TestRun(None, "", "", error=f"cannot run {python}: {exc.strerror}")
        if not measured:
            problem = f"coverage.py is not installed in {python}: install infra-readiness[testing] there"
            return TestRun(proc.returncode, proc.stdout, proc.stderr, coverage_problem=problem)
        percent, trouble = _percent(python, data, env, cwd, Path(scratch) / "coverage.json")
        return TestRun(proc.returncode, proc.stdout, proc.stderr, coverage=percent, coverage_problem=trouble)


def _percent(python: str, data: Path, env: dict[str, str], cwd: Path, report: Path) -> tuple[float | None, str | None]:
    if not data.exists():
        return 0.0, None  # the tests ran none of the node's code
    try:
        proc = subprocess.run(
            [python, "-m", "coverage", "json", f"--data-file={data}", "-o", str(report), "-q"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"coverage json failed: {exc}"
    if "No data to report" in proc.stdout + proc.stderr:
        return 0.0, None
    try:
        totals = json.loads(report.read_text(encoding="utf-8"))["totals"]
        return float(totals["percent_covered"]), None
    except (OSError, ValueError, KeyError, TypeError):
        return None, f"coverage json gave no totals: {(proc.stdout + proc.stderr).strip()[-300:]}"
