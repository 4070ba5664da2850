"""Prometheus metrics of a relay (needs the ``metrics`` extra: ``pip install 'infra-outbox[metrics]'``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra_outbox.errors import OutboxError

if TYPE_CHECKING:
    from infra_outbox.admin import OutboxStats
    from infra_outbox.relay import BatchReport

__all__ = ["LATENCY_BUCKETS", "RelayMetrics"]

_OUTCOMES = ("published", "retried", "dead", "held")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class RelayMetrics:
    """Pending count, oldest pending age, commit-to-ack latency, outcomes, dead count and fenced-off marks.

    Example:
        >>> metrics = RelayMetrics()  # doctest: +SKIP
        >>> Relay(url, bootstrap, metrics=metrics)  # doctest: +SKIP
    """

    def __init__(self, registry: Any = None, *, namespace: str = "infra_outbox") -> None:
        try:
            from prometheus_client import REGISTRY, Counter, Gauge, Histogram
        except ImportError as exc:
            raise OutboxError(
                "metrics need prometheus-client: pip install 'infra-outbox[metrics]'", code="outbox.missing_extra"
            ) from exc
        registry = REGISTRY if registry is None else registry
        self.registry = registry
        try:
            self._create(namespace, registry, Counter, Gauge, Histogram)
        except ValueError as exc:  # prometheus-client refuses a second set of the same names
            raise OutboxError(
                f"{namespace}_* metrics are already registered in this registry: share one RelayMetrics between "
                "relays of a process, or pass registry=prometheus_client.CollectorRegistry()",
                code="outbox.metrics_registered",
            ) from exc

    def _create(self, namespace: str, registry: Any, Counter: Any, Gauge: Any, Histogram: Any) -> None:  # noqa: N803
        self.pending = Gauge(
            f"{namespace}_pending",
            "Events not yet published (unread, retrying, or parked behind a failure).",
            registry=registry,
        )
        self.oldest_age = Gauge(
            f"{namespace}_oldest_pending_age_seconds", "Age of the oldest unpublished event.", registry=registry
        )
        self.dead = Gauge(f"{namespace}_dead", "Dead events waiting for an operator.", registry=registry)
        self.latency = Histogram(
            f"{namespace}_commit_to_ack_seconds",
            "Time from writing an event to Kafka acknowledging it.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outcomes = Counter(f"{namespace}_events", "Events handled by outcome.", ["outcome"], registry=registry)
        self.fenced = Counter(
            f"{namespace}_fenced_marks",
            "Cursor moves refused because another relay took the shard over.",
            registry=registry,
        )
        for outcome in _OUTCOMES:  # present (at 0) from the start, not only after the first event
            self.outcomes.labels(outcome=outcome)

    def observe_batch(self, report: BatchReport) -> None:
        """Record one relay round."""
        for outcome in _OUTCOMES:
            count = getattr(report, outcome)
            if count:
                self.outcomes.labels(outcome=outcome).inc(count)
        if report.fenced:
            self.fenced.inc(report.fenced)
        for seconds in report.latencies:
            self.latency.observe(max(0.0, seconds))

    def observe_stats(self, stats: OutboxStats) -> None:
        """Refresh the backlog gauges."""
        self.pending.set(stats.unpublished)
        self.oldest_age.set(stats.oldest_pending_age_seconds or 0.0)
        self.dead.set(stats.dead)
