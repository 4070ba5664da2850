"""A PostgreSQL connection kept open by one thread for the relay's hot path (page reads, cursor moves).

Checking a connection out of the pool costs a ping round trip (``pool_pre_ping``) each time: on the hot path
that was a round trip per statement. A kept connection is checked out once and reused. When the server closed
it (a restart, an idle timeout), the work runs once more on a fresh connection: safe for what runs here, reads
and fenced cursor writes that set the same values again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

__all__ = ["KeptConnection"]

T = TypeVar("T")


class KeptConnection:
    """One pooled connection, checked out on first use and kept; used by one thread at a time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def run(self, work: Callable[[Any], T]) -> T:
        """Run ``work(driver_connection)``; once more on a fresh connection if the kept one turned out broken."""
        for attempt in (0, 1):
            conn = self._conn
            if conn is None:
                conn = self._conn = self.engine.connect()
            driver = conn.connection.driver_connection
            try:
                return work(driver)
            except Exception:
                if not (getattr(driver, "broken", False) or getattr(driver, "closed", False)):
                    raise  # an error of the statement, not of the connection: it stays usable (autocommit)
                self.close(invalidate=True)
                if attempt:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self, *, invalidate: bool = False) -> None:
        """Give the connection back to the pool (``invalidate``: discard it)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if invalidate:
                conn.invalidate()
            conn.close()
        except Exception:  # noqa: S110 - a broken connection may fail to close; it is discarded either way
            pass
