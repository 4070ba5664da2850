"""librdkafka's lines go through logging with a rate limit (infra_outbox.kafka_log)."""

from __future__ import annotations

import logging

from infra_outbox.kafka_log import KAFKA_LOGGER, RateLimitFilter, kafka_logger


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(message: str) -> logging.LogRecord:
    return logging.LogRecord(KAFKA_LOGGER, logging.ERROR, __file__, 1, message, None, None)


def test_burst_per_interval_then_the_count_held_back() -> None:
    clock = Clock()
    limit = RateLimitFilter(burst=3, interval=30.0, clock=clock)
    passed = [limit.filter(record(f"connect failed {i}")) for i in range(20)]  # ~20 lines/s while a broker is down
    assert passed == [True] * 3 + [False] * 17
    clock.now = 29.9
    assert not limit.filter(record("still down"))
    clock.now = 30.0
    first = record("connect failed again")
    assert limit.filter(first)
    assert first.getMessage() == "connect failed again (18 similar librdkafka line(s) held back)"
    second = record("next")
    assert limit.filter(second) and second.getMessage() == "next"


def test_the_logger_gets_one_filter_however_often_asked() -> None:
    log = kafka_logger()
    kafka_logger()
    assert log.name == KAFKA_LOGGER
    assert sum(isinstance(f, RateLimitFilter) for f in log.filters) == 1
