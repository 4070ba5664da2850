"""infra-readiness on the CLI kit: error envelope, one stderr line, exit codes, -o, untruncated pipes, progress."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra_models import ReadinessSummary
from infra_readiness.cli import app

TODAY = ["--today", "2026-11-28"]


def run(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["check", "nowhere"], "input", "nowhere: no such file or folder"),
        (["check", ".", "--min-level", "GOLD"], "usage", "--min-level 'GOLD' is not a level"),
        (["check", ".", "--today", "tomorrow"], "usage", "--today 'tomorrow' is not a date"),
        (["explain", "NOPE-001"], "readiness.check.unknown", "no check 'NOPE-001'"),
        (["check", ".", "-o", "missing/report.json"], "output.missing", "folder missing does not exist"),
        (["check", ".", "--jobs", "0"], "usage", "--jobs"),
    ],
)
def test_bad_input_under_json_is_the_error_envelope_on_stdout(workdir, args, code, words):
    result = run(*args, "-f", "json")
    assert result.exit_code == 2
    assert result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error["code"] == code and words in error["message"]
    assert "hint" in error


@pytest.mark.parametrize("fmt", [[], ["-f", "sarif"], ["-f", "markdown"]])
def test_bad_input_otherwise_is_one_stderr_line(workdir, fmt):
    result = run("check", "nowhere", *fmt)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: nowhere: no such file or folder (hint: PATH is a node's folder")
    assert result.stderr.count("\n") == 1


def test_unknown_check_names_the_known_ones_in_the_hint(workdir):
    error = json.loads(run("explain", "NOPE-001", "-f", "json").stdout)["error"]
    assert "SEC-001" in error["hint"] and "infra-readiness checks" in error["hint"]


def test_control_characters_of_a_path_are_escaped_in_the_envelope(workdir):
    result = run("check", "bad\x1b[2Jname", "-f", "json")
    assert result.exit_code == 2
    message = json.loads(result.stdout)["error"]["message"]
    assert "\x1b" not in message and "\\x1b" in message


def test_missing_output_folder_writes_nothing_and_runs_no_check(fixture_node, workdir):
    fixture_node("staging")
    result = run("check", "staging", "-o", "out/report.md", "-f", "markdown", *TODAY)
    assert result.exit_code == 2 and not (workdir / "out").exists()


def test_below_min_level_is_exit_1_with_the_report_still_on_stdout(fixture_node):
    fixture_node("not_ready")
    result = run("check", "not_ready", "--min-level", "STAGING", "-f", "json", *TODAY)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["level"] == "NOT_READY"
    assert result.stderr.startswith("below STAGING: not_ready (NOT_READY)")


@pytest.mark.parametrize("fmt", ["sarif", "markdown", "SARIF"])
def test_sarif_and_markdown_are_kept_beside_text_and_json(fixture_node, workdir, fmt):
    fixture_node("staging")
    result = run("check", "staging", "-f", fmt, "-o", "report.out", *TODAY)
    assert result.exit_code == 0 and result.stdout == ""
    written = (workdir / "report.out").read_text()
    if fmt.lower() == "sarif":
        assert json.loads(written)["version"] == "2.1.0"
    else:
        assert written.startswith("## Production readiness")


def test_checks_and_explain_write_to_output(workdir):
    assert run("checks", "-f", "json", "-o", "checks.json").exit_code == 0
    assert "SEC-001" in {c["id"] for c in json.loads((workdir / "checks.json").read_text())}
    assert run("explain", "sec-001", "-o", "sec.txt").exit_code == 0
    assert (workdir / "sec.txt").read_text().startswith("id:          SEC-001\n")


def test_piped_text_is_never_cut_or_wrapped(fixture_node, workdir):
    long_name = "n" * 180
    (workdir / long_name).mkdir()
    fixture_node("staging").rename(workdir / long_name / "staging")
    result = run("check", ".", "-r", *TODAY)
    assert result.exit_code == 0, result.output
    assert any(f"{long_name}/staging" in line for line in result.stdout.splitlines()), result.stdout
    checks = run("checks").stdout
    assert "…" not in checks  # rich cuts cells with an ellipsis at a terminal's width
    assert "Package imports in a fresh interpreter" in checks


def _stderr_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe; return (exit code, stdout, terminal)."""
    leader, follower = os.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from infra_readiness.cli import main; main()", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout.decode(), seen.decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_recursive_check_shows_a_progress_bar_only_on_a_terminal(fixture_node, workdir):
    for name in ("not_ready", "development", "staging"):
        fixture_node(name)
    code, stdout, terminal = _stderr_on_a_terminal(["check", ".", "-r", "-f", "json", *TODAY], workdir)
    assert code == 0, terminal
    assert "checking nodes" in terminal and "\x1b[" in terminal  # the bar, drawn on the terminal
    assert len(ReadinessSummary.model_validate_json(stdout).reports) == 3  # stdout carries only the report
    code, _, terminal = _stderr_on_a_terminal(["-q", "check", ".", "-r", "-f", "json", *TODAY], workdir)
    assert code == 0 and "checking nodes" not in terminal  # -q: no bar
    code, _, terminal = _stderr_on_a_terminal(["check", "staging", "-f", "json", *TODAY], workdir)
    assert code == 0 and "checking nodes" not in terminal  # one node: no bar


def test_no_progress_bar_when_stderr_is_not_a_terminal(fixture_node, workdir):
    for name in ("not_ready", "development"):
        fixture_node(name)
    result = run("check", ".", "-r", "-f", "json", *TODAY)
    assert result.exit_code == 0 and result.stderr == ""
