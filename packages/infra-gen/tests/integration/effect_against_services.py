"""Run inside the generated nodes' venv: the EFFECT node from ``wiring.build_node`` on the REAL CredentialManager
(OpenBao) and the REAL Outbox (SQLAlchemy), one committed call and one rolled back; prints what happened as JSON.

Usage: python effect_against_services.py DB_URL VAULT_ADDR SERVICE  (VAULT_TOKEN in the environment)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import hvac
from sqlalchemy import Column, MetaData, String, Table, create_engine, select
from vault_adapter.models import VaultAdapterConfig, VaultAdapterInput
from vault_adapter.wiring import build_node

import infra_outbox.tables as outbox_tables
from infra_outbox.tables import create_all

db_url, vault_addr, service = sys.argv[1:4]
secret = f"s3cret-{service}"
hvac.Client(url=vault_addr, token=os.environ["VAULT_TOKEN"]).secrets.kv.v2.create_or_update_secret(
    path=service, secret={"api_key": secret}, mount_point="secret"
)


class RecordingClient:
    """The external system: records the credential each call carried."""

    def __init__(self) -> None:
        self.credentials: list[str] = []

    async def send(self, request: VaultAdapterInput, *, credential: str, timeout: float) -> dict[str, str]:
        self.credentials.append(credential)
        return {"echo": request.resource}


class RollbackError(Exception):
    """Raised to roll the caller's transaction back."""


engine = create_engine(db_url)
create_all(engine)
orders = Table(f"orders_{service}", MetaData(), Column("id", String(40), primary_key=True))
orders.metadata.create_all(engine)

client = RecordingClient()
config = VaultAdapterConfig(vault_url=vault_addr, service_name=service, credential_name="api_key")
node = build_node(client, config=config)
with engine.begin() as conn:  # the caller's transaction: business row and event commit together
    conn.execute(orders.insert().values(id="committed"))
    output = asyncio.run(
        node.execute(VaultAdapterInput(operation="read", resource=f"{service}/committed"), session=conn)
    )
try:
    with engine.begin() as conn:  # rolled back after the call: neither the row nor the event may remain
        conn.execute(orders.insert().values(id="rolled-back"))
        asyncio.run(node.execute(VaultAdapterInput(operation="read", resource=f"{service}/rolled-back"), session=conn))
        raise RollbackError
except RollbackError:
    """Raised to roll the caller's transaction back."""

# The outbox's table: `events` in infra-outbox 0.1, the insert-only `log` since its log redesign.
events = getattr(outbox_tables, "events", None)
if events is None:
    events = outbox_tables.log
with engine.connect() as conn:
    rows = conn.execute(
        select(events.c.topic, events.c.key, events.c.event_type, events.c.payload).where(
            events.c.key.like(f"{service}/%")
        )
    ).all()
    order_ids = sorted(conn.execute(select(orders.c.id)).scalars())
    orders.drop(conn)
    conn.commit()
result: dict[str, Any] = {
    "secret": secret,
    "credentials": client.credentials,
    "output": output.model_dump(mode="json"),
    "events": [{"topic": t, "key": k, "event_type": e, "payload": json.loads(bytes(p))} for t, k, e, p in rows],
    "orders": order_ids,
    "health": node.health(),
}
print(json.dumps(result))
