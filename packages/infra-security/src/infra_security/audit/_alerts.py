"""Alert hooks: called with the (redacted) event after it was written, for events at or above a severity.

A hook is any callable taking an :class:`infra_models.AuditEvent`. :class:`WebhookAlert` POSTs the event as
JSON to a URL. Hook failures are logged and never undo or block auditing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from infra_models.security import AuditEvent
from infra_security.errors import AuditConfigError

__all__ = ["AlertHook", "WebhookAlert"]

AlertHook = Callable[[AuditEvent], None]


class WebhookAlert:
    """POSTs ``{"alert": "audit", "event": {...}}`` as JSON to an http(s) URL; raises on a non-2xx answer."""

    def __init__(self, url: str, *, timeout: float = 2.0, headers: Mapping[str, str] | None = None) -> None:
        if urlsplit(url).scheme not in {"http", "https"}:
            raise AuditConfigError(f"webhook URL must be http or https, got {url!r}")
        self.url = url
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}

    def __call__(self, event: AuditEvent) -> None:
        """Send the event."""
        import urllib.request

        body = b'{"alert":"audit","event":' + event.model_dump_json().encode() + b"}"
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked
            if not 200 <= response.status < 300:
                raise OSError(f"webhook {self.url} answered HTTP {response.status}")
