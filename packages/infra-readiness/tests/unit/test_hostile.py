"""Hostile inputs: malformed files, symlink loops, huge, binary and special files give findings, never a crash."""

from __future__ import annotations

import os
import re
from datetime import date

import pytest
from typer.testing import CliRunner

from infra_models import CheckStatus, ReadinessLevel, ReadinessReport
from infra_readiness import check_path, check_tree
from infra_readiness.cli import app

TODAY = date(2026, 11, 28)


def by_id(report: ReadinessReport):
    return {c.check_id: c for c in report.checks}


def no_errors(report: ReadinessReport) -> None:
    assert [c.check_id for c in report.checks if c.status is CheckStatus.ERROR] == []


class TestMalformedFiles:
    @pytest.mark.parametrize(
        ("text", "line", "fragment"),
        [
            ("name: x\nkind: [unclosed\n", 3, "not valid YAML"),
            ("- just\n- a list\n", None, "a YAML mapping"),
            ("name: vault_reader\nname: again\n", 2, "appears twice"),
            ("\x00\x01binary", None, "not"),
            ("name: vault_reader\nkind: EFFECT\nversion: one\n", 3, "version"),
        ],
    )
    def test_malformed_contract_is_a_con_001_finding(self, fixture_node, text, line, fragment):
        root = fixture_node("production")
        (root / "contract.yaml").write_bytes(text.encode())
        report = check_path(root, today=TODAY)
        con = by_id(report)["CON-001"]
        assert con.status is CheckStatus.FAIL
        assert fragment in con.message
        if line is not None:
            assert con.findings[0].line == line
        assert report.level is ReadinessLevel.NOT_READY
        no_errors(report)

    def test_malformed_pyproject_is_a_pkg_001_finding_with_line(self, fixture_node):
        root = fixture_node("production")
        (root / "pyproject.toml").write_text('[project]\nname = "x"\nversion = \n')
        report = check_path(root, today=TODAY)
        pkg = by_id(report)["PKG-001"]
        assert pkg.status is CheckStatus.FAIL
        assert pkg.findings[0].file == "pyproject.toml"
        assert pkg.findings[0].line == 3
        assert by_id(report)["PKG-003"].status is CheckStatus.SKIP  # prerequisite failed
        assert report.level is ReadinessLevel.NOT_READY
        no_errors(report)

    def test_absurd_nesting_is_a_finding_not_a_recursion_crash(self, fixture_node):
        root = fixture_node("production")
        (root / "contract.yaml").write_text("name: vault_reader\nkind: " + "[" * 20000 + "]" * 20000 + "\n")
        (root / "src" / "vault_reader" / "deep.py").write_text("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")
        (root / "readiness.toml").write_text("a = " + "[" * 20000 + "]" * 20000 + "\n")
        report = check_path(root, today=TODAY)
        no_errors(report)
        # libyaml refuses the depth itself; the pure-Python parser would hit the recursion limit instead.
        assert re.search("nested too deeply|maximum nesting depth", by_id(report)["CON-001"].message)
        assert "nested too deeply" in by_id(report)["CFG-001"].findings[0].message
        assert report.level is ReadinessLevel.NOT_READY

    def test_invalid_python_source_is_reported_not_raised(self, fixture_node):
        root = fixture_node("production")
        (root / "src" / "vault_reader" / "broken.py").write_text('"""A private module mid-edit."""\n\ndef _oops(:\n')
        report = check_path(root, today=TODAY)
        no_errors(report)
        # not imported by the package, so harmless: only the tests not run (TST-006) hold PRODUCTION back
        assert (report.level, report.blockers) == (ReadinessLevel.STAGING, ("TST-006",))


class TestFilesystem:
    def test_symlink_loops_do_not_hang(self, fixture_node):
        root = fixture_node("production")
        os.symlink("loop_b", root / "loop_a")
        os.symlink("loop_a", root / "loop_b")
        os.symlink("..", root / "src" / "up")  # a folder loop
        report = check_path(root, today=TODAY)
        no_errors(report)
        notes = [f.message for f in by_id(report)["SEC-001"].findings]
        assert (report.level, report.blockers) == (ReadinessLevel.STAGING, ("TST-006",))
        assert notes == [] or all("not scanned" in n for n in notes)

    def test_symlink_loop_of_a_text_file_is_noted(self, fixture_node):
        root = fixture_node("production")
        os.symlink("settings.yaml", root / "settings.yaml")
        report = check_path(root, today=TODAY)
        sec = by_id(report)["SEC-001"]
        assert sec.status is CheckStatus.PASS
        assert any(f.file == "settings.yaml" and "symlink loop" in f.message for f in sec.findings)

    def test_huge_binary_and_special_files_are_skipped_with_a_note(self, fixture_node):
        root = fixture_node("production")
        with (root / "dump.json").open("wb") as handle:
            handle.truncate(50_000_000)  # sparse: 50 MB without writing them
        (root / "blob.py").write_bytes(b"x = 1\x00\x00\xff")
        os.mkfifo(root / "pipe.yaml")  # reading it would block forever
        report = check_path(root, today=TODAY)
        no_errors(report)
        notes = {f.file: f.message for f in by_id(report)["SEC-001"].findings}
        assert "larger than" in notes["dump.json"]
        assert "binary" in notes["blob.py"]
        assert "not a regular file" in notes["pipe.yaml"]

    @pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "text"])
    def test_undecodable_file_names_do_not_break_any_format(self, fixture_node, fmt):
        root = fixture_node("production")
        bad = os.path.join(os.fsencode(root / "src" / "vault_reader"), b"\xff\xfe.py")
        with open(bad, "wb") as handle:
            handle.write(b'PASSWORD = "hunter2-is-long"\n')
        result = CliRunner().invoke(app, ["check", "production", "-f", fmt, "--today", "2026-11-28"])
        assert result.exit_code == 0, result.output
        # JSON escapes U+FFFD; SARIF's artifact URIs percent-encode it
        assert "\ufffd" in result.output or "\\ufffd" in result.output or "%EF%BF%BD" in result.output

    def test_path_that_is_a_symlink_loop_is_bad_input(self, workdir):
        os.symlink("self", workdir / "self")
        result = CliRunner().invoke(app, ["check", "self"])
        assert result.exit_code == 2
        assert "error: self: " in result.output
        assert "Traceback" not in result.output

    def test_recursive_walk_skips_folder_loops(self, fixture_node, workdir):
        fixture_node("production")
        fixture_node("development")
        os.symlink(str(workdir), workdir / "production" / "again")
        reports = check_tree(workdir, recursive=True, today=TODAY)
        assert sorted(r.name for r in reports) == ["price_calc", "vault_reader"]


class TestImports:
    @pytest.mark.parametrize(
        ("code", "fragment", "line"),
        [
            ("import not_installed_anywhere\n", "ModuleNotFoundError", 1),
            ("x = 1\nraise RuntimeError('needs config')\n", "RuntimeError: needs config", 2),
            ("import sys\nsys.exit(3)\n", "SystemExit: 3", 2),
            ("def f(:\n", "SyntaxError", 1),
        ],
    )
    def test_import_failure_is_pkg_002_with_file_and_line(self, fixture_node, code, fragment, line):
        root = fixture_node("production")
        (root / "src" / "vault_reader" / "__init__.py").write_text(code)
        report = check_path(root, today=TODAY)
        pkg = by_id(report)["PKG-002"]
        assert pkg.status is CheckStatus.FAIL
        assert fragment in pkg.message
        assert pkg.findings[0].file == "src/vault_reader/__init__.py"
        assert pkg.findings[0].line == line
        assert report.level is ReadinessLevel.NOT_READY

    def test_missing_package_folder(self, fixture_node):
        root = fixture_node("production")
        (root / "src" / "vault_reader").rename(root / "src" / "other_name")
        report = check_path(root, today=TODAY)
        pkg = by_id(report)["PKG-002"]
        assert pkg.status is CheckStatus.FAIL
        assert "src/vault_reader/__init__.py" in pkg.findings[0].message
