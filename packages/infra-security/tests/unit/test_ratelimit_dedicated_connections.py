"""Dedicated connections without a server: one caller per connection, nothing half-read reused, idle ones polled."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from infra_security.ratelimit._dedicated_connections import DedicatedConnections, can_dedicate


class _ReplyError(Exception):
    """Stands for redis-py's ResponseError: a whole error reply was read."""


class _Conn:
    """A connection double: counts what happens to it and can fail each step once."""

    def __init__(self, **_: Any) -> None:
        self.sent: list[Any] = []
        self.disconnects = 0
        self.polls = 0
        self.busy = False
        self.fail_read: BaseException | None = None
        self.readable: bool | BaseException = False
        self.overlaps = 0
        self.error_replies: list[BaseException] = []

    def pack_command(self, *args: Any) -> tuple[Any, ...]:
        return args

    def send_packed_command(self, packed: Any) -> None:
        if self.busy:
            self.overlaps += 1
        self.busy = True
        self.sent.append(packed)
        time.sleep(0)  # let another thread in, if it could get this connection

    def read_response(self) -> Any:
        self.busy = False
        if self.error_replies:
            raise self.error_replies.pop(0)
        if self.fail_read is not None:
            exc, self.fail_read = self.fail_read, None
            raise exc
        return len(self.sent)

    def can_read(self) -> bool:
        self.polls += 1
        if isinstance(self.readable, BaseException):
            raise self.readable
        return self.readable

    def disconnect(self) -> None:
        self.disconnects += 1


class _Pool:
    def __init__(self) -> None:
        self.connection_kwargs: dict[str, Any] = {}
        self.made: list[_Conn] = []

    def connection_class(self, **kwargs: Any) -> _Conn:
        conn = _Conn(**kwargs)
        self.made.append(conn)
        return conn


class TestExchange:
    def test_one_connection_is_reused_by_one_caller(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        assert [conns.exchange("s", pool, b"x") for _ in range(3)] == [1, 2, 3]
        assert len(pool.made) == 1

    def test_a_failed_read_disconnects_before_the_connection_is_used_again(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("s", pool, b"x")
        conn = pool.made[0]
        conn.fail_read = TimeoutError("late reply")
        with pytest.raises(TimeoutError):
            conns.exchange("s", pool, b"y")
        assert conn.disconnects == 1  # the late reply can never be read as the next command's answer

    @pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("bug")])
    def test_any_interruption_disconnects(self, exc: BaseException) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("s", pool, b"x")
        pool.made[0].fail_read = exc
        with pytest.raises(type(exc)):
            conns.exchange("s", pool, b"y")
        assert pool.made[0].disconnects == 1

    def test_an_error_reply_keeps_the_connection(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("s", pool, b"x")
        pool.made[0].fail_read = _ReplyError("NOSCRIPT")
        with pytest.raises(_ReplyError):
            conns.exchange("s", pool, b"y")
        assert pool.made[0].disconnects == 0 and conns.exchange("s", pool, b"z") == 3

    def test_servers_get_their_own_connections(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("a", pool, b"x")
        conns.exchange("b", pool, b"x")
        assert len(pool.made) == 2

    def test_concurrent_callers_never_share_a_connection(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        go = threading.Barrier(8)

        def run() -> None:
            go.wait()
            for _ in range(300):
                conns.exchange("s", pool, b"x")

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(len(c.sent) for c in pool.made) == 8 * 300
        assert sum(c.overlaps for c in pool.made) == 0
        assert 1 <= len(pool.made) <= 8


class TestExchangeMany:
    def test_one_write_and_an_error_reply_in_its_place(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("s", pool, [b"warm"])
        conn = pool.made[0]
        conn.error_replies = [_ReplyError("NOSCRIPT")]
        replies = conns.exchange_many("s", pool, [[b"a"], [b"b", b"c"], [b"d"]])
        assert conn.sent[-1] == [b"abcd"]  # the whole pipeline in one write
        assert isinstance(replies[0], _ReplyError) and replies[1:] == [2, 2]
        assert conn.disconnects == 0  # every reply read: still in step

    def test_a_failure_midway_disconnects_and_raises(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("s", pool, [b"warm"])
        pool.made[0].fail_read = TimeoutError("stalled")
        with pytest.raises(TimeoutError):
            conns.exchange_many("s", pool, [[b"a"], [b"b"]])
        assert pool.made[0].disconnects == 1  # the replies still owed are never read by a later caller


class TestIdle:
    def test_a_busy_connection_is_not_polled(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError, idle_check=60.0)
        for _ in range(5):
            conns.exchange("s", pool, b"x")
        assert pool.made[0].polls == 0

    @pytest.mark.parametrize("readable", [True, ConnectionError("Connection closed by server.")])
    def test_an_idle_connection_closed_by_the_server_is_reopened_before_sending(
        self, readable: bool | BaseException
    ) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError, idle_check=0.0)
        conns.exchange("s", pool, b"x")
        conn = pool.made[0]
        conn.readable = readable  # stray bytes, or EOF (redis-py's poll raises on it)
        time.sleep(0.001)
        assert conns.exchange("s", pool, b"y") == 2
        assert conn.polls == 1 and conn.disconnects == 1  # disconnected first; the send reconnects


class TestClose:
    def test_close_disconnects_the_idle_ones_and_forget_drops_them_untouched(self) -> None:
        pool, conns = _Pool(), DedicatedConnections(_ReplyError)
        conns.exchange("a", pool, b"x")
        conns.close()
        assert pool.made[0].disconnects == 1
        conns.exchange("a", pool, b"x")
        conns.forget()  # what a forked child does: the parent's sockets are not closed from the child
        conns.exchange("a", pool, b"x")
        assert len(pool.made) == 3 and pool.made[1].disconnects == 0


class TestCanDedicate:
    def test_a_plain_pool_can_and_builds_nothing_connected(self) -> None:
        pool = _Pool()
        assert can_dedicate(pool) and pool.made[0].sent == []

    def test_no_pool_or_settings_its_class_refuses_cannot(self) -> None:
        class Refusing(_Pool):
            def connection_class(self, **kwargs: Any) -> _Conn:
                raise TypeError("unexpected keyword argument 'cache'")

        assert not can_dedicate(None)
        assert not can_dedicate(object())
        assert not can_dedicate(Refusing())
