"""Retry timing (exponential, jittered, capped) and the retriable/permanent split of Kafka errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["PERMANENT_ERRORS", "Backoff", "describe_error", "is_permanent"]

#: Kafka error names that no retry can fix: the record itself or the topic is wrong.
PERMANENT_ERRORS = frozenset(
    {
        "MSG_SIZE_TOO_LARGE",
        "_MSG_SIZE_TOO_LARGE",
        "INVALID_MSG",
        "INVALID_RECORD",
        "INVALID_TOPIC_EXCEPTION",
        "TOPIC_AUTHORIZATION_FAILED",
        "RECORD_LIST_TOO_LARGE",
        "_INVALID_ARG",
        "UNSUPPORTED_FOR_MESSAGE_FORMAT",
    }
)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter and a cap; an event goes DEAD after ``max_attempts`` attempts.

    Example:
        >>> Backoff(base=1.0, factor=2.0, cap=10.0, jitter=0.0).delay(5, lambda: 0.5)
        10.0
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.2
    max_attempts: int = 10

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1 or self.cap < self.base or not 0 <= self.jitter < 1:
            raise ValueError("Backoff needs base > 0, factor >= 1, cap >= base and 0 <= jitter < 1")
        if self.max_attempts < 1:
            raise ValueError("Backoff.max_attempts must be at least 1")

    def delay(self, attempts: int, rand: Callable[[], float]) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (``rand`` returns a float in [0, 1))."""
        raw = min(self.cap, self.base * self.factor ** max(0, attempts - 1))
        return min(self.cap, raw * (1.0 + self.jitter * (2.0 * rand() - 1.0)))


def is_permanent(error: Any) -> bool:
    """True when a confluent-kafka ``KafkaError`` cannot succeed on retry."""
    name = error.name() if hasattr(error, "name") else str(error)
    if name in PERMANENT_ERRORS:
        return True
    return bool(hasattr(error, "retriable") and not error.retriable() and name not in _RETRY_ANYWAY)


# Not flagged retriable by librdkafka, yet an outage or a topic created later fixes them.
_RETRY_ANYWAY = frozenset(
    {
        "_MSG_TIMED_OUT",
        "_TIMED_OUT",
        "_TRANSPORT",
        "_ALL_BROKERS_DOWN",
        "_UNKNOWN_TOPIC",
        "UNKNOWN_TOPIC_OR_PART",
        "_PURGE_QUEUE",
        "_PURGE_INFLIGHT",
        "_FATAL",
        "_STATE",
        "OUT_OF_ORDER_SEQUENCE_NUMBER",
        "_UNKNOWN_PARTITION",
        "NOT_ENOUGH_REPLICAS",
        "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "_DESTROY",
    }
)


def describe_error(error: Any, topic: str) -> str:
    """A one-line description of a delivery error, with the fix when there is an obvious one."""
    name = error.name() if hasattr(error, "name") else type(error).__name__
    text = error.str() if hasattr(error, "str") else str(error)
    if name in ("_UNKNOWN_TOPIC", "UNKNOWN_TOPIC_OR_PART"):
        return f"{name}: topic {topic!r} does not exist on the broker; create it (or enable auto-creation)"
    if name in ("MSG_SIZE_TOO_LARGE", "_MSG_SIZE_TOO_LARGE"):
        return f"{name}: record for topic {topic!r} exceeds the broker's message.max.bytes"
    return f"{name}: {text}"
