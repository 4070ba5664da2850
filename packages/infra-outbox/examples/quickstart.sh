#!/usr/bin/env bash
# infra-outbox on its embedded default (SQLite): events written in business transactions, one rolled back,
# then `infra-outbox stats` shows what a relay would publish. No server needed.
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export INFRA_OUTBOX_DB="sqlite:///$work/shop.db"

infra-outbox db init

python - <<'PY'
import os

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

from infra_outbox import Outbox

engine = create_engine(os.environ["INFRA_OUTBOX_DB"])
orders = Table("orders", MetaData(), Column("id", Integer, primary_key=True), Column("item", String(50)))
orders.create(engine)
outbox = Outbox()

for order_id, item in [(1, "book"), (2, "lamp")]:
    with engine.begin() as conn:  # the order and its event commit together
        conn.execute(orders.insert().values(id=order_id, item=item))
        outbox.enqueue(conn, topic="orders", key=str(order_id), event_type="order_placed",
                       payload={"id": order_id, "item": item})
        print(f"committed order {order_id} with its order_placed event")

conn = engine.connect()
transaction = conn.begin()
conn.execute(orders.insert().values(id=3, item="vase"))
outbox.enqueue(conn, topic="orders", key="3", event_type="order_placed", payload={"id": 3, "item": "vase"})
transaction.rollback()  # payment failed: the order and its event vanish together
conn.close()
print("rolled back order 3: its event is gone too")

with engine.begin() as conn:
    outbox.enqueue(conn, topic="orders", key="1", event_type="order_shipped", payload={"id": 1})
    print("committed order_shipped for order 1 (sequence 2 of key '1')")
PY

echo
infra-outbox stats
pending="$(infra-outbox stats --format json | python -c 'import json, sys; print(json.load(sys.stdin)["pending"])')"
if [ "$pending" != "3" ]; then
  echo "expected 3 pending events (the rolled-back one must not be there), got $pending" >&2
  exit 1
fi
echo "3 events wait for a relay: infra-outbox relay --db \$INFRA_OUTBOX_DB --bootstrap-servers HOST:9092"
