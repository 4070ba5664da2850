"""Stateful property tests: the memory backend (the one implementation of each algorithm) against reference models.

The reference models are written apart from the implementation, in exact arithmetic (``Fraction``):

* GCRA as the token bucket it is equivalent to: ``capacity`` tokens, one more every ``interval``, a request of
  ``w`` passes when ``w`` tokens are there;
* the sliding window as per-window counts kept for every window, the previous one weighted by the share of it still
  inside the sliding period.

Limits are chosen so that intervals are exact binary fractions and clocks move in quarter seconds, so float and
exact arithmetic must agree to the last bit on every admit/deny decision.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from infra_models.security import RateLimitPolicy
from infra_security.ratelimit._core import CompiledPolicy, compile_policy
from infra_security.ratelimit._memory import MemoryBackend

KEYS = ("a", "b")
PERIOD = 10
LIMITS = (1, 2, 4, 5, 8, 10)  # PERIOD / limit is exact in binary


class TokenBucket:
    """GCRA's reference: a token bucket in exact arithmetic."""

    def __init__(self, capacity: int, interval: Fraction) -> None:
        self.capacity, self.interval = capacity, interval
        self.tokens: dict[str, Fraction] = {}
        self.seen: dict[str, Fraction] = {}

    def level(self, key: str, now: Fraction) -> Fraction:
        if key not in self.tokens:
            return Fraction(self.capacity)
        return min(Fraction(self.capacity), self.tokens[key] + (now - self.seen[key]) / self.interval)

    def hit(self, key: str, now: Fraction, weight: int) -> tuple[bool, int, Fraction, Fraction]:
        tokens = self.level(key, now)
        if tokens >= weight:
            self.tokens[key], self.seen[key] = tokens - weight, now
            left = tokens - weight
            return True, math.floor(left), Fraction(0), (self.capacity - left) * self.interval
        return False, math.floor(tokens), (weight - tokens) * self.interval, (self.capacity - tokens) * self.interval

    def reset(self, key: str) -> None:
        self.tokens.pop(key, None)
        self.seen.pop(key, None)


class WindowCounts:
    """The sliding window's reference: every window's count kept, the estimate recomputed from them."""

    def __init__(self, capacity: int, period: int) -> None:
        self.capacity, self.period = capacity, period
        self.counts: dict[str, dict[int, int]] = {}

    def estimate(self, key: str, now: Fraction) -> Fraction:
        window = math.floor(now / self.period)
        counts = self.counts.get(key, {})
        elapsed = (now - window * self.period) / self.period
        return counts.get(window - 1, 0) * (1 - elapsed) + counts.get(window, 0)

    def admits(self, key: str, now: Fraction, weight: int) -> bool:
        return self.estimate(key, now) + weight <= self.capacity

    def hit(self, key: str, now: Fraction, weight: int) -> tuple[bool, int]:
        estimate = self.estimate(key, now)
        if estimate + weight <= self.capacity:
            window = math.floor(now / self.period)
            bucket = self.counts.setdefault(key, {})
            bucket[window] = bucket.get(window, 0) + weight
            return True, math.floor(self.capacity - estimate - weight)
        return False, max(math.floor(self.capacity - estimate), 0)

    def reset(self, key: str) -> None:
        self.counts.pop(key, None)


class _Machine(RuleBasedStateMachine):
    algorithm = "gcra"

    def __init__(self) -> None:
        super().__init__()
        self.now = Fraction(1000)
        self.backend = MemoryBackend(clock=lambda: float(self.now), prune_at=3)
        self.policy: CompiledPolicy | None = None

    def _compile(self, limit: int, burst: int) -> CompiledPolicy:
        return compile_policy(
            RateLimitPolicy(name="p", limit=limit, period_seconds=PERIOD, burst=burst, algorithm=self.algorithm)
        )

    @rule(quarters=st.integers(0, 60))
    def advance(self, quarters: int) -> None:
        self.now += Fraction(quarters, 4)


class GcraMachine(_Machine):
    """MemoryBackend(GCRA) == token bucket, decision by decision, with the waits it reports."""

    @initialize(limit=st.sampled_from(LIMITS), burst=st.integers(0, 3))
    def setup(self, limit: int, burst: int) -> None:
        self.policy = self._compile(limit, burst)
        self.model = TokenBucket(self.policy.capacity, Fraction(PERIOD, limit))

    @rule(key=st.sampled_from(KEYS), weight=st.integers(1, 6))
    def hit(self, key: str, weight: int) -> None:
        assert self.policy is not None
        weight = min(weight, self.policy.capacity)
        allowed, remaining, retry_after, reset_after = self.backend.decide(key, self.policy, weight)
        ref = self.model.hit(key, self.now, weight)
        assert (allowed, remaining) == ref[:2]
        assert retry_after == pytest.approx(float(ref[2]), abs=1e-9)
        assert reset_after == pytest.approx(float(ref[3]), abs=1e-9)

    @rule(key=st.sampled_from(KEYS))
    def reset(self, key: str) -> None:
        self.backend.reset(key)
        self.model.reset(key)


class SlidingWindowMachine(_Machine):
    """MemoryBackend(sliding window) == per-window counts; its retry_after is the first instant that admits."""

    algorithm = "sliding_window"

    @initialize(limit=st.sampled_from(LIMITS), burst=st.integers(0, 3))
    def setup(self, limit: int, burst: int) -> None:
        self.policy = self._compile(limit, burst)
        self.model = WindowCounts(self.policy.capacity, PERIOD)

    @rule(key=st.sampled_from(KEYS), weight=st.integers(1, 6))
    def hit(self, key: str, weight: int) -> None:
        assert self.policy is not None
        weight = min(weight, self.policy.capacity)
        allowed, remaining, retry_after, _ = self.backend.decide(key, self.policy, weight)
        assert (allowed, remaining) == self.model.hit(key, self.now, weight)
        if not allowed:
            later = self.now + Fraction(retry_after) + Fraction(1, 10**6)
            assert self.model.admits(key, later, weight), "retry_after is too short"
            if retry_after > 1e-6:
                sooner = self.now + Fraction(retry_after) - Fraction(1, 10**6)
                assert not self.model.admits(key, sooner, weight), "retry_after is too long"

    @rule(key=st.sampled_from(KEYS))
    def reset(self, key: str) -> None:
        self.backend.reset(key)
        self.model.reset(key)

    @invariant()
    def pruning_keeps_state_bounded(self) -> None:
        assert len(self.backend) <= 2 * len(KEYS)


TestGcraAgainstTokenBucket = GcraMachine.TestCase
TestGcraAgainstTokenBucket.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestSlidingWindowAgainstWindowCounts = SlidingWindowMachine.TestCase
TestSlidingWindowAgainstWindowCounts.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)

steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=25, allow_nan=False), st.integers(min_value=1, max_value=7)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(steps=steps, limit=st.integers(1, 6), burst=st.integers(0, 2))
def test_gcra_never_admits_more_than_capacity_plus_refill(
    steps: list[tuple[float, int]], limit: int, burst: int
) -> None:
    policy = compile_policy(RateLimitPolicy(name="p", limit=limit, period_seconds=10, burst=burst))
    now = [0.0]
    backend = MemoryBackend(clock=lambda: now[0])
    admitted = 0
    for dt, asked in steps:
        now[0] += dt
        weight = min(asked, policy.capacity)
        if backend.decide("k", policy, weight)[0]:
            admitted += weight
        assert admitted <= policy.capacity + now[0] / policy.interval + 1e-9
