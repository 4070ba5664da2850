"""What a relay is told (``RelaySettings``) and what it reports (``BatchReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from infra_outbox.backoff import Backoff
from infra_outbox.outbox import DEFAULT_MAX_RECORD_BYTES

__all__ = ["BatchReport", "RelaySettings"]


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """How a relay reads, retries, shares shards, retires old events and waits."""

    batch_size: int = 1000
    lease_seconds: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    dead_letter_topic: str | None = None
    retention_seconds: float = 3600.0
    max_interval: float = 1.0
    notify: bool = True
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    stats_interval: float = 2.0
    pipeline_depth: int = 2  # pages sent ahead while Kafka acknowledges the oldest
    crash_limit: int = 2  # owners lost while holding a shard before its events are sent one at a time
    progress_interval: float = 30.0

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.pipeline_depth < 0:
            raise ValueError(f"pipeline_depth must be at least 0, got {self.pipeline_depth}")
        if self.lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {self.lease_seconds}")
        if self.dead_letter_topic is not None:
            from infra_outbox.outbox import valid_topic

            if not valid_topic(self.dead_letter_topic):
                raise ValueError(
                    f"dead-letter topic {self.dead_letter_topic!r} is not a valid Kafka topic name: use 1-249 "
                    "characters from A-Z a-z 0-9 . _ -"
                )

    @property
    def heartbeat_seconds(self) -> float:
        """How often leases are renewed and shards rebalanced."""
        return self.lease_seconds / 4


@dataclass(slots=True)
class BatchReport:
    """What one or more pages did (``latencies`` only per page: totals do not keep them)."""

    read: int = 0
    published: int = 0
    retried: int = 0
    dead: int = 0
    held: int = 0
    fenced: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: BatchReport) -> None:
        """Accumulate counts of another report (not its latencies: a long drain must not grow)."""
        self.read += other.read
        self.published += other.published
        self.retried += other.retried
        self.dead += other.dead
        self.held += other.held
        self.fenced += other.fenced
