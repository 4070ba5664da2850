"""The ASGI middleware, driven by calling a tiny ASGI app directly (no server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from infra_models.security import RateLimitPolicy
from infra_security.ratelimit._asgi import RateLimitMiddleware
from infra_security.ratelimit._limiter import RateLimiter, RateLimitRule


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hi"})


def call(app: Any, path: str = "/x", client: str = "10.0.0.1", kind: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    scope = {"type": kind, "path": path, "method": "GET", "client": (client, 5000), "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


class TestMiddleware:
    def test_admits_with_headers_then_429(self) -> None:
        app = RateLimitMiddleware(hello, RateLimiter(default=RateLimitPolicy(name="api", limit=2, period_seconds=60)))
        first = call(app)
        assert first[0]["status"] == 200
        headers = dict(first[0]["headers"])
        assert headers[b"ratelimit-remaining"] == b"1"
        assert headers[b"content-type"] == b"text/plain"
        call(app)
        denied = call(app)
        assert denied[0]["status"] == 429
        headers = dict(denied[0]["headers"])
        assert headers[b"retry-after"] == b"30"
        assert json.loads(denied[1]["body"])["policy"] == "api"

    def test_clients_counted_apart(self) -> None:
        app = RateLimitMiddleware(hello, RateLimiter(default=RateLimitPolicy(name="api", limit=1, period_seconds=60)))
        assert call(app, client="a")[0]["status"] == 200
        assert call(app, client="b")[0]["status"] == 200
        assert call(app, client="a")[0]["status"] == 429

    def test_unlimited_endpoint_passes_untouched(self) -> None:
        limiter = RateLimiter([RateLimitRule(RateLimitPolicy(name="p", limit=1, period_seconds=60), endpoint="/x")])
        app = RateLimitMiddleware(hello, limiter)
        for _ in range(3):
            response = call(app, path="/free")
            assert response[0]["status"] == 200
            assert response[0]["headers"] == [(b"content-type", b"text/plain")]

    def test_shadow_mode_never_blocks(self) -> None:
        policy = RateLimitPolicy(name="api", limit=1, period_seconds=60, shadow=True)
        app = RateLimitMiddleware(hello, RateLimiter(default=policy))
        assert [call(app)[0]["status"] for _ in range(3)] == [200, 200, 200]

    def test_oversized_client_key_is_a_400(self) -> None:
        app = RateLimitMiddleware(hello, RateLimiter(default=RateLimitPolicy(name="api", limit=5, period_seconds=60)))
        response = call(app, client="x" * 1000)
        assert response[0]["status"] == 400
        assert json.loads(response[1]["body"])["error"] == "bad_rate_limit_key"

    def test_weight_above_capacity_is_a_429_without_retry_after(self) -> None:
        limiter = RateLimiter(default=RateLimitPolicy(name="api", limit=5, period_seconds=60))
        app = RateLimitMiddleware(hello, limiter, weight=lambda scope: 10)
        response = call(app)
        assert response[0]["status"] == 429
        assert b"retry-after" not in dict(response[0]["headers"])

    def test_non_http_scope_passes_through(self) -> None:
        seen: list[str] = []

        async def lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.append(scope["type"])

        app = RateLimitMiddleware(
            lifespan_app, RateLimiter(default=RateLimitPolicy(name="a", limit=1, period_seconds=1))
        )
        call(app, kind="lifespan")
        call(app, kind="lifespan")
        assert seen == ["lifespan", "lifespan"]

    def test_import_needs_no_framework(self) -> None:
        import subprocess
        import sys

        code = (
            "import sys, infra_security.ratelimit._asgi; "
            "print(any(m in sys.modules for m in ('starlette','fastapi','redis')))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == "False"
