"""Redis rate-limit backend: one EVALSHA round trip per decision, over-limit keys answered locally.

The Lua script (``ratelimit.lua``) decides and records atomically on the server, with the server's clock, so
any number of processes share one exact count. Keys known to be exhausted are remembered in process until
they can admit again: those rejections cost no round trip. Redis errors become
:class:`~infra_security.errors.RateLimitBackendError`, which the limiter turns into fail-open, fail-closed or
an exception per rule.

A decision takes the shortest path redis-py's public API offers: a dedicated connection
(``_dedicated_connections``) and an EVALSHA packed once per key and policy. A GCRA decision sends three
arguments and gets one integer back (``tat - now``); the remaining count, retry-after and reset are derived
here from it and the policy, with the same integer arithmetic the script used to do.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from importlib.resources import files
from typing import Any, Self

from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._core import CompiledPolicy, Outcome
from infra_security.ratelimit._dedicated_connections import DedicatedConnections, can_dedicate

__all__ = ["MAX_PACKED", "DecisionPlan", "RedisBackend", "default_timeouts", "load_script", "refuse_retrying_client"]

_US = 1_000_000
#: Packed commands kept per policy (one per key); the cache starts over when full.
MAX_PACKED = 4096


class DecisionPlan:
    """A policy reduced to the script's integer arguments, with the packed EVALSHA of each key seen."""

    __slots__ = ("args", "gcra", "interval", "packed", "tolerance")

    def __init__(self, policy: CompiledPolicy) -> None:
        self.gcra = policy.algorithm.value == "gcra"
        self.interval = max(1, round(policy.interval * _US))
        self.tolerance = policy.capacity * self.interval
        period = max(1, round(policy.period * _US))
        #: Arguments after the algorithm name, for weight 1 (the now slot is filled per call when injected).
        self.args: tuple[str | int, ...] = (
            ("gcra", self.interval, self.tolerance)
            if self.gcra
            else ("sliding_window", 1, self.interval, policy.capacity, period)
        )
        #: key -> what the fast path needs for it (the packed command; a cluster adds the slot).
        self.packed: dict[str, Any] = {}


def load_script() -> str:
    """Return the Lua source of the decision script."""
    return files("infra_security.ratelimit").joinpath("ratelimit.lua").read_text(encoding="utf-8")


class RedisBackend:
    """Counters in Redis, shared by every process that uses the same ``prefix``.

    ``client`` is a ``redis.Redis`` (``decode_responses`` either way); ``async_client`` an optional
    ``redis.asyncio.Redis`` for :meth:`adecide` (without it, async decisions run the sync client in a thread).
    ``clock_us`` injects "now" in microseconds (tests); by default the Redis server's ``TIME`` is used.
    ``local_cache`` keeps exhausted keys in process until their next free instant (``max_cached`` entries).
    ``timeout`` (seconds, default 0.5) bounds every call: a client whose connections have no socket timeout gets
    this one (connect and read), so a hung server raises within it and the rule's ``on_backend_error``
    (open, closed or raise) applies instead of blocking the caller. A client that retries commands after a
    timeout (``redis.Redis(host=..., port=...)`` does, 3 times) is refused: the retried decision may have run
    already and would count twice; ``redis.Redis.from_url`` clients and :meth:`from_url` do not retry.

    Example:
        >>> import redis  # doctest: +SKIP
        >>> backend = RedisBackend(redis.Redis.from_url("redis://127.0.0.1:6379/0"))  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        async_client: Any = None,
        prefix: str = "rl:",
        local_cache: bool = True,
        max_cached: int = 10_000,
        clock_us: Callable[[], int] | None = None,
        timeout: float = 0.5,
    ) -> None:
        if not (isinstance(timeout, int | float) and 0 < timeout < float("inf")):
            raise RateLimitBackendError(f"timeout must be a positive number of seconds, got {timeout!r}")
        refuse_retrying_client(client)
        if async_client is not None:
            refuse_retrying_client(async_client)
        try:
            import redis.exceptions
        except ImportError as exc:
            raise RateLimitBackendError("redis is not installed: pip install 'infra-security[redis]'") from exc

        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._no_script: type[BaseException] = redis.exceptions.NoScriptError
        self._connections = DedicatedConnections(redis.exceptions.ResponseError)
        _bound_timeouts(client, timeout)
        if async_client is not None:
            _bound_timeouts(async_client, timeout)
        self._client = client
        self._script = client.register_script(load_script())
        self._async_client = async_client
        self._async_script = async_client.register_script(load_script()) if async_client is not None else None
        self._prefix = prefix
        self._local = local_cache
        self._max_cached = max_cached
        self._clock_us = clock_us
        # key -> (monotonic instant from which one unit may pass, monotonic instant of full reset)
        self._blocked: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._plans: dict[CompiledPolicy, DecisionPlan] = {}
        # The lean path needs a plain pool to build its own connections from (a test double has none).
        pool = getattr(client, "connection_pool", None)
        self._pool: Any = pool if can_dedicate(pool) else None
        #: Decisions answered from the local over-limit cache (no round trip).
        self.local_rejections = 0

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Self:
        """Connect with ``redis.Redis.from_url`` (and ``redis.asyncio`` for async decisions), without retries."""
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = float(kwargs.get("timeout", 0.5))
        client = redis.Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_timeout=timeout, socket_connect_timeout=timeout
        )
        async_client = redis.asyncio.Redis.from_url(
            url,
            retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
        )
        return cls(client, async_client=async_client, **kwargs)

    def decide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Decide one request: locally if the key is known to be exhausted, else in one EVALSHA."""
        if self._local:
            cached = self._cached(key)
            if cached is not None:
                return cached
        plan = self._plans.get(policy)
        if plan is None:
            plan = self._plans[policy] = DecisionPlan(policy)
        try:
            reply = self._call(key, policy, plan, weight)
        except self._errors as exc:
            raise RateLimitBackendError(
                f"Redis rate-limit decision failed for key `{key}`: {exc}", details={"key": key}
            ) from exc
        return self._outcome(key, plan, weight, reply)

    async def adecide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Async twin of :meth:`decide`."""
        if self._local:
            cached = self._cached(key)
            if cached is not None:
                return cached
        if self._async_script is None:
            return await asyncio.to_thread(self.decide, key, policy, weight)
        plan = self._plans.get(policy)
        if plan is None:
            plan = self._plans[policy] = DecisionPlan(policy)
        try:
            reply = await self._async_script(keys=[self._redis_key(key, policy)], args=self._args(plan, weight))
        except self._errors as exc:
            raise RateLimitBackendError(
                f"Redis rate-limit decision failed for key `{key}`: {exc}", details={"key": key}
            ) from exc
        return self._outcome(key, plan, weight, reply)

    def close(self) -> None:
        """Disconnect the backend's dedicated connections (the clients passed in stay the caller's to close)."""
        self._connections.close()

    def reset(self, key: str) -> None:
        """Delete a key's state in Redis and in the local cache."""
        self._blocked.pop(key, None)
        try:
            self._client.delete(self._prefix + "g:" + key, self._prefix + "s:" + key)
        except self._errors as exc:
            raise RateLimitBackendError(f"Redis reset failed for key `{key}`: {exc}") from exc

    def _call(self, key: str, policy: CompiledPolicy, plan: DecisionPlan, weight: int) -> Any:
        """One decision's round trip: the packed EVALSHA of ``key`` on a dedicated connection when possible."""
        pool = self._pool
        if pool is None or self._clock_us is not None or weight != 1:
            return self._evalsha(self._redis_key(key, policy), self._args(plan, weight))
        packed = plan.packed.get(key)
        if packed is None:
            if len(plan.packed) >= MAX_PACKED:
                plan.packed = {}
            packed = self._connections.pack(
                "", pool, "EVALSHA", self._script.sha, 1, self._redis_key(key, policy), *plan.args, ""
            )
            plan.packed[key] = packed
        try:
            return self._connections.exchange("", pool, packed)
        except self._no_script:  # nothing ran (a restarted or failed-over server): load it, send again
            self._script.sha = self._client.script_load(self._script.script)  # the same SHA: packed stays valid
            return self._connections.exchange("", pool, packed)

    def _evalsha(self, redis_key: str, args: list[str | int]) -> Any:
        """EVALSHA of any decision (any weight, injected clock), on a dedicated connection when possible."""
        pool, connections = self._pool, self._connections

        def send() -> Any:
            if pool is None:
                return self._client.evalsha(self._script.sha, 1, redis_key, *args)
            return connections.exchange(
                "", pool, connections.pack("", pool, "EVALSHA", self._script.sha, 1, redis_key, *args)
            )

        try:
            return send()
        except self._no_script:  # nothing ran (a restarted or failed-over server): load it, send again
            self._script.sha = self._client.script_load(self._script.script)
            return send()

    def _redis_key(self, key: str, policy: CompiledPolicy) -> str:
        # The algorithm is part of the key: GCRA keeps a string, the sliding window a hash, and a policy that
        # changes algorithm on a deploy must not hit WRONGTYPE on the other's state.
        return f"{self._prefix}{'g' if policy.algorithm.value == 'gcra' else 's'}:{key}"

    def _args(self, plan: DecisionPlan, weight: int) -> list[str | int]:
        now: str | int = "" if self._clock_us is None else self._clock_us()
        if plan.gcra:
            return ["gcra", weight * plan.interval, plan.tolerance, now]
        return [*plan.args[:1], weight, *plan.args[2:], now]

    def _cached(self, key: str) -> Outcome | None:
        entry = self._blocked.get(key)
        if entry is None:
            return None
        now = time.monotonic()
        if now >= entry[0]:
            self._blocked.pop(key, None)
            return None
        self.local_rejections += 1
        return False, 0, entry[0] - now, max(0.0, entry[1] - now)

    def _outcome(self, key: str, plan: DecisionPlan, weight: int, reply: Any) -> Outcome:
        if isinstance(reply, int):  # GCRA: tat - now after the decision, negated when denied
            interval, tolerance = plan.interval, plan.tolerance
            if reply > 0:
                allowed, ahead, retry_us = True, reply, 0
            else:
                allowed, ahead = False, -reply
                retry_us = ahead + weight * interval - tolerance
            remaining = max(0, (tolerance - ahead) // interval)
            reset_us, next_free_us = ahead, max(0, ahead + interval - tolerance)
        else:
            allowed_flag, remaining, retry_us, reset_us, next_free_us = reply
            allowed = allowed_flag == 1
        if self._local and remaining == 0 and next_free_us > 0:
            now = time.monotonic()
            with self._lock:
                if len(self._blocked) >= self._max_cached:
                    self._blocked = {k: v for k, v in self._blocked.items() if v[0] > now}
                    if len(self._blocked) >= self._max_cached:
                        self._blocked.clear()
                self._blocked[key] = (now + next_free_us / _US, now + reset_us / _US)
        return allowed, int(remaining), retry_us / _US, reset_us / _US


def refuse_retrying_client(client: Any) -> None:
    """Raise :class:`RateLimitBackendError` when a redis-py client would re-send a command after a timeout.

    A decision re-sent after a timeout or a dropped connection may have run already: it would count twice.
    """
    retry = client.get_retry() if hasattr(client, "get_retry") else getattr(client, "retry", None)
    retries = retry.get_retries() if retry is not None and hasattr(retry, "get_retries") else 0
    if retries:
        raise RateLimitBackendError(
            f"the {type(client).__name__} client retries commands ({retries} retries): a decision retried after a "
            "timeout may have run already and would count twice; build it with "
            "`retry=redis.retry.Retry(redis.backoff.NoBackoff(), 0)` or use the backend's from_url"
        )


def _bound_timeouts(client: Any, timeout: float) -> None:
    """Give a redis-py client's future connections socket timeouts when it has none (a hung server must not block)."""
    pool = getattr(client, "connection_pool", None)
    default_timeouts(getattr(pool, "connection_kwargs", None), timeout)


def default_timeouts(connection_kwargs: object, timeout: float) -> None:
    """Set ``socket_timeout`` and ``socket_connect_timeout`` in a pool's connection settings where they are unset."""
    if not isinstance(connection_kwargs, dict):
        return
    for name in ("socket_timeout", "socket_connect_timeout"):
        if connection_kwargs.get(name) is None:
            connection_kwargs[name] = timeout
