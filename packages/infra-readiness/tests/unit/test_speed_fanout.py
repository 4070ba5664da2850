"""A tree split among forked processes gives the reports a serial run gives, in order; a dead child costs no report."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from infra_models import CheckCategory, NodeKind, ReadinessLevel
from infra_readiness import Outcome, check, load_checks
from infra_readiness.api import find_nodes
from infra_readiness.context import NodeContext, NodeOptions, RunCache
from infra_readiness.importcheck import PARALLEL_MIN_NODES, parallel_jobs
from infra_readiness.runner import check_contexts
from infra_readiness.testing import write_node

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _tree(tmp_path, count):
    kinds = list(NodeKind)
    for index in range(count):
        root = write_node(tmp_path, f"node_{index:02d}", kinds[index % 4], benchmark=index % 2 == 0)
        if index % 5 == 3:
            (root / "contract.yaml").write_text("name: [unclosed\n")  # NOT_READY: levels differ along the tree
    return tmp_path


def _contexts(top):
    cache, options = RunCache(), NodeOptions(today=TODAY)
    return [NodeContext(p, display=s, options=options, cache=cache) for p, s in find_nodes(top, recursive=True)]


def _shape(reports):
    return [(r.path, r.level, r.blockers, [(c.check_id, c.status, c.message) for c in r.checks]) for r in reports]


def test_forked_reports_equal_serial_ones_in_order(tmp_path):
    top = _tree(tmp_path, PARALLEL_MIN_NODES)
    serial = check_contexts(_contexts(top), now=NOW, jobs=1)
    seen = []
    forked = check_contexts(_contexts(top), now=NOW, jobs=2, progress=seen.append)
    assert _shape(forked) == _shape(serial)
    assert sorted(r.path for r in seen) == sorted(r.path for r in serial)  # progress once per node
    assert len({r.level for r in serial}) >= 2  # the nodes differ, so an order mix-up would show


def test_a_child_that_dies_leaves_its_nodes_to_the_parent(tmp_path):
    top = _tree(tmp_path, PARALLEL_MIN_NODES)
    parent = os.getpid()

    @check(
        id="ZZZ-001",
        title="Kills a forked child on one node",
        category=CheckCategory.CONTRACT,
        gates=ReadinessLevel.DEVELOPMENT,
        remediation="-",
    )
    def killer(node):
        if node.root.name == "node_12" and os.getpid() != parent:
            os._exit(3)
        return Outcome.passed("alive")

    checks = (*load_checks(), killer)
    reports = check_contexts(_contexts(top), checks=checks, now=NOW, jobs=2)
    assert [r.path.rsplit("/", 1)[-1] for r in reports] == [f"node_{i:02d}" for i in range(PARALLEL_MIN_NODES)]
    assert all(next(c for c in r.checks if c.check_id == "ZZZ-001").message == "alive" for r in reports)


def test_small_trees_and_the_default_stay_serial(monkeypatch):
    monkeypatch.delenv("INFRA_READINESS_JOBS", raising=False)
    assert parallel_jobs(PARALLEL_MIN_NODES - 1, 4) == 1
    assert parallel_jobs(500) == 1
    assert parallel_jobs(500, 3) == 3
    monkeypatch.setenv("INFRA_READINESS_JOBS", "2")
    assert parallel_jobs(500) == 2
    assert parallel_jobs(PARALLEL_MIN_NODES, 64) == 2  # at most one process per 8 nodes
