"""The Redis Cluster backend against the launcher's cluster (3 primaries + 3 replicas): slots, scripts, exactness."""

from __future__ import annotations

import uuid

import pytest
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from infra_models.security import RateLimitPolicy
from infra_models.testing import service_setting
from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._limiter import RateLimiter
from infra_security.ratelimit._memory import MemoryBackend
from infra_security.ratelimit._pipelining import PipelinedRedisClusterBackend
from infra_security.ratelimit._redis_cluster import RedisClusterBackend, cluster_key

from .ratelimit_contention import KEYS, LIMIT, PROCESSES, ROUNDS, THREADS, run_contenders

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_cluster_url() -> str:
    """Seed-node URL of the launcher's Redis Cluster (``redis://127.0.0.1:PORT``)."""
    return service_setting("INFRA_TEST_REDIS_CLUSTER_URL")


def prefix() -> str:
    return f"rlc-{uuid.uuid4().hex[:10]}:"


def no_retry_client(url: str) -> RedisCluster:
    return RedisCluster.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=2, socket_connect_timeout=2)


def primary_port(client: RedisCluster, redis_key: str) -> int:
    return int(client.get_node_from_key(redis_key).port)


class TestSlots:
    def test_both_states_of_a_key_share_its_slot_and_keys_spread_over_every_primary(
        self, redis_cluster_url: str
    ) -> None:
        client = no_retry_client(redis_cluster_url)
        primaries = {int(node.port) for node in client.get_primaries()}
        assert len(primaries) == 3
        seen: set[int] = set()
        for i in range(64):
            key = f"p:client-{i}:/x"
            g, s = cluster_key("rl:", "gcra", key), cluster_key("rl:", "sliding_window", key)
            assert client.keyslot(g) == client.keyslot(s)
            seen.add(primary_port(client, g))
        assert seen == primaries

    def test_decisions_land_on_the_primary_of_their_key(self, redis_cluster_url: str) -> None:
        client = no_retry_client(redis_cluster_url)
        backend = RedisClusterBackend(client, prefix=prefix(), local_cache=False)
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=5, period_seconds=60), backend=backend)
        ports: set[int] = set()
        for i in range(24):
            decision = limiter.hit(client=f"c{i}", endpoint="/e")
            assert decision.allowed and decision.remaining == 4
            redis_key = cluster_key(backend._prefix, "gcra", decision.key)
            node = client.get_node_from_key(redis_key)
            assert client.exists(redis_key) == 1
            assert node.redis_connection.exists(redis_key) == 1  # on that primary itself, not via redirection
            ports.add(int(node.port))
        assert len(ports) == 3

    def test_reset_forgets_both_algorithms_states(self, redis_cluster_url: str) -> None:
        backend = RedisClusterBackend.from_url(redis_cluster_url, prefix=prefix(), local_cache=True)
        for algorithm in ("gcra", "sliding_window"):
            policy = RateLimitPolicy(name="p", limit=2, period_seconds=3600, algorithm=algorithm)
            limiter = RateLimiter(default=policy, backend=backend)
            assert [limiter.hit(client="c", endpoint="e").allowed for _ in range(3)] == [True, True, False]
            limiter.reset(client="c", endpoint="e")
            assert limiter.hit(client="c", endpoint="e").allowed


class TestSameAlgorithm:
    @pytest.mark.parametrize("algorithm", ["gcra", "sliding_window"])
    def test_same_decisions_as_memory_with_injected_clock(self, redis_cluster_url: str, algorithm: str) -> None:
        now = [1_000_000.0]
        policy = RateLimitPolicy(name="p", limit=5, period_seconds=10, burst=2, algorithm=algorithm)
        memory = RateLimiter(default=policy, backend=MemoryBackend(clock=lambda: now[0]))
        backend = RedisClusterBackend(
            no_retry_client(redis_cluster_url), prefix=prefix(), local_cache=False, clock_us=lambda: int(now[0] * 1e6)
        )
        on_cluster = RateLimiter(default=policy, backend=backend)
        steps = [0.0] * 9 + [1.0, 0.5, 3.0, 0.0, 0.0, 10.0, 2.5, 0.1, 0.1, 0.1, 20.0, 0.0]
        for step in steps:
            now[0] += step
            for client in ("c1", "c2", "c3"):  # three keys, most likely on different primaries
                a = memory.hit(client=client, endpoint="e")
                b = on_cluster.hit(client=client, endpoint="e")
                assert (a.allowed, a.remaining) == (b.allowed, b.remaining), (now[0], a, b)
                assert a.retry_after == pytest.approx(b.retry_after, abs=1e-3)


class TestScripts:
    def test_loaded_on_every_primary_when_built(self, redis_cluster_url: str) -> None:
        client = no_retry_client(redis_cluster_url)
        client.script_flush()
        backend = RedisClusterBackend(client, prefix=prefix())
        sha = backend._script.sha
        for node in client.get_primaries():
            assert node.redis_connection.script_exists(sha) == [True], node.name

    def test_noscript_after_a_flush_runs_the_decision_once(self, redis_cluster_url: str) -> None:
        client = no_retry_client(redis_cluster_url)
        backend = RedisClusterBackend(client, prefix=prefix(), local_cache=False)
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=3, period_seconds=3600), backend=backend)
        assert limiter.hit(client="c", endpoint="e").remaining == 2
        client.script_flush()  # every node forgets the script: what a restart or a fresh replica looks like
        decision = limiter.hit(client="c", endpoint="e")
        assert decision.allowed and decision.remaining == 1  # counted once, not twice, across NOSCRIPT
        assert [limiter.hit(client="c", endpoint="e").allowed for _ in range(2)] == [True, False]
        node = client.get_node_from_key(cluster_key(backend._prefix, "gcra", decision.key))
        assert node.redis_connection.script_exists(backend._script.sha) == [True]  # cached again by the EVAL


class TestDirectPath:
    def test_a_stale_slot_map_is_followed_by_moved_and_counts_once(self, redis_cluster_url: str) -> None:
        client = no_retry_client(redis_cluster_url)
        backend = RedisClusterBackend(client, prefix=prefix(), local_cache=False)
        policy = RateLimitPolicy(name="p", limit=1000, period_seconds=86_400, algorithm="sliding_window")
        limiter = RateLimiter(default=policy, backend=backend, on_backend_error="raise")
        key = limiter.hit(client="c", endpoint="e").key  # the slot and the packed command are now kept
        redis_key = cluster_key(backend._prefix, "sliding_window", key)
        slot = client.keyslot(redis_key)
        owner = client.nodes_manager.slots_cache[slot]
        other = next(n for n in client.get_primaries() if n.name != owner[0].name)
        client.nodes_manager.slots_cache[slot] = [other]  # the map now sends the key to the wrong primary
        decision = limiter.hit(client="c", endpoint="e")  # MOVED: nothing ran there; redone on the owner
        assert decision.allowed and decision.remaining == 1000 - 2
        assert client.nodes_manager.slots_cache[slot][0].name == owner[0].name  # the map was mended
        assert int(client.hget(redis_key, "c") or 0) == 2  # counted once
        assert limiter.hit(client="c", endpoint="e").remaining == 1000 - 3


class TestConfiguration:
    def test_client_with_command_retries_is_refused(self, redis_cluster_url: str) -> None:
        client = RedisCluster.from_url(redis_cluster_url)  # redis-py's default: 3 retries after a timeout
        with pytest.raises(RateLimitBackendError, match=r"retries commands \(3 retries\).*count twice.*NoBackoff"):
            RedisClusterBackend(client)

    @pytest.mark.parametrize("bad", ["rl:{x}:", "rl{", "}"])
    def test_prefix_with_braces_is_refused(self, redis_cluster_url: str, bad: str) -> None:
        with pytest.raises(RateLimitBackendError, match="prefix must not contain"):
            RedisClusterBackend(no_retry_client(redis_cluster_url), prefix=bad)

    def test_from_url_gives_every_node_the_timeout(self, redis_cluster_url: str) -> None:
        backend = RedisClusterBackend.from_url(redis_cluster_url, timeout=0.25)
        client = backend._client
        assert client.retry.get_retries() == 0
        for node in client.get_nodes():
            kwargs = node.redis_connection.connection_pool.connection_kwargs
            assert kwargs["socket_timeout"] == 0.25 and kwargs["socket_connect_timeout"] == 0.25

    def test_a_client_without_timeouts_gets_the_backends(self, redis_cluster_url: str) -> None:
        client = RedisCluster.from_url(redis_cluster_url, retry=Retry(NoBackoff(), 0))
        RedisClusterBackend(client, timeout=0.3)
        for node in client.get_nodes():
            assert node.redis_connection.connection_pool.connection_kwargs["socket_timeout"] == 0.3
        assert client.nodes_manager.connection_kwargs["socket_connect_timeout"] == 0.3


# -- exactness under contention: 4 processes x 8 threads, keys over every primary ------------------------------


class TestExactnessUnderContention:
    @pytest.mark.timeout(180)
    @pytest.mark.parametrize(
        ("algorithm", "pipelined"),
        [("gcra", False), ("sliding_window", False), ("gcra", True), ("sliding_window", True)],
    )
    def test_four_processes_of_eight_threads_admit_exactly_the_limit_per_key(
        self, redis_cluster_url: str, algorithm: str, pipelined: bool
    ) -> None:
        key_prefix = prefix()
        client = no_retry_client(redis_cluster_url)
        ports = {primary_port(client, cluster_key(key_prefix, algorithm, f"p:k{i}:/x")) for i in range(KEYS)}
        assert len(ports) == 3, "the keys must spread over every primary"
        kind = PipelinedRedisClusterBackend if pipelined else RedisClusterBackend
        total, batched = run_contenders(kind, redis_cluster_url, key_prefix, algorithm)
        if pipelined:  # the shared-pipeline path really ran
            assert batched > 0
        attempts = PROCESSES * THREADS * ROUNDS
        assert attempts > LIMIT
        assert dict(total) == {f"k{i}": LIMIT for i in range(KEYS)}
