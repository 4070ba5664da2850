"""The CLI: db init/check, stats, dead, cleanup, relay; bad input is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from infra_outbox import Outbox
from infra_outbox.__about__ import __version__
from infra_outbox.cli import app
from infra_outbox.db import make_engine

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert invoke("db", "init", "--db", url)[0] == 0
    return url


class TestCli:
    def test_version(self) -> None:
        code, out, _ = invoke("--version")
        assert code == 0
        assert out.strip() == "infra-outbox " + __version__

    def test_no_args_shows_help(self) -> None:
        assert "Usage" in runner.invoke(app, []).output

    def test_db_init_is_idempotent(self, url: str) -> None:
        code, out, _ = invoke("db", "init", "--db", url, "--format", "json")
        assert (code, json.loads(out)) == (0, {"created": []})
        assert invoke("db", "check", "--db", url)[0] == 0

    def test_stats_json(self, url: str) -> None:
        engine = make_engine(url)
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic="t", key="k", event_type="e", payload={})
        code, out, _ = invoke("stats", "--db", url, "--format", "json")
        assert code == 0
        assert json.loads(out)["pending"] == 1
        assert "pending" in invoke("stats", "--db", url)[1]

    def test_dead_commands(self, url: str) -> None:
        engine = make_engine(url)
        with engine.begin() as conn:
            Outbox().enqueue(conn, topic="t", key="k", event_type="e", payload={})
            conn.execute(
                text(
                    "INSERT INTO infra_outbox_held SELECT id, shard, event_id, event_type, topic, key, seq, "
                    "aggregate_id, payload, content_type, headers, created_at, 'dead', 1, 0, 'boom', NULL, 0 "
                    "FROM infra_outbox_log"
                )
            )
        code, out, _ = invoke("dead", "list", "--db", url, "--format", "json")
        assert code == 0
        [row] = json.loads(out)
        assert row["last_error"] == "boom"
        assert "boom" in invoke("dead", "list", "--db", url)[1]
        assert invoke("dead", "replay", "--db", url, "--id", str(row["id"]))[1].strip() == "replay: 1 event(s)"
        code, _, err = invoke("dead", "skip", "--db", url, "--key", "k")
        assert code == 2
        assert "no dead event matches key 'k'" in err

    def test_cleanup(self, url: str) -> None:
        code, out, _ = invoke("cleanup", "--db", url, "--retention", "0", "--format", "json")
        assert (code, json.loads(out)) == (0, {"retired": 0})


class TestBadInput:
    @pytest.mark.parametrize(
        ("db", "message"),
        [
            ("not a url", "is not a SQLAlchemy URL"),
            ("mysql://u@h/db", "supports postgresql, sqlite"),
            ("sqlite:////nonexistent/dir/x.db", "cannot connect"),
            ("postgresql+psycopg://u@127.0.0.1:1/x", "cannot connect"),
        ],
    )
    def test_wrong_db_url(self, db: str, message: str) -> None:
        if db.startswith("postgresql"):
            pytest.importorskip("psycopg", reason="needs the postgres extra")
        code, _, err = invoke("stats", "--db", db)
        assert code == 2
        assert message in err
        assert "Traceback" not in err

    def test_missing_tables(self, tmp_path: Path) -> None:
        code, _, err = invoke("stats", "--db", f"sqlite:///{tmp_path / 'empty.db'}")
        assert code == 2
        assert "run `infra-outbox db init" in err

    def test_older_schema(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'old.db'}"
        invoke("db", "init", "--db", url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE infra_outbox_held DROP COLUMN dead_letter"))
        code, _, err = invoke("db", "check", "--db", url)
        assert code == 1
        assert "older schema: it lacks column(s) dead_letter" in err
        code, _, err = invoke("relay", "--db", url, "--bootstrap-servers", "127.0.0.1:1", "--once")
        assert code == 2
        assert "lacks column(s) dead_letter" in err

    def test_schema_1_database_is_told_to_migrate(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'v1.db'}"
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE infra_outbox (id INTEGER PRIMARY KEY, status VARCHAR(16))"))
        for command in (["db", "check"], ["stats"], ["db", "init"]):
            code, _, err = invoke(*command, "--db", url)
            assert code in (1, 2), command
            assert "run `infra-outbox db migrate" in err, command

    def test_bad_bootstrap(self, url: str) -> None:
        code, _, err = invoke("relay", "--db", url, "--bootstrap-servers", "a b", "--once")
        assert code == 2
        assert "bootstrap" in err

    def test_unreachable_broker_with_once_is_not_bad_input(self, url: str) -> None:
        code, _, err = invoke(
            "relay", "--db", url, "--bootstrap-servers", "127.0.0.1:1", "--once", "--broker-timeout", "1"
        )
        assert code == 1  # a server that is down is not the user's input
        assert "no Kafka broker answered at '127.0.0.1:1'" in err
        assert "Traceback" not in err

    @pytest.mark.parametrize("port", ["99999", "0", "-1"])
    def test_metrics_port_out_of_range(self, url: str, port: str) -> None:
        result = runner.invoke(app, ["relay", "--db", url, "--bootstrap-servers", "h:1", "--metrics-port", port])
        assert result.exit_code == 2
        assert "--metrics-port" in result.stderr
        assert "Traceback" not in result.stderr

    def test_metrics_port_busy(self, url: str) -> None:
        pytest.importorskip("prometheus_client", reason="needs the metrics extra")
        import socket

        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            code, _, err = invoke("relay", "--db", url, "--bootstrap-servers", "h:1", "--metrics-port", str(port))
        assert code == 2
        assert f"cannot serve metrics on 127.0.0.1:{port}" in err
        assert "Traceback" not in err

    @pytest.mark.parametrize("name", ["has space", "x" * 250, ".."])
    def test_invalid_dead_letter_topic(self, url: str, name: str) -> None:
        code, _, err = invoke("relay", "--db", url, "--bootstrap-servers", "h:1", "--dead-letter-topic", name)
        assert code == 2
        assert "not a valid Kafka topic name" in err


class TestRelayWaitsForServers:
    """A relay started while the database or the broker is down waits (with a log line); it does not exit 2."""

    @staticmethod
    def _start(*args: str) -> tuple[int | None, str]:
        import subprocess
        import sys
        import time

        proc = subprocess.Popen(
            [sys.executable, "-m", "infra_outbox", "relay", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4.0)
        code = proc.poll()
        proc.terminate()
        _, err = proc.communicate(timeout=20)
        return code, err

    def test_database_down(self) -> None:
        pytest.importorskip("psycopg", reason="needs the postgres extra")
        code, err = self._start("--db", "postgresql+psycopg://u@127.0.0.1:1/x", "--bootstrap-servers", "h:1")
        assert code is None, err  # still running after 4 s
        assert "waiting for the database: cannot connect to" in err
        assert "Traceback" not in err

    def test_broker_down(self, url: str) -> None:
        code, err = self._start("--db", url, "--bootstrap-servers", "127.0.0.1:1", "--broker-timeout", "0.5")
        assert code is None, err
        assert "waiting for Kafka: no Kafka broker answered at '127.0.0.1:1'" in err
        assert "Traceback" not in err
