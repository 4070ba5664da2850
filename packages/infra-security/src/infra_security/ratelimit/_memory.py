"""In-memory rate-limit backend: one lock around the pure algorithm functions, bounded by lazy pruning."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from infra_models.security import RateLimitAlgorithm
from infra_security.ratelimit._core import CompiledPolicy, Outcome
from infra_security.ratelimit._gcra import gcra_decide
from infra_security.ratelimit._sliding_window import sliding_window_decide

__all__ = ["MemoryBackend"]

_GCRA = RateLimitAlgorithm.GCRA
_gcra = gcra_decide
_sliding = sliding_window_decide


class MemoryBackend:
    """Counters in a dict guarded by one lock: exact under threads, per process.

    ``clock`` returns seconds (monotonic by default; inject one in tests). Keys whose state is back to "full"
    are pruned when the table grows past ``prune_at`` entries, so idle clients do not accumulate.

    Example:
        >>> from infra_models.security import RateLimitPolicy
        >>> from infra_security.ratelimit._core import compile_policy
        >>> backend = MemoryBackend(clock=lambda: 0.0)
        >>> p = compile_policy(RateLimitPolicy(name="p", limit=1, period_seconds=1))
        >>> backend.decide("k", p, 1)[0], backend.decide("k", p, 1)[0]
        (True, False)
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, prune_at: int = 100_000) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        # key -> (window index, previous count, current count); key -> instant the state stops mattering
        self._windows: dict[str, tuple[int, float, float]] = {}
        self._expiry: dict[str, float] = {}
        # sliding-window keys with nothing left -> (instant one unit is free, instant of full reset)
        self._sw_blocked: dict[str, tuple[float, float]] = {}
        self._prune_at = prune_at
        self._next_prune = prune_at

    def decide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Decide and record one request under the lock, with :func:`gcra_decide` or :func:`sliding_window_decide`."""
        if policy.algorithm is _GCRA:
            with self._lock:
                now = self._clock()
                allowed, tat, remaining, retry_after, reset_after = _gcra(
                    self._tat.get(key), now, weight, policy.interval, policy.tolerance
                )
                if allowed:
                    self._tat[key] = tat
                    if len(self._tat) >= self._next_prune:
                        self._prune(now)
                return allowed, remaining, retry_after, reset_after
        with self._lock:
            now = self._clock()
            blocked = self._sw_blocked.get(key)
            if blocked is not None:
                # Known exhausted: nothing was recorded since, so the cached waits are still exact.
                if now < blocked[0]:
                    if weight == 1:
                        return False, 0, blocked[0] - now, blocked[1] - now
                else:
                    del self._sw_blocked[key]
            allowed, state, remaining, retry_after, reset_after, next_free = _sliding(
                self._windows.get(key), now, weight, policy.period, policy.capacity
            )
            if allowed:
                self._windows[key] = state
                self._expiry[key] = now + reset_after
                if len(self._windows) >= self._next_prune:
                    self._prune(now)
            elif remaining == 0:
                self._sw_blocked[key] = (now + next_free, now + reset_after)
            return allowed, remaining, retry_after, reset_after

    async def adecide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Async twin: the decision takes microseconds, so it runs inline."""
        return self.decide(key, policy, weight)

    def reset(self, key: str) -> None:
        """Forget a key's state."""
        with self._lock:
            self._tat.pop(key, None)
            self._windows.pop(key, None)
            self._expiry.pop(key, None)
            self._sw_blocked.pop(key, None)

    def __len__(self) -> int:
        return len(self._tat) + len(self._windows)

    def _prune(self, now: float) -> None:
        """Drop keys that are back to full capacity (called with the lock held)."""
        self._tat = {k: v for k, v in self._tat.items() if v > now}
        self._expiry = {k: v for k, v in self._expiry.items() if v > now}
        self._windows = {k: v for k, v in self._windows.items() if k in self._expiry}
        self._sw_blocked = {k: v for k, v in self._sw_blocked.items() if v[0] > now}
        self._next_prune = max(self._prune_at, 2 * len(self))
