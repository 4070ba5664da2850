"""The CLI: exit codes, formats, --output, checks and explain."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from infra_models import ReadinessReport, ReadinessSummary
from infra_readiness.__about__ import __version__
from infra_readiness.cli import app

TODAY = ["--today", "2026-11-28"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


class TestBasics:
    def test_version(self) -> None:
        result = run("--version")
        assert result.exit_code == 0
        assert result.output.strip() == "infra-readiness " + __version__

    def test_no_args_shows_help(self) -> None:
        assert "Usage" in run().output


class TestCheck:
    def test_text_shows_level_and_blockers(self, fixture_node):
        fixture_node("staging")
        result = run("check", "staging", *TODAY)
        assert result.exit_code == 0
        assert "level STAGING" in result.output
        assert "target PRODUCTION" in result.output
        assert "Blockers to the next level: PERF-001, TST-006" in result.output

    @pytest.mark.parametrize(("floor", "code"), [("development", 0), ("STAGING", 0), ("production", 1)])
    def test_min_level_sets_the_exit_code(self, fixture_node, floor, code):
        fixture_node("staging")
        result = run("check", "staging", "--min-level", floor, *TODAY, "-f", "json")
        assert result.exit_code == code

    def test_json_is_a_readiness_report(self, fixture_node):
        fixture_node("development")
        result = run("check", "development", "-f", "json", *TODAY)
        report = ReadinessReport.model_validate_json(result.stdout)
        assert report.level.value == "DEVELOPMENT"
        assert report.path == "development"

    def test_recursive_json_is_a_summary(self, fixture_node, workdir):
        for name in ("not_ready", "production"):
            fixture_node(name)
        result = run("check", ".", "-r", "-f", "json", *TODAY, "--min-level", "DEVELOPMENT")
        summary = ReadinessSummary.model_validate_json(result.stdout)
        assert [r.name for r in summary.reports] == ["audit_sink", "vault_reader"]
        assert summary.level.value == "NOT_READY"
        assert result.exit_code == 1

    def test_output_file_sarif(self, fixture_node, workdir):
        fixture_node("not_ready")
        result = run("check", "not_ready", "-f", "sarif", "-o", "out/report.sarif", *TODAY)
        assert result.exit_code == 2
        assert "folder out does not exist" in result.output
        (workdir / "out").mkdir()
        result = run("check", "not_ready", "-f", "sarif", "-o", "out/report.sarif", *TODAY)
        assert result.exit_code == 0
        log = json.loads((workdir / "out" / "report.sarif").read_text())
        assert log["version"] == "2.1.0"
        assert [p.name for p in (workdir / "out").iterdir()] == ["report.sarif"]  # no temp file left

    def test_python_option_runs_imports_in_that_interpreter(self, fixture_node):
        import sys

        fixture_node("development")
        result = run("check", "development", "-f", "json", "--python", sys.executable, *TODAY)
        report = ReadinessReport.model_validate_json(result.stdout)
        assert next(c for c in report.checks if c.check_id == "PKG-002").status.value == "PASS"

    def test_text_to_a_file_is_plain(self, fixture_node, workdir):
        fixture_node("development")
        result = run("check", "development", "-o", "report.txt", *TODAY)
        assert result.exit_code == 0
        text = (workdir / "report.txt").read_text()
        assert "level DEVELOPMENT" in text
        assert "\x1b[" not in text
        assert "Blockers to the next level: CON-003, DOC-002, DOC-003, SEC-003" in text

    def test_markdown(self, fixture_node):
        fixture_node("production")
        result = run("check", "production", "-f", "markdown", "--run-tests", *TODAY)
        assert result.output.startswith("## Production readiness")
        assert "**PRODUCTION**" in result.output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["check", "nowhere"], "nowhere: no such file or folder"),
            (["check", "."], "not a node or package"),
            (["check", ".", "-r"], "no node or package found"),
            (["check", ".", "--min-level", "GOLD"], "--min-level 'GOLD' is not a level"),
            (["check", ".", "-f", "xml"], "xml"),
            (["check", ".", "--today", "tomorrow"], "--today 'tomorrow' is not a date"),
            (["explain", "NOPE-001"], "no check 'NOPE-001'"),
            (["check", ".", "--python", "/no/such/python"], "--python /no/such/python: no such interpreter"),
        ],
    )
    def test_bad_input_exits_2_with_one_line(self, workdir, args, message):
        result = run(*args)
        assert result.exit_code == 2
        assert message in result.output
        assert "Traceback" not in result.output


class TestCatalogue:
    def test_checks_json_lists_metadata(self):
        result = run("checks", "-f", "json")
        items = {c["id"]: c for c in json.loads(result.stdout)}
        assert items["CON-002"]["kinds"] == ["EFFECT"]
        assert items["CON-002"]["requires"] == ["CON-001"]
        assert items["TST-003"]["advisory"] is True
        assert items["SEC-001"]["gates"] == "DEVELOPMENT"

    def test_explain(self):
        result = run("explain", "pkg-002")
        assert result.exit_code == 0
        assert "Package imports in a fresh interpreter" in result.output
        assert "remediation:" in result.output
