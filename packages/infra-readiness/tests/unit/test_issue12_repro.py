"""The new user's tries from issue 12, each on an otherwise PRODUCTION-ready node: none may reach PRODUCTION now."""

from __future__ import annotations

from datetime import date

import pytest

from infra_models import NodeKind, ReadinessLevel
from infra_readiness import check_path
from infra_readiness.testing import write_node

TODAY = date(2026, 11, 28)

INSECURE = '''"""Order store."""

import hashlib
import pickle

import yaml


def store(password: str, blob: bytes, text: str, expr: str) -> object:
    """Everything the issue listed, in one place."""
    digest = hashlib.md5(password.encode()).hexdigest()
    return digest, pickle.loads(blob), yaml.load(text, Loader=yaml.Loader), eval(expr)
'''
DELETE_ROUTE = '''"""HTTP API."""

from fastapi import FastAPI

app = FastAPI()


@app.delete("/orders/{oid}")
def delete_order(oid: str) -> None:
    """Delete an order."""
'''


def test_the_sample_node_itself_reaches_production(tmp_path):
    root = write_node(tmp_path, "orders", NodeKind.EFFECT)
    assert check_path(root, today=TODAY, run_tests=True).level is ReadinessLevel.PRODUCTION


def test_insecure_calls_and_an_unauthenticated_delete_stop_it_below_staging(tmp_path):
    root = write_node(tmp_path, "orders", NodeKind.EFFECT)
    (root / "src" / "orders" / "store.py").write_text(INSECURE)
    (root / "src" / "orders" / "api.py").write_text(DELETE_ROUTE)
    report = check_path(root, today=TODAY, run_tests=True)
    assert report.level is ReadinessLevel.DEVELOPMENT
    assert report.blockers == ("SEC-003", "SEC-004")
    rules = {f.message.split()[0] for c in report.checks if c.check_id == "SEC-003" for f in c.findings}
    assert {"B324", "B301", "B506", "B307"} <= rules


@pytest.mark.parametrize(
    ("change", "blocker", "level"),
    [
        ({"bench/bench_orders.py": "def main():\n    pass\n"}, "PERF-001", ReadinessLevel.STAGING),
        ({"README.md": "# orders\n\nOrders.\n\n## Installation\n\npip install orders\n\n## Usage\n\nTBD.\n"},
         "DOC-002", ReadinessLevel.DEVELOPMENT),
        ({"tests/test_orders.py": "def test_ok():\n    assert True\n"}, "TST-001", ReadinessLevel.DEVELOPMENT),
        ({"tests/test_orders.py": "def test_broken():\n    assert 1 == 2\n"}, "TST-002", ReadinessLevel.DEVELOPMENT),
    ],
)  # fmt: skip
def test_each_hollow_claim_is_caught(tmp_path, change, blocker, level):
    root = write_node(tmp_path, "orders", NodeKind.COMPUTE)
    for name, text in change.items():
        (root / name).write_text(text)
    report = check_path(root, today=TODAY, run_tests=True)
    assert report.level is level
    assert blocker in report.blockers


def test_without_running_the_tests_production_is_out_of_reach(tmp_path):
    report = check_path(write_node(tmp_path, "orders", NodeKind.COMPUTE), today=TODAY)
    assert (report.level, report.blockers) == (ReadinessLevel.STAGING, ("TST-006",))
