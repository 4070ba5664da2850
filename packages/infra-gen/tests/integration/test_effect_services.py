"""The generated EFFECT node, installed in a fresh venv, wired by its own ``wiring.build_node`` to the REAL
``infra_security.CredentialManager`` on the launcher's OpenBao and the REAL ``infra_outbox.Outbox`` on SQLite and
PostgreSQL: the credential read from Vault reaches the client, and the event row is written in the caller's
transaction (committed with it, gone when it rolls back)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).with_name("effect_against_services.py")


def drive(python: Path, run: Any, db_url: str, vault_addr: str, vault_token: str) -> dict[str, Any]:
    service = f"ig_{uuid.uuid4().hex[:12]}"
    done = run(str(python), str(DRIVER), db_url, vault_addr, service, env={"VAULT_TOKEN": vault_token})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["service"] = service
    return result


def assert_wired(result: dict[str, Any]) -> None:
    service = result["service"]
    assert result["credentials"] == [result["secret"], result["secret"]]  # read from OpenBao, cached after
    assert result["orders"] == ["committed"]
    assert result["events"] == [
        {
            "topic": "onex.evt.infrastructure.vault-adapter-completed.v1",
            "key": f"{service}/committed",
            "event_type": "vault_adapter.completed",
            "payload": result["output"],
        }
    ]
    assert result["output"]["data"] == {"echo": f"{service}/committed"}
    assert result["health"] == {"status": "ok", "circuit": "closed"}


def test_effect_node_on_openbao_and_sqlite_outbox(
    installed: tuple[Path, list[Path]], run: Any, tmp_path: Path, vault_addr: str, vault_token: str
) -> None:
    python, _ = installed
    assert_wired(drive(python, run, f"sqlite:///{tmp_path / 'app.db'}", vault_addr, vault_token))


def test_effect_node_on_openbao_and_postgres_outbox(
    installed: tuple[Path, list[Path]], run: Any, postgres_url: str, vault_addr: str, vault_token: str
) -> None:
    python, _ = installed
    database = f"ig_effect_{uuid.uuid4().hex[:10]}"  # a database of its own: the outbox tables are not shared
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        url = make_url(postgres_url).set(database=database).render_as_string(hide_password=False)
        assert_wired(drive(python, run, url, vault_addr, vault_token))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
