"""infra-gen on the shared CLI kit: the JSON error envelope, -o/--output, and diffs that stay valid patches."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from infra_gen.cli import app

runner = CliRunner()


def test_bad_name_under_json_is_the_error_envelope(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "compute", "class", "-o", str(tmp_path), "-f", "json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "gen.name.invalid" and "Python keyword" in error["message"]
    assert error["hint"] == "try `class_node`"
    assert result.stderr == "" and not any(tmp_path.iterdir())


def test_bad_name_in_text_is_one_line_on_stderr(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "compute", "class", "-o", str(tmp_path)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: invalid node name 'class'") and result.stderr.count("\n") == 1


def test_missing_name_without_a_terminal_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["node", "compute", "-o", str(tmp_path), "--format", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"] == "missing NAME"


def test_piped_diff_is_not_wrapped(tmp_path: Path) -> None:
    assert runner.invoke(app, ["node", "compute", "order_totals", "-o", str(tmp_path)]).exit_code == 0
    node = next(tmp_path.rglob("node.py"))
    long_line = "# " + "x" * 300
    node.write_text(node.read_text() + long_line + "\n")
    result = runner.invoke(
        app, ["node", "compute", "order_totals", "-o", str(tmp_path), "--dry-run", "--on-conflict", "overwrite"]
    )
    assert result.exit_code == 0, result.output
    assert f"-{long_line}\n" in result.stdout  # the removed line, whole, on one line: a patch tool can apply it
    diff = result.stdout[result.stdout.index("--- ") :]
    assert all(line[:1] in {" ", "+", "-", "@", "\\"} for line in diff.splitlines()), diff
