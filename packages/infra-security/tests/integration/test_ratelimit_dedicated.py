"""Decisions on dedicated connections against real Redis: exact under contention and fork, no reply read twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from typing import Any

import pytest
import redis

from infra_models.security import RateLimitPolicy
from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._dedicated_connections import IDLE_CHECK
from infra_security.ratelimit._limiter import RateLimiter
from infra_security.ratelimit._redis import RedisBackend

from .ratelimit_contention import KEYS, LIMIT, run_contenders

pytestmark = pytest.mark.integration

BIG = RateLimitPolicy(name="p", limit=1_000_000, period_seconds=86_400, algorithm="sliding_window")


def prefix() -> str:
    return f"rld-{uuid.uuid4().hex[:10]}:"


def clients_of(observer: redis.Redis) -> int:
    """Normal (not replica, not pubsub) client connections the server has now, the observer's own included."""
    return len(observer.client_list(_type="normal"))


def clients_once_settled(observer: redis.Redis, expected: int, within: float = 5.0) -> int:
    """``clients_of`` once it shows ``expected`` or ``within`` seconds passed: Redis notices a closed socket on its
    next event-loop turn, so CLIENT LIST sent right after a close may still list it (seen under load in CI)."""
    deadline = time.monotonic() + within
    count = clients_of(observer)
    while count != expected and time.monotonic() < deadline:
        time.sleep(0.01)
        count = clients_of(observer)
    return count


class TestExactness:
    @pytest.mark.timeout(180)
    @pytest.mark.parametrize("algorithm", ["gcra", "sliding_window"])
    def test_four_processes_of_eight_threads_admit_exactly_the_limit_per_key(
        self, redis_url: str, algorithm: str
    ) -> None:
        total, _ = run_contenders(RedisBackend, redis_url, prefix(), algorithm)
        assert dict(total) == {f"k{i}": LIMIT for i in range(KEYS)}

    @pytest.mark.timeout(120)
    def test_children_forked_after_use_never_share_the_parents_connection(self, redis_url: str) -> None:
        backend = RedisBackend.from_url(redis_url, prefix=prefix(), local_cache=False)
        limiter = RateLimiter(default=BIG, backend=backend, on_backend_error="raise")
        first = limiter.hit(client="c", endpoint="e")  # the parent's dedicated connection is now open
        assert first.remaining == 999_999
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        go = ctx.Barrier(4)

        def child() -> None:
            go.wait()
            out.put([limiter.hit(client="c", endpoint="e").remaining for _ in range(300)])

        procs = [ctx.Process(target=child) for _ in range(3)]
        for p in procs:
            p.start()
        go.wait()
        mine = [limiter.hit(client="c", endpoint="e").remaining for _ in range(300)]
        seen = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        everything = sorted(mine + [r for rs in seen for r in rs])
        # Each decision got its own answer: 1200 distinct counts, no reply read by two processes or lost.
        assert everything == list(range(999_999 - 1200, 999_999))


class TestNoReplyReadTwice:
    @pytest.mark.timeout(30)
    def test_a_late_reply_is_never_taken_for_the_next_decisions_answer(self, own_redis: Any) -> None:
        backend = RedisBackend.from_url(own_redis.url, prefix=prefix(), local_cache=False, timeout=0.3)
        limiter = RateLimiter(default=BIG, backend=backend, on_backend_error="raise")
        assert limiter.hit(client="c", endpoint="e").remaining == 999_999
        pid = own_redis.process.pid
        os.kill(pid, signal.SIGSTOP)  # this test's own Redis: it takes the command and answers after 0.5 s
        timer = threading.Timer(0.5, os.kill, (pid, signal.SIGCONT))
        timer.start()
        try:
            with pytest.raises(RateLimitBackendError, match=r"(?i)time"):
                limiter.hit(client="c", endpoint="e")
        finally:
            timer.join()
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.3)  # the stalled decision has run and its reply has been written to the old socket
        # Its own answer (3 recorded), not the stalled one's late reply (2 recorded) left on the connection.
        assert limiter.hit(client="c", endpoint="e").remaining == 999_997


class TestServerClosedConnections:
    @pytest.mark.timeout(30)
    def test_a_connection_closed_while_idle_is_reopened_and_the_decision_counts(self, own_redis: Any) -> None:
        limiter = RateLimiter(
            default=BIG,
            backend=RedisBackend.from_url(own_redis.url, prefix=prefix(), local_cache=False),
            on_backend_error="raise",
        )
        assert limiter.hit(client="c", endpoint="e").remaining == 999_999
        killer = redis.Redis.from_url(own_redis.url)
        assert killer.client_kill_filter(_type="normal", skipme=True) >= 1  # as a server `timeout` or a proxy does
        time.sleep(IDLE_CHECK + 0.1)
        decision = limiter.hit(client="c", endpoint="e")
        assert decision.allowed and not decision.degraded and decision.remaining == 999_998

    @pytest.mark.timeout(30)
    def test_a_connection_closed_under_a_busy_caller_fails_one_decision_that_never_ran(self, own_redis: Any) -> None:
        limiter = RateLimiter(
            default=BIG,
            backend=RedisBackend.from_url(own_redis.url, prefix=prefix(), local_cache=False),
            on_backend_error="closed",
        )
        assert limiter.hit(client="c", endpoint="e").remaining == 999_999
        redis.Redis.from_url(own_redis.url).client_kill_filter(_type="normal", skipme=True)
        failed = limiter.hit(client="c", endpoint="e")  # used again at once: not polled, the send finds it closed
        assert failed.degraded and not failed.allowed
        assert limiter.hit(client="c", endpoint="e").remaining == 999_998  # reconnected; the failed one not counted

    def test_close_releases_the_backends_connections(self, own_redis: Any) -> None:
        backend = RedisBackend.from_url(own_redis.url, prefix=prefix())
        limiter = RateLimiter(default=BIG, backend=backend)
        observer = redis.Redis.from_url(own_redis.url)
        assert limiter.hit(client="c", endpoint="e").allowed  # (the first also loads the script, on the pool)
        open_now = clients_of(observer)
        backend.close()
        # the dedicated connection closes; the client's pool is the caller's
        assert clients_once_settled(observer, open_now - 1) == open_now - 1
        assert limiter.hit(client="c", endpoint="e").remaining == 999_998  # usable again after close
