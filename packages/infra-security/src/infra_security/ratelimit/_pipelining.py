"""Redis backends whose concurrent callers' decisions share round trips (group commit, see ``_group_commit``).

Each decision is still one ``EVALSHA`` of the same script, atomic on the server, so exactness is unchanged; only
the round trips are shared. Nothing is re-sent after a pipeline may have reached the server: a connection error or
timeout fails every decision of that pipeline (each caller gets its rule's ``on_backend_error``). Replies that
prove the server did not run the script (``NOSCRIPT``, and on a cluster ``MOVED``/``ASK``/``TRYAGAIN``) are decided
again one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from infra_security.ratelimit._core import CompiledPolicy
from infra_security.ratelimit._group_commit import AsyncDecisionLine, Call, DecisionLine, check_max_batch
from infra_security.ratelimit._redis import DecisionPlan, RedisBackend
from infra_security.ratelimit._redis_cluster import RedisClusterBackend, refresh_slots

__all__ = ["PipelinedRedisBackend", "PipelinedRedisClusterBackend"]


class PipelinedRedisBackend(RedisBackend):
    """:class:`RedisBackend` whose concurrent decisions share round trips: threads, and coroutines (``ahit``).

    ``client`` (and ``async_client``, for coroutines on ``redis.asyncio``) must not retry commands
    (``retry=Retry(NoBackoff(), 0)``): a pipeline re-sent after a timeout would record its decisions twice.
    Without ``async_client``, ``ahit`` reaches the threads' line through a worker thread. ``max_batch`` caps the
    decisions of one pipeline.
    """

    def __init__(self, client: Any, *, max_batch: int = 64, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)  # refuses clients that retry commands
        self.line = DecisionLine(self._send, max_batch)
        #: The coroutines' line (with ``async_client``): ``ahit`` calls awaited together share pipelines.
        self.async_line = AsyncDecisionLine(self._asend, max_batch)
        if self._async_script is not None:
            self._async_script = _ThroughLine(self.async_line, self._async_script)

    def _call(self, key: str, policy: CompiledPolicy, plan: DecisionPlan, weight: int) -> Any:
        return self.line.run(self._redis_key(key, policy), self._args(plan, weight), self._evalsha)

    def _send(self, calls: Sequence[Call]) -> list[Any]:
        pool = self._pool
        if pool is not None:  # one write on a dedicated connection, one reply read per decision
            pack, sha = self._connections.pack, self._script.sha
            replies = self._connections.exchange_many(
                "", pool, [pack("", pool, "EVALSHA", sha, 1, key, *args) for key, args in calls]
            )
        else:
            pipe = self._client.pipeline(transaction=False)
            for key, args in calls:
                pipe.execute_command("EVALSHA", self._script.sha, 1, key, *args)
            replies = pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, self._no_script):  # nothing ran: decide this one alone (loads the script again)
                replies[i] = _again(RedisBackend._evalsha, self, calls[i], self._errors)
        return replies

    async def _asend(self, calls: Sequence[Call]) -> list[Any]:
        assert self._async_client is not None and isinstance(self._async_script, _ThroughLine)
        pipe = self._async_client.pipeline(transaction=False)
        for key, args in calls:
            pipe.execute_command("EVALSHA", self._script.sha, 1, key, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, self._no_script):  # nothing ran: decide this one alone (loads the script again)
                key, args = calls[i]
                try:
                    replies[i] = await self._async_script.script(keys=[key], args=args)
                except self._errors as exc:
                    replies[i] = exc
        return replies


class _ThroughLine:
    """Stands where :class:`RedisBackend` keeps its async script: each call goes through the coroutines' line."""

    def __init__(self, line: AsyncDecisionLine, script: Any) -> None:
        self.line = line
        self.script = script

    async def _alone(self, key: str, args: list[str | int]) -> Any:
        return await self.script(keys=[key], args=args)

    async def __call__(self, *, keys: list[str], args: list[str | int]) -> Any:
        return await self.line.run(keys[0], args, self._alone)


class PipelinedRedisClusterBackend(RedisClusterBackend):
    """:class:`RedisClusterBackend` whose concurrent decisions share round trips: one line per primary.

    Each primary has its own :class:`DecisionLine`, so decisions for different primaries never wait for each
    other, and a pipeline goes to one node on a dedicated connection of that node, in one write (redis-py's
    cluster pipeline would ask the server for the keys of every ``EVALSHA``: one more round trip per decision).
    A reply that proves nothing ran (``MOVED``/``ASK``/``TRYAGAIN``/``NOSCRIPT``) is decided again through the
    cluster client, which follows the redirection.
    """

    def __init__(self, client: Any, *, max_batch: int = 64, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._max_batch = check_max_batch(max_batch)
        self._lines: dict[str, DecisionLine] = {}
        self._alones: dict[str, Callable[[str, list[str | int]], Any]] = {}
        self._lines_lock = threading.Lock()

    @property
    def lines(self) -> dict[str, DecisionLine]:
        """The line of each primary met so far, by node name (``host:port``)."""
        return dict(self._lines)

    def _call(self, key: str, policy: CompiledPolicy, plan: DecisionPlan, weight: int) -> Any:
        redis_key, args = self._redis_key(key, policy), self._args(plan, weight)
        nodes = self._client.nodes_manager.slots_cache.get(self._client.keyslot(redis_key)) if self._direct else None
        if not nodes:  # no slot map (every node down), or a client double: the cluster client reports it
            return self._evalsha(redis_key, args)
        name = nodes[0].name
        line = self._lines.get(name)
        if line is None:
            with self._lines_lock:
                if name not in self._lines:
                    send = self._sender(nodes[0])
                    self._alones[name] = _alone(send)  # before the line: a thread that sees the line finds it
                    self._lines[name] = DecisionLine(send, self._max_batch)
                line = self._lines[name]
        return line.run(redis_key, args, self._alones[name])

    def _sender(self, node: Any) -> Callable[[Sequence[Call]], list[Any]]:
        def send(calls: Sequence[Call]) -> list[Any]:
            connections, sha = self._connections, self._script.sha
            try:  # one write on a dedicated connection to this primary, one reply read per decision
                pool = self._client.get_redis_connection(node).connection_pool
                packed = [connections.pack(node.name, pool, "EVALSHA", sha, 1, key, *args) for key, args in calls]
                replies = connections.exchange_many(node.name, pool, packed)
            except self._lost:  # this primary failed: its decisions get the failure mode, never re-sent
                refresh_slots(self._client)
                raise
            for i, reply in enumerate(replies):
                if isinstance(reply, self._not_run):
                    replies[i] = _again(RedisClusterBackend._evalsha, self, calls[i], self._errors)
            return replies

        return send


def _alone(send: Callable[[Sequence[Call]], list[Any]]) -> Callable[[str, list[str | int]], Any]:
    """One decision sent alone through a line's own send function (its reply, or its error raised)."""

    def alone(redis_key: str, args: list[str | int]) -> Any:
        reply = send([(redis_key, args)])[0]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    return alone


def _again(evalsha: Callable[..., Any], backend: Any, call: Call, errors: tuple[type[BaseException], ...]) -> Any:
    """Decide one call again alone (the server proved it did not run); an error becomes that caller's reply."""
    try:
        return evalsha(backend, *call)
    except errors as exc:
        return exc
