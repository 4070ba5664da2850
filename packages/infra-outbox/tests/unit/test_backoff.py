"""Backoff: exponential, jittered, capped; Kafka errors split into retriable and permanent."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra_outbox import Backoff
from infra_outbox.backoff import describe_error, is_permanent

from .conftest import FakeError


class TestBackoff:
    def test_doubles_until_the_cap(self) -> None:
        backoff = Backoff(base=1.0, factor=2.0, cap=10.0, jitter=0.0)
        assert [backoff.delay(n, lambda: 0.0) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]

    @given(st.integers(1, 60), st.floats(0, 0.999))
    def test_jitter_stays_within_bounds_and_cap(self, attempts: int, r: float) -> None:
        backoff = Backoff(base=0.5, factor=3.0, cap=300.0, jitter=0.2)
        raw = min(300.0, 0.5 * 3.0 ** (attempts - 1))
        delay = backoff.delay(attempts, lambda: r)
        assert raw * 0.8 - 1e-9 <= delay <= min(300.0, raw * 1.2) + 1e-9

    @pytest.mark.parametrize(
        "kwargs", [{"base": 0}, {"factor": 0.5}, {"cap": 0.1}, {"jitter": 1.0}, {"max_attempts": 0}]
    )
    def test_rejects_nonsense(self, kwargs: dict[str, float]) -> None:
        with pytest.raises(ValueError, match="Backoff"):
            Backoff(**kwargs)  # type: ignore[arg-type]


class TestClassification:
    @pytest.mark.parametrize(
        ("error", "permanent"),
        [
            (FakeError("MSG_SIZE_TOO_LARGE", False), True),
            (FakeError("TOPIC_AUTHORIZATION_FAILED", False), True),
            (FakeError("_MSG_TIMED_OUT", False), False),
            (FakeError("_UNKNOWN_TOPIC", False), False),
            (FakeError("NOT_LEADER_FOR_PARTITION", True), False),
            (FakeError("SOMETHING_NEW", False), True),
        ],
    )
    def test_split(self, error: FakeError, permanent: bool) -> None:
        assert is_permanent(error) is permanent

    def test_unknown_topic_names_the_fix(self) -> None:
        assert "topic 'orders' does not exist" in describe_error(FakeError("_UNKNOWN_TOPIC"), "orders")
