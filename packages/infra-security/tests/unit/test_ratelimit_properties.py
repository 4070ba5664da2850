"""Property tests: the memory backend's inlined fast paths and caches agree with the pure reference functions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_models.security import RateLimitPolicy
from infra_security.ratelimit._core import compile_policy
from infra_security.ratelimit._gcra import gcra_decide
from infra_security.ratelimit._memory import MemoryBackend
from infra_security.ratelimit._sliding_window import sliding_window_decide

steps = st.lists(
    st.tuples(st.floats(min_value=0, max_value=25, allow_nan=False), st.integers(min_value=1, max_value=7)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(steps=steps, limit=st.integers(1, 6), burst=st.integers(0, 2))
def test_memory_sliding_window_matches_reference(steps: list[tuple[float, int]], limit: int, burst: int) -> None:
    policy = compile_policy(
        RateLimitPolicy(name="p", limit=limit, period_seconds=10, burst=burst, algorithm="sliding_window")
    )
    now = [1000.0]
    backend = MemoryBackend(clock=lambda: now[0])
    state = None
    for dt, asked in steps:
        now[0] += dt
        weight = min(asked, policy.capacity)
        allowed, remaining, retry_after, reset_after = backend.decide("k", policy, weight)
        ref_allowed, new_state, ref_remaining, ref_retry, ref_reset, _ = sliding_window_decide(
            state, now[0], weight, policy.period, policy.capacity
        )
        if ref_allowed:
            state = new_state
        assert (allowed, remaining) == (ref_allowed, ref_remaining)
        assert retry_after == pytest.approx(ref_retry, abs=1e-6)
        assert reset_after == pytest.approx(ref_reset, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(steps=steps, limit=st.integers(1, 6), burst=st.integers(0, 2))
def test_memory_gcra_matches_reference(steps: list[tuple[float, int]], limit: int, burst: int) -> None:
    policy = compile_policy(RateLimitPolicy(name="p", limit=limit, period_seconds=10, burst=burst))
    now = [1000.0]
    backend = MemoryBackend(clock=lambda: now[0])
    tat = None
    for dt, asked in steps:
        now[0] += dt
        weight = min(asked, policy.capacity)
        allowed, remaining, retry_after, reset_after = backend.decide("k", policy, weight)
        ref_allowed, tat, ref_remaining, ref_retry, ref_reset, _ = gcra_decide(
            tat, now[0], weight, policy.interval, policy.tolerance
        )
        assert (allowed, remaining) == (ref_allowed, ref_remaining)
        assert retry_after == pytest.approx(ref_retry, abs=1e-6)
        assert reset_after == pytest.approx(ref_reset, abs=1e-6)


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
