"""Pipelined decisions (concurrent callers sharing round trips) on the launcher's Redis and on a private one."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.retry import Retry

from infra_models.security import RateLimitPolicy
from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._limiter import RateLimiter
from infra_security.ratelimit._pipelining import PipelinedRedisBackend

from .ratelimit_contention import KEYS, LIMIT, run_contenders

pytestmark = pytest.mark.integration


def prefix() -> str:
    return f"rlp-{uuid.uuid4().hex[:10]}:"


class TestExactness:
    @pytest.mark.timeout(180)
    @pytest.mark.parametrize("algorithm", ["gcra", "sliding_window"])
    def test_four_processes_of_eight_threads_admit_exactly_the_limit_per_key(
        self, redis_url: str, algorithm: str
    ) -> None:
        total, batched = run_contenders(PipelinedRedisBackend, redis_url, prefix(), algorithm)
        assert batched > 0  # the shared-pipeline path really ran
        assert dict(total) == {f"k{i}": LIMIT for i in range(KEYS)}

    @pytest.mark.timeout(60)
    def test_noscript_inside_a_pipeline_decides_each_call_once(self, redis_url: str) -> None:
        client = redis.Redis.from_url(redis_url, retry=Retry(NoBackoff(), 0))
        backend = PipelinedRedisBackend(client, prefix=prefix(), local_cache=False)
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=50, period_seconds=3600), backend=backend)
        client.script_flush()  # every EVALSHA of the first pipelines answers NOSCRIPT
        admitted = Counter[bool]()
        lock = threading.Lock()
        start = threading.Barrier(8)

        def run() -> None:
            start.wait()
            for _ in range(20):
                allowed = limiter.hit(client="c", endpoint="e").allowed
                with lock:
                    admitted[allowed] += 1

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert admitted == {True: 50, False: 110}

    def test_client_with_retries_refused(self, redis_url: str) -> None:
        where = urlsplit(redis_url)
        client = redis.Redis(host=where.hostname or "127.0.0.1", port=where.port or 6379)  # redis-py 7: 3 retries
        with pytest.raises(RateLimitBackendError, match=r"Redis client retries commands \(3 retries\).*count twice"):
            PipelinedRedisBackend(client)


class TestStalledServer:
    @pytest.mark.timeout(60)
    def test_stalled_pipelines_fail_by_mode_or_answer_and_count_each_decision_once(self, own_redis: Any) -> None:
        backend = PipelinedRedisBackend.from_url(own_redis.url, prefix=prefix(), local_cache=False, timeout=0.3)
        policy = RateLimitPolicy(name="p", limit=1_000_000, period_seconds=86_400, algorithm="sliding_window")
        limiter = RateLimiter(default=policy, backend=backend, on_backend_error="closed")
        key = limiter.hit(client="c", endpoint="e").key
        pid = own_redis.process.pid
        outcomes: list[tuple[bool, bool, float]] = []
        lock = threading.Lock()
        start = threading.Barrier(9)

        def run() -> None:
            start.wait()
            began = time.monotonic()
            decision = limiter.hit(client="c", endpoint="e")
            with lock:
                outcomes.append((decision.allowed, decision.degraded, time.monotonic() - began))

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        os.kill(pid, signal.SIGSTOP)  # this test's own Redis, never the shared one
        timer = threading.Timer(0.5, os.kill, (pid, signal.SIGCONT))
        timer.start()
        try:
            start.wait()
            for t in threads:
                t.join(30)
        finally:
            timer.join()
            os.kill(pid, signal.SIGCONT)
        assert len(outcomes) == 8
        for allowed, degraded, elapsed in outcomes:
            assert allowed is not degraded  # closed: a failure rejects; an answer admits (limit far away)
            assert elapsed < 2 * 0.3 + 0.5 + 0.75  # a stalled alone call, then at most one stalled pipeline
        assert any(degraded for _, degraded, _ in outcomes)  # the stall was felt
        time.sleep(0.3)
        recorded = int(redis.Redis.from_url(own_redis.url).hget(f"{backend._prefix}s:{key}", "c") or 0)
        assert recorded == 1 + 8  # every decision sent reached the server once; none re-sent


class TestCoroutines:
    @pytest.mark.timeout(60)
    @pytest.mark.parametrize("algorithm", ["gcra", "sliding_window"])
    def test_two_hundred_coroutines_admit_exactly_the_limit_in_shared_pipelines(
        self, redis_url: str, algorithm: str
    ) -> None:
        backend = PipelinedRedisBackend.from_url(redis_url, prefix=prefix(), local_cache=False)
        policy = RateLimitPolicy(name="p", limit=50, period_seconds=86_400, algorithm=algorithm)
        limiter = RateLimiter(default=policy, backend=backend, on_backend_error="raise")

        async def run() -> list[bool]:
            decisions = await asyncio.gather(*(limiter.ahit(client="c", endpoint="e") for _ in range(200)))
            await backend._async_client.aclose()
            return [d.allowed for d in decisions]

        allowed = asyncio.run(run())
        assert sum(allowed) == 50 and len(allowed) == 200
        assert backend.async_line.batched > 100  # nearly all of them rode shared pipelines

    @pytest.mark.timeout(60)
    def test_noscript_inside_an_async_pipeline_decides_each_once(self, redis_url: str) -> None:
        backend = PipelinedRedisBackend.from_url(redis_url, prefix=prefix(), local_cache=False)
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=30, period_seconds=3600), backend=backend)
        redis.Redis.from_url(redis_url).script_flush()

        async def run() -> list[bool]:
            decisions = await asyncio.gather(*(limiter.ahit(client="c", endpoint="e") for _ in range(100)))
            await backend._async_client.aclose()
            return [d.allowed for d in decisions]

        assert sum(asyncio.run(run())) == 30

    def test_async_client_with_retries_refused(self, redis_url: str) -> None:
        where = urlsplit(redis_url)
        async_client = redis.asyncio.Redis(host=where.hostname or "127.0.0.1", port=where.port or 6379)
        client = redis.Redis.from_url(redis_url)
        with pytest.raises(RateLimitBackendError, match=r"retries commands \(3 retries\)"):
            PipelinedRedisBackend(client, async_client=async_client)

    @pytest.mark.timeout(60)
    def test_stalled_server_coroutines_fail_by_mode_and_count_each_once(self, own_redis: Any) -> None:
        backend = PipelinedRedisBackend.from_url(own_redis.url, prefix=prefix(), local_cache=False, timeout=0.3)
        policy = RateLimitPolicy(name="p", limit=1_000_000, period_seconds=86_400, algorithm="sliding_window")
        limiter = RateLimiter(default=policy, backend=backend, on_backend_error="closed")
        pid = own_redis.process.pid

        async def run() -> tuple[str, list[tuple[bool, bool, float]]]:
            key = (await limiter.ahit(client="c", endpoint="e")).key

            async def one() -> tuple[bool, bool, float]:
                began = time.monotonic()
                decision = await limiter.ahit(client="c", endpoint="e")
                return decision.allowed, decision.degraded, time.monotonic() - began

            os.kill(pid, signal.SIGSTOP)  # this test's own Redis, never the shared one
            loop = asyncio.get_running_loop()
            loop.call_later(0.5, os.kill, pid, signal.SIGCONT)
            outcomes = await asyncio.gather(*(one() for _ in range(20)))
            await backend._async_client.aclose()
            return key, outcomes

        try:
            key, outcomes = asyncio.run(run())
        finally:
            os.kill(pid, signal.SIGCONT)
        for allowed, degraded, elapsed in outcomes:
            assert allowed is not degraded  # closed: a failure rejects; an answer admits (limit far away)
            assert elapsed < 2 * 0.3 + 0.5 + 0.75
        assert any(degraded for _, degraded, _ in outcomes)
        time.sleep(0.3)
        recorded = int(redis.Redis.from_url(own_redis.url).hget(f"{backend._prefix}s:{key}", "c") or 0)
        assert recorded == 1 + 20  # every decision sent reached the server once; none re-sent
