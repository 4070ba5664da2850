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


def test_a_topic_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    """The topic rule is infra_models.topics' (fullmatch): `^...$` once let "orders\\n" through."""
    import pytest

    from infra_outbox import Outbox
    from infra_outbox.db import make_engine
    from infra_outbox.errors import OutboxError
    from infra_outbox.outbox import valid_topic
    from infra_outbox.tables import create_all

    assert valid_topic("orders") and not valid_topic("orders\n") and not valid_topic("..")
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    create_all(engine)
    with engine.begin() as conn, pytest.raises(OutboxError, match="not a valid Kafka topic name"):
        Outbox().enqueue(conn, topic="orders\n", payload={"id": 1}, event_type="t")
