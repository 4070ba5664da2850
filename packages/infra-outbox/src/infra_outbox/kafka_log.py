"""librdkafka's log lines through Python ``logging``, rate limited, instead of raw lines on stderr.

A broker that is down makes librdkafka report every failed connect (~20 lines a second); routed to the
``infra_outbox.kafka`` logger they carry the relay's format and level, and a filter lets at most ``burst`` lines
through per ``interval`` seconds, then says how many it held back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["KAFKA_LOGGER", "RateLimitFilter", "kafka_logger"]

KAFKA_LOGGER = "infra_outbox.kafka"


class RateLimitFilter(logging.Filter):
    """Let at most ``burst`` records through per ``interval`` seconds; the next one passed names the dropped count."""

    def __init__(self, burst: int = 5, interval: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        """Allow ``burst`` records per ``interval`` seconds, timed by ``clock``."""
        super().__init__()
        self.burst, self.interval, self._clock = burst, interval, clock
        self._window_start = float("-inf")
        self._passed = 0
        self.dropped = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """True for a record inside the window's allowance; counts the others."""
        with self._lock:
            now = self._clock()
            if now - self._window_start >= self.interval:
                self._window_start, self._passed = now, 0
            if self._passed >= self.burst:
                self.dropped += 1
                return False
            self._passed += 1
            if self.dropped:
                record.msg = f"{record.getMessage()} ({self.dropped} similar librdkafka line(s) held back)"
                record.args = None
                self.dropped = 0
            return True


def kafka_logger() -> logging.Logger:
    """The logger librdkafka writes to (``logger`` in the client settings), with its rate limit installed once."""
    log = logging.getLogger(KAFKA_LOGGER)
    if not any(isinstance(f, RateLimitFilter) for f in log.filters):
        log.addFilter(RateLimitFilter())
    return log
