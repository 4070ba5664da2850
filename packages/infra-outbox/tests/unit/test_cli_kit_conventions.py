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
    assert error["code"] == "outbox.schema_missing" and "db init" in f"{error['message']} {error['hint']}"
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


SERVE = """
import socket, sys, urllib.request
from infra_outbox.relay_cli import _serve_metrics
from infra_outbox.errors import OutboxError

if sys.argv[1:] == ["busy"]:  # a fresh process: metrics register once per process
    busy = socket.socket(); busy.bind(("127.0.0.1", 0)); busy.listen()
    try:
        _serve_metrics(busy.getsockname()[1], "127.0.0.1")
    except OutboxError as exc:
        print(exc.code, "cannot serve metrics on 127.0.0.1:" in exc.message)
    sys.exit(0)
free = socket.socket(); free.bind(("127.0.0.1", 0)); port = free.getsockname()[1]; free.close()
_serve_metrics(port, "127.0.0.1")
health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
print(health.status, health.read().decode().strip())
body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
print("infra_outbox_pending" in body)
"""


def test_metrics_server_answers_healthz_and_metrics_and_names_a_busy_port() -> None:
    import subprocess
    import sys

    import pytest

    pytest.importorskip("prometheus_client", reason="needs the metrics extra")
    done = subprocess.run([sys.executable, "-c", SERVE], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["200 ok", "True"]
    busy = subprocess.run(
        [sys.executable, "-c", SERVE, "busy"], capture_output=True, text=True, timeout=60, check=False
    )
    assert busy.stdout.strip() == "outbox.metrics_port True", busy.stderr


def test_relay_offers_a_metrics_address() -> None:
    shown = runner.invoke(app, ["relay", "--help"]).stdout
    assert "--metrics-addr" in shown and "--metrics-port" in shown
