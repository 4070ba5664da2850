"""ASGI middleware that rate-limits HTTP requests; plain ASGI, no web framework needed.

Example:
    >>> from infra_models.security import RateLimitPolicy
    >>> from infra_security.ratelimit._limiter import RateLimiter
    >>> async def app(scope, receive, send): ...
    >>> policy = RateLimitPolicy(name="api", limit=100, period_seconds=60)
    >>> limited = RateLimitMiddleware(app, RateLimiter(default=policy))
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from infra_security.errors import RateLimitKeyError, RateLimitPolicyError
from infra_security.ratelimit._limiter import RateLimiter

__all__ = ["RateLimitMiddleware", "client_from_scope", "endpoint_from_scope"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def client_from_scope(scope: Scope) -> str:
    """The peer's address (``scope["client"][0]``), or ``"anonymous"`` when the server gives none.

    Behind a proxy, pass ``client_key=`` reading a header the proxy sets (and that clients cannot forge).
    """
    client = scope.get("client")
    return str(client[0]) if client else "anonymous"


def endpoint_from_scope(scope: Scope) -> str:
    """The request path (``scope["path"]``)."""
    return str(scope.get("path") or "/")


async def _error(send: Send, status: int, payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RateLimitMiddleware:
    """Decide each HTTP request; 429 with ``Retry-After`` when denied, ``RateLimit-*`` headers on every answer.

    ``client_key``/``endpoint_key`` map the ASGI scope to the limiter's client and endpoint; ``weight`` gives a
    request's cost. Non-HTTP scopes (lifespan, websocket) pass through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        *,
        client_key: Callable[[Scope], str] = client_from_scope,
        endpoint_key: Callable[[Scope], str] = endpoint_from_scope,
        weight: Callable[[Scope], int] | None = None,
        headers: bool = True,
    ) -> None:
        self.app = app
        self.limiter = limiter
        self._client_key = client_key
        self._endpoint_key = endpoint_key
        self._weight = weight
        self._headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        try:
            decision = await self.limiter.ahit(
                client=self._client_key(scope),
                endpoint=self._endpoint_key(scope),
                weight=1 if self._weight is None else self._weight(scope),
            )
        except RateLimitKeyError as exc:
            # A client key the limiter refuses (empty, or longer than max_key_length): the request is malformed.
            await _error(send, 400, {"error": "bad_rate_limit_key", "message": exc.message})
            return
        except RateLimitPolicyError as exc:
            # A weight above the policy's capacity can never be admitted: reject it, with no Retry-After.
            await _error(send, 429, {"error": "weight_exceeds_capacity", "message": exc.message})
            return
        extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in decision.headers().items()]
        if not self._headers:
            extra = [h for h in extra if h[0] == b"retry-after"]
        if not decision.allowed:
            body = json.dumps(
                {"error": "rate_limited", "policy": decision.policy, "retry_after": decision.headers()["Retry-After"]}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        *extra,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if not extra:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                message = dict(message)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
