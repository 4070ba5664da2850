"""Benchmark infra-gen against plain cookiecutter and copier rendering the same template.

Cases (medians, same run, same machine): one node in-process (plan + atomic apply, validation included), one
ONEX node into a service package (node folder and tests folder in one plan), one
node through the ``infra-gen`` CLI (process start included), 100 nodes in one batch; the anchors render the very
same files: cookiecutter's API (``no_input``) and copier's ``run_copy`` (``defaults``), one node and 100 nodes.
Targets: in-process < 50 ms, CLI < 400 ms, 100 nodes < 2 s, and faster than plain cookiecutter.

Run: ``hatch run bench infra-gen`` (installs bench/requirements.txt) or ``python bench/bench_gen.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

from infra_gen.answers import build_contract, template_context
from infra_gen.generator import NodeGenerator, template_roots
from infra_models import NodeKind

KIND = "effect"
NAME = "vault_adapter"
EXTERNAL = "HashiCorp Vault"


def median_ms(fn: Callable[[int], object], runs: int) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def merged_template(dest: Path) -> Path:
    """The kind's template with the shared files, as one folder (what plain cookiecutter and copier read)."""
    for root in template_roots(NodeKind(KIND)):
        shutil.copytree(root, dest, dirs_exist_ok=True)
    return dest


def context(name: str) -> dict[str, object]:
    return template_context(build_contract(KIND, name, external_system=EXTERNAL))


def main() -> int:
    quick = "--quick" in sys.argv
    runs, batch = (5, 20) if quick else (21, 100)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results: dict[str, float] = {}

        # infra-gen in-process: the first call compiles the templates once per process (empty disk cache here).
        os.environ["INFRA_GEN_CACHE_DIR"] = str(work / "in-process-cache")
        start = time.perf_counter()
        NodeGenerator(work / "cold").generate_node(KIND, NAME, external_system=EXTERNAL)
        results["infra-gen in-process, first call (compiles templates)"] = (time.perf_counter() - start) * 1000
        one_node = []
        for i in range(runs):
            start = time.perf_counter()
            NodeGenerator(work / f"ours{i}").generate_node(KIND, NAME, external_system=EXTERNAL)
            one_node.append((time.perf_counter() - start) * 1000)
        results["infra-gen in-process, one node"] = statistics.median(one_node)
        # The result line infra-readiness reads (PERF-003 compares it with [tool.infra-readiness.budgets]).
        p99 = statistics.quantiles(one_node, n=100, method="inclusive")[98] if len(one_node) > 1 else one_node[0]
        print(json.dumps({"benchmark": "generate_node", "samples": len(one_node), "p99_ms": round(p99, 3)}))
        results["infra-gen dry run (plan only), one node"] = median_ms(
            lambda i: NodeGenerator(work / f"plan{i}").generate_node(
                KIND, NAME, external_system=EXTERNAL, dry_run=True
            ),
            runs,
        )
        # The ONEX layout: a node folder and its tests written into a service package (one plan, two roots).
        service = work / "service"
        (service / "src" / "svc" / "nodes").mkdir(parents=True)
        (service / "pyproject.toml").write_text(
            '[project]\nname = "svc"\nversion = "0.1.0"\ndependencies = ["omnibase-core>=0.47"]\n', encoding="utf-8"
        )
        onex_nodes = service / "src" / "svc" / "nodes"
        NodeGenerator(onex_nodes).generate_node(KIND, "warm_up", external_system=EXTERNAL)
        results["infra-gen in-process, one ONEX node into a service"] = median_ms(
            lambda i: NodeGenerator(onex_nodes).generate_node(KIND, f"{NAME}_{i}", external_system=EXTERNAL), runs
        )
        cli = shutil.which("infra-gen") or str(Path(sys.executable).with_name("infra-gen"))

        def cli_node(i: int, cache: Path, prefix: str = "cli") -> None:
            args = [cli, "node", KIND, NAME, "--external-system", EXTERNAL, "-o", str(work / f"{prefix}{i}")]
            env = {**os.environ, "INFRA_GEN_CACHE_DIR": str(cache)}
            subprocess.run([*args, "--format", "json"], check=True, capture_output=True, env=env)

        # A fresh process compiles the templates unless its disk cache holds them (the usual case after one run).
        results["infra-gen CLI, one node, first run (empty template cache)"] = median_ms(
            lambda i: cli_node(i, work / f"cold-cache{i}", "cold"), 3
        )
        cli_node(0, work / "cache", "warm")
        results["infra-gen CLI, one node (process start included)"] = median_ms(
            lambda i: cli_node(i, work / "cache"), max(3, runs // 3)
        )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        for i in range(3):
            cli_node(i, work / "cache", "cpu")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) / 3 * 1000
        results["infra-gen CLI, one node, CPU time (load-independent)"] = cpu
        results["anchor: `python -c pass` in the same interpreter"] = median_ms(
            lambda i: subprocess.run([sys.executable, "-c", "pass"], check=True), max(3, runs // 3)
        )
        start = time.perf_counter()
        generator = NodeGenerator(work / "batch")
        for i in range(batch):
            generator.generate_node(KIND, f"{NAME}_{i}", external_system=EXTERNAL)
        results[f"infra-gen {batch} nodes in a batch"] = (time.perf_counter() - start) * 1000
        # The physical anchor: the same files' bytes written with plain open/write, no rendering, no atomicity.
        written = [(p.relative_to(work / "batch"), p.read_bytes()) for p in (work / "batch").rglob("*") if p.is_file()]
        start = time.perf_counter()
        for rel, content in written:
            target = work / "raw" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        results[f"anchor: the batch's {len(written)} files written with open/write"] = (
            time.perf_counter() - start
        ) * 1000

        template = merged_template(work / "template")
        try:
            from cookiecutter.main import cookiecutter
        except ImportError:
            print("cookiecutter not installed: pip install -r packages/infra-gen/bench/requirements.txt")
            return 1
        ctx = context(NAME)
        results["cookiecutter API, one node"] = median_ms(
            lambda i: cookiecutter(str(template), no_input=True, extra_context=ctx, output_dir=str(work / f"cc{i}")),
            runs,
        )
        start = time.perf_counter()
        for i in range(batch):
            cookiecutter(
                str(template), no_input=True, extra_context=context(f"{NAME}_{i}"), output_dir=str(work / "ccbatch")
            )
        results[f"cookiecutter {batch} nodes"] = (time.perf_counter() - start) * 1000

        try:
            from copier import run_copy
        except ImportError:
            print("copier not installed: pip install -r packages/infra-gen/bench/requirements.txt")
            return 1
        copier_template = work / "copier-template"
        shutil.copytree(template, copier_template)
        (copier_template / "cookiecutter.json").unlink()
        (copier_template / "copier.yml").write_text(
            "_templates_suffix: .jinja\ncookiecutter:\n  type: json\n  default: " + json.dumps(json.dumps(ctx)) + "\n"
        )

        def copier_one(i: int, name: str = NAME) -> None:
            run_copy(
                str(copier_template),
                str(work / f"cp{i}"),
                data={"cookiecutter": context(name)},
                defaults=True,
                quiet=True,
                unsafe=True,
            )

        results["copier run_copy, one node"] = median_ms(copier_one, max(3, runs // 3))
        start = time.perf_counter()
        for i in range(batch):
            copier_one(1000 + i, f"{NAME}_{i}")
        results[f"copier {batch} nodes"] = (time.perf_counter() - start) * 1000

    ours = results["infra-gen in-process, one node"]
    print(f"{'case':58} {'ms':>9}")
    for label, value in results.items():
        print(f"{label:58} {value:9.1f}")
    cc, cp = results["cookiecutter API, one node"], results["copier run_copy, one node"]
    cc_batch, ours_batch = results[f"cookiecutter {batch} nodes"], results[f"infra-gen {batch} nodes in a batch"]
    print()
    print(f"one node: cookiecutter / infra-gen = {cc / ours:.1f}x, copier / infra-gen = {cp / ours:.1f}x")
    print(f"{batch} nodes: cookiecutter / infra-gen = {cc_batch / ours_batch:.1f}x")
    raw = next(v for k, v in results.items() if k.startswith("anchor: the batch"))
    print(f"{batch} nodes: infra-gen / writing the same files raw = {ours_batch / raw:.1f}x (the file system's floor)")
    targets = {
        "in-process < 50 ms": ours < 50,
        "CLI < 400 ms": results["infra-gen CLI, one node (process start included)"] < 400,
        f"{batch} nodes < 2 s": ours_batch < 2000,
        "faster than plain cookiecutter": ours < cc,
    }
    print("targets: " + ", ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in targets.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
