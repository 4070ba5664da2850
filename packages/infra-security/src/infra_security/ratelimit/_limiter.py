"""``RateLimiter``: per-endpoint and per-client policies over a memory or Redis backend.

Example:
    >>> from infra_models.security import RateLimitPolicy
    >>> limiter = RateLimiter(default=RateLimitPolicy(name="api", limit=2, period_seconds=60))
    >>> [limiter.hit(client="c1", endpoint="/x").allowed for _ in range(3)]
    [True, True, False]
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from infra_models.security import RateLimitPolicy, RateLimitScope
from infra_security.errors import RateLimitBackendError, RateLimitKeyError, RateLimitPolicyError
from infra_security.ratelimit._core import (
    BackendFailure,
    CompiledPolicy,
    Outcome,
    RateLimitBackend,
    RateLimitDecision,
    compile_policy,
)
from infra_security.ratelimit._memory import MemoryBackend

__all__ = ["RateLimitRule", "RateLimiter"]

_log = logging.getLogger("infra_security.ratelimit")

_FAILURES = ("open", "closed", "raise")
_CLIENT_ENDPOINT = RateLimitScope.CLIENT_ENDPOINT


@dataclass(frozen=True, slots=True)
class RateLimitRule:
    """Apply ``policy`` to an endpoint, a client, or one client on one endpoint (``None`` matches any).

    ``on_backend_error`` decides what happens when the backend cannot answer: ``"open"`` admits (availability
    first), ``"closed"`` rejects with ``Retry-After`` = ``closed_retry_after`` (protection first), ``"raise"``
    raises :class:`RateLimitBackendError`. ``None`` takes the limiter's default.
    """

    policy: RateLimitPolicy
    endpoint: str | None = None
    client: str | None = None
    on_backend_error: BackendFailure | None = None


@dataclass(frozen=True, slots=True)
class _Resolved:
    compiled: CompiledPolicy
    scope: RateLimitScope
    on_error: BackendFailure


class RateLimiter:
    """Decide requests against the most specific matching rule: (client, endpoint) > client > endpoint > default.

    ``hit`` decides and records in one atomic backend step and returns a :class:`RateLimitDecision`. Keys are
    ``<policy>:<client>:<endpoint>`` according to the policy's scope; a key part longer than
    ``max_key_length`` is rejected (:class:`RateLimitKeyError`) so clients cannot grow memory with huge keys.
    """

    def __init__(
        self,
        rules: Iterable[RateLimitRule | RateLimitPolicy] = (),
        *,
        default: RateLimitPolicy | None = None,
        backend: RateLimitBackend | None = None,
        on_backend_error: BackendFailure = "open",
        closed_retry_after: float = 1.0,
        max_key_length: int = 256,
    ) -> None:
        if on_backend_error not in _FAILURES:
            raise RateLimitPolicyError(
                f"`on_backend_error` must be one of {', '.join(_FAILURES)}, got {on_backend_error!r}"
            )
        if max_key_length <= 0:
            raise RateLimitPolicyError(f"`max_key_length` must be positive, got {max_key_length}")
        self.backend: RateLimitBackend = backend if backend is not None else MemoryBackend()
        self._on_error: BackendFailure = on_backend_error
        self._closed_retry_after = closed_retry_after
        self._max_key = max_key_length
        self._exact: dict[tuple[str, str], _Resolved] = {}
        self._by_client: dict[str, _Resolved] = {}
        self._by_endpoint: dict[str, _Resolved] = {}
        self._default: _Resolved | None = None
        self._names: dict[str, RateLimitPolicy] = {}
        for rule in rules:
            self.add_rule(rule if isinstance(rule, RateLimitRule) else RateLimitRule(rule))
        if default is not None:
            self._default = self._resolve(RateLimitRule(default))

    def add_rule(self, rule: RateLimitRule) -> None:
        """Add a rule; a policy given alone (no endpoint, no client) becomes the default."""
        resolved = self._resolve(rule)
        if rule.client is not None and rule.endpoint is not None:
            self._exact[(rule.client, rule.endpoint)] = resolved
        elif rule.client is not None:
            self._by_client[rule.client] = resolved
        elif rule.endpoint is not None:
            self._by_endpoint[rule.endpoint] = resolved
        else:
            self._default = resolved

    def policy_for(self, *, client: str | None = None, endpoint: str | None = None) -> RateLimitPolicy | None:
        """Return the policy that applies to this client and endpoint, or ``None``."""
        resolved = self._match(client, endpoint)
        return None if resolved is None else self._names[resolved.compiled.name]

    def hit(self, *, client: str | None = None, endpoint: str | None = None, weight: int = 1) -> RateLimitDecision:
        """Decide and record one request of ``weight`` units; no matching rule means an unlimited decision."""
        resolved = self._match(client, endpoint)
        if resolved is None:
            return RateLimitDecision(True, 0, 0, 0.0, 0.0, None, "")
        key = self._key(resolved, client, endpoint)
        policy = resolved.compiled
        if weight != 1 or type(weight) is not int:  # 1.0 and True are not weights
            self._check_weight(policy, weight)
        try:
            outcome = self.backend.decide(key, policy, weight)
        except RateLimitBackendError as exc:
            return self._on_failure(resolved, key, exc)
        return self._decision(policy, key, outcome)

    async def ahit(
        self, *, client: str | None = None, endpoint: str | None = None, weight: int = 1
    ) -> RateLimitDecision:
        """Async twin of :meth:`hit` (Redis decisions do not block the event loop)."""
        resolved = self._match(client, endpoint)
        if resolved is None:
            return RateLimitDecision(True, 0, 0, 0.0, 0.0, None, "")
        key = self._key(resolved, client, endpoint)
        policy = resolved.compiled
        if weight != 1 or type(weight) is not int:  # 1.0 and True are not weights
            self._check_weight(policy, weight)
        try:
            outcome = await self.backend.adecide(key, policy, weight)
        except RateLimitBackendError as exc:
            return self._on_failure(resolved, key, exc)
        return self._decision(policy, key, outcome)

    def reset(self, *, client: str | None = None, endpoint: str | None = None) -> None:
        """Forget the state of the key this client and endpoint map to."""
        resolved = self._match(client, endpoint)
        if resolved is not None:
            self.backend.reset(self._key(resolved, client, endpoint))

    # -- internals -------------------------------------------------------------------------------------------

    def _resolve(self, rule: RateLimitRule) -> _Resolved:
        known = self._names.get(rule.policy.name)
        if known is not None and known != rule.policy:
            raise RateLimitPolicyError(
                f"two different policies are named `{rule.policy.name}`: give each policy its own name",
                details={"policy": rule.policy.name},
            )
        on_error = rule.on_backend_error or self._on_error
        if on_error not in _FAILURES:
            raise RateLimitPolicyError(f"`on_backend_error` must be one of {', '.join(_FAILURES)}, got {on_error!r}")
        self._names[rule.policy.name] = rule.policy
        return _Resolved(compile_policy(rule.policy), RateLimitScope(rule.policy.scope), on_error)

    def _match(self, client: str | None, endpoint: str | None) -> _Resolved | None:
        if client is not None:
            if endpoint is not None and self._exact:
                found = self._exact.get((client, endpoint))
                if found is not None:
                    return found
            if self._by_client:
                found = self._by_client.get(client)
                if found is not None:
                    return found
        if endpoint is not None and self._by_endpoint:
            found = self._by_endpoint.get(endpoint)
            if found is not None:
                return found
        return self._default

    def _key(self, resolved: _Resolved, client: str | None, endpoint: str | None) -> str:
        scope = resolved.scope
        name = resolved.compiled.name
        limit = self._max_key
        if scope is _CLIENT_ENDPOINT:
            # Fast path: plain, bounded parts need no escaping.
            if (
                client
                and endpoint
                and len(client) <= limit
                and len(endpoint) <= limit
                and ":" not in client
                and "%" not in client
                and ":" not in endpoint
                and "%" not in endpoint
            ):
                return f"{name}:{client}:{endpoint}"
            return f"{name}:{self._part('client', client, name)}:{self._part('endpoint', endpoint, name)}"
        if scope is RateLimitScope.GLOBAL:
            return name
        if scope is RateLimitScope.CLIENT:
            return f"{name}:{self._part('client', client, name)}"
        return f"{name}:{self._part('endpoint', endpoint, name)}"

    def _part(self, what: str, value: str | None, policy: str) -> str:
        if not value:
            raise RateLimitKeyError(
                f"policy `{policy}` counts per {what}: pass a non-empty `{what}=`",
                details={"policy": policy, "field": what},
            )
        if len(value) > self._max_key:
            raise RateLimitKeyError(
                f"{what} key of {len(value)} characters exceeds max_key_length={self._max_key}: "
                f"hash or truncate it before rate limiting",
                details={"policy": policy, "field": what, "length": len(value)},
            )
        # ':' separates key parts; escape it so `a:b` + `c` and `a` + `b:c` cannot collide.
        return value.replace("%", "%25").replace(":", "%3A")

    @staticmethod
    def _check_weight(policy: CompiledPolicy, weight: int) -> None:
        if type(weight) is not int or weight <= 0 or weight > policy.capacity:
            raise RateLimitPolicyError(
                f"weight {weight!r} must be a whole number in 1..{policy.capacity} for policy `{policy.name}` "
                f"(capacity = limit + burst)",
                details={"policy": policy.name, "weight": repr(weight)},
            )

    @staticmethod
    def _decision(policy: CompiledPolicy, key: str, outcome: Outcome) -> RateLimitDecision:
        allowed, remaining, retry_after, reset_after = outcome
        if allowed:
            return RateLimitDecision(True, policy.limit, remaining, 0.0, reset_after, policy.name, key, policy.period)
        if policy.shadow:
            _log.info("rate limit %s exceeded on %s (shadow mode: admitted)", policy.name, key)
            return RateLimitDecision(
                True, policy.limit, remaining, retry_after, reset_after, policy.name, key, policy.period, True, True
            )
        return RateLimitDecision(
            False, policy.limit, remaining, retry_after, reset_after, policy.name, key, policy.period, True
        )

    def _on_failure(self, resolved: _Resolved, key: str, exc: RateLimitBackendError) -> RateLimitDecision:
        policy = resolved.compiled
        if resolved.on_error == "raise":
            raise exc
        _log.warning("rate-limit backend failed for %s, failing %s: %s", key, resolved.on_error, exc)
        if resolved.on_error == "open":
            return RateLimitDecision(
                True, policy.limit, policy.capacity, 0.0, 0.0, policy.name, key, policy.period, degraded=True
            )
        return RateLimitDecision(
            False,
            policy.limit,
            0,
            self._closed_retry_after,
            self._closed_retry_after,
            policy.name,
            key,
            policy.period,
            exceeded=True,
            degraded=True,
        )
