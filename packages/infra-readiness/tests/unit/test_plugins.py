"""Checks are plugins: metadata, prerequisites, entry-point loading, crashes become ERROR."""

from __future__ import annotations

import sys
from datetime import date

import pytest
from typer.testing import CliRunner

from infra_models import CheckCategory, CheckResult, CheckStatus, ReadinessLevel, Severity
from infra_readiness import Check, CheckRegistryError, Outcome, check, check_path, load_checks
from infra_readiness.cli import app
from infra_readiness.ladder import rate
from infra_readiness.registry import order_checks

TODAY = date(2026, 11, 28)


def make(check_id: str, gates: ReadinessLevel = ReadinessLevel.STAGING, requires: tuple[str, ...] = ()) -> Check:
    return Check(
        id=check_id,
        title=check_id,
        category=CheckCategory.TESTING,
        gates=gates,
        function=lambda node: Outcome.passed(),
        requires=requires,
    )


def res(check_id: str, gates: str, status: CheckStatus, severity: Severity = Severity.MEDIUM) -> CheckResult:
    return CheckResult(check_id=check_id, title="t", category="testing", status=status, gates=gates, severity=severity)  # type: ignore[arg-type]


class TestLadder:
    def test_skip_does_not_block_and_error_does(self):
        results = [res("A-001", "DEVELOPMENT", CheckStatus.SKIP), res("A-002", "STAGING", CheckStatus.ERROR)]
        rating = rate(results)
        assert rating.level is ReadinessLevel.DEVELOPMENT
        assert rating.next_level is ReadinessLevel.STAGING
        assert rating.blockers == ("A-002",)

    def test_advisory_failure_never_lowers(self):
        results = [res("A-001", "DEVELOPMENT", CheckStatus.FAIL, Severity.LOW)]
        assert rate(results).level is ReadinessLevel.PRODUCTION

    def test_no_checks_at_all_is_production_by_vacuity_but_empty_reports_are_not_built(self):
        assert rate([]).level is ReadinessLevel.PRODUCTION


class TestRegistry:
    def test_builtin_checks_are_registered_through_entry_points(self):
        ids = {c.id for c in load_checks()}
        assert {"CON-001", "PKG-002", "SEC-001", "SEC-002", "TST-002", "DOC-003", "OBS-003", "PERF-001"} <= ids
        for item in load_checks():
            assert item.title and item.remediation and item.url and item.description, item.id

    def test_prerequisites_come_first(self):
        ordered = [c.id for c in order_checks([make("B-001", requires=("A-001",)), make("A-001")])]
        assert ordered == ["A-001", "B-001"]

    @pytest.mark.parametrize(
        ("checks", "message"),
        [
            ([make("A-001"), make("A-001")], "declared twice"),
            ([make("A-001", requires=("Z-009",))], "not installed"),
            ([make("A-001", requires=("B-001",)), make("B-001", requires=("A-001",))], "circle"),
            (
                [make("A-001", ReadinessLevel.DEVELOPMENT, ("B-001",)), make("B-001", ReadinessLevel.PRODUCTION)],
                "higher level",
            ),
        ],
    )
    def test_bad_registries_are_refused(self, checks, message):
        with pytest.raises(CheckRegistryError, match=message):
            order_checks(checks)

    def test_bad_ids_are_refused(self):
        with pytest.raises(ValueError, match="SEC-001"):
            make("sec1")


@check(id="ACME-002", title="Crashes", category="testing", gates="DEVELOPMENT", remediation="-")
def crashes(node):
    raise KeyError("boom")


PLUGIN_SOURCE = '''
from infra_models import CheckCategory, ReadinessLevel
from infra_readiness import Outcome, check


@check(
    id="ACME-001",
    title="Has a LICENSE",
    category=CheckCategory.DOCUMENTATION,
    gates=ReadinessLevel.STAGING,
    remediation="Add a LICENSE file.",
)
def has_license(node):
    """Every node carries a license."""
    return Outcome.passed("found") if node.exists("LICENSE") else Outcome.failed("no LICENSE file")


CHECKS = [has_license]
'''


@pytest.fixture
def acme_plugin(tmp_path, monkeypatch):
    """Install a third-party plugin distribution the way pip would: a dist-info with an entry point."""
    site = tmp_path / "site"
    info = site / "acme_checks-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[infra_readiness.checks]\nacme = acme_checks:CHECKS\n")
    (site / "acme_checks.py").write_text(PLUGIN_SOURCE)
    monkeypatch.syspath_prepend(str(site))
    load_checks.cache_clear()
    yield
    monkeypatch.undo()
    sys.modules.pop("acme_checks", None)
    load_checks.cache_clear()


class TestThirdPartyPlugin:
    def test_plugin_joins_the_run_and_gates_its_level(self, acme_plugin, fixture_node):
        root = fixture_node("production")
        report = check_path(root, today=TODAY)
        assert report.level is ReadinessLevel.DEVELOPMENT
        assert report.blockers == ("ACME-001",)
        (root / "LICENSE").write_text("MIT\n")
        assert check_path(root, today=TODAY, run_tests=True).level is ReadinessLevel.PRODUCTION

    def test_plugin_is_listed_and_explained(self, acme_plugin):
        listed = CliRunner().invoke(app, ["checks"])
        assert "ACME-001" in listed.output
        explained = CliRunner().invoke(app, ["explain", "acme-001"])
        assert explained.exit_code == 0
        assert "Every node carries a license." in explained.output

    def test_broken_entry_point_is_a_clear_error(self, tmp_path, monkeypatch, workdir):
        info = tmp_path / "site" / "broken-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[infra_readiness.checks]\nbroken = no_such_module_x:CHECKS\n")
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
        load_checks.cache_clear()
        try:
            result = CliRunner().invoke(app, ["checks"])
        finally:
            monkeypatch.undo()
            load_checks.cache_clear()
        assert result.exit_code == 2
        assert "check plugin `broken = no_such_module_x:CHECKS` failed to load" in result.output


@check(
    id="ACME-003",
    title="New rule",
    category="documentation",
    gates="DEVELOPMENT",
    remediation="Add a NOTICE file.",
    effective_from=date(2027, 1, 1),
)
def scheduled(node):
    return Outcome.failed("no NOTICE file")


class TestScheduledCheck:
    def test_before_its_date_it_only_recommends(self, fixture_node):
        checks = order_checks([*load_checks(), scheduled])
        report = check_path(fixture_node("production"), today=date(2026, 12, 31), checks=checks, run_tests=True)
        result = next(c for c in report.checks if c.check_id == "ACME-003")
        assert result.status is CheckStatus.FAIL
        assert result.message == "no NOTICE file (gates from 2027-01-01)"
        assert report.level is ReadinessLevel.PRODUCTION
        assert report.issues == ()
        assert any(r.startswith("ACME-003 New rule") for r in report.recommendations)

    def test_from_its_date_it_gates(self, fixture_node):
        checks = order_checks([*load_checks(), scheduled])
        report = check_path(fixture_node("production"), today=date(2027, 1, 1), checks=checks)
        assert report.level is ReadinessLevel.NOT_READY
        assert report.blockers == ("ACME-003",)


class TestCrashingCheck:
    def test_a_crash_is_an_error_and_never_a_pass(self, fixture_node):
        report = check_path(fixture_node("production"), today=TODAY, checks=order_checks([*load_checks(), crashes]))
        failed = next(c for c in report.checks if c.check_id == "ACME-002")
        assert failed.status is CheckStatus.ERROR
        assert "KeyError" in failed.message
        assert report.level is ReadinessLevel.NOT_READY
        assert report.blockers == ("ACME-002",)
