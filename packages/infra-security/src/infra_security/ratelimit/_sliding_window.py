"""Sliding-window counter: two fixed windows blended by the elapsed fraction of the current one.

Windows are aligned to multiples of the period on the clock (not to a key's first hit, which a client could
exploit by timing its first request). The estimate weights the previous window's count by the share of it
still inside the sliding window. Pure functions of (state, now): the backends make them atomic.
"""

from __future__ import annotations

from infra_security.ratelimit._gcra import EPSILON

__all__ = ["sliding_window_decide", "wait_for"]


def sliding_window_decide(
    state: tuple[int, float, float] | None, now: float, weight: int, period: float, capacity: int
) -> tuple[bool, tuple[int, float, float], int, float, float, float]:
    """Decide one request of ``weight`` units against ``capacity`` per sliding ``period``: the one implementation.

    ``state`` is ``(window_index, previous_count, current_count)``. Returns
    ``(allowed, new_state, remaining, retry_after, reset_after, next_free)``: ``new_state`` is the state to store
    (unchanged when denied), ``retry_after`` the wait before this request would pass (0 when allowed),
    ``reset_after`` the wait until the estimate is back to zero, ``next_free`` the wait until one unit would
    pass (0 while ``remaining`` is positive).

    Example:
        >>> sliding_window_decide(None, 5.0, 1, 10.0, 2)[:3]
        (True, (0, 0.0, 1.0), 1)
    """
    window = int(now // period)
    if state is None or state[0] < window - 1:
        prev, curr = 0.0, 0.0
    elif state[0] == window - 1:
        prev, curr = state[2], 0.0
    else:
        prev, curr = state[1], state[2]
    start = window * period
    estimate = prev * (1.0 - (now - start) / period) + curr + weight
    if estimate <= capacity + EPSILON:
        curr += weight
        remaining = max(int(capacity - estimate + EPSILON), 0)
        next_free = 0.0 if remaining else wait_for(1, prev, curr, start, period, now, capacity)
        return True, (window, prev, curr), remaining, 0.0, start + 2 * period - now, next_free
    remaining = max(int(capacity - estimate + weight + EPSILON), 0)
    retry_after = wait_for(weight, prev, curr, start, period, now, capacity)
    if remaining:
        next_free = 0.0
    else:
        next_free = retry_after if weight == 1 else wait_for(1, prev, curr, start, period, now, capacity)
    return False, (window, prev, curr), remaining, retry_after, _reset_after(prev, curr, start, period, now), next_free


def wait_for(  # noqa: PLR0917 - hot path, positional on purpose
    weight: int, prev: float, curr: float, start: float, period: float, now: float, capacity: int
) -> float:
    """Seconds from ``now`` until a request of ``weight`` units fits under ``capacity``."""
    room = capacity - curr - weight
    if room >= -EPSILON:
        if prev <= EPSILON:
            return 0.0
        frac = 1.0 - room / prev
        return max(0.0, start + frac * period - now)
    # Not in this window: in the next one, this window's count becomes the decaying "previous".
    if curr <= EPSILON:
        return max(0.0, start + period - now)
    frac = max(0.0, 1.0 - (capacity - weight) / curr)
    return max(0.0, start + period + frac * period - now)


def _reset_after(prev: float, curr: float, start: float, period: float, now: float) -> float:
    """Seconds until the estimate falls back to zero."""
    if curr > EPSILON:
        return start + 2 * period - now
    if prev > EPSILON:
        return start + period - now
    return 0.0
