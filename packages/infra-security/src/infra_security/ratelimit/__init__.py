"""Rate limiting: GCRA and the sliding window, in memory, on Redis or Redis Cluster, and an ASGI middleware."""

from __future__ import annotations

from infra_security.ratelimit._asgi import RateLimitMiddleware
from infra_security.ratelimit._core import RateLimitDecision
from infra_security.ratelimit._limiter import RateLimiter, RateLimitRule
from infra_security.ratelimit._memory import MemoryBackend
from infra_security.ratelimit._pipelining import PipelinedRedisBackend, PipelinedRedisClusterBackend
from infra_security.ratelimit._redis import RedisBackend
from infra_security.ratelimit._redis_cluster import RedisClusterBackend

__all__ = [
    "MemoryBackend",
    "PipelinedRedisBackend",
    "PipelinedRedisClusterBackend",
    "RateLimitDecision",
    "RateLimitMiddleware",
    "RateLimitRule",
    "RateLimiter",
    "RedisBackend",
    "RedisClusterBackend",
]
