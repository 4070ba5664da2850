"""infra-outbox on the shared CLI kit: the JSON error envelope, one retention option name, the missing-table hint."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from infra_outbox.cli import app

runner = CliRunner()


def test_missing_tables_under_json_is_the_envelope(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    result = runner.invoke(app, ["stats", "--db", url, "-f", "json"])
    assert result.exit_code == 2 and result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "outbox.schema_missing" and "db init" in error["hint"]
    text = runner.invoke(app, ["stats", "--db", url])
    assert text.exit_code == 2 and text.stdout == "" and text.stderr.startswith("error: ")
    assert text.stderr.count("\n") == 1


def test_cleanup_takes_retention_like_relay(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    assert runner.invoke(app, ["db", "init", "--db", url]).exit_code == 0
    for option in ("--retention", "--older-than"):  # --older-than: the hidden, deprecated spelling
        result = runner.invoke(app, ["cleanup", "--db", url, option, "0", "-f", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout) == {"retired": 0}
    shown = runner.invoke(app, ["cleanup", "--help"]).stdout
    assert "--retention" in shown and "--older-than" not in shown
