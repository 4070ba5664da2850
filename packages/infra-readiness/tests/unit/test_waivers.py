"""Waivers: reason, owner and expiry; an expired waiver fails again; bad settings fail CFG-001."""

from __future__ import annotations

from datetime import date

import pytest

from infra_models import CheckStatus, ReadinessLevel, ReadinessReport
from infra_readiness import check_path


def statuses(report: ReadinessReport) -> dict[str, CheckStatus]:
    return {c.check_id: c.status for c in report.checks}


def result(report: ReadinessReport, check_id: str):
    return next(c for c in report.checks if c.check_id == check_id)


class TestExpiry:
    @pytest.mark.parametrize(
        ("today", "status"),
        [
            (date(2026, 12, 30), CheckStatus.WAIVED),
            (date(2026, 12, 31), CheckStatus.WAIVED),
            (date(2027, 1, 1), CheckStatus.FAIL),
        ],
    )
    def test_waiver_holds_through_its_expiry_day(self, fixture_node, today, status):
        report = check_path(fixture_node("staging"), today=today)
        assert statuses(report)["OBS-002"] is status

    def test_expired_waiver_counts_as_a_failure(self, fixture_node):
        report = check_path(fixture_node("staging"), today=date(2027, 1, 1))
        obs = result(report, "OBS-002")
        assert "expired on 2026-12-31" in obs.message
        assert obs.waiver_reason is None
        assert report.blockers == ("OBS-002", "PERF-001", "TST-006")
        assert any("expired on 2026-12-31" in r for r in report.recommendations)

    def test_waived_result_carries_reason_owner_and_expiry(self, fixture_node):
        report = check_path(fixture_node("staging"), today=date(2026, 11, 28))
        obs = result(report, "OBS-002")
        assert obs.waiver_reason == "metrics come with the 1.1 exporter (owner team-platform, until 2026-12-31)"
        assert [w.check_id for w in report.waivers] == ["OBS-002"]

    def test_expiring_soon_is_recommended(self, fixture_node):
        report = check_path(fixture_node("staging"), today=date(2026, 12, 15))
        assert any("expires on 2026-12-31" in r for r in report.recommendations)


def write_waivers(root, body: str) -> None:
    (root / "readiness.toml").write_text(body)


class TestSettings:
    def test_waiver_in_pyproject(self, fixture_node):
        root = fixture_node("production")
        (root / "bench" / "bench_node.py").unlink()
        (root / "bench").rmdir()
        with (root / "pyproject.toml").open("a") as handle:
            handle.write(
                '\n[tool.infra-readiness]\ntarget-level = "production"\n\n[[tool.infra-readiness.waivers]]\n'
                'check = "PERF-001"\nreason = "bench lands in 1.1"\nowner = "ana"\nexpires = "2027-03-01"\n'
            )
        report = check_path(root, today=date(2026, 11, 28), run_tests=True)
        assert statuses(report)["PERF-001"] is CheckStatus.WAIVED
        assert report.level is ReadinessLevel.PRODUCTION
        assert report.meets_target

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ('[[waivers]]\ncheck = "PERF-001"\nreason = "r"\nexpires = 2027-01-01\n', "lacks owner"),
            ('[[waivers]]\ncheck = "PERF-001"\nreason = "r"\nowner = "o"\n', "lacks expires"),
            ('[[waivers]]\ncheck = "PERF-001"\nreason = "r"\nowner = "o"\nexpires = "soon"\n', "not a date"),
            ('[[waivers]]\ncheck = "perf-1"\nreason = "r"\nowner = "o"\nexpires = 2027-01-01\n', "check_id"),
            ('target-level = "GOLD"\n', "target-level"),
            ('targte-level = "STAGING"\n', "unknown setting"),
            ("waivers = 3\n", "array of tables"),
            ("[[waivers]\n", "not valid TOML"),
            (
                '[[waivers]]\ncheck = "PERF-001"\nreason = "r"\nowner = "o"\nexpires = 2027-01-01\n' * 2,
                "waived twice",
            ),
        ],
    )
    def test_bad_settings_fail_cfg_001_and_are_not_applied(self, fixture_node, body, message):
        root = fixture_node("staging")
        write_waivers(root, body)
        report = check_path(root, today=date(2026, 11, 28))
        cfg = result(report, "CFG-001")
        assert cfg.status is CheckStatus.FAIL
        assert any(message in f.message for f in cfg.findings), [f.message for f in cfg.findings]
        assert all(f.file == "readiness.toml" for f in cfg.findings)
        assert report.level is ReadinessLevel.NOT_READY
        assert report.blockers == ("CFG-001",)

    def test_unknown_check_id_is_a_recommendation(self, fixture_node):
        root = fixture_node("staging")
        write_waivers(root, '[[waivers]]\ncheck = "ACME-999"\nreason = "r"\nowner = "o"\nexpires = 2027-01-01\n')
        report = check_path(root, today=date(2026, 11, 28))
        assert statuses(report)["CFG-001"] is CheckStatus.PASS
        assert any("ACME-999, which is not an installed check" in r for r in report.recommendations)

    def test_waiver_of_a_passing_check_is_flagged_as_unneeded(self, fixture_node):
        root = fixture_node("production")
        write_waivers(root, '[[waivers]]\ncheck = "DOC-001"\nreason = "r"\nowner = "o"\nexpires = 2027-01-01\n')
        report = check_path(root, today=date(2026, 11, 28))
        assert statuses(report)["DOC-001"] is CheckStatus.PASS
        assert any("waiver of DOC-001 is not needed" in r for r in report.recommendations)
