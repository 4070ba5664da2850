"""GCRA (generic cell rate algorithm): a token bucket with burst kept as one number per key.

The state of a key is its *theoretical arrival time* (TAT). A key starts full: ``capacity`` requests are admitted
at once, then one more every ``interval`` seconds. Pure functions of (state, now): the backends make them atomic.
"""

from __future__ import annotations

import math

__all__ = ["EPSILON", "gcra_decide", "gcra_peek"]

#: Tolerance for float rounding when comparing instants (one nanosecond).
EPSILON = 1e-9


def gcra_decide(
    tat: float | None, now: float, weight: int, interval: float, tolerance: float
) -> tuple[bool, float, int, float, float]:
    """Decide one request of ``weight`` units: the one GCRA implementation (the memory backend runs it).

    Returns ``(allowed, new_tat, remaining, retry_after, reset_after)``: ``new_tat`` is the state to store
    (unchanged when denied), ``retry_after`` the wait before this request would pass (0 when allowed),
    ``reset_after`` the wait until the bucket is full again.

    Example:
        >>> gcra_decide(None, 100.0, 1, 1.0, 2.0)[:3]
        (True, 101.0, 1)
    """
    base = now if tat is None or tat < now else tat
    new_tat = base + weight * interval
    if new_tat - tolerance <= now + EPSILON:
        return True, new_tat, max(int((tolerance - new_tat + now) / interval + EPSILON), 0), 0.0, new_tat - now
    remaining = max(int((tolerance - base + now) / interval + EPSILON), 0)
    return False, base, remaining, new_tat - tolerance - now, base - now


def gcra_peek(tat: float | None, now: float, interval: float, tolerance: float) -> int:
    """Return how many units a key could take now, without recording anything."""
    base = now if tat is None or tat < now else tat
    return max(0, math.floor((tolerance - (base - now)) / interval + EPSILON))
