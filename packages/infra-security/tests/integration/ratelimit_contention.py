"""The contention worker shared by the single-server and cluster exactness tests: one process of many threads."""

from __future__ import annotations

import multiprocessing
import random
import sys
import threading
from collections import Counter
from typing import Any

from infra_models.security import RateLimitAlgorithm, RateLimitPolicy
from infra_security.ratelimit._limiter import RateLimiter
from infra_security.ratelimit._pipelining import PipelinedRedisBackend, PipelinedRedisClusterBackend
from infra_security.ratelimit._redis import RedisBackend

__all__ = ["KEYS", "LIMIT", "PROCESSES", "ROUNDS", "THREADS", "contender", "run_contenders"]

PROCESSES, THREADS, KEYS, LIMIT, ROUNDS = 4, 8, 24, 40, 3


def contender(
    kind: type[RedisBackend], url: str, key_prefix: str, algorithm: str, barrier: Any, out: Any, seed: int
) -> None:
    """THREADS threads hit KEYS keys ROUNDS times each in a shuffled order; put (admitted, errors, batched) on out.

    ``kind`` is the backend class (built with its ``from_url``); ``batched`` counts the decisions that went out in
    shared pipelines (0 for the backends that do not pipeline), so a test can check that path really ran.
    """
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the most interleavings
    backend = kind.from_url(url, prefix=key_prefix, timeout=5.0)
    policy = RateLimitPolicy(name="p", limit=LIMIT, period_seconds=86_400, algorithm=RateLimitAlgorithm(algorithm))
    limiter = RateLimiter(default=policy, backend=backend, on_backend_error="raise")
    admitted: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def run(n: int) -> None:
        order = [f"k{i}" for i in range(KEYS)] * ROUNDS
        random.Random(seed * 100 + n).shuffle(order)
        mine: Counter[str] = Counter()
        start.wait()
        try:
            for client in order:
                if limiter.hit(client=client, endpoint="/x").allowed:
                    mine[client] += 1
        except Exception as exc:  # reported to the parent, which fails the test with it
            errors.append(repr(exc))
        with lock:
            admitted.update(mine)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    barrier.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if isinstance(backend, PipelinedRedisClusterBackend):
        batched = sum(line.batched for line in backend.lines.values())
    elif isinstance(backend, PipelinedRedisBackend):
        batched = backend.line.batched
    else:
        batched = 0
    out.put((dict(admitted), errors, batched))


def run_contenders(kind: type[RedisBackend], url: str, key_prefix: str, algorithm: str) -> tuple[Counter[str], int]:
    """PROCESSES forked contenders released together; the admitted count per key over all, and the batched total.

    Any error a contender met fails here (the backends run with ``on_backend_error="raise"``).
    """
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=contender, args=(kind, url, key_prefix, algorithm, barrier, out, seed))
        for seed in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=150) for _ in procs]
    for p in procs:
        p.join(30)
    total: Counter[str] = Counter()
    for admitted, errors, _ in results:
        assert errors == [], errors
        total.update(admitted)
    return total, sum(batched for _, _, batched in results)
