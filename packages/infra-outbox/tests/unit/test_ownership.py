"""Shard ownership: fair shares, takeover of a dead relay's shards after the lease, fenced cursor writes."""

from __future__ import annotations

from sqlalchemy import Engine, select

from infra_outbox import Outbox, Relay, RelaySettings
from infra_outbox.tables import shards

from .conftest import Clock, FakeProducer


def relay(engine: Engine, clock: Clock, producer: FakeProducer | None = None) -> Relay:
    return Relay(
        engine,
        {"bootstrap_servers": "h:9", "message_timeout_ms": 10_000},
        settings=RelaySettings(lease_seconds=40, batch_size=5),
        producer=producer or FakeProducer(),
        clock=clock,  # type: ignore[arg-type]
    )


def owners(engine: Engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        return {int(s): o for s, o in conn.execute(select(shards.c.shard, shards.c.owner))}


class TestOwnership:
    def test_relays_share_the_shards_fairly(self, engine: Engine, clock: Clock) -> None:
        first, second = relay(engine, clock), relay(engine, clock)
        first.run_once()
        assert len(first.ownership.owned) == 16
        second.run_once()  # registers; owns nothing yet: the first still holds every shard
        clock.advance(11)  # a heartbeat later the first gives up its extra shards
        first.run_once()
        second.run_once()
        assert len(first.ownership.owned) == len(second.ownership.owned) == 8
        assert set(first.ownership.owned).isdisjoint(second.ownership.owned)

    def test_dead_relays_shards_are_taken_after_the_lease(self, engine: Engine, clock: Clock) -> None:
        dead, alive = relay(engine, clock), relay(engine, clock)
        dead.run_once()
        alive.run_once()
        clock.advance(11)
        dead.run_once()
        alive.run_once()
        assert len(alive.ownership.owned) == 8
        clock.advance(20)  # the dead relay stopped heartbeating 20 s ago: its leases last 40 s
        alive.run_once()
        assert len(alive.ownership.owned) == 8
        clock.advance(25)
        alive.run_once()
        assert len(alive.ownership.owned) == 16
        assert set(owners(engine).values()) == {alive.relay_id}

    def test_a_relay_that_lost_its_shards_cannot_move_their_cursors(self, engine: Engine, clock: Clock) -> None:
        stale_producer, new_producer = FakeProducer(), FakeProducer()
        stale = relay(engine, clock, stale_producer)
        stale.run_once()
        clock.advance(50)  # stale paused past its lease; another relay takes over
        successor = relay(engine, clock, new_producer)
        successor.run_once()
        assert len(successor.ownership.owned) == 16
        with engine.begin() as conn:
            for i in range(10):
                Outbox(clock=clock).enqueue(conn, topic="t", key=f"k{i}", event_type="e", payload=i)
        stale.ownership.lease_until = clock.now + 100  # it still believes it owns the shards
        stale._next_heartbeat = clock.now + 100  # and does not heartbeat before its next page
        report = stale.run_once()
        assert report.fenced == 1  # its cursor write was refused
        assert stale.ownership.owned == {}
        assert len(stale_producer.delivered) > 0  # it did send (at least once): only its cursor write failed
        successor.drain()
        assert len(new_producer.delivered) == 10  # the successor's cursors were not moved by the stale relay

    def test_clean_stop_gives_shards_back_at_once(self, engine: Engine, clock: Clock) -> None:
        first = relay(engine, clock)
        first.run_once()
        first.close()
        assert set(owners(engine).values()) == {None}
        second = relay(engine, clock)
        second.run_once()
        assert len(second.ownership.owned) == 16

    def test_a_cursor_never_moves_back_when_a_group_mixes_shards_at_different_positions(
        self, engine: Engine, clock: Clock
    ) -> None:
        """A shard taken over ahead of the others must keep its cursor when pages of the others are recorded."""
        from sqlalchemy import text, update

        from infra_outbox.outbox import shard_of

        others = [k for k in (f"k{i}" for i in range(40)) if shard_of("t", k, 16) != shard_of("t", "a", 16)][:5]
        with engine.begin() as conn:
            box = Outbox(clock=clock)
            for i in range(10):
                box.enqueue(conn, topic="t", key=others[i % 5], event_type="e", payload=i)  # ids 1-10
            for i in range(3):
                box.enqueue(conn, topic="t", key="a", event_type="e", payload=100 + i)  # ids 11-13
            # Another relay already published key "a" (ids 11-13) before this one takes its shard over.
            conn.execute(update(shards).where(shards.c.shard == shard_of("t", "a", 16)).values(last_id=13))
        producer = FakeProducer()
        relay(engine, clock, producer).drain()
        assert sorted(int(m["value"]) for m in producer.delivered) == list(range(10))
        with engine.connect() as conn:
            cursor = conn.execute(
                text("SELECT last_id FROM infra_outbox_shards WHERE shard = :s"), {"s": shard_of("t", "a", 16)}
            ).scalar_one()
        assert cursor == 13  # not moved back to a page of the other shards
        from infra_outbox.admin import outbox_stats

        assert outbox_stats(engine, now=clock.now).pending == 0
