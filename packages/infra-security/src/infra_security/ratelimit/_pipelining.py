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
from infra_security.ratelimit._redis import RedisBackend, _Plan
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

    def _call(self, key: str, policy: CompiledPolicy, plan: _Plan, weight: int) -> Any:
        return self.line.run(self._redis_key(key, policy), self._args(plan, weight), self._evalsha)

    def _send(self, calls: Sequence[Call]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for key, args in calls:
            pipe.execute_command("EVALSHA", self._script.sha, 1, key, *args)
        replies: list[Any] = pipe.execute(raise_on_error=False)
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
    other, and a pipeline goes to one node on that node's own connection (redis-py's cluster pipeline would ask
    the server for the keys of every ``EVALSHA``: one more round trip per decision). A reply that proves nothing
    ran (``MOVED``/``ASK``/``TRYAGAIN``/``NOSCRIPT``) is decided again through the cluster client, which follows
    the redirection.
    """

    def __init__(self, client: Any, *, max_batch: int = 64, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self._max_batch = check_max_batch(max_batch)
        self._lines: dict[str, DecisionLine] = {}
        self._lines_lock = threading.Lock()

    @property
    def lines(self) -> dict[str, DecisionLine]:
        """The line of each primary met so far, by node name (``host:port``)."""
        return dict(self._lines)

    def _call(self, key: str, policy: CompiledPolicy, plan: _Plan, weight: int) -> Any:
        redis_key, args = self._redis_key(key, policy), self._args(plan, weight)
        try:
            node = self._client.get_node_from_key(redis_key)
        except self._errors:  # no slot map (every node down): the cluster client reports it
            return self._evalsha(redis_key, args)
        line = self._lines.get(node.name)
        if line is None:
            with self._lines_lock:
                line = self._lines.setdefault(node.name, DecisionLine(self._sender(node), self._max_batch))
        return line.run(redis_key, args, self._evalsha)

    def _sender(self, node: Any) -> Callable[[Sequence[Call]], list[Any]]:
        def send(calls: Sequence[Call]) -> list[Any]:
            pipe = self._client.get_redis_connection(node).pipeline(transaction=False)
            for key, args in calls:
                pipe.execute_command("EVALSHA", self._script.sha, 1, key, *args)
            try:
                replies: list[Any] = pipe.execute(raise_on_error=False)
            except self._errors:  # this primary failed: its decisions get the failure mode, never re-sent
                refresh_slots(self._client)
                raise
            for i, reply in enumerate(replies):
                if isinstance(reply, self._not_run):
                    replies[i] = _again(RedisClusterBackend._evalsha, self, calls[i], self._errors)
            return replies

        return send


def _again(evalsha: Callable[..., Any], backend: Any, call: Call, errors: tuple[type[BaseException], ...]) -> Any:
    """Decide one call again alone (the server proved it did not run); an error becomes that caller's reply."""
    try:
        return evalsha(backend, *call)
    except errors as exc:
        return exc
