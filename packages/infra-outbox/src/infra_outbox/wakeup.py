"""How an idle relay waits: LISTEN/NOTIFY on PostgreSQL (psycopg), adaptive polling elsewhere."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING, Any

from infra_outbox.outbox import NOTIFY_CHANNEL

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["NotifyWaiter", "PollWaiter", "make_waiter"]

log = logging.getLogger("infra_outbox.relay")


class PollWaiter:
    """Sleeps, doubling the pause after each empty claim up to ``max_interval``; any claimed work resets it."""

    notify = False

    def __init__(self, stop: threading.Event, *, min_interval: float = 0.01, max_interval: float = 1.0) -> None:
        self._stop = stop
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.interval = min_interval

    def reset(self) -> None:
        """Work was found: poll again soon."""
        self.interval = self.min_interval

    def wait(self) -> None:
        """Wait for the current interval (or until stopped), then lengthen it."""
        self._stop.wait(self.interval)
        self.interval = min(self.interval * 2, self.max_interval)

    def close(self) -> None:
        """Nothing to release."""


class NotifyWaiter(PollWaiter):
    """Waits for a NOTIFY from a committing writer, or ``max_interval`` at most (for retries that come due)."""

    notify = True

    def __init__(self, engine: Engine, stop: threading.Event, *, max_interval: float = 1.0) -> None:
        super().__init__(stop, min_interval=max_interval, max_interval=max_interval)
        self._engine = engine
        self._conn: Any = None

    def _listen(self) -> Any:
        if self._conn is None or self._conn.closed:
            raw = self._engine.raw_connection()
            conn = raw.driver_connection
            raw.detach()  # a dedicated session: LISTEN must outlive pool checkouts
            if conn is None:
                raise RuntimeError("no driver connection to LISTEN on")
            conn.autocommit = True
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._conn = conn
        return self._conn

    def wait(self) -> None:
        """Return on the first notification, after ``max_interval``, or when stopped."""
        if self._stop.is_set():
            return
        try:
            conn = self._listen()
            for _ in conn.notifies(timeout=self.max_interval, stop_after=1):
                break
            # Drain what queued up meanwhile: one claim serves them all.
            for _ in conn.notifies(timeout=0.0):
                pass
        except Exception as exc:  # the listener is an optimisation: fall back to a plain pause
            log.warning("LISTEN connection failed (%r); polling instead", exc)
            self.close()
            self._stop.wait(self.max_interval)

    def close(self) -> None:
        """Close the listening connection."""
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail too
                self._conn.close()
            self._conn = None


def make_waiter(engine: Engine, stop: threading.Event, *, notify: bool, max_interval: float) -> PollWaiter:
    """A NOTIFY waiter on PostgreSQL with psycopg (when ``notify``), else an adaptive poller."""
    if notify and engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        return NotifyWaiter(engine, stop, max_interval=max_interval)
    return PollWaiter(stop, max_interval=max_interval)
