"""What the rate limiter and its backends share: compiled policies, decisions, the backend protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from infra_models.security import RateLimitAlgorithm, RateLimitPolicy
from infra_security.errors import RateLimitPolicyError

__all__ = [
    "BackendFailure",
    "CompiledPolicy",
    "Outcome",
    "RateLimitBackend",
    "RateLimitDecision",
    "compile_policy",
]

#: ``(allowed, remaining, retry_after, reset_after)`` as a backend answers.
Outcome = tuple[bool, int, float, float]

#: What to do with a request when the backend cannot decide: admit it, reject it, or raise.
BackendFailure = Literal["open", "closed", "raise"]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A policy reduced to the numbers the algorithms use."""

    name: str
    algorithm: RateLimitAlgorithm
    limit: int
    capacity: int
    period: float
    interval: float
    tolerance: float
    shadow: bool


def compile_policy(policy: RateLimitPolicy) -> CompiledPolicy:
    """Check a policy and reduce it; a zero, negative or non-finite rate is a :class:`RateLimitPolicyError`.

    GCRA admits ``limit + burst`` requests at once from a fresh key, then one every ``period / limit`` seconds.
    The sliding window admits ``limit + burst`` per sliding ``period``.
    """
    if ":" in policy.name:
        raise RateLimitPolicyError(
            f"policy name `{policy.name}` contains `:`, which separates the parts of a rate-limit key (two policies "
            "could share a counter); use `.`, `-` or `_` instead",
            details={"policy": policy.name, "field": "name"},
        )
    # Models are validated, but a model built with model_construct() skips validation: check again.
    if not isinstance(policy.limit, int) or policy.limit <= 0:
        raise RateLimitPolicyError(
            f"policy `{policy.name}`: `limit` must be a positive integer, got {policy.limit!r}",
            details={"policy": policy.name, "field": "limit"},
        )
    period = float(policy.period_seconds)
    if not math.isfinite(period) or period <= 0:
        raise RateLimitPolicyError(
            f"policy `{policy.name}`: `period_seconds` must be a positive number, got {policy.period_seconds!r}",
            details={"policy": policy.name, "field": "period_seconds"},
        )
    if policy.burst < 0:
        raise RateLimitPolicyError(
            f"policy `{policy.name}`: `burst` must be >= 0, got {policy.burst!r}",
            details={"policy": policy.name, "field": "burst"},
        )
    capacity = policy.limit + policy.burst
    interval = period / policy.limit
    return CompiledPolicy(
        name=policy.name,
        algorithm=RateLimitAlgorithm(policy.algorithm),
        limit=policy.limit,
        capacity=capacity,
        period=period,
        interval=interval,
        tolerance=capacity * interval,
        shadow=policy.shadow,
    )


class RateLimitDecision(NamedTuple):
    """The answer to one request: admitted or not, and what to tell the client.

    ``allowed`` is what the caller must do; ``exceeded`` is what the policy said (they differ in shadow mode
    and when a backend failure was resolved by failing open). ``retry_after`` is 0 when allowed. A named tuple
    rather than a dataclass: it is built once per request, and a frozen dataclass costs several times more.
    """

    allowed: bool
    limit: int
    remaining: int
    retry_after: float
    reset_after: float
    policy: str | None
    key: str
    period: float = 0.0
    exceeded: bool = False
    shadow: bool = False
    degraded: bool = False

    def __bool__(self) -> bool:
        """``if limiter.hit(...):`` means "admitted" (a plain tuple would always be true)."""
        return self.allowed

    def headers(self) -> dict[str, str]:
        """``RateLimit-Limit``/``-Remaining``/``-Reset``/``-Policy`` and, when denied, ``Retry-After`` (seconds).

        Values are whole seconds rounded up, as the IETF draft and RFC 9110 ask. An unlimited decision (no
        policy applied) has no headers.
        """
        if self.policy is None:
            return {}
        out = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
            "RateLimit-Policy": f"{self.limit};w={math.ceil(self.period)}",
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


class RateLimitBackend(Protocol):
    """Where counters live. ``decide`` must decide and record in one atomic step."""

    def decide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Decide one request of ``weight`` units on ``key``; raise :class:`RateLimitBackendError` on failure."""
        ...

    async def adecide(self, key: str, policy: CompiledPolicy, weight: int) -> Outcome:
        """Async twin of :meth:`decide`."""
        ...

    def reset(self, key: str) -> None:
        """Forget a key's state."""
        ...
