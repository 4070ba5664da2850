"""RateLimiter in memory: GCRA and sliding window with an injected clock, policies, shadow mode, bad input."""

from __future__ import annotations

import sys
import threading

import pytest

from infra_models.security import RateLimitPolicy
from infra_security.errors import RateLimitBackendError, RateLimitKeyError, RateLimitPolicyError
from infra_security.ratelimit._core import CompiledPolicy, Outcome, compile_policy
from infra_security.ratelimit._limiter import RateLimiter, RateLimitRule
from infra_security.ratelimit._memory import MemoryBackend


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, **policy: object) -> RateLimiter:
    fields: dict[str, object] = {"name": "p", "limit": 10, "period_seconds": 10.0}
    fields.update(policy)
    return RateLimiter(default=RateLimitPolicy.model_validate(fields), backend=MemoryBackend(clock=clock))


class TestGcra:
    def test_fresh_key_starts_full_then_denies(self) -> None:
        lim = limiter(Clock())
        decisions = [lim.hit(client="c", endpoint="e") for _ in range(11)]
        assert [d.allowed for d in decisions] == [True] * 10 + [False]
        assert [d.remaining for d in decisions[:3]] == [9, 8, 7]
        assert decisions[9].remaining == 0
        assert decisions[10].retry_after == pytest.approx(1.0)

    def test_refill_accounted_with_injected_clock(self) -> None:
        clock = Clock()
        lim = limiter(clock)  # 10 per 10 s: one unit back per second
        for _ in range(10):
            assert lim.hit(client="c", endpoint="e").allowed
        assert not lim.hit(client="c", endpoint="e").allowed
        clock.now += 0.999
        assert not lim.hit(client="c", endpoint="e").allowed
        clock.now += 0.001
        assert lim.hit(client="c", endpoint="e").allowed
        assert not lim.hit(client="c", endpoint="e").allowed
        clock.now += 3.5
        assert [lim.hit(client="c", endpoint="e").allowed for _ in range(4)] == [True, True, True, False]
        clock.now += 100
        assert sum(lim.hit(client="c", endpoint="e").allowed for _ in range(20)) == 10

    def test_burst_adds_capacity_not_rate(self) -> None:
        clock = Clock()
        lim = limiter(clock, burst=5)
        assert sum(lim.hit(client="c", endpoint="e").allowed for _ in range(30)) == 15
        clock.now += 2.0
        assert sum(lim.hit(client="c", endpoint="e").allowed for _ in range(30)) == 2

    def test_weight_takes_several_units(self) -> None:
        lim = limiter(Clock())
        assert lim.hit(client="c", endpoint="e", weight=7).remaining == 3
        denied = lim.hit(client="c", endpoint="e", weight=4)
        assert not denied.allowed
        assert denied.retry_after == pytest.approx(1.0)
        assert lim.hit(client="c", endpoint="e", weight=3).allowed

    def test_reset_after_is_time_to_full(self) -> None:
        lim = limiter(Clock())
        assert lim.hit(client="c", endpoint="e", weight=4).reset_after == pytest.approx(4.0)


class TestSlidingWindow:
    def test_window_blends_previous_count(self) -> None:
        clock = Clock(1000.0)  # window index 100 starts at 1000
        lim = limiter(clock, algorithm="sliding_window")
        assert sum(lim.hit(client="c", endpoint="e").allowed for _ in range(15)) == 10
        clock.now = 1012.5  # 25 % into the next window: estimate = 10 * 0.75 = 7.5
        assert sum(lim.hit(client="c", endpoint="e").allowed for _ in range(5)) == 2
        clock.now = 1030.0  # two windows later: empty
        assert sum(lim.hit(client="c", endpoint="e").allowed for _ in range(15)) == 10

    def test_retry_after_is_exact(self) -> None:
        clock = Clock(1000.0)
        lim = limiter(clock, algorithm="sliding_window")
        for _ in range(10):
            lim.hit(client="c", endpoint="e")
        denied = lim.hit(client="c", endpoint="e")
        assert not denied.allowed
        clock.now += denied.retry_after
        assert lim.hit(client="c", endpoint="e").allowed

    def test_repeated_denials_stay_exact(self) -> None:
        clock = Clock(1000.0)
        lim = limiter(clock, algorithm="sliding_window")
        for _ in range(10):
            lim.hit(client="c", endpoint="e")
        first = lim.hit(client="c", endpoint="e")
        clock.now += 1.0
        second = lim.hit(client="c", endpoint="e")
        assert not second.allowed
        assert second.retry_after == pytest.approx(first.retry_after - 1.0)
        assert second.reset_after == pytest.approx(first.reset_after - 1.0)
        heavy = lim.hit(client="c", endpoint="e", weight=3)
        assert heavy.retry_after > second.retry_after
        clock.now += second.retry_after
        assert lim.hit(client="c", endpoint="e").allowed
        lim.reset(client="c", endpoint="e")
        assert lim.hit(client="c", endpoint="e").remaining == 9


class TestPolicies:
    def test_most_specific_rule_wins(self) -> None:
        small = RateLimitPolicy(name="small", limit=1, period_seconds=60)
        client = RateLimitPolicy(name="vip", limit=3, period_seconds=60)
        endpoint = RateLimitPolicy(name="publish", limit=2, period_seconds=60)
        lim = RateLimiter(
            [RateLimitRule(endpoint, endpoint="/publish"), RateLimitRule(client, client="vip")],
            default=small,
        )
        lim.add_rule(RateLimitRule(RateLimitPolicy(name="exact", limit=5, period_seconds=60), "/publish", "vip"))
        assert lim.hit(client="a", endpoint="/other").policy == "small"
        assert lim.hit(client="a", endpoint="/publish").policy == "publish"
        assert lim.hit(client="vip", endpoint="/other").policy == "vip"
        assert lim.hit(client="vip", endpoint="/publish").policy == "exact"

    def test_scope_decides_the_key(self) -> None:
        glob = RateLimiter(default=RateLimitPolicy(name="g", limit=2, period_seconds=60, scope="global"))
        assert glob.hit(client="a").allowed and glob.hit(client="b").allowed
        assert not glob.hit(client="c").allowed
        per_client = RateLimiter(default=RateLimitPolicy(name="c", limit=1, period_seconds=60, scope="client"))
        assert per_client.hit(client="a", endpoint="/1").allowed
        assert not per_client.hit(client="a", endpoint="/2").allowed
        assert per_client.hit(client="b", endpoint="/1").key == "c:b"

    def test_clients_do_not_collide_through_separator(self) -> None:
        lim = RateLimiter(default=RateLimitPolicy(name="p", limit=1, period_seconds=60))
        assert lim.hit(client="a:b", endpoint="c").allowed
        assert lim.hit(client="a", endpoint="b:c").allowed

    def test_no_rule_means_unlimited(self) -> None:
        lim = RateLimiter([RateLimitRule(RateLimitPolicy(name="p", limit=1, period_seconds=1), endpoint="/x")])
        decision = lim.hit(client="a", endpoint="/y")
        assert decision.allowed and decision.policy is None and decision.headers() == {}

    def test_headers(self) -> None:
        clock = Clock()
        lim = limiter(clock, limit=1, period_seconds=60)
        assert lim.hit(client="c", endpoint="e").headers() == {
            "RateLimit-Limit": "1",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "60",
            "RateLimit-Policy": "1;w=60",
        }
        denied = lim.hit(client="c", endpoint="e").headers()
        assert denied["Retry-After"] == "60"

    def test_decision_truthiness_is_allowed(self) -> None:
        lim = limiter(Clock(), limit=1)
        assert lim.hit(client="c", endpoint="e")
        assert not lim.hit(client="c", endpoint="e")

    def test_shadow_mode_admits_and_reports(self) -> None:
        lim = limiter(Clock(), limit=1, shadow=True)
        assert lim.hit(client="c", endpoint="e").exceeded is False
        over = lim.hit(client="c", endpoint="e")
        assert over.allowed and over.exceeded and over.shadow
        assert "Retry-After" not in over.headers()


class TestBadInput:
    @pytest.mark.parametrize(("field", "value"), [("limit", 0), ("limit", -5), ("period_seconds", 0)])
    def test_model_rejects_zero_or_negative_rate(self, field: str, value: float) -> None:
        fields: dict[str, object] = {"name": "p", "limit": 10, "period_seconds": 10.0, field: value}
        with pytest.raises(ValueError, match=field):
            RateLimitPolicy.model_validate(fields)

    @pytest.mark.parametrize(
        ("field", "value"), [("limit", 0), ("period_seconds", -1.0), ("period_seconds", float("inf"))]
    )
    def test_unvalidated_policy_rejected_by_limiter(self, field: str, value: float) -> None:
        fields: dict[str, object] = {"name": "p", "limit": 10, "period_seconds": 10.0, field: value}
        policy = RateLimitPolicy.model_construct(**fields)  # type: ignore[arg-type]
        with pytest.raises(RateLimitPolicyError, match=field):
            compile_policy(policy)

    def test_unbounded_key_length(self) -> None:
        lim = limiter(Clock())
        with pytest.raises(RateLimitKeyError, match="max_key_length=256"):
            lim.hit(client="x" * 10_000, endpoint="e")

    def test_missing_client_for_client_scope(self) -> None:
        with pytest.raises(RateLimitKeyError, match="per client"):
            limiter(Clock()).hit(endpoint="e")

    @pytest.mark.parametrize("weight", [0, -1, 11])
    def test_weight_out_of_range(self, weight: int) -> None:
        with pytest.raises(RateLimitPolicyError, match="weight"):
            limiter(Clock()).hit(client="c", endpoint="e", weight=weight)

    def test_two_policies_with_one_name(self) -> None:
        with pytest.raises(RateLimitPolicyError, match="named `p`"):
            RateLimiter(
                [
                    RateLimitRule(RateLimitPolicy(name="p", limit=1, period_seconds=1), endpoint="/a"),
                    RateLimitRule(RateLimitPolicy(name="p", limit=2, period_seconds=1), endpoint="/b"),
                ]
            )


class FailingBackend:
    def decide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        raise RateLimitBackendError("down")

    async def adecide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        raise RateLimitBackendError("down")

    def reset(self, key: str) -> None:
        raise RateLimitBackendError("down")


class TestBackendFailure:
    policy = RateLimitPolicy(name="p", limit=1, period_seconds=1)

    def test_fail_open(self) -> None:
        decision = RateLimiter(default=self.policy, backend=FailingBackend(), on_backend_error="open").hit(
            client="c", endpoint="e"
        )
        assert decision.allowed and decision.degraded

    def test_fail_closed_per_rule(self) -> None:
        lim = RateLimiter(
            [RateLimitRule(self.policy, endpoint="/admin", on_backend_error="closed")],
            backend=FailingBackend(),
            on_backend_error="open",
            closed_retry_after=5,
        )
        decision = lim.hit(client="c", endpoint="/admin")
        assert not decision.allowed and decision.degraded and decision.headers()["Retry-After"] == "5"

    def test_raise(self) -> None:
        lim = RateLimiter(default=self.policy, backend=FailingBackend(), on_backend_error="raise")
        with pytest.raises(RateLimitBackendError):
            lim.hit(client="c", endpoint="e")


class TestMemoryBackend:
    def test_prunes_keys_back_to_full(self) -> None:
        clock = Clock()
        backend = MemoryBackend(clock=clock, prune_at=100)
        lim = RateLimiter(default=RateLimitPolicy(name="p", limit=10, period_seconds=1), backend=backend)
        for i in range(99):
            lim.hit(client=f"c{i}", endpoint="e")
        clock.now += 10
        lim.hit(client="late", endpoint="e")
        assert len(backend) == 1

    def test_eight_threads_released_together_admit_exactly_the_limit(self) -> None:
        # A day-long period: no refill during the run, so exactly `limit` must pass.
        lim = RateLimiter(default=RateLimitPolicy(name="p", limit=1000, period_seconds=86_400, scope="global"))
        barrier = threading.Barrier(8)
        admitted = [0] * 8

        def worker(i: int) -> None:
            barrier.wait()
            admitted[i] = sum(lim.hit().allowed for _ in range(1000))

        old = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # force thread switches inside the decision
        try:
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            sys.setswitchinterval(old)
        assert sum(admitted) == 1000
