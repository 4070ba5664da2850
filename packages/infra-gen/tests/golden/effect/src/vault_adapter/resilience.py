"""Retries with exponential backoff and jitter, request timeouts and a circuit breaker, as the contract declares."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from infra_models import CircuitBreakerPolicy, RetryPolicy

from vault_adapter.ports import TransientError

__all__ = ["RETRYABLE", "CircuitBreaker", "CircuitOpenError", "backoff_delay", "call_with_retries"]

T = TypeVar("T")
_log = logging.getLogger(__name__)
RETRYABLE: tuple[type[BaseException], ...] = (TransientError, TimeoutError, ConnectionError)


class CircuitOpenError(RuntimeError):
    """The circuit is open: the external system failed too often; calls are refused until the reset timeout."""


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; lets one trial call through after the reset timeout.

    Thread-safe: while the circuit is half-open exactly one caller gets the trial call, every other caller is
    refused until the trial's outcome closes or re-opens the circuit.
    """

    def __init__(self, policy: CircuitBreakerPolicy, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    def _current(self) -> str:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.policy.reset_timeout_seconds:
            return "half_open"
        return "open"

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half_open``."""
        with self._lock:
            return self._current()

    def before_call(self) -> bool:
        """Admit a call, or raise :class:`CircuitOpenError`; True when the admitted call is the half-open trial."""
        with self._lock:
            state = self._current()
            if state == "closed":
                return False
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                _log.info("circuit half-open: one trial call let through")
                return True
            why = "a trial call is in flight" if state == "half_open" else f"after {self._failures} failures"
            raise CircuitOpenError(f"circuit open ({why}); retry after {self.policy.reset_timeout_seconds}s")

    def record_success(self) -> None:
        """Close the circuit."""
        with self._lock:
            if self._opened_at is not None:
                _log.info("circuit closed: the trial call succeeded")
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """Count a failure; open (or re-open, after a failed trial call) the circuit at the threshold."""
        with self._lock:
            self._failures += 1
            self._trial_in_flight = False
            if self._opened_at is not None or self._failures >= self.policy.failure_threshold:
                if self._opened_at is None:
                    _log.warning(
                        "circuit opened after %d consecutive failures; calls refused for %ss",
                        self._failures,
                        self.policy.reset_timeout_seconds,
                    )
                self._opened_at = self._clock()

    def release_trial(self) -> None:
        """End a trial call that ended neither in success nor in a transient failure (cancelled, or another error)."""
        with self._lock:
            self._trial_in_flight = False


def backoff_delay(policy: RetryPolicy, retry: int, *, rand: Callable[[], float]) -> float:
    """Delay before retry number ``retry`` (1-based): exponential, capped, with equal jitter when enabled."""
    delay = min(policy.max_backoff_seconds, policy.initial_backoff_seconds * policy.multiplier ** (retry - 1))
    return delay / 2 + rand() * delay / 2 if policy.jitter else delay


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    retry: RetryPolicy,
    timeout: float,
    breaker: CircuitBreaker,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rand: Callable[[], float],
) -> tuple[T, int]:
    """Run ``call`` within ``timeout`` seconds, retrying transient failures; return its result and the attempts."""
    for attempt in range(1, retry.max_attempts + 1):
        trial = breaker.before_call()
        try:
            result = await asyncio.wait_for(call(), timeout=timeout)
        except RETRYABLE as exc:
            breaker.record_failure()
            if attempt == retry.max_attempts:
                _log.error("giving up after %d attempt(s): %s", attempt, type(exc).__name__)
                raise
            delay = backoff_delay(retry, attempt, rand=rand)
            _log.warning(
                "attempt %d/%d failed (%s); retrying in %.3fs", attempt, retry.max_attempts, type(exc).__name__, delay
            )
            await sleep(delay)
        except BaseException:
            if trial:  # neither success nor a transient failure: let the next caller try
                breaker.release_trial()
            raise
        else:
            breaker.record_success()
            return result, attempt
    raise AssertionError("unreachable: max_attempts is at least 1")
