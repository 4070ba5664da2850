"""Time as the infra packages read it: aware UTC datetimes from an injectable clock.

Code that keeps TTLs, windows, leases or timestamps takes a ``clock`` parameter (any :data:`Clock`, default
:func:`utc_now`) so tests move time with a :class:`ManualClock` instead of sleeping.

Example:
    >>> from datetime import datetime, UTC
    >>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    >>> clock.advance(90).isoformat()
    '2026-01-01T00:01:30+00:00'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "ManualClock", "as_utc", "utc_now"]

Clock = Callable[[], datetime]
"""A zero-argument callable returning the current time as an aware UTC datetime."""


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(moment: datetime, *, what: str = "time") -> datetime:
    """Convert an aware datetime to UTC; a naive one is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"{what} {moment.isoformat()} has no time zone: pass an aware datetime (e.g. tzinfo=UTC)")
    return moment.astimezone(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests of TTLs, leases and backoff without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        """Start at ``start`` (aware, converted to UTC) or at the current time."""
        self._now = as_utc(start, what="start") if start is not None else utc_now()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        """The clock's current time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the clock forward (never back) and return the new time."""
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError(f"a clock does not go back: advance({seconds!r})")
        with self._lock:
            self._now += step
            return self._now

    def __repr__(self) -> str:
        """Show the clock's time."""
        return f"ManualClock({self().isoformat()})"
