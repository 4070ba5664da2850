"""Rate limiting: GCRA, sliding and fixed windows, in memory or on Redis, and an ASGI middleware."""

from __future__ import annotations

from infra_security.ratelimit._asgi import RateLimitMiddleware
from infra_security.ratelimit._core import RateLimitDecision
from infra_security.ratelimit._limiter import RateLimiter, RateLimitRule
from infra_security.ratelimit._memory import MemoryBackend
from infra_security.ratelimit._redis import RedisBackend

__all__ = [
    "MemoryBackend",
    "RateLimitDecision",
    "RateLimitMiddleware",
    "RateLimitRule",
    "RateLimiter",
    "RedisBackend",
]
