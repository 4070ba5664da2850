"""Inbox: each event processed once per consumer, inside the consumer's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from infra_outbox import Inbox, read_headers

from .conftest import Clock


class TestInbox:
    def test_first_time_then_duplicate(self, engine: Engine, clock: Clock) -> None:
        inbox = Inbox("billing", clock=clock)
        headers = [("event_id", b"e-1"), ("event_seq", b"3"), ("event_type", b"paid")]
        with engine.begin() as conn:
            assert inbox.first_time(conn, headers) is True
        with engine.begin() as conn:
            assert inbox.first_time(conn, headers) is False
            assert inbox.seen(conn, "e-1")
        assert Inbox("shipping").first_time  # another consumer has its own marks
        with engine.begin() as conn:
            assert Inbox("shipping").first_time(conn, "e-1") is True

    def test_rollback_forgets_the_mark(self, engine: Engine) -> None:
        inbox = Inbox("billing")
        with engine.connect() as conn:
            transaction = conn.begin()
            inbox.first_time(conn, "e-2")
            transaction.rollback()  # processing failed
        with engine.begin() as conn:
            assert inbox.first_time(conn, "e-2") is True

    def test_forget_older_than(self, engine: Engine, clock: Clock) -> None:
        inbox = Inbox("billing", clock=clock)
        with engine.begin() as conn:
            for i in range(5):
                inbox.first_time(conn, f"old-{i}")
        clock.advance(100)
        with engine.begin() as conn:
            inbox.first_time(conn, "new")
        assert inbox.forget_older_than(engine, 50, batch_size=2) == 5
        with engine.connect() as conn:
            assert inbox.seen(conn, "new")

    def test_headers(self) -> None:
        parsed = read_headers([("event_id", b"x"), ("event_seq", b"7"), ("other", b"y")])
        assert (parsed.event_id, parsed.seq) == ("x", 7)
        with pytest.raises(ValueError, match="no `event_id` header"):
            read_headers([("other", b"y")])
