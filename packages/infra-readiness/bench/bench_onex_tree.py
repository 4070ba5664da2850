"""Benchmark infra-readiness on an ONEX service tree: the nodes/ folder (--recursive) and the whole repository.

Anchor, measured in the same run on the same repository: ``repo-review`` with the sp-repo-review checks. Printed:
wall time and peak RSS of each command (best of RUNS), the ratio to the anchor, and what the report says of the
nodes (kind recognised, contracts accepted, tests found, level histogram). Targets (issue 11): the nodes of a
service with 100+ nodes in under 5 s and 300 MB; a whole repository root in under 10 s.

By default the tree is a synthetic ONEX service written here (120 nodes in the declarative layout, tests in the
ONEX test layout). Give a real one with ``--repo PATH [--nodes REL]``, e.g. an extracted omnibase_infra:
``hatch run bench infra-readiness -- --repo /tmp/x/omnibase_infra --nodes src/omnibase_infra/nodes``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BIN = Path(sys.executable).parent
RUNS = 3
KINDS = ("EFFECT", "COMPUTE", "REDUCER", "ORCHESTRATOR")
BASES = {
    "EFFECT": "node_effect",
    "COMPUTE": "node_compute",
    "REDUCER": "node_reducer",
    "ORCHESTRATOR": "node_orchestrator",
}


def measure(command: list[str]) -> tuple[float, float, float]:
    """Best wall time (s), the CPU time (user + system, s) and peak RSS (MB) of that run, over RUNS runs.

    The CPU time is what the run itself costs; on a shared machine the wall time also holds the wait for a core.
    """
    best = (float("inf"), 0.0, 0.0)
    for _ in range(RUNS):
        start = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        if elapsed < best[0]:
            best = (elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)
    return best


def write_service(root: Path, count: int) -> Path:
    """An ONEX service: pyproject, README, src/svc/nodes/node_<i>_<kind>/ (contract, node, handler, models), tests."""
    (root / "src" / "svc" / "nodes").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "svc"\nversion = "0.1.0"\ndescription = "A service."\nrequires-python = ">=3.12"\n'
        'dependencies = ["omnibase-core>=0.47,<0.48"]\n'
    )
    (root / "README.md").write_text("# svc\n\nNodes.\n\n## Installation\n\npip install svc\n\n## Usage\n\nRun.\n")
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n\n- Nodes.\n")
    (root / "src" / "svc" / "__init__.py").write_text("")
    (root / "src" / "svc" / "nodes" / "__init__.py").write_text("")
    for index in range(count):
        kind = KINDS[index % 4]
        folder = f"node_job{index}_{kind.lower()}"
        node = root / "src" / "svc" / "nodes" / folder
        module = f"svc.nodes.{folder}"
        for sub in ("handlers", "models"):
            (node / sub).mkdir(parents=True)
            (node / sub / "__init__.py").write_text("")
        (node / "__init__.py").write_text("")
        (node / "contract.yaml").write_text(
            f'name: "{folder}"\nnode_type: "{kind}_GENERIC"\ncontract_version: {{major: 1, minor: 0, patch: 0}}\n'
            f'input_model: {{name: ModelIn, module: "{module}.models.model_job"}}\n'
            f'output_model: {{name: ModelOut, module: "{module}.models.model_job"}}\n'
            f"event_bus: {{subscribe_topics: [onex.cmd.svc.job{index}.v1]}}\n"
            "error_handling: {retry_policy: {max_retries: 3}}\nio_operations: [{timeout_ms: 5000}]\n"
            "handler_routing:\n  handlers:\n    - operation: run\n"
            f'      handler: {{name: HandlerJob, module: "{module}.handlers.handler_job"}}\n'
        )
        base = "Node" + kind.capitalize()
        (node / "node.py").write_text(
            f"from omnibase_core.nodes.{BASES[kind]} import {base}\n\n\nclass NodeJob{index}({base}):\n"
            '    """Declarative."""\n\n    def __init__(self, container):\n        super().__init__(container)\n'
        )
        (node / "handlers" / "handler_job.py").write_text(
            "import asyncio\nimport logging\n\nlogger = logging.getLogger(__name__)\n\n\nclass HandlerJob:\n"
            "    async def handle(self, payload):\n        logger.info('run')\n"
            "        return await asyncio.wait_for(asyncio.sleep(0, payload), timeout=5)\n"
        )
        (node / "models" / "model_job.py").write_text("class ModelIn:\n    pass\n\n\nclass ModelOut:\n    pass\n")
        if index % 5:  # four nodes in five have tests, in the ONEX layout
            tests = root / "tests" / "unit" / "nodes" / folder
            tests.mkdir(parents=True)
            (tests / "test_handler.py").write_text(
                f"from {module}.handlers.handler_job import HandlerJob\n\n\ndef test_it():\n    assert HandlerJob\n"
            )
    return root / "src" / "svc" / "nodes"


def describe(report_file: Path) -> str:
    data = json.loads(report_file.read_text())
    reports = data.get("reports", [data])
    nodes = [r for r in reports if any(c["check_id"] == "CON-001" and c["status"] != "SKIP" for c in r["checks"])]

    def status(report: dict[str, object], check_id: str) -> str:
        return next((c["status"] for c in report["checks"] if c["check_id"] == check_id), "-")  # type: ignore[attr-defined, index]

    total = len(nodes) or 1
    kinds = sum(1 for r in nodes if r["kind"])
    contracts = sum(1 for r in nodes if status(r, "CON-001") == "PASS")
    tests = sum(1 for r in nodes if status(r, "TST-001") == "PASS")
    levels = Counter(r["level"] for r in reports)
    return (
        f"{len(nodes)} nodes: kind {100 * kinds / total:.0f} %, contracts {100 * contracts / total:.0f} %, "
        f"tests found {100 * tests / total:.0f} %; levels {dict(levels)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, help="an ONEX repository (default: a synthetic service)")
    parser.add_argument("--nodes", default="", help="the nodes folder, relative to --repo")
    parser.add_argument("--count", type=int, default=120, help="nodes of the synthetic service")
    args, _ = parser.parse_known_args()
    readiness = str(BIN / "infra-readiness")
    review = shutil.which("repo-review", path=str(BIN)) or shutil.which("repo-review")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.repo is None:
            nodes = write_service(tmp / "svc", args.count)
            repo = tmp / "svc"
        else:
            repo = args.repo.resolve()
            nodes = repo / args.nodes if args.nodes else repo
        out = tmp / "report.json"
        ours_nodes = measure([readiness, "check", str(nodes), "-r", "-f", "json", "-o", str(out)])
        summary = describe(out)
        ours_repo = measure([readiness, "check", str(repo), "-r", "-f", "json", "-o", str(tmp / "repo.json")])
        peer = measure([review, str(repo), "--format", "json"]) if review else None
    load = os.getloadavg()[0]
    print(f"Python {sys.version.split()[0]}, best of {RUNS} runs; anchor = repo-review + sp-repo-review on {repo.name}")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall time includes waiting for a CPU; CPU time does not)")
    print(f"{'':<36}{'wall':>9}  {'CPU':>8}  {'peak RSS':>9}  {'x anchor':>9}")
    for label, (seconds, cpu, rss), target in (
        (f"nodes/ --recursive ({nodes.name})", ours_nodes, "< 5 s, < 300 MB"),
        ("whole repository --recursive", ours_repo, "< 10 s, < 300 MB"),
    ):
        ratio = f"{seconds / peer[0]:8.1f}x" if peer else "        -"
        print(f"{label:<36}{seconds:8.2f}s  {cpu:7.2f}s  {rss:7.0f}MB  {ratio}   target {target}")
    if peer:
        print(f"{'anchor: repo-review on the repository':<36}{peer[0]:8.2f}s  {peer[1]:7.2f}s  {peer[2]:7.0f}MB")
    else:
        print("repo-review not installed: pip install -r bench/requirements.txt for the anchor")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
