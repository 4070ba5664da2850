"""infra_models.clock: aware UTC time from an injectable clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from infra_models import AuditEvent, ManualClock, ReadinessReport, as_utc, utc_now


def test_utc_now_is_aware_utc_and_current():
    before = datetime.now(UTC)
    now = utc_now()
    assert now.tzinfo is UTC
    assert before <= now <= datetime.now(UTC)


class TestAsUtc:
    def test_converts_other_zones(self):
        moment = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
        assert as_utc(moment) == datetime(2026, 1, 1, 10, tzinfo=UTC)
        assert as_utc(moment).utcoffset() == timedelta(0)

    def test_naive_is_refused(self):
        with pytest.raises(ValueError, match="expires_at 2026-01-01T00:00:00 has no time zone"):
            as_utc(datetime(2026, 1, 1), what="expires_at")


class TestManualClock:
    def test_moves_only_when_told(self):
        clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        assert clock() == clock() == datetime(2026, 1, 1, tzinfo=UTC)
        assert clock.advance(1.5) == datetime(2026, 1, 1, 0, 0, 1, 500000, tzinfo=UTC)
        assert clock.advance(timedelta(hours=1)) == datetime(2026, 1, 1, 1, 0, 1, 500000, tzinfo=UTC)
        assert "2026-01-01T01:00:01.500000+00:00" in repr(clock)

    def test_never_goes_back(self):
        clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        with pytest.raises(ValueError, match="does not go back"):
            clock.advance(-1)
        assert clock() == datetime(2026, 1, 1, tzinfo=UTC)

    def test_naive_start_is_refused(self):
        with pytest.raises(ValueError, match=r"start .* has no time zone"):
            ManualClock(datetime(2026, 1, 1))

    def test_concurrent_advances_are_not_lost(self):
        clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        start = threading.Barrier(8)

        def work():
            start.wait()
            for _ in range(1000):
                clock.advance(1)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert clock() == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=8000)


def test_models_stamp_with_the_utc_clock():
    assert ReadinessReport.model_fields["generated_at"].default_factory is utc_now
    assert AuditEvent.model_fields["timestamp"].default_factory is utc_now
