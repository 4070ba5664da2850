"""The Redis backend against the launcher's Redis (and one of its own for the outage test)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio

from infra_models.security import RateLimitPolicy
from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._limiter import RateLimiter, RateLimitRule
from infra_security.ratelimit._memory import MemoryBackend
from infra_security.ratelimit._redis import RedisBackend, load_script

pytestmark = pytest.mark.integration


def prefix() -> str:
    return f"rl-test-{uuid.uuid4().hex[:10]}:"


def evalsha_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_evalsha", {}).get("calls", 0))


def _worker(url: str, key_prefix: str, barrier: Any, out: Any) -> None:
    limiter = RateLimiter(
        default=RateLimitPolicy(name="p", limit=1000, period_seconds=86_400, scope="global"),
        backend=RedisBackend(redis.Redis.from_url(url), prefix=key_prefix, local_cache=False),
    )
    barrier.wait()
    out.put(sum(limiter.hit().allowed for _ in range(1000)))


class TestExactness:
    def test_four_processes_admit_exactly_the_limit(self, redis_url: str) -> None:
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(4)
        out = ctx.Queue()
        key_prefix = prefix()
        procs = [ctx.Process(target=_worker, args=(redis_url, key_prefix, barrier, out)) for _ in range(4)]
        for p in procs:
            p.start()
        counts = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        assert sum(counts) == 1000

    @pytest.mark.parametrize("algorithm", ["gcra", "sliding_window"])
    def test_same_decisions_as_memory_with_injected_clock(self, redis_url: str, algorithm: str) -> None:
        now = [1_000_000.0]
        policy = RateLimitPolicy(name="p", limit=5, period_seconds=10, burst=2, algorithm=algorithm)
        memory = RateLimiter(default=policy, backend=MemoryBackend(clock=lambda: now[0]))
        on_redis = RateLimiter(
            default=policy,
            backend=RedisBackend(
                redis.Redis.from_url(redis_url), prefix=prefix(), local_cache=False, clock_us=lambda: int(now[0] * 1e6)
            ),
        )
        steps = [0.0] * 9 + [1.0, 0.5, 3.0, 0.0, 0.0, 10.0, 2.5, 0.1, 0.1, 0.1, 20.0, 0.0]
        for step in steps:
            now[0] += step
            a = memory.hit(client="c", endpoint="e")
            b = on_redis.hit(client="c", endpoint="e")
            assert (a.allowed, a.remaining) == (b.allowed, b.remaining), (now[0], a, b)
            assert a.retry_after == pytest.approx(b.retry_after, abs=1e-3)
            assert a.reset_after == pytest.approx(b.reset_after, abs=1e-3)


class TestRoundTrips:
    def test_one_evalsha_per_decision_and_none_for_known_over_limit_keys(self, redis_url: str) -> None:
        client = redis.Redis.from_url(redis_url)
        backend = RedisBackend(client, prefix=prefix())
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=3, period_seconds=3600), backend=backend)
        client.script_load(load_script())
        before = evalsha_calls(client)
        assert [limiter.hit(client="c", endpoint="e").allowed for _ in range(3)] == [True] * 3
        after_allowed = evalsha_calls(client)
        assert after_allowed - before == 3
        denied = [limiter.hit(client="c", endpoint="e") for _ in range(100)]
        assert not any(d.allowed for d in denied)
        assert evalsha_calls(client) == after_allowed  # exhausted after the 3rd: known locally, no round trip
        assert backend.local_rejections == 100
        assert 1100 < denied[-1].retry_after <= 1200
        assert limiter.hit(client="other", endpoint="e").allowed  # other keys unaffected

    def test_weight_and_headers(self, redis_url: str) -> None:
        limiter = RateLimiter(
            default=RateLimitPolicy(name="p", limit=10, period_seconds=60),
            backend=RedisBackend.from_url(redis_url, prefix=prefix()),
        )
        d = limiter.hit(client="c", endpoint="e", weight=4)
        assert d.allowed and d.remaining == 6
        assert d.headers()["RateLimit-Remaining"] == "6"

    def test_async_client(self, redis_url: str) -> None:
        backend = RedisBackend(
            redis.Redis.from_url(redis_url), async_client=redis.asyncio.Redis.from_url(redis_url), prefix=prefix()
        )
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=5, period_seconds=60), backend=backend)

        async def run() -> list[bool]:
            results = [(await limiter.ahit(client="c", endpoint="e")).allowed for _ in range(7)]
            await backend._async_client.aclose()
            return results

        assert asyncio.run(run()) == [True] * 5 + [False] * 2

    def test_shadow_mode_on_redis(self, redis_url: str) -> None:
        limiter = RateLimiter(
            default=RateLimitPolicy(name="p", limit=1, period_seconds=60, shadow=True),
            backend=RedisBackend.from_url(redis_url, prefix=prefix()),
        )
        decisions = [limiter.hit(client="c", endpoint="e") for _ in range(3)]
        assert all(d.allowed for d in decisions) and decisions[-1].exceeded


class TestRedisDown:
    @pytest.fixture
    def stopped(self, own_redis: Any) -> RedisBackend:
        client = redis.Redis.from_url(own_redis.url, socket_timeout=1, socket_connect_timeout=1)
        backend = RedisBackend(client, prefix=prefix())
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=5, period_seconds=60), backend=backend)
        assert limiter.hit(client="c", endpoint="e").allowed  # works while up
        own_redis.stop()  # by PID: this test's own Redis, not the shared one
        return backend

    def test_fail_open(self, stopped: RedisBackend) -> None:
        policy = RateLimitPolicy(name="p", limit=5, period_seconds=60)
        decision = RateLimiter(default=policy, backend=stopped, on_backend_error="open").hit(client="c", endpoint="e")
        assert decision.allowed and decision.degraded

    def test_fail_closed_per_rule(self, stopped: RedisBackend) -> None:
        policy = RateLimitPolicy(name="p", limit=5, period_seconds=60)
        limiter = RateLimiter([RateLimitRule(policy, endpoint="/admin", on_backend_error="closed")], backend=stopped)
        decision = limiter.hit(client="c", endpoint="/admin")
        assert not decision.allowed and decision.degraded and "Retry-After" in decision.headers()

    def test_raise(self, stopped: RedisBackend) -> None:
        policy = RateLimitPolicy(name="p", limit=5, period_seconds=60)
        limiter = RateLimiter(default=policy, backend=stopped, on_backend_error="raise")
        with pytest.raises(RateLimitBackendError, match="Redis rate-limit decision failed"):
            limiter.hit(client="c", endpoint="e")


class TestRedisHung:
    """Issue 14 defect 1: a SIGSTOPped Redis (accepts nothing, answers nothing) must not block ``hit()``."""

    @pytest.fixture
    def frozen(self, own_redis: Any) -> Any:
        yield own_redis
        os.kill(own_redis.process.pid, signal.SIGCONT)  # this test's own Redis, never the shared one

    def _limiter(self, backend: RedisBackend, mode: str) -> RateLimiter:
        return RateLimiter(
            default=RateLimitPolicy(name="p", limit=5, period_seconds=60), backend=backend, on_backend_error=mode
        )

    @pytest.mark.timeout(30)
    @pytest.mark.parametrize("mode", ["open", "closed", "raise"])
    def test_plain_client_without_timeouts_answers_within_the_backend_timeout(self, frozen: Any, mode: str) -> None:
        client = redis.Redis.from_url(frozen.url)  # no socket_timeout: what most callers pass
        limiter = self._limiter(RedisBackend(client, prefix=prefix(), timeout=0.5), mode)
        assert limiter.hit(client="c", endpoint="e").allowed  # works while up (connection now pooled)
        os.kill(frozen.process.pid, signal.SIGSTOP)
        start = time.monotonic()
        if mode == "raise":
            with pytest.raises(RateLimitBackendError, match=r"(?i)time"):
                limiter.hit(client="c", endpoint="e")
        else:
            decision = limiter.hit(client="c", endpoint="e")
            assert decision.degraded and decision.allowed is (mode == "open")
        assert time.monotonic() - start < 2.0

    @pytest.mark.timeout(30)
    def test_from_url_bounds_connects_and_async_calls(self, frozen: Any) -> None:
        backend = RedisBackend.from_url(frozen.url, prefix=prefix(), timeout=0.5)
        limiter = self._limiter(backend, "open")
        os.kill(frozen.process.pid, signal.SIGSTOP)  # frozen before the first connection: the connect hangs
        start = time.monotonic()
        assert limiter.hit(client="c", endpoint="e").degraded
        assert asyncio.run(limiter.ahit(client="c", endpoint="e")).degraded
        assert time.monotonic() - start < 4.0

    def test_timeout_must_be_positive_and_finite(self) -> None:
        client = redis.Redis.from_url("redis://127.0.0.1:1/0")
        for bad in (0, -1, float("inf"), float("nan")):
            with pytest.raises(RateLimitBackendError, match="timeout"):
                RedisBackend(client, timeout=bad)


class TestAlgorithmChange:
    def test_same_policy_name_with_another_algorithm_does_not_collide(self, redis_url: str) -> None:
        client = redis.Redis.from_url(redis_url)
        key_prefix = prefix()
        for algorithm in ("gcra", "sliding_window", "gcra"):
            limiter = RateLimiter(
                default=RateLimitPolicy(name="p", limit=5, period_seconds=60, algorithm=algorithm),
                backend=RedisBackend(client, prefix=key_prefix, local_cache=False),
                on_backend_error="raise",
            )
            assert limiter.hit(client="c", endpoint="e").allowed  # no WRONGTYPE from the other's state


class TestScriptCache:
    def test_noscript_after_flush_reloads(self, own_redis: Any) -> None:
        client = redis.Redis.from_url(own_redis.url)
        limiter = RateLimiter(
            default=RateLimitPolicy(name="p", limit=5, period_seconds=60),
            backend=RedisBackend(client, prefix=prefix()),
            on_backend_error="raise",
        )
        assert limiter.hit(client="c", endpoint="e").remaining == 4
        client.script_flush()  # this test's own Redis: as after a restart or failover
        assert limiter.hit(client="c", endpoint="e").remaining == 3


class TestNoRetryAfterSend:
    """Issue 17: redis-py 7's ``redis.Redis(...)`` re-sends a command after a timeout; a decision must not be."""

    def test_client_that_retries_is_refused_with_the_fix(self, redis_url: str) -> None:
        where = urlsplit(redis_url)
        retrying = redis.Redis(host=where.hostname or "127.0.0.1", port=where.port or 6379)  # 3 retries
        with pytest.raises(RateLimitBackendError, match=r"retries commands \(3 retries\).*count twice.*NoBackoff"):
            RedisBackend(retrying)
        async_retrying = redis.asyncio.Redis(host=where.hostname or "127.0.0.1", port=where.port or 6379)
        with pytest.raises(RateLimitBackendError, match="count twice"):
            RedisBackend(redis.Redis.from_url(redis_url), async_client=async_retrying)

    @pytest.mark.timeout(30)
    @pytest.mark.parametrize("mode", ["open", "closed", "raise"])
    def test_a_decision_stalled_past_the_timeout_counts_once(self, own_redis: Any, mode: str) -> None:
        backend = RedisBackend.from_url(own_redis.url, prefix=prefix(), local_cache=False, timeout=0.3)
        policy = RateLimitPolicy(name="p", limit=1_000_000, period_seconds=86_400, algorithm="sliding_window")
        limiter = RateLimiter(default=policy, backend=backend, on_backend_error=mode)  # type: ignore[arg-type]
        key = limiter.hit(client="c", endpoint="e").key
        pid = own_redis.process.pid
        os.kill(pid, signal.SIGSTOP)  # this test's own Redis: it takes the command and answers after 0.5 s
        timer = threading.Timer(0.5, os.kill, (pid, signal.SIGCONT))
        timer.start()
        try:
            if mode == "raise":
                with pytest.raises(RateLimitBackendError, match=r"(?i)time"):
                    limiter.hit(client="c", endpoint="e")
            else:
                decision = limiter.hit(client="c", endpoint="e")
                assert decision.degraded and decision.allowed is (mode == "open")
        finally:
            timer.join()
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.3)
        recorded = redis.Redis.from_url(own_redis.url).hget(f"{backend._prefix}s:{key}", "c")
        assert int(recorded or 0) == 2  # the first hit and the stalled one, once (a retrying client recorded 3)
