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
        before = generate_latest(registry).decode()
        assert 'infra_outbox_events_total{outcome="published"} 0.0' in before  # present before the first event
        relay.drain()
        relay.refresh_metrics()
        text = generate_latest(registry).decode()
        assert 'infra_outbox_events_total{outcome="published"} 2.0' in text
        assert 'infra_outbox_events_total{outcome="dead"} 1.0' in text
        assert "infra_outbox_dead 1.0" in text
        assert "infra_outbox_pending 1.0" in text  # the event parked behind the dead one
        assert 'infra_outbox_commit_to_ack_seconds_bucket{le="0.025"} 2.0' in text
        assert "infra_outbox_fenced_marks_total 0.0" in text

    def test_registering_twice_is_a_clear_error(self) -> None:
        prometheus = pytest.importorskip("prometheus_client", reason="needs the metrics extra")
        from infra_outbox import OutboxError

        registry = prometheus.CollectorRegistry()
        RelayMetrics(registry)
        with pytest.raises(OutboxError, match="already registered"):
            RelayMetrics(registry)


class TestGaugesAreCurrent:
    def test_running_relay_refreshes_the_backlog_gauges_within_seconds(self, engine) -> None:
        prometheus = pytest.importorskip("prometheus_client", reason="needs the metrics extra")
        import threading
        import time

        registry = prometheus.CollectorRegistry()
        metrics = RelayMetrics(registry)
        producer = FakeProducer(fail=lambda t, k, v: FakeError("_TRANSPORT"))  # the broker refuses: a backlog
        relay = Relay(
            engine,
            "h:9",
            settings=RelaySettings(stats_interval=0.2, max_interval=0.05),
            producer=producer,
            metrics=metrics,
        )
        thread = threading.Thread(target=relay.run)
        thread.start()
        try:
            time.sleep(0.3)
            assert registry.get_sample_value("infra_outbox_pending") == 0.0
            with engine.begin() as conn:
                for i in range(3):
                    Outbox().enqueue(conn, topic="t", key=str(i), event_type="e", payload=i)
            started = time.monotonic()
            while registry.get_sample_value("infra_outbox_pending") != 3.0 and time.monotonic() - started < 5:
                time.sleep(0.05)
            assert registry.get_sample_value("infra_outbox_pending") == 3.0
            assert time.monotonic() - started < 2.0  # seconds, not the minute of the old refresh
            assert registry.get_sample_value("infra_outbox_events_total", {"outcome": "retried"}) == 3.0
        finally:
            relay.stop()
            thread.join(10)
