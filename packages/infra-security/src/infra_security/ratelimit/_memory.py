"""In-memory rate-limit backend: one lock, decide-and-record in one step, bounded by lazy pruning."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from infra_models.security import RateLimitAlgorithm
from infra_security.ratelimit._core import CompiledPolicy, Outcome
from infra_security.ratelimit._gcra import EPSILON
from infra_security.ratelimit._sliding_window import wait_for

__all__ = ["MemoryBackend"]

_GCRA = RateLimitAlgorithm.GCRA


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
        # key -> (window index, previous count, current count, instant the state stops mattering)
        self._windows: dict[str, tuple[int, float, float, float]] = {}
        # sliding-window keys with nothing left -> (instant one unit is free, instant of full reset)
        self._sw_blocked: dict[str, tuple[float, float]] = {}
        self._prune_at = prune_at
        self._next_prune = prune_at

    def decide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Decide and record one request under the lock."""
        if policy.algorithm is _GCRA:
            interval = policy.interval
            tolerance = policy.tolerance
            with self._lock:
                now = self._clock()
                tat = self._tat.get(key, now)
                tat = max(tat, now)
                new_tat = tat + weight * interval
                if new_tat - tolerance <= now + EPSILON:
                    tat_map = self._tat
                    tat_map[key] = new_tat
                    if len(tat_map) >= self._next_prune:
                        self._prune(now)
                    return True, int((tolerance - new_tat + now) / interval + EPSILON), 0.0, new_tat - now
                return False, int((tolerance - tat + now) / interval + EPSILON), new_tat - tolerance - now, tat - now
        period = policy.period
        capacity = policy.capacity
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
            stored = self._windows.get(key)
            # Fast path (admitted), inline; the full function answers denials with their exact waits.
            window = int(now // period)
            if stored is None or stored[0] < window - 1:
                prev, curr = 0.0, 0.0
            elif stored[0] == window - 1:
                prev, curr = stored[2], 0.0
            else:
                prev, curr = stored[1], stored[2]
            start = window * period
            estimate = prev * (1.0 - (now - start) / period) + curr + weight
            if estimate <= capacity + EPSILON:
                curr += weight
                self._windows[key] = (window, prev, curr, start + 2 * period)
                if len(self._windows) >= self._next_prune:
                    self._prune(now)
                return True, int(capacity - estimate + EPSILON), 0.0, start + 2 * period - now
            # Denied: nothing is recorded; answer with the exact wait.
            if curr > EPSILON:
                reset_after = start + 2 * period - now
            else:
                reset_after = start + period - now if prev > EPSILON else 0.0
            remaining = max(int(capacity - estimate + weight + EPSILON), 0)
            retry_after = wait_for(weight, prev, curr, start, period, now, capacity)
            if remaining == 0:
                next_free = retry_after if weight == 1 else wait_for(1, prev, curr, start, period, now, capacity)
                self._sw_blocked[key] = (now + next_free, now + reset_after)
            return False, remaining, retry_after, reset_after

    async def adecide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Async twin: the decision takes microseconds, so it runs inline."""
        return self.decide(key, policy, weight)

    def reset(self, key: str) -> None:
        """Forget a key's state."""
        with self._lock:
            self._tat.pop(key, None)
            self._windows.pop(key, None)
            self._sw_blocked.pop(key, None)

    def __len__(self) -> int:
        return len(self._tat) + len(self._windows)

    def _prune(self, now: float) -> None:
        """Drop keys that are back to full capacity (called with the lock held)."""
        self._tat = {k: v for k, v in self._tat.items() if v > now}
        self._windows = {k: v for k, v in self._windows.items() if v[3] > now}
        self._sw_blocked = {k: v for k, v in self._sw_blocked.items() if v[0] > now}
        self._next_prune = max(self._prune_at, 2 * len(self))
