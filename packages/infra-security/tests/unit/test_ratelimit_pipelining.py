"""The group-commit lines (threads and coroutines) with a send function of the test, and the backends' checks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from infra_security.errors import RateLimitBackendError
from infra_security.ratelimit._group_commit import AsyncDecisionLine, Call, DecisionLine
from infra_security.ratelimit._pipelining import PipelinedRedisBackend, PipelinedRedisClusterBackend


class Recorder:
    """A send function that answers each call with its own key, slowly, recording every pipeline it gets."""

    def __init__(self, delay: float = 0.005, fail_on: str | None = None) -> None:
        self.delay = delay
        self.fail_on = fail_on
        self.pipelines: list[list[str]] = []
        self.alone: list[str] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def _enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def send(self, calls: Sequence[Call]) -> list[Any]:
        self._enter()
        try:
            time.sleep(self.delay)
            keys = [key for key, _ in calls]
            with self.lock:
                self.pipelines.append(keys)
            if self.fail_on is not None and self.fail_on in keys:
                raise ConnectionError(f"pipeline with {self.fail_on} lost")
            return [f"reply:{key}:{args[0]}" for key, args in calls]
        finally:
            self._leave()

    def direct(self, key: str, args: list[str | int]) -> Any:
        self._enter()
        try:
            time.sleep(self.delay)
            with self.lock:
                self.alone.append(key)
            return f"reply:{key}:{args[0]}"
        finally:
            self._leave()


def hammer(line: DecisionLine, rec: Recorder, threads: int, per_thread: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def run(n: int) -> None:
        start.wait()
        for i in range(per_thread):
            key = f"t{n}-{i}"
            try:
                reply: Any = line.run(key, [i], rec.direct)
            except ConnectionError as exc:
                reply = exc
            with lock:
                results[key] = reply

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


class TestDecisionLine:
    def test_alone_a_call_goes_straight_through(self) -> None:
        rec = Recorder(delay=0)
        line = DecisionLine(rec.send)
        assert [line.run(f"k{i}", [i], rec.direct) for i in range(5)] == [f"reply:k{i}:{i}" for i in range(5)]
        assert rec.alone == [f"k{i}" for i in range(5)] and rec.pipelines == [] and line.batches == 0

    def test_concurrent_callers_share_pipelines_and_each_gets_its_own_reply(self) -> None:
        rec = Recorder()
        line = DecisionLine(rec.send, max_batch=8)
        results = hammer(line, rec, threads=16, per_thread=25)
        assert results == {f"t{n}-{i}": f"reply:t{n}-{i}:{i}" for n in range(16) for i in range(25)}
        sent = [key for p in rec.pipelines for key in p] + rec.alone
        assert sorted(sent) == sorted(results)  # every call sent exactly once
        assert max(len(p) for p in rec.pipelines) <= 8
        assert line.batched / line.batches > 2  # round trips were shared
        assert rec.max_in_flight == 1  # one round trip at a time on the line
        assert line.batched + len(rec.alone) == 16 * 25

    def test_a_failed_pipeline_fails_its_callers_only_and_is_not_re_sent(self) -> None:
        rec = Recorder(fail_on="t3-7")
        line = DecisionLine(rec.send, max_batch=64)
        results = hammer(line, rec, threads=8, per_thread=20)
        failed = {key for key, reply in results.items() if isinstance(reply, ConnectionError)}
        sent = [key for p in rec.pipelines for key in p] + rec.alone
        assert sorted(sent) == sorted(results)  # nothing sent twice, failure or not
        if "t3-7" in rec.alone:  # it went alone: nothing can fail (the direct path is the backend's own)
            assert failed == set()
        else:
            batch = next(p for p in rec.pipelines if "t3-7" in p)
            assert failed == set(batch)
        ok = set(results) - failed
        assert all(results[key] == f"reply:{key}:{key.split('-')[1]}" for key in ok)

    @pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
    def test_max_batch_must_be_a_positive_integer(self, bad: Any) -> None:
        with pytest.raises(RateLimitBackendError, match="max_batch must be a positive integer"):
            DecisionLine(Recorder().send, max_batch=bad)


class _Retry:
    def get_retries(self) -> int:
        return 3


class _RetryingClient:
    def get_retry(self) -> _Retry:
        return _Retry()


class TestBackendChecks:
    def test_single_server_client_with_retries_refused(self) -> None:
        with pytest.raises(RateLimitBackendError, match=r"_RetryingClient client retries commands \(3 retries\)"):
            PipelinedRedisBackend(_RetryingClient())

    def test_cluster_client_with_retries_refused(self) -> None:
        with pytest.raises(RateLimitBackendError, match="count twice"):
            PipelinedRedisClusterBackend(_RetryingClient())


class TestBrokenSend:
    def test_a_send_that_loses_replies_fails_its_callers_and_never_blocks_the_line(self) -> None:
        calls = {"n": 0}

        def short(batch: Sequence[Call]) -> list[Any]:
            calls["n"] += 1
            time.sleep(0.005)
            return list(range(len(batch) - 1))  # one reply short

        line = DecisionLine(short)
        rec = Recorder()
        errors: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(8)

        def run(n: int) -> None:
            start.wait()
            for i in range(10):
                try:
                    line.run(f"{n}-{i}", [i], rec.direct)
                except RateLimitBackendError as exc:
                    with lock:
                        errors.append(str(exc))

        threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert not any(t.is_alive() for t in threads)  # nobody left waiting on a stuck line
        assert calls["n"] > 0 and len(errors) == line.batched
        assert all("got" in e and "replies" in e for e in errors)


class AsyncRecorder:
    """An async send function answering each call with its key, recording pipelines and lone calls."""

    def __init__(self, fail_on: str | None = None, short: bool = False) -> None:
        self.fail_on = fail_on
        self.short = short
        self.pipelines: list[list[str]] = []
        self.alone: list[str] = []

    async def send(self, calls: Sequence[Call]) -> list[Any]:
        await asyncio.sleep(0.002)
        keys = [key for key, _ in calls]
        self.pipelines.append(keys)
        if self.fail_on is not None and self.fail_on in keys:
            raise ConnectionError(f"pipeline with {self.fail_on} lost")
        replies = [f"reply:{key}:{args[0]}" for key, args in calls]
        return replies[:-1] if self.short else replies

    async def direct(self, key: str, args: list[str | int]) -> Any:
        await asyncio.sleep(0.002)
        self.alone.append(key)
        return f"reply:{key}:{args[0]}"


async def _gather(line: AsyncDecisionLine, rec: AsyncRecorder, n: int) -> dict[str, Any]:
    async def one(i: int) -> tuple[str, Any]:
        await asyncio.sleep(0.0005 * (i % 7))
        try:
            return f"k{i}", await line.run(f"k{i}", [i], rec.direct)
        except (ConnectionError, RateLimitBackendError) as exc:
            return f"k{i}", exc

    return dict(await asyncio.gather(*(one(i) for i in range(n))))


class TestAsyncDecisionLine:
    def test_alone_a_coroutine_goes_straight_through(self) -> None:
        rec = AsyncRecorder()
        line = AsyncDecisionLine(rec.send)

        async def run() -> list[Any]:
            return [await line.run(f"k{i}", [i], rec.direct) for i in range(3)]

        assert asyncio.run(run()) == [f"reply:k{i}:{i}" for i in range(3)]
        assert rec.alone == ["k0", "k1", "k2"] and rec.pipelines == []

    def test_concurrent_coroutines_share_pipelines_and_each_gets_its_own_reply(self) -> None:
        rec = AsyncRecorder()
        line = AsyncDecisionLine(rec.send, max_batch=16)
        results = asyncio.run(_gather(line, rec, 200))
        assert results == {f"k{i}": f"reply:k{i}:{i}" for i in range(200)}
        sent = [key for p in rec.pipelines for key in p] + rec.alone
        assert sorted(sent) == sorted(results)  # each decision sent exactly once
        assert max(len(p) for p in rec.pipelines) <= 16 and line.batched / line.batches > 2

    def test_a_failed_pipeline_fails_its_callers_only(self) -> None:
        rec = AsyncRecorder(fail_on="k150")
        line = AsyncDecisionLine(rec.send, max_batch=16)
        results = asyncio.run(_gather(line, rec, 200))
        failed = {key for key, reply in results.items() if isinstance(reply, BaseException)}
        batch = next(p for p in rec.pipelines if "k150" in p)
        assert failed == set(batch)
        sent = [key for p in rec.pipelines for key in p] + rec.alone
        assert sorted(sent) == sorted(results)  # nothing re-sent after the failure
        assert all(results[k] == f"reply:{k}:{k[1:]}" for k in set(results) - failed)

    def test_short_replies_fail_the_batch_and_the_line_goes_on(self) -> None:
        rec = AsyncRecorder(short=True)
        line = AsyncDecisionLine(rec.send)

        async def run() -> tuple[dict[str, Any], Any]:
            results = await _gather(line, rec, 50)
            return results, await line.run("after", [0], rec.direct)  # the line is free again

        results, after = asyncio.run(run())
        failed = [r for r in results.values() if isinstance(r, RateLimitBackendError)]
        assert len(failed) == line.batched > 0 and all("replies" in str(e) for e in failed)
        assert after == "reply:after:0"

    def test_a_cancelled_caller_does_not_disturb_the_others(self) -> None:
        rec = AsyncRecorder()
        line = AsyncDecisionLine(rec.send)

        async def run() -> list[Any]:
            first = asyncio.ensure_future(line.run("first", [0], rec.direct))
            await asyncio.sleep(0)  # the line is busy with `first`
            queued = [asyncio.ensure_future(line.run(f"q{i}", [i], rec.direct)) for i in range(5)]
            await asyncio.sleep(0)
            queued[2].cancel()
            return await asyncio.gather(first, *queued, return_exceptions=True)

        results = asyncio.run(run())
        assert results[0] == "reply:first:0"
        assert isinstance(results[3], asyncio.CancelledError)
        assert [results[i] for i in (1, 2, 4, 5)] == [f"reply:q{i}:{i}" for i in (0, 1, 3, 4)]
