"""Hostile YAML in a node's contract.yaml: refused as a CON-001 finding, fast and in bounded memory; no hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from infra_models import CheckStatus
from infra_readiness import check_path
from infra_readiness.context import NodeContext
from infra_readiness.early import import_request

TODAY = date(2026, 11, 28)

#: A "billion laughs" like the issue's 402-byte one: 9 aliases a level, 10 levels (9^10 nodes if expanded).
BOMB = (
    "name: node_bomb_effect\nnode_type: EFFECT_GENERIC\n"
    + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10))
)
HOSTILE = {
    "alias bomb": BOMB,
    "deep nesting": "name: node_deep_effect\nnode_type: EFFECT_GENERIC\nx: " + "[" * 20_000 + "]" * 20_000 + "\n",
    "huge scalar": "name: node_big_effect\nnode_type: EFFECT_GENERIC\ndescription: " + "x" * 900_000 + "\n",
    "duplicate key through a merge": (
        "base: &b {node_type: EFFECT_GENERIC}\nname: node_dup_effect\n<<: *b\nnode_type: COMPUTE_GENERIC\n"
    ),
    "long number": "name: node_num_effect\nnode_type: EFFECT_GENERIC\nsize: " + "9" * 50_000 + "\n",
}


def _service_node(tmp_path: Path, contract: str) -> Path:
    service = tmp_path / "svc"
    (service / "src" / "svc" / "nodes" / "node_x_effect").mkdir(parents=True)
    (service / "pyproject.toml").write_text('[project]\nname = "svc"\nversion = "0.1.0"\n')
    for init in ("src/svc/__init__.py", "src/svc/nodes/__init__.py", "src/svc/nodes/node_x_effect/__init__.py"):
        (service / init).write_text("")
    node = service / "src" / "svc" / "nodes" / "node_x_effect"
    (node / "contract.yaml").write_text(contract)
    return node


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_refused_as_a_contract_finding_within_a_second_and_bounded_memory(tmp_path, case):
    node = NodeContext(_service_node(tmp_path, HOSTILE[case]))
    tracemalloc.start()
    started = time.perf_counter()
    try:
        error = node.contract_error
        raw = node.raw_contract  # the best-effort read of an invalid contract is bounded too
        kind = node.kind
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert error is not None and node.onex_contract is None
    assert error.code in {"contract.limit", "contract.duplicate_key", "contract.too_large"}, error.code
    assert (raw, kind) == ({}, None)
    assert elapsed < 1.0, f"{case}: {elapsed:.2f} s"
    assert peak < 64 * 1024 * 1024, f"{case}: {peak / 1e6:.0f} MB"


def test_the_finding_names_the_problem(tmp_path):
    result = next(r for r in check_path(_service_node(tmp_path, BOMB), today=TODAY).checks if r.check_id == "CON-001")
    assert result.status is CheckStatus.FAIL
    assert "alias" in result.message.lower() or "limit" in result.message.lower(), result.message
    assert result.findings and result.findings[0].file == "contract.yaml"


def test_the_early_import_start_does_not_read_a_bomb_unbounded(tmp_path):
    standalone = tmp_path / "bomb"
    (standalone / "src" / "node_bomb_effect").mkdir(parents=True)
    (standalone / "src" / "node_bomb_effect" / "__init__.py").write_text("")
    (standalone / "contract.yaml").write_text(BOMB)
    started = time.perf_counter()
    assert import_request(standalone) is None  # refused, so no import is guessed from it
    assert time.perf_counter() - started < 1.0


def test_the_cli_does_not_hang_and_rates_the_other_nodes(tmp_path):
    node = _service_node(tmp_path, BOMB)
    good = node.parent / "node_ok_compute"
    good.mkdir()
    (good / "__init__.py").write_text("")
    (good / "contract.yaml").write_text("name: node_ok_compute\nnode_type: COMPUTE_GENERIC\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "infra-readiness"), "check", str(node.parent), "-r", "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    reports = {Path(r["path"]).name: r for r in json.loads(proc.stdout)["reports"]}
    con = {name: next(c for c in r["checks"] if c["check_id"] == "CON-001")["status"] for name, r in reports.items()}
    assert con == {"node_x_effect": "FAIL", "node_ok_compute": "PASS"}
    assert reports["node_ok_compute"]["kind"] == "COMPUTE"
