"""Group commit for rate-limit decisions: concurrent callers share the round trips of one send function.

A caller that finds the line idle sends its own decision at once (no added latency when alone). Callers that
arrive while a round trip is in flight queue up; when it returns, the queued decisions go out together in one
call of ``send`` (at most ``max_batch``) and each caller gets its own reply or exception. Threads use
:class:`DecisionLine`, coroutines :class:`AsyncDecisionLine` (one queue per event loop). The lines know nothing of
Redis: the backends in ``_pipelining`` give them a send function.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from infra_security.errors import RateLimitBackendError

__all__ = ["AsyncDecisionLine", "Call", "DecisionLine", "check_max_batch"]

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
