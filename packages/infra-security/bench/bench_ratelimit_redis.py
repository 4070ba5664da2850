"""Rate-limit decisions on one Redis server and on a Redis Cluster, beside a bare INCR measured in the same run.

    hatch run bench infra-security     (or: python packages/infra-security/bench/bench_ratelimit_redis.py)

Needs INFRA_TEST_REDIS_URL and INFRA_TEST_REDIS_CLUSTER_URL (`python tools/services.py up`;
`eval "$(python tools/services.py env)"`); a missing one skips its half. Prints, for each:

* where one decision spends its time on the server: the script's work added one call at a time (``TIME``,
  ``GET``, ``SET PX``), from ``INFO commandstats``;
* where one decision spends its time, one thread: bare INCR (the anchor: one round trip), EVALSHA of a script
  that returns at once (scripting's own cost), EVALSHA of the decision script (its Lua), the backend's
  ``decide`` and the limiter's ``hit`` (the Python around it), each as decisions/s and as a ratio to INCR, with
  the server's own microseconds per call from ``INFO commandstats``;
* the same with 8 threads: one shared client (its pool), one client per thread, and the pipelined backend
  (concurrent callers' decisions share round trips), each beside INCR from the same threads;
* pipelines of 8 commands (what batching concurrent callers' decisions would buy), EVALSHA vs INCR;
* 50 coroutines on one event loop: ``ahit`` on the plain and the pipelined backend beside redis.asyncio INCR.

The machine's load average is printed before and after: on a busy machine, ratios move.
Target (issue 17): decisions >= 0.9x INCR on a quiet machine.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from infra_models.security import RateLimitPolicy
from infra_security.ratelimit._limiter import RateLimiter
from infra_security.ratelimit._pipelining import PipelinedRedisBackend, PipelinedRedisClusterBackend
from infra_security.ratelimit._redis import RedisBackend, load_script
from infra_security.ratelimit._redis_cluster import RedisClusterBackend, cluster_key

SECONDS = float(os.environ.get("BENCH_SECONDS", "1.5"))
THREADS = 8
KEYS = [f"client-{i}" for i in range(100)]
ROOMY = RateLimitPolicy(name="bench", limit=10**9, period_seconds=60, burst=0)


def rate(fn: Callable[[int], object], seconds: float) -> float:
    """Calls per second of fn(i) for about `seconds`, after a short warm-up."""
    for i in range(50):
        fn(i)
    n, i = 0, 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn(i)
            i += 1
        n += 50
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def threaded_rate(make: Callable[[], Callable[[int], object]], seconds: float) -> float:
    """Total calls per second of THREADS threads, each calling its own ``make()`` function."""
    fns = [make() for _ in range(THREADS)]
    counts = [0] * THREADS
    go = threading.Barrier(THREADS + 1)
    stop = threading.Event()

    def run(n: int) -> None:
        fn = fns[n]
        for i in range(50):
            fn(i)
        go.wait()
        i = 0
        while not stop.is_set():
            fn(i)
            i += 1
        counts[n] = i

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    go.wait()
    start = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - start
    for t in threads:
        t.join()
    return sum(counts) / elapsed


def on_the_wire(client: Any, keys: list[str], command: list[Any]) -> Callable[[int], object]:
    """fn(i): ``command`` (key in place of ``None``) packed once, on one connection of the key's server.

    What the round trip costs without redis-py's command path (pool checkout, retry wrapper, metrics): built like
    the backends' dedicated connections, from the pool's public ``connection_class`` and ``connection_kwargs``.
    """
    is_cluster = hasattr(client, "get_node_from_key")
    connections: dict[str, Any] = {}
    plan: list[tuple[Any, Any]] = []
    for key in keys:
        redis_client = client.get_redis_connection(client.get_node_from_key(key)) if is_cluster else client
        pool = redis_client.connection_pool
        name = f"{pool.connection_kwargs.get('host')}:{pool.connection_kwargs.get('port')}"
        if name not in connections:
            connections[name] = pool.connection_class(**pool.connection_kwargs)
        connection = connections[name]
        plan.append((connection, connection.pack_command(*[key if c is None else c for c in command])))

    def run(i: int) -> object:
        connection, packed = plan[i % len(plan)]
        connection.send_packed_command(packed)
        return connection.read_response()

    return run


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "21"))


def interleaved(fns: dict[str, Callable[[], float]], rounds: int = 5) -> dict[str, float]:
    """Median of each measurement over alternating rounds, so a load spike does not land on one side only."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(fn())
    return {name: sorted(v)[len(v) // 2] for name, v in samples.items()}


def row(name: str, value: float, anchor: float, extra: str = "") -> None:
    print(f"  {name:<48} {value:>10,.0f} dec/s  {value / anchor:5.2f}x INCR  {1e6 / value:7.1f} us  {extra}")


def server_usec(client: Any, command: str, fn: Callable[[int], object]) -> str:
    """The server's own microseconds per `command`, over 1000 calls of fn (averaged over a cluster's primaries)."""
    nodes = [n.redis_connection for n in client.get_primaries()] if hasattr(client, "get_primaries") else [client]
    for node in nodes:
        node.config_resetstat()
    for i in range(1000):
        fn(i)
    totals = [node.info("commandstats").get(f"cmdstat_{command}", {}) for node in nodes]
    usec = sum(float(t.get("usec", 0)) for t in totals)
    calls = sum(int(t.get("calls", 0)) for t in totals)
    return f"server {usec / calls:.2f} us/call" if calls else ""


class _AnswersAtOnce:
    """A cluster client double whose EVALSHA answers "allowed" without a server (the cluster's Python only)."""

    class _Script:
        sha = "0" * 40
        script = "return 1"

    def register_script(self, script: str) -> Any:
        return self._Script()

    def evalsha(self, *args: Any) -> int:
        return 60  # GCRA: admitted, tat - now = one interval

    def script_load(self, script: str) -> str:
        return self._Script.sha


def python_only_hit(is_cluster: bool) -> Callable[[int], object]:
    """limiter.hit with the round trip taken out: the dedicated-connection path on a connection that answers at once.

    The cluster's double has no slot map, so it measures the cluster backend's general path instead.
    """
    import redis
    from redis.backoff import NoBackoff
    from redis.connection import Connection
    from redis.retry import Retry

    class Instant(Connection):
        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            return None

        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            return 60  # GCRA: admitted, tat - now = one interval

    if is_cluster:
        backend: RedisBackend = RedisClusterBackend(_AnswersAtOnce(), prefix="bench:")
    else:
        pool = redis.ConnectionPool(connection_class=Instant, retry=Retry(NoBackoff(), 0))
        backend = RedisBackend(redis.Redis(connection_pool=pool), prefix="bench:")
    limiter = RateLimiter(default=ROOMY, backend=backend)
    return lambda i: limiter.hit(client=KEYS[i % 100], endpoint="/e")


def bench(
    name: str, client: Any, backend: RedisBackend, make_client: Callable[[], Any], pipelined: RedisBackend
) -> None:
    prefix = backend._prefix
    limiter = RateLimiter(default=ROOMY, backend=backend)
    script = load_script()
    lua_sha = client.script_load(script)
    trivial_sha = client.script_load("return 1")
    is_cluster = isinstance(backend, RedisClusterBackend)

    def key_of(i: int, algorithm: str = "gcra") -> str:
        k = f"bench:{KEYS[i % 100]}:/e"
        return cluster_key(prefix, algorithm, k) if is_cluster else f"{prefix}g:{k}"

    incr_keys = [key_of(i).replace(":g:", ":i:") for i in range(100)]
    lua_args = ["gcra", 60, 60 * 10**9, ""]  # the GCRA decision of ROOMY: cost, tolerance (us), server clock
    wire_incr = on_the_wire(client, [key_of(i).replace(":g:", ":i:") for i in range(100)], ["INCRBY", None, 1])
    wire_lua = on_the_wire(client, [key_of(i) for i in range(100)], ["EVALSHA", lua_sha, 1, None, *lua_args])
    calls: dict[str, Callable[[int], object]] = {
        "incr": lambda i: client.incr(incr_keys[i % 100]),
        "trivial": lambda i: client.evalsha(trivial_sha, 1, incr_keys[i % 100]),
        "lua": lambda i: client.evalsha(lua_sha, 1, key_of(i), *lua_args),
        "hit": lambda i: limiter.hit(client=KEYS[i % 100], endpoint="/e"),
        "wire_incr": wire_incr,
        "wire_lua": wire_lua,
    }
    # Short slices, alternated many times: every row sees the same load (the median of ROUNDS slices).
    one_thread = {name: (lambda fn=fn: rate(fn, SECONDS / 10)) for name, fn in calls.items()}
    print(f"{name}: one thread (load {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    rates = interleaved(one_thread, ROUNDS)
    incr = rates["incr"]
    row("INCR (anchor: redis-py incr, one round trip)", incr, incr, server_usec(client, "incrby", calls["incr"]))
    row(
        "EVALSHA 'return 1' (scripting's own cost)",
        rates["trivial"],
        incr,
        server_usec(client, "evalsha", calls["trivial"]),
    )
    row("EVALSHA ratelimit.lua (the decision, raw)", rates["lua"], incr, server_usec(client, "evalsha", calls["lua"]))
    row("RateLimiter.hit (decision + Python around it)", rates["hit"], incr, "<- target >= 0.90x")
    row("INCR on a dedicated connection (wire floor)", rates["wire_incr"], incr)
    row("EVALSHA ratelimit.lua, dedicated connection", rates["wire_lua"], incr)
    lua_us = 1e6 / rates["wire_lua"] - 1e6 / rates["wire_incr"]
    py_us = 1e6 / rates["hit"] - 1e6 / rates["wire_lua"]
    client_us = 1e6 / incr - 1e6 / rates["wire_incr"]
    print(
        f"  where the time goes: redis-py's command path adds {client_us:+.1f} us to a bare INCR round trip; "
        f"the decision adds {lua_us:+.1f} us of EVALSHA + Lua and {py_us:+.1f} us of limiter Python to it"
    )
    server_breakdown(client, key_of)
    python_only = rate(python_only_hit(is_cluster), SECONDS / 3)
    path = "the cluster backend's general path, a client double" if is_cluster else "dedicated-connection path"
    print(f"  Python of one hit with the round trip taken out ({path}): {1e6 / python_only:.1f} us")

    def per_thread_client() -> Callable[[int], object]:
        own = make_client()
        own_backend = (RedisClusterBackend if is_cluster else RedisBackend)(own, prefix=prefix)
        own_limiter = RateLimiter(default=ROOMY, backend=own_backend)
        return lambda i: own_limiter.hit(client=KEYS[i % 100], endpoint="/e")

    def per_thread_incr() -> Callable[[int], object]:
        own = make_client()
        return lambda i: own.incr(incr_keys[i % 100])

    many: dict[str, Callable[[], float]] = {
        "incr": lambda: threaded_rate(lambda: lambda i: client.incr(incr_keys[i % 100]), SECONDS / 3),
        "shared": lambda: threaded_rate(
            lambda: lambda i: limiter.hit(client=KEYS[i % 100], endpoint="/e"), SECONDS / 3
        ),
        "incr_own": lambda: threaded_rate(per_thread_incr, SECONDS / 3),
        "own": lambda: threaded_rate(per_thread_client, SECONDS / 3),
        "pipelined": lambda: threaded_rate(
            lambda: lambda i: piped.hit(client=KEYS[i % 100], endpoint="/e"), SECONDS / 3
        ),
    }
    piped = RateLimiter(default=ROOMY, backend=pipelined)
    print(f"{name}: {THREADS} threads")
    rates = interleaved(many)
    print(f"  {'INCR, one shared client (anchor)':<48} {rates['incr']:>10,.0f} dec/s")
    row("RateLimiter.hit, one shared client", rates["shared"], rates["incr"])
    print(f"  {'INCR, one client per thread (anchor)':<48} {rates['incr_own']:>10,.0f} dec/s")
    row("RateLimiter.hit, one client per thread", rates["own"], rates["incr_own"])
    row("RateLimiter.hit, pipelined (shared round trips)", rates["pipelined"], rates["incr"], batch_note(pipelined))

    if is_cluster:  # redis-py's cluster pipeline sends COMMAND GETKEYS for every EVALSHA: not a fair row
        print(f"{name}: raw pipelines skipped (the pipelined backend above sends one pipeline per primary)")
        return

    def pipelined(make_cmd: Callable[[Any, int], None]) -> Callable[[int], object]:
        def run(i: int) -> None:
            pipe = client.pipeline(transaction=False)
            for j in range(8):
                make_cmd(pipe, i * 8 + j)
            pipe.execute()

        return run

    pipes: dict[str, Callable[[], float]] = {
        "incr": lambda: 8 * rate(pipelined(lambda p, i: p.incr(incr_keys[i % 100])), SECONDS / 3),
        "lua": lambda: (
            8
            * rate(pipelined(lambda p, i: p.execute_command("EVALSHA", lua_sha, 1, key_of(i), *lua_args)), SECONDS / 3)
        ),
    }
    print(f"{name}: pipelines of 8 (batching concurrent callers), one thread")
    rates = interleaved(pipes)
    print(f"  {'INCR x8 per round trip (anchor)':<48} {rates['incr']:>10,.0f} dec/s")
    row("EVALSHA ratelimit.lua x8 per round trip", rates["lua"], rates["incr"])


#: The decision script's GCRA path rebuilt one server call at a time, to see what each step costs on the server.
STEPS = {
    "EVALSHA 'return 1', no arguments": ("return 1", 0),
    "+ the 4 arguments of a GCRA decision": ("return 1", 4),
    "+ TIME (the shared clock)": ('local t = redis.call("TIME") return 1', 4),
    "+ GET of the key": ('local t = redis.call("TIME") local v = redis.call("GET", KEYS[1]) return 1', 4),
    "+ SET ... PX (the record)": (
        'local t = redis.call("TIME") local v = redis.call("GET", KEYS[1]) '
        'redis.call("SET", KEYS[1], "1", "PX", 60000) return 1',
        4,
    ),
    "the decision script (GCRA, admitted)": (None, 4),
}


def server_breakdown(client: Any, key: Callable[[int], str]) -> None:
    """Server microseconds per EVALSHA as the decision script's work is added step by step (INFO commandstats)."""
    args = ["gcra", 60, 60 * 10**9, ""]
    print("  on the server, per call (EVALSHA, median of 3 x 1000 calls):")
    for label, (source, nargs) in STEPS.items():
        sha = client.script_load(load_script() if source is None else source)
        runs = []
        for _ in range(3):
            text = server_usec(client, "evalsha", lambda i, sha=sha, n=nargs: client.evalsha(sha, 1, key(i), *args[:n]))
            runs.append(float(text.split()[1]) if text else float("nan"))
        print(f"    {label:<46} {sorted(runs)[1]:6.2f} us")


COROUTINES = 50


def async_rows(url: str, prefix: str) -> None:
    """50 coroutines on one event loop: redis.asyncio INCR, ``ahit`` on RedisBackend, ``ahit`` pipelined."""
    import asyncio

    import redis.asyncio

    async def run() -> None:
        client = redis.asyncio.Redis.from_url(url)
        plain = RedisBackend(redis.Redis.from_url(url), async_client=redis.asyncio.Redis.from_url(url), prefix=prefix)
        piped = PipelinedRedisBackend.from_url(url, prefix=prefix)
        limiters = {
            "plain": RateLimiter(default=ROOMY, backend=plain),
            "pipelined": RateLimiter(default=ROOMY, backend=piped),
        }

        async def measure(fn: Callable[[int], Awaitable[object]]) -> float:
            async def worker(k: int, stop: float) -> int:
                i = 0
                while time.perf_counter() < stop:
                    await fn(k * 1000 + i)
                    i += 1
                return i

            start = time.perf_counter()
            counts = await asyncio.gather(*(worker(k, start + SECONDS / 3) for k in range(COROUTINES)))
            return sum(counts) / (time.perf_counter() - start)

        fns: dict[str, Callable[[int], Awaitable[object]]] = {
            "incr": lambda i: client.incr(f"{prefix}ai:{KEYS[i % 100]}"),
            "plain": lambda i: limiters["plain"].ahit(client=KEYS[i % 100], endpoint="/e"),
            "pipelined": lambda i: limiters["pipelined"].ahit(client=KEYS[i % 100], endpoint="/e"),
        }
        samples: dict[str, list[float]] = {name: [] for name in fns}
        for _ in range(5):
            for name, fn in fns.items():
                samples[name].append(await measure(fn))
        rates = {name: sorted(v)[2] for name, v in samples.items()}
        line = piped.async_line
        print(f"single Redis: {COROUTINES} coroutines, one event loop")
        print(f"  {'redis.asyncio INCR (anchor)':<48} {rates['incr']:>10,.0f} dec/s")
        row("RateLimiter.ahit on RedisBackend (async client)", rates["plain"], rates["incr"])
        note = f"{line.batched / line.batches:.1f} decisions per pipeline" if line.batches else ""
        row("RateLimiter.ahit pipelined (shared round trips)", rates["pipelined"], rates["incr"], note)
        for c in (client, plain._async_client, piped._async_client):
            await c.aclose()

    asyncio.run(run())


def batch_note(backend: RedisBackend) -> str:
    """Average decisions per shared pipeline so far."""
    lines = list(backend.lines.values()) if isinstance(backend, PipelinedRedisClusterBackend) else []
    if isinstance(backend, PipelinedRedisBackend):
        lines = [backend.line]
    batches = sum(line.batches for line in lines)
    return f"{sum(line.batched for line in lines) / batches:.1f} decisions per pipeline" if batches else ""


def main() -> int:
    """Run the single-server half and the cluster half (each needs its service)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    url = os.environ.get("INFRA_TEST_REDIS_URL")
    if url:
        client = redis.Redis.from_url(url)
        piped = PipelinedRedisBackend.from_url(url, prefix=prefix)
        bench("single Redis", client, RedisBackend(client, prefix=prefix), lambda: redis.Redis.from_url(url), piped)
        async_rows(url, prefix)
    else:
        print("single Redis: skipped (INFRA_TEST_REDIS_URL not set)")
    cluster_url = os.environ.get("INFRA_TEST_REDIS_CLUSTER_URL")
    if cluster_url:

        def make() -> Any:
            return RedisCluster.from_url(cluster_url, retry=Retry(NoBackoff(), 0), socket_timeout=2)

        cluster = make()
        backend = RedisClusterBackend(cluster, prefix=prefix)
        piped_cluster = PipelinedRedisClusterBackend(make(), prefix=prefix)
        bench("Redis Cluster (3 primaries)", cluster, backend, make, piped_cluster)
    else:
        print("Redis Cluster: skipped (INFRA_TEST_REDIS_CLUSTER_URL not set)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
