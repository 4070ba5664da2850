"""Decisions of concurrent callers sharing round trips: group commit in front of the Redis backends.

A caller that finds the line idle sends its own decision at once (no added latency when alone). Callers that
arrive while a round trip is in flight queue up; when it returns, the first of them sends every queued decision in
one pipeline (at most ``max_batch``) and hands each caller its reply. Each decision is still one ``EVALSHA`` of
the same script, atomic on the server, so exactness is unchanged; only the round trips are shared.

Nothing is re-sent after a pipeline may have reached the server: a connection error or timeout fails every
decision of that pipeline (each caller gets its rule's ``on_backend_error``). Replies that prove the server did not
run the script (``NOSCRIPT``, and on a cluster ``MOVED``/``ASK``/``TRYAGAIN``) are decided again one by one.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._redis import RedisBackend
from infra_security.ratelimit._redis_cluster import RedisClusterBackend, refuse_retrying_client

__all__ = [
    "AsyncDecisionLine",
    "Call",
    "DecisionLine",
    "PipelinedRedisBackend",
    "PipelinedRedisClusterBackend",
    "check_max_batch",
]

#: One queued decision: (redis key, script arguments).
Call = tuple[str, list[str | int]]


def check_max_batch(max_batch: int) -> int:
    """Return ``max_batch`` if it is a positive integer, else raise :class:`RateLimitBackendError`."""
    if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
        raise RateLimitBackendError(f"max_batch must be a positive integer, got {max_batch!r}")
    return max_batch


class _Pending:
    __slots__ = ("args", "done", "key", "reply")

    def __init__(self, key: str, args: list[str | int]) -> None:
        self.key = key
        self.args = args
        self.reply: Any = None
        self.done = False


class DecisionLine:
    """Group commit: concurrent ``run`` calls share the round trips of ``send`` (one reply or exception per call)."""

    def __init__(self, send: Callable[[Sequence[Call]], list[Any]], max_batch: int = 64) -> None:
        self._send = send
        self._max = check_max_batch(max_batch)
        self._cond = threading.Condition()
        self._busy = False
        self._queue: list[_Pending] = []
        #: Pipelines sent and decisions they carried (a decision sent alone is not counted here).
        self.batches = 0
        self.batched = 0

    def run(self, key: str, args: list[str | int], alone: Callable[[str, list[str | int]], Any]) -> Any:
        """Decide through ``alone(key, args)`` when the line is idle, else in the next shared pipeline."""
        with self._cond:
            if not self._busy and not self._queue:
                self._busy = True
                mine = None
            else:
                mine = _Pending(key, args)
                self._queue.append(mine)
        if mine is None:
            try:
                return alone(key, args)
            finally:
                self._release()
        while True:
            with self._cond:
                while not mine.done and self._busy:
                    self._cond.wait()
                if mine.done:
                    break
                self._busy = True
                batch = self._queue[: self._max]
                del self._queue[: self._max]
            self._flush(batch)
        if isinstance(mine.reply, BaseException):
            raise mine.reply
        return mine.reply

    def _flush(self, batch: list[_Pending]) -> None:
        try:
            replies = self._send([(p.key, p.args) for p in batch])
            if len(replies) != len(batch):
                raise RateLimitBackendError(f"a pipeline of {len(batch)} decisions got {len(replies)} replies")
        except BaseException as exc:  # the whole pipeline failed: every caller in it gets the error
            replies = [exc] * len(batch)
        with self._cond:  # always reached: the line is released and every waiter woken, whatever happened
            self.batches += 1
            self.batched += len(batch)
            for pending, reply in zip(batch, replies, strict=True):
                pending.reply = reply
                pending.done = True
            self._busy = False
            self._cond.notify_all()

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            if self._queue:
                self._cond.notify_all()


class _AsyncQueue:
    """One event loop's share of an :class:`AsyncDecisionLine`."""

    __slots__ = ("busy", "queue", "tasks")

    def __init__(self) -> None:
        self.busy = False
        self.queue: list[tuple[str, list[str | int], asyncio.Future[Any]]] = []
        self.tasks: set[asyncio.Task[None]] = set()


class AsyncDecisionLine:
    """Group commit for coroutines: decisions awaited while a round trip is in flight share the next pipeline.

    A coroutine that finds the line idle sends its decision at once; the others wait on a future, and a task
    drains them in pipelines (at most ``max_batch``) as soon as the line is free. One queue per event loop.
    """

    def __init__(self, send: Callable[[Sequence[Call]], Awaitable[list[Any]]], max_batch: int = 64) -> None:
        self._send = send
        self._max = check_max_batch(max_batch)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncQueue] = weakref.WeakKeyDictionary()
        #: Pipelines sent and decisions they carried (a decision sent alone is not counted here).
        self.batches = 0
        self.batched = 0

    async def run(
        self, key: str, args: list[str | int], alone: Callable[[str, list[str | int]], Awaitable[Any]]
    ) -> Any:
        """Decide through ``alone(key, args)`` when the line is idle, else in the next shared pipeline."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _AsyncQueue()
        if state.busy:
            future: asyncio.Future[Any] = loop.create_future()
            state.queue.append((key, args, future))
            return await future
        state.busy = True
        try:
            return await alone(key, args)
        finally:
            self._release(state, loop)

    def _release(self, state: _AsyncQueue, loop: asyncio.AbstractEventLoop) -> None:
        if not state.queue:
            state.busy = False
            return
        task = loop.create_task(self._drain(state))  # the line stays busy until the queue is empty
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)

    async def _drain(self, state: _AsyncQueue) -> None:
        batch: list[tuple[str, list[str | int], asyncio.Future[Any]]] = []
        try:
            while state.queue:
                batch = state.queue[: self._max]
                del state.queue[: self._max]
                try:
                    replies = await self._send([(key, args) for key, args, _ in batch])
                    if len(replies) != len(batch):
                        raise RateLimitBackendError(f"a pipeline of {len(batch)} decisions got {len(replies)} replies")
                except Exception as exc:  # the whole pipeline failed: every caller in it gets the error
                    replies = [exc] * len(batch)
                self.batches += 1
                self.batched += len(batch)
                for (_, _, future), reply in zip(batch, replies, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if isinstance(reply, BaseException):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
                batch = []
        finally:  # left over only when this task itself was cancelled: nobody may wait for ever
            leftover = batch + state.queue
            del state.queue[:]
            for _, _, future in leftover:
                if not future.done():
                    future.set_exception(RateLimitBackendError("the decision pipeline was cancelled"))
            state.busy = False


class PipelinedRedisBackend(RedisBackend):
    """:class:`RedisBackend` whose concurrent decisions share round trips: threads, and coroutines (``ahit``).

    ``client`` (and ``async_client``, for coroutines on ``redis.asyncio``) must not retry commands
    (``retry=Retry(NoBackoff(), 0)``): a pipeline re-sent after a timeout would record its decisions twice.
    Without ``async_client``, ``ahit`` reaches the threads' line through a worker thread. ``max_batch`` caps the
    decisions of one pipeline.
    """

    def __init__(self, client: Any, *, max_batch: int = 64, **kwargs: Any) -> None:
        refuse_retrying_client(client)
        if kwargs.get("async_client") is not None:
            refuse_retrying_client(kwargs["async_client"])
        super().__init__(client, **kwargs)
        self.line = DecisionLine(self._send, max_batch)
        #: The coroutines' line (with ``async_client``): ``ahit`` calls awaited together share pipelines.
        self.async_line = AsyncDecisionLine(self._asend, max_batch)
        if self._async_script is not None:
            self._async_script = _ThroughLine(self.async_line, self._async_script)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> PipelinedRedisBackend:
        """Connect with ``redis.Redis.from_url`` and ``redis.asyncio`` (timeouts set, no command retries)."""
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

    def _evalsha(self, redis_key: str, args: list[str | int]) -> Any:
        return self.line.run(redis_key, args, super()._evalsha)

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
        import redis.exceptions as rex

        self._not_run: tuple[type[BaseException], ...] = (
            rex.NoScriptError,
            rex.MovedError,
            rex.AskError,
            rex.TryAgainError,
        )

    @property
    def lines(self) -> dict[str, DecisionLine]:
        """The line of each primary met so far, by node name (``host:port``)."""
        return dict(self._lines)

    def _evalsha(self, redis_key: str, args: list[str | int]) -> Any:
        try:
            node = self._client.get_node_from_key(redis_key)
        except self._errors:  # no slot map (every node down): the cluster client reports it
            return super()._evalsha(redis_key, args)
        line = self._lines.get(node.name)
        if line is None:
            with self._lines_lock:
                line = self._lines.setdefault(node.name, DecisionLine(self._sender(node), self._max_batch))
        return line.run(redis_key, args, super()._evalsha)

    def _sender(self, node: Any) -> Callable[[Sequence[Call]], list[Any]]:
        def send(calls: Sequence[Call]) -> list[Any]:
            pipe = self._client.get_redis_connection(node).pipeline(transaction=False)
            for key, args in calls:
                pipe.execute_command("EVALSHA", self._script.sha, 1, key, *args)
            try:
                replies: list[Any] = pipe.execute(raise_on_error=False)
            except self._errors:  # this primary failed: its decisions get the failure mode, never re-sent
                _refresh_slots(self._client)
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


def _refresh_slots(client: Any) -> None:
    """Ask the cluster for its slot map again after a node failed (as the cluster client does on its own errors)."""
    try:
        client.nodes_manager.initialize()
    except Exception:  # no node answers yet: the next decision tries again
        return
