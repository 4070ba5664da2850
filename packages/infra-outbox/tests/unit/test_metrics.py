"""Prometheus metrics of a relay (metrics extra), on a private registry."""

from __future__ import annotations

import pytest

from infra_outbox import Outbox, Relay, RelayMetrics, RelaySettings

from .conftest import Clock, FakeError, FakeProducer


class TestMetrics:
    def test_outcomes_latency_backlog(self, engine, clock: Clock) -> None:
        prometheus = pytest.importorskip("prometheus_client", reason="needs the metrics extra")
        CollectorRegistry, generate_latest = prometheus.CollectorRegistry, prometheus.generate_latest  # noqa: N806
        registry = CollectorRegistry()
        metrics = RelayMetrics(registry)
        producer = FakeProducer(fail=lambda t, k, v: FakeError("INVALID_RECORD", False) if k == "bad" else None)
        with engine.begin() as conn:
            for key in ("a", "b", "bad"):
                Outbox(clock=clock).enqueue(conn, topic="t", key=key, event_type="e", payload=1)
            Outbox(clock=clock).enqueue(conn, topic="t", key="bad", event_type="e", payload=2)
        clock.advance(0.02)
        relay = Relay(engine, "h:9", settings=RelaySettings(), producer=producer, clock=clock, metrics=metrics)
        relay.drain()
        relay.housekeeping(force=True)
        text = generate_latest(registry).decode()
        assert 'infra_outbox_events_total{outcome="published"} 2.0' in text
        assert 'infra_outbox_events_total{outcome="dead"} 1.0' in text
        assert "infra_outbox_dead 1.0" in text
        assert "infra_outbox_pending 1.0" in text  # the event behind the dead one
        assert 'infra_outbox_commit_to_ack_seconds_bucket{le="0.025"} 2.0' in text
        assert "infra_outbox_fenced_marks_total 0.0" in text

    def test_registering_twice_is_a_clear_error(self) -> None:
        prometheus = pytest.importorskip("prometheus_client", reason="needs the metrics extra")
        from infra_outbox import OutboxError

        registry = prometheus.CollectorRegistry()
        RelayMetrics(registry)
        with pytest.raises(OutboxError, match="already registered"):
            RelayMetrics(registry)
