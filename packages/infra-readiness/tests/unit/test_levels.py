"""One fixture node per level: the exact level, blockers, target and issues."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from infra_models import CheckStatus, ReadinessLevel, ReadinessReport
from infra_readiness import ProductionReadinessCheck, check_path

TODAY = date(2026, 11, 28)


def statuses(report: ReadinessReport) -> dict[str, CheckStatus]:
    return {c.check_id: c.status for c in report.checks}


class TestLadder:
    @pytest.mark.parametrize(
        ("name", "run_tests", "level", "blockers"),
        [
            ("not_ready", False, ReadinessLevel.NOT_READY, ("CON-001", "SEC-001")),
            ("development", False, ReadinessLevel.DEVELOPMENT, ("CON-003", "DOC-002", "DOC-003", "SEC-003")),
            ("staging", False, ReadinessLevel.STAGING, ("PERF-001", "TST-006")),
            ("staging", True, ReadinessLevel.STAGING, ("PERF-001",)),
            ("production", False, ReadinessLevel.STAGING, ("TST-006",)),  # PRODUCTION only with the tests run
            ("production", True, ReadinessLevel.PRODUCTION, ()),
        ],
    )
    def test_exact_level_and_blockers(self, fixture_node, name, run_tests, level, blockers):
        report = check_path(fixture_node(name), today=TODAY, run_tests=run_tests)
        assert report.level is level
        assert report.blockers == blockers
        assert not [c for c in report.checks if c.status is CheckStatus.ERROR]

    def test_not_ready_names_each_problem_with_file_and_line(self, fixture_node):
        report = check_path(fixture_node("not_ready"), today=TODAY)
        found = {(c.check_id, f.file, f.line) for c in report.checks for f in c.findings}
        assert ("SEC-001", "src/audit_sink/__init__.py", 3) in found
        assert ("SEC-001", "src/audit_sink/__init__.py", 4) in found
        assert ("SEC-002", "src/audit_sink/__init__.py", 4) in found
        assert ("PKG-003", "pyproject.toml", 6) in found
        assert ("OBS-001", "src/audit_sink/__init__.py", 8) in found
        assert report.issues[0].startswith("CON-001 Contract validates: contract does not validate: contract.yaml")
        assert statuses(report)["PKG-002"] is CheckStatus.PASS

    def test_target_beside_achieved(self, fixture_node):
        report = check_path(fixture_node("staging"), today=TODAY)
        assert report.target_level is ReadinessLevel.PRODUCTION
        assert not report.meets_target
        assert statuses(report)["OBS-002"] is CheckStatus.WAIVED

    def test_recommendations_never_lower_the_level(self, fixture_node):
        # TST-003 (advisory, LOW) fails on a REDUCER without an idempotency test: a recommendation only.
        root = fixture_node("production")
        contract = (root / "contract.yaml").read_text().replace("kind: EFFECT", "kind: REDUCER")
        (root / "contract.yaml").write_text(contract)
        report = check_path(root, today=TODAY, run_tests=True)
        assert statuses(report)["TST-003"] is CheckStatus.FAIL
        assert report.level is ReadinessLevel.PRODUCTION
        assert any(r.startswith("TST-003") for r in report.recommendations)

    def test_failure_at_staging_caps_at_development_even_if_production_checks_pass(self, fixture_node):
        root = fixture_node("production")
        (root / "CHANGELOG.md").unlink()
        report = check_path(root, today=TODAY)
        assert report.level is ReadinessLevel.DEVELOPMENT
        assert report.blockers == ("DOC-003",)


class TestRunTests:
    def test_passing_tests_pass(self, fixture_node):
        report = check_path(fixture_node("production"), today=TODAY, run_tests=True)
        assert statuses(report)["TST-002"] is CheckStatus.PASS
        assert report.level is ReadinessLevel.PRODUCTION

    def test_failing_tests_block_staging(self, fixture_node):
        root = fixture_node("production")
        (root / "tests" / "test_broken.py").write_text("def test_broken():\n    assert 1 == 2\n")
        report = check_path(root, today=TODAY, run_tests=True)
        assert statuses(report)["TST-002"] is CheckStatus.FAIL
        assert report.level is ReadinessLevel.DEVELOPMENT
        assert report.blockers == ("TST-002",)

    def test_without_the_flag_tests_are_skipped_and_recommended(self, fixture_node):
        report = check_path(fixture_node("production"), today=TODAY)
        assert statuses(report)["TST-002"] is CheckStatus.SKIP
        assert any("--run-tests" in r for r in report.recommendations)


class TestApi:
    def test_original_usage_async(self, fixture_node):
        checker = ProductionReadinessCheck(node_path=str(fixture_node("development")), today=TODAY)
        result = asyncio.run(checker.check_readiness())
        assert result.level is ReadinessLevel.DEVELOPMENT
        assert any(i.startswith("CON-003") for i in result.issues)
        assert any(r.startswith("To reach STAGING: CON-003") for r in result.recommendations)

    def test_sync(self, fixture_node):
        checker = ProductionReadinessCheck(node_path=fixture_node("production"), today=TODAY, run_tests=True)
        result = checker.check_readiness_sync()
        assert result.level is ReadinessLevel.PRODUCTION
        assert result.issues == ()
