"""Run a node's benchmark and read its figures: a ``bench/`` script's JSON line, or pytest-benchmark's JSON.

The documented result line of a ``bench/*.py`` script is one JSON object on its own stdout line::

    {"benchmark": "read", "samples": 1000, "p99_ms": 0.82, "peak_memory_mb": 41.5}

``samples`` and ``p99_ms`` are required; ``peak_memory_mb`` is optional (the script's own peak resident memory
is measured when it is missing). A pytest-benchmark suite is run with ``--benchmark-json``; its slowest round
(``stats.max``) stands in for p99, which pytest-benchmark does not report.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra_readiness.checks._test_run import interpreter
from infra_readiness.context import NodeContext

__all__ = ["BenchResult", "RESULT_KEY", "parse_result_lines", "run_pytest_benchmark", "run_script"]

RESULT_KEY = "benchmark"
_TIMEOUT = 600.0
#: Runs the script as ``__main__`` and reports its peak resident memory (Linux: KiB) on stderr afterwards.
_WRAPPER = r"""
import resource, runpy, sys
script = sys.argv[1]
sys.argv = [script]
try:
    runpy.run_path(script, run_name="__main__")
finally:
    sys.stderr.write("\n__readiness_peak_kib__=%d\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@dataclass(frozen=True)
class BenchResult:
    """One benchmarked operation: name, sample count, p99 latency in ms and peak memory in MB (when known)."""

    name: str
    samples: int
    p99_ms: float
    peak_memory_mb: float | None


def parse_result_lines(stdout: str) -> list[BenchResult]:
    """Every documented result line in a script's output (other lines are ignored)."""
    found: list[BenchResult] = []
    for raw in stdout.splitlines():
        line = raw.strip()
        if not (line.startswith("{") and f'"{RESULT_KEY}"' in line):
            continue
        try:
            data = json.loads(line)
            memory = data.get("peak_memory_mb")
            found.append(
                BenchResult(
                    name=str(data[RESULT_KEY]),
                    samples=int(data["samples"]),
                    p99_ms=float(data["p99_ms"]),
                    peak_memory_mb=None if memory is None else float(memory),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return found


def _env(node: NodeContext) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(p) for p in node.import_paths]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_script(node: NodeContext, script: Path) -> tuple[list[BenchResult], str]:
    """Run one ``bench/`` script; its result lines (peak memory filled in when missing) and a problem, if any."""
    try:
        proc = subprocess.run(
            [interpreter(node), "-c", _WRAPPER, str(script)],
            cwd=node.root,
            env=_env(node),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [], f"did not finish in {_TIMEOUT:g} s"
    except OSError as exc:
        return [], f"cannot run: {exc.strerror}"
    peak = None
    for line in proc.stderr.splitlines():
        if line.startswith("__readiness_peak_kib__="):
            peak = int(line.split("=", 1)[1]) / 1024
    if proc.returncode != 0:
        tail = [line for line in proc.stderr.splitlines() if line.strip() and "__readiness_peak" not in line][-1:]
        return [], f"exited with status {proc.returncode}: {tail[0] if tail else ''}"
    results = [
        r if r.peak_memory_mb is not None else BenchResult(r.name, r.samples, r.p99_ms, peak)
        for r in parse_result_lines(proc.stdout)
    ]
    return results, ""


def run_pytest_benchmark(node: NodeContext, files: list[Path]) -> tuple[list[BenchResult], str]:
    """Run the pytest-benchmark tests in ``files``; one result per benchmark."""
    with tempfile.TemporaryDirectory(prefix="readiness-bench-") as scratch:
        out = Path(scratch) / "bench.json"
        command = [interpreter(node), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--benchmark-only"]
        command += [f"--benchmark-json={out}", *(str(p) for p in files)]
        try:
            proc = subprocess.run(
                command, cwd=node.root, env=_env(node), capture_output=True, text=True, timeout=_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            return [], f"did not finish in {_TIMEOUT:g} s"
        except OSError as exc:
            return [], f"cannot run pytest: {exc.strerror}"
        if "unrecognized arguments: --benchmark" in proc.stderr:
            return [], f"pytest-benchmark is not installed in {interpreter(node)}"
        if proc.returncode not in (0, 5) or not out.exists():
            tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()][-1:]
            return [], f"pytest exited with status {proc.returncode}: {tail[0] if tail else ''}"
        data = json.loads(out.read_text(encoding="utf-8"))
    return [
        BenchResult(
            name=str(item.get("name")),
            samples=int(item["stats"]["rounds"]),
            p99_ms=float(item["stats"]["max"]) * 1000,
            peak_memory_mb=None,
        )
        for item in data.get("benchmarks", [])
    ], ""
