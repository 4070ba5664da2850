"""The Redis Cluster backend when a primary stalls or dies, or a slot moves: private 6-node clusters only.

The nodes are started with the launcher's own ``start_redis_cluster`` (``tools/services.py``) on free ports in a
temporary folder and stopped by PID; the shared cluster is never frozen or killed. Each kill test gets a fresh
cluster with a 1 s node timeout (a failover takes a few seconds); the stall and migration tests share one with a
5 s node timeout (no failover).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from infra_models.security import RateLimitPolicy
from infra_models.testing import in_ci
from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._limiter import RateLimiter
from infra_security.ratelimit._pipelining import PipelinedRedisClusterBackend
from infra_security.ratelimit._redis_cluster import RedisClusterBackend, cluster_key

pytestmark = pytest.mark.integration

_ROOT = Path(__file__).resolve().parents[4]
TIMEOUT = 0.3
#: A decision against a frozen or dead primary answers within the socket timeout, plus the client's slot-map
#: refresh (redis-py sleeps 0.25 s on CLUSTERDOWN before it refreshes), plus scheduling slack on a busy machine.
BOUND = 2 * TIMEOUT + 0.25 + 0.75


def _launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("infra_test_services_cluster", _ROOT / "tools" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


@dataclass
class PrivateCluster:
    """Six redis-server processes of this test; ``pids[i]`` serves ``ports[i]``."""

    ports: list[int]
    pids: list[int]
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"redis://127.0.0.1:{self.ports[0]}"

    def pid_of(self, port: int) -> int:
        return self.pids[self.ports.index(port)]

    def stop(self) -> None:
        for pid in self.pids:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break


def _start_private_cluster(home: Path, node_timeout_ms: int) -> PrivateCluster:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        message = "redis-server/redis-cli not found: run `python tools/services.py up` once to install them"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    ports = _free_ports(12)
    pids = _launcher().start_redis_cluster(home, ports[:6], ports[6:], node_timeout_ms=node_timeout_ms)
    return PrivateCluster(ports[:6], pids)


@pytest.fixture
def private_cluster(tmp_path: Path) -> Iterator[PrivateCluster]:
    """A 3-primary, 3-replica cluster of this test only (1 s node timeout), killed by PID at the end."""
    cluster = _start_private_cluster(tmp_path, node_timeout_ms=1000)  # a quick failover
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def stalling_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateCluster]:
    """A private cluster shared by the tests that stall a primary briefly or move a slot and back (no kills).

    Its 5 s node timeout keeps a 0.5 s stall (longer on a loaded machine) far from a failover.
    """
    cluster = _start_private_cluster(tmp_path_factory.mktemp("stalling-cluster"), node_timeout_ms=5000)
    try:
        yield cluster
    finally:
        cluster.stop()


def client_of(cluster: PrivateCluster) -> RedisCluster:
    return RedisCluster.from_url(
        cluster.url, retry=Retry(NoBackoff(), 0), socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )


def recorded(client: RedisCluster, key_prefix: str, key: str) -> int:
    """How many units the sliding-window state of ``key`` holds in its current window."""
    value = client.hget(cluster_key(key_prefix, "sliding_window", key), "c")
    return int(value or 0)


BIG = RateLimitPolicy(name="p", limit=1_000_000, period_seconds=86_400, algorithm="sliding_window")


PAUSE = 0.5  # longer than TIMEOUT, shorter than 2 x TIMEOUT and than the node timeout (no failover)


def pause(pid: int) -> threading.Timer:
    """SIGSTOP ``pid`` now and SIGCONT it after PAUSE: a primary that stalls (fork, swap, a slow command)."""
    os.kill(pid, signal.SIGSTOP)
    timer = threading.Timer(PAUSE, os.kill, (pid, signal.SIGCONT))
    timer.start()
    return timer


class TestStalledPrimary:
    @pytest.mark.timeout(120)
    def test_each_mode_answers_within_the_timeout_and_the_stalled_decision_counts_once(
        self, stalling_cluster: PrivateCluster
    ) -> None:
        client = client_of(stalling_cluster)
        backend = RedisClusterBackend(client, prefix=f"rlf-{uuid.uuid4().hex[:8]}:", local_cache=False, timeout=TIMEOUT)
        limiters = {
            mode: RateLimiter(default=BIG, backend=backend, on_backend_error=mode)
            for mode in ("open", "closed", "raise")
        }
        key = limiters["open"].hit(client="c", endpoint="e").key
        pid = stalling_cluster.pid_of(
            int(client.get_node_from_key(cluster_key(backend._prefix, "sliding_window", key)).port)
        )
        sent = 1
        for mode, limiter in limiters.items():
            # A busy service's connection is up when the stall begins (a reconnect to a stalled server would time
            # out in its handshake, before the decision is sent: nothing recorded, nothing to count twice).
            assert limiter.hit(client="c", endpoint="e").allowed
            sent += 1
            timer = pause(pid)  # its primary takes the command and answers only after PAUSE
            try:
                start = time.monotonic()
                if mode == "raise":
                    with pytest.raises(RateLimitBackendError, match=r"(?i)time"):
                        limiter.hit(client="c", endpoint="e")
                else:
                    decision = limiter.hit(client="c", endpoint="e")
                    assert decision.degraded and decision.allowed is (mode == "open")
                elapsed = time.monotonic() - start
            finally:
                timer.join()
                os.kill(pid, signal.SIGCONT)
            sent += 1
            assert elapsed < TIMEOUT + 0.5, (mode, elapsed)
            # The command reached the stalled server before the timeout and runs when it wakes: once. A client
            # that retried after the timeout would send it again, still within the pause: counted twice.
            time.sleep(0.3)
            assert recorded(client, backend._prefix, key) == sent, mode
        assert limiters["raise"].hit(client="c", endpoint="e").remaining == 1_000_000 - sent - 1

    @pytest.mark.timeout(60)
    def test_why_clients_with_retries_are_refused(self, stalling_cluster: PrivateCluster) -> None:
        """redis-py's default cluster client (3 retries) records one decision twice when its primary stalls."""
        client = RedisCluster.from_url(stalling_cluster.url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
        key_prefix = f"rlr-{uuid.uuid4().hex[:8]}:"
        quiet = RedisClusterBackend(client_of(stalling_cluster), prefix=key_prefix, local_cache=False)
        key = RateLimiter(default=BIG, backend=quiet).hit(client="c", endpoint="e").key
        redis_key = cluster_key(key_prefix, "sliding_window", key)
        pid = stalling_cluster.pid_of(int(client.get_node_from_key(redis_key).port))
        args = ["sliding_window", 1, 1, 1_000_000, 86_400_000_000, ""]
        timer = pause(pid)
        try:
            reply = client.evalsha(quiet._script.sha, 1, redis_key, *args)  # same script, retrying client
        finally:
            timer.join()
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.3)
        assert reply[0] == 1  # the caller saw one admitted decision ...
        assert recorded(client, key_prefix, key) == 3  # ... and the server recorded two (plus the first hit)


@dataclass
class Tally:
    """What one hammering thread saw, for its own key."""

    key: str = ""
    ok_before_kill: int = 0
    ok_after_kill: int = 0
    maybe_ran: int = 0  # failures after the command may have been sent (timeout, connection lost mid-reply)
    not_sent: int = 0  # failures where the server surely did not run it (refused, CLUSTERDOWN, ...)
    degraded: list[tuple[str, bool]] = field(default_factory=list)
    raised: int = 0
    slowest_failure: float = 0.0
    errors: list[str] = field(default_factory=list)


class _Recording:
    """Remembers, per thread, the backend's last failure (the limiter turns it into a degraded decision)."""

    _seen = threading.local()

    @property
    def last_failure(self) -> RateLimitBackendError | None:
        return getattr(self._seen, "failure", None)

    def decide(self, key: str, policy: Any, weight: int) -> Any:
        try:
            return super().decide(key, policy, weight)  # type: ignore[misc]
        except RateLimitBackendError as exc:
            self._seen.failure = exc
            raise


class RecordingBackend(_Recording, RedisClusterBackend):
    """The real cluster backend, recording failures."""


class RecordingPipelinedBackend(_Recording, PipelinedRedisClusterBackend):
    """The real pipelined cluster backend (decisions of the threads share round trips), recording failures."""


def _may_have_run(exc: BaseException | None) -> bool:
    if exc is None:
        return True
    cause = exc.__cause__
    text = str(cause)
    if type(cause).__name__ == "TimeoutError":
        return "connecting" not in text.lower()
    if type(cause).__name__ == "ConnectionError":
        return "connecting to" not in text and "Connection refused" not in text
    return False


class TestKilledPrimary:
    @pytest.mark.timeout(180)
    @pytest.mark.parametrize("pipelined", [False, True], ids=["one-client-per-thread", "pipelined-shared"])
    def test_failover_mid_run_keeps_the_modes_and_never_counts_a_decision_twice(
        self, private_cluster: PrivateCluster, pipelined: bool
    ) -> None:
        seed = client_of(private_cluster)
        key_prefix = f"rlk-{uuid.uuid4().hex[:8]}:"
        victim_port = int(seed.get_node_from_key(cluster_key(key_prefix, "sliding_window", "p:c0:e")).port)
        # nine clients whose keys live on the victim primary, three per failure mode
        clients: list[str] = []
        i = 0
        while len(clients) < 9:
            name = f"c{i}"
            if (
                int(seed.get_node_from_key(cluster_key(key_prefix, "sliding_window", f"p:{name}:e")).port)
                == victim_port
            ):
                clients.append(name)
            i += 1
        modes = ["open", "closed", "raise"] * 3
        killed = threading.Event()
        stop = threading.Event()
        tallies = [Tally() for _ in clients]

        shared = RecordingPipelinedBackend(
            client_of(private_cluster), prefix=key_prefix, local_cache=False, timeout=TIMEOUT
        )

        def hammer(n: int) -> None:
            backend: _Recording = (
                shared
                if pipelined
                else RecordingBackend(client_of(private_cluster), prefix=key_prefix, local_cache=False, timeout=TIMEOUT)
            )
            limiter = RateLimiter(default=BIG, backend=backend, on_backend_error=modes[n])  # type: ignore[arg-type]
            tally = tallies[n]
            saw_outage = False  # successes after this thread saw the dead primary fail are on the promoted one
            while not stop.is_set():
                after = saw_outage
                start = time.monotonic()
                try:
                    decision = limiter.hit(client=clients[n], endpoint="e")
                except RateLimitBackendError as exc:
                    tally.raised += 1
                    saw_outage = killed.is_set()
                    tally.slowest_failure = max(tally.slowest_failure, time.monotonic() - start)
                    if _may_have_run(exc):
                        tally.maybe_ran += 1
                    else:
                        tally.not_sent += 1
                    continue
                except Exception as exc:  # anything else is a bug: recorded and failed below
                    tally.errors.append(repr(exc))
                    continue
                tally.key = decision.key
                if decision.degraded:
                    tally.slowest_failure = max(tally.slowest_failure, time.monotonic() - start)
                    tally.degraded.append((modes[n], decision.allowed))
                    saw_outage = killed.is_set()
                    if _may_have_run(backend.last_failure):
                        tally.maybe_ran += 1
                    else:
                        tally.not_sent += 1
                elif after:
                    tally.ok_after_kill += 1
                else:
                    tally.ok_before_kill += 1

        threads = [threading.Thread(target=hammer, args=(n,)) for n in range(len(clients))]
        for t in threads:
            t.start()
        time.sleep(1.0)
        os.kill(private_cluster.pid_of(victim_port), signal.SIGKILL)  # the primary of every hammered key
        killed.set()
        # run until every thread has decided on the promoted replica for a while (or give up after 30 s)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and min(t.ok_after_kill for t in tallies) < 20:
            time.sleep(0.1)
        stop.set()
        for t in threads:
            t.join(30)

        for n, tally in enumerate(tallies):
            assert tally.errors == [], tally.errors
            assert tally.ok_after_kill >= 20, f"{clients[n]} never decided again after the failover"
            mode = modes[n]
            assert all(allowed is (mode == "open") for _, allowed in tally.degraded), (mode, tally.degraded[:3])
            assert (tally.raised > 0) is (mode == "raise")
            assert (len(tally.degraded) > 0) is (mode != "raise")
            assert tally.slowest_failure < BOUND, (mode, tally.slowest_failure)

        if pipelined:  # the threads' decisions really shared round trips
            assert sum(line.batched for line in shared.lines.values()) > 0
        after = client_of(private_cluster)
        new_port = int(after.get_node_from_key(cluster_key(key_prefix, "sliding_window", "p:c0:e")).port)
        assert new_port != victim_port  # a replica was promoted
        for n, tally in enumerate(tallies):
            count = recorded(after, key_prefix, tally.key)
            # Never counted twice: at most every decision that returned plus every one that may have run.
            assert count <= tally.ok_before_kill + tally.ok_after_kill + tally.maybe_ran, (clients[n], count, tally)
            # Nothing decided on the promoted primary is lost (only writes not yet replicated from the dead one).
            assert count >= tally.ok_after_kill, (clients[n], count, tally)


def _migrate(src: Any, dst: Any, dst_port: int, slot: int) -> None:
    """Move one slot from node `src` to node `dst` the way redis-cli does: IMPORTING, MIGRATING, MIGRATE, NODE."""
    src_id, dst_id = src.execute_command("CLUSTER", "MYID"), dst.execute_command("CLUSTER", "MYID")
    dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
    src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
    time.sleep(0.05)  # decisions meet the MIGRATING state: keys still at the source are served there
    while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
        src.execute_command("MIGRATE", "127.0.0.1", dst_port, "", 0, 5000, "KEYS", *keys)
        time.sleep(0.05)  # decisions meet the key gone from the source: ASK to the target
    dst.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
    src.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)


class TestSlotMigration:
    @pytest.mark.timeout(120)
    @pytest.mark.parametrize("pipelined", [False, True], ids=["plain", "pipelined"])
    def test_moved_and_ask_during_a_live_migration_keep_the_count_exact(
        self, stalling_cluster: PrivateCluster, pipelined: bool
    ) -> None:
        import redis

        client = client_of(stalling_cluster)
        kind = PipelinedRedisClusterBackend if pipelined else RedisClusterBackend
        backend = kind(client, prefix=f"rlm-{uuid.uuid4().hex[:8]}:", local_cache=False, timeout=2.0)
        policy = RateLimitPolicy(name="p", limit=300, period_seconds=86_400, algorithm="gcra")
        limiter = RateLimiter(default=policy, backend=backend, on_backend_error="raise")
        key = limiter.hit(client="c", endpoint="e").key  # 1 of 300
        redis_key = cluster_key(backend._prefix, "gcra", key)
        slot = client.keyslot(redis_key)
        primaries = sorted(int(n.port) for n in client.get_primaries())
        owner = int(client.get_node_from_key(redis_key).port)
        other = next(p for p in primaries if p != owner)
        nodes = {port: redis.Redis(port=port, retry=Retry(NoBackoff(), 0)) for port in (owner, other)}
        admitted: list[bool] = []
        answered_at: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        go = threading.Barrier(9)

        def hammer() -> None:
            go.wait()
            for _ in range(150):
                try:
                    allowed = limiter.hit(client="c", endpoint="e").allowed
                except Exception as exc:  # a redirection must never surface as an error
                    with lock:
                        errors.append(repr(exc))
                    continue
                with lock:
                    admitted.append(allowed)
                    answered_at.append(time.monotonic())

        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        go.wait()
        began = time.monotonic()
        _migrate(nodes[owner], nodes[other], other, slot)  # there ...
        _migrate(nodes[other], nodes[owner], owner, slot)  # ... and back, while 8 threads decide on the key
        ended = time.monotonic()
        for t in threads:
            t.join(60)
        assert errors == []
        assert len(admitted) == 8 * 150
        assert any(began <= at <= ended for at in answered_at)  # decisions really met the migration
        assert sum(admitted) == 300 - 1  # exactly the limit over the whole run, whichever node answered
        assert nodes[owner].exists(redis_key) == 1  # back home (the owner answers for it, no MOVED) ...
        assert nodes[other].execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0  # ... and nothing left behind
        assert not limiter.hit(client="c", endpoint="e").allowed  # and the state came back whole
