"""A run collects garbage cycles rarely (the syntax trees it holds are walked less) and restores the thresholds."""

from __future__ import annotations

import gc

import pytest

from infra_models import CheckCategory, CheckStatus, ReadinessLevel, Severity
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check
from infra_readiness.runner import check_contexts

SEEN: list[tuple[int, int, int]] = []


@check(
    id="TMP-001",
    title="records the collector's thresholds",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.LOW,
    remediation="none",
)
def _thresholds_seen(node: NodeContext) -> Outcome:
    """Records gc thresholds."""
    SEEN.append(gc.get_threshold())
    return Outcome.passed("recorded")


def test_thresholds_are_raised_during_the_run_and_restored_after(tmp_path):
    before = gc.get_threshold()
    SEEN.clear()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.1.0"\n')
    [report] = check_contexts([NodeContext(tmp_path)], checks=[_thresholds_seen])
    assert report.checks[0].status is CheckStatus.PASS
    assert SEEN and SEEN[0][0] > before[0]  # young collections far apart while checking
    assert gc.get_threshold() == before


class _Stop(BaseException):
    """Not an Exception: run_check does not turn it into an ERROR, so it leaves the run."""


@check(
    id="TMP-002",
    title="stops the run",
    category=CheckCategory.CONTRACT,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.LOW,
    remediation="none",
)
def _stops(node: NodeContext) -> Outcome:
    """Interrupts the run."""
    raise _Stop


def test_thresholds_are_restored_when_a_run_is_interrupted(tmp_path):
    before = gc.get_threshold()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.1.0"\n')
    with pytest.raises(_Stop):
        check_contexts([NodeContext(tmp_path)], checks=[_stops])
    assert gc.get_threshold() == before
