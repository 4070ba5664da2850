"""Alert hooks: called with the (redacted) event after it was written, for events at or above a severity.

A hook is any callable taking an :class:`infra_models.AuditEvent`. :class:`WebhookAlert` POSTs the event as
JSON to a URL. Hooks run on one background thread fed by a bounded queue (:class:`AlertDispatcher`), so a slow
webhook never adds its timeout to the logging call; when the queue is full the alert is dropped and counted.
Hook failures are logged and never undo or block auditing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from infra_models.security import AuditEvent
from infra_security.errors import AuditConfigError

__all__ = ["AlertDispatcher", "AlertHook", "WebhookAlert"]

AlertHook = Callable[[AuditEvent], None]

_log = logging.getLogger("infra_security.audit")
_STOP = object()


class AlertDispatcher:
    """Delivers events to alert hooks on one daemon thread, through a queue of at most ``capacity`` events.

    :meth:`submit` never blocks: with the queue full the event is not queued and :attr:`dropped` grows.
    :meth:`close` delivers what is queued (waiting at most ``timeout`` seconds) and stops the thread.
    """

    def __init__(self, hooks: Iterable[AlertHook], *, capacity: int = 1000) -> None:
        if capacity < 1:
            raise AuditConfigError(f"alert queue capacity must be at least 1, got {capacity}")
        self.hooks = list(hooks)
        self.dropped = 0
        self.delivered = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, event: AuditEvent) -> bool:
        """Queue ``event`` for the hooks; False (and counted in :attr:`dropped`) when the queue is full."""
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            _log.warning("audit alert queue full: alert for event %s dropped (%d so far)", event.event_id, self.dropped)
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Deliver the queued alerts (at most ``timeout`` seconds) and stop the delivery thread."""
        thread = self._thread
        if thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            _log.warning("audit alert queue still full after %.1fs; undelivered alerts are dropped", timeout)
            return
        thread.join(timeout)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="infra-security-audit-alerts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _STOP:
            assert isinstance(item, AuditEvent)
            for hook in self.hooks:
                try:
                    hook(item)
                except Exception:
                    _log.exception("audit alert hook %r failed", hook)
            self.delivered += 1


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
