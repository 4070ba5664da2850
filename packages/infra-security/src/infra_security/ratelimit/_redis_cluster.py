"""Redis Cluster rate-limit backend: the Redis backend's script and semantics, routed by hash slot.

Every decision is the same EVALSHA of ``ratelimit.lua`` as on one server (:class:`RedisBackend` owns it); this
module only changes what a cluster changes:

* keys carry a hash tag, ``<prefix>g:{<key>}`` / ``<prefix>s:{<key>}``: every key of one logical rate-limit key
  (its GCRA and sliding-window states) lives in one slot, so a reset is one ``DEL`` and a script on them never
  crosses slots;
* the script is loaded on every primary when the backend is built (best effort), and a ``NOSCRIPT`` (a restarted
  node, a promoted replica) is answered by ``EVAL`` of the source on the key's node, which runs the decision and
  caches the script there: a ``NOSCRIPT`` means the script did not run, so this never counts twice;
* the cluster client follows ``MOVED``/``ASK`` and refreshes its slot map itself, but must NOT retry a command
  after a timeout or a dropped connection: the script may have run before the reply was lost, and a retry would
  record the decision twice. The backend refuses a client with command retries
  (:class:`RateLimitBackendError` naming the fix), and ``from_url`` builds one without;
* every node connection gets the ``timeout`` (connect and read), so a dead or frozen primary gives the rule's
  ``on_backend_error`` (open, closed or raise) within about that time instead of blocking the caller;
* the fast path skips the cluster client's command machinery: the key's slot is computed once (kept with the
  packed EVALSHA), the slot's primary read from the client's slot map, and the command sent on a dedicated
  connection to that node (``_dedicated_connections``). A reply that proves nothing ran (``MOVED``, ``ASK``,
  ``TRYAGAIN``, ``NOSCRIPT``) sends the decision once more through the cluster client, which follows the
  redirection and refreshes its map; a connection error or timeout is never re-sent (the script may have run):
  the map is refreshed, as the cluster client does, and the decision fails to the rule's ``on_backend_error``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Self

from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._core import CompiledPolicy
from infra_security.ratelimit._redis import MAX_PACKED, DecisionPlan, RedisBackend, default_timeouts

__all__ = ["RedisClusterBackend", "cluster_key", "refresh_slots"]


def cluster_key(prefix: str, algorithm: str, key: str) -> str:
    """The Redis key of ``key``'s state: ``<prefix><g|s>:{<key>}``, hash-tagged on the rate-limit key."""
    return f"{prefix}{'g' if algorithm == 'gcra' else 's'}:{{{key}}}"


class RedisClusterBackend(RedisBackend):
    """Counters in a Redis Cluster, shared by every process that uses the same ``prefix``.

    ``client`` is a ``redis.cluster.RedisCluster`` built without command retries
    (``retry=Retry(NoBackoff(), 0)``); :meth:`from_url` builds one. The other options are
    :class:`RedisBackend`'s. Async decisions (:meth:`adecide`) run the sync client in a worker thread.

    Example:
        >>> backend = RedisClusterBackend.from_url("redis://127.0.0.1:7000")  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "rl:",
        local_cache: bool = True,
        max_cached: int = 10_000,
        clock_us: Callable[[], int] | None = None,
        timeout: float = 0.5,
    ) -> None:
        if "{" in prefix or "}" in prefix:
            raise RateLimitBackendError(
                f"prefix must not contain '{{' or '}}' (it would change the keys' hash slot), got {prefix!r}"
            )
        super().__init__(  # refuses a client that retries commands
            client,
            prefix=prefix,
            local_cache=local_cache,
            max_cached=max_cached,
            clock_us=clock_us,
            timeout=timeout,
        )
        import redis.exceptions as rex

        # A slot no node covers (mid-failover) is a RedisClusterException, not a RedisError: a backend failure too.
        self._errors = (*self._errors, rex.RedisClusterException)
        _bound_cluster_timeouts(client, timeout)

        #: Replies that prove the script did not run: safe to send once more through the cluster client.
        self._not_run: tuple[type[BaseException], ...] = (
            rex.NoScriptError,
            rex.MovedError,
            rex.AskError,
            rex.TryAgainError,
        )
        self._lost: tuple[type[BaseException], ...] = (rex.ConnectionError, rex.TimeoutError, OSError)
        manager = getattr(client, "nodes_manager", None)
        self._direct = isinstance(getattr(manager, "slots_cache", None), dict) and hasattr(client, "keyslot")
        # Every primary knows the script from the start (best effort: NOSCRIPT later is answered by EVAL).
        with contextlib.suppress(*self._errors):
            client.script_load(self._script.script)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Self:
        """Connect to the cluster through one seed node (``redis://host:port``), without command retries."""
        from redis.backoff import NoBackoff
        from redis.cluster import RedisCluster
        from redis.retry import Retry

        timeout = float(kwargs.get("timeout", 0.5))
        client = RedisCluster.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, **kwargs)

    def reset(self, key: str) -> None:
        """Delete a key's state (one slot, one ``DEL``) in the cluster and in the local cache."""
        self._blocked.pop(key, None)
        names = [cluster_key(self._prefix, "gcra", key), cluster_key(self._prefix, "sliding_window", key)]
        try:
            self._client.delete(*names)
        except self._errors as exc:
            raise RateLimitBackendError(f"Redis Cluster reset failed for key `{key}`: {exc}") from exc

    def _call(self, key: str, policy: CompiledPolicy, plan: DecisionPlan, weight: int) -> Any:
        """The packed EVALSHA of ``key`` straight to its slot's primary, on a dedicated connection."""
        if not self._direct or self._clock_us is not None or weight != 1:
            return self._evalsha(self._redis_key(key, policy), self._args(plan, weight))
        client = self._client
        entry = plan.packed.get(key)  # (slot, packed command)
        slot = client.keyslot(self._redis_key(key, policy)) if entry is None else entry[0]
        # The slot's primary from the client's map (the map's first node), as get_node_from_slot answers it,
        # without that method's lock and argument checks (2 us): the map is replaced whole or moved slot by slot.
        nodes = client.nodes_manager.slots_cache.get(slot)
        if not nodes:  # no primary known for the slot now: the cluster client reports (and refreshes)
            return self._evalsha(self._redis_key(key, policy), self._args(plan, weight))
        node = nodes[0]
        try:
            pool = client.get_redis_connection(node).connection_pool
        except self._errors:
            return self._evalsha(self._redis_key(key, policy), self._args(plan, weight))
        if entry is None:
            if len(plan.packed) >= MAX_PACKED:
                plan.packed = {}
            packed = self._connections.pack(
                node.name, pool, "EVALSHA", self._script.sha, 1, self._redis_key(key, policy), *plan.args, ""
            )
            entry = plan.packed[key] = (slot, packed)
        try:
            return self._connections.exchange(node.name, pool, entry[1])
        except self._not_run:  # nothing ran: once more through the cluster client (redirects, EVAL)
            return self._evalsha(self._redis_key(key, policy), self._args(plan, weight))
        except self._lost:  # may have run: never re-sent; the slot map is asked for again
            refresh_slots(client)
            raise

    def _evalsha(self, redis_key: str, args: list[str | int]) -> Any:
        # EVALSHA routed by the key's slot; NOSCRIPT means nothing ran, so EVAL of the source on the same key's
        # node is safe (it runs once and caches the script there). Loading on every primary instead would fail
        # the decision whenever any other primary is down.
        try:
            return self._client.evalsha(self._script.sha, 1, redis_key, *args)
        except self._no_script:
            return self._client.eval(self._script.script, 1, redis_key, *args)

    def _redis_key(self, key: str, policy: CompiledPolicy) -> str:
        return cluster_key(self._prefix, policy.algorithm.value, key)


def refresh_slots(client: Any) -> None:
    """Ask the cluster for its slot map again after a node failed (as the cluster client does on its own errors)."""
    try:
        client.nodes_manager.initialize()
    except Exception:  # no node answers yet: the next decision tries again
        return


def _bound_cluster_timeouts(client: Any, timeout: float) -> None:
    """Give the cluster's node connections (present and future) socket timeouts when they have none."""
    targets: list[Any] = []
    manager = getattr(client, "nodes_manager", None)
    targets.append(getattr(manager, "connection_kwargs", None))
    for node in client.get_nodes() if hasattr(client, "get_nodes") else []:
        pool = getattr(getattr(node, "redis_connection", None), "connection_pool", None)
        targets.append(getattr(pool, "connection_kwargs", None))
    for kwargs in targets:
        default_timeouts(kwargs, timeout)
