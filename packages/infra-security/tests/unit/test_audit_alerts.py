"""Alert hooks: callables at or above a severity, and the webhook sender against a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from infra_models.enums import Severity
from infra_models.security import AuditEvent
from infra_security.audit._alerts import WebhookAlert
from infra_security.audit._logger import AuditLogger
from infra_security.errors import AuditConfigError


class Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).bodies.append(json.loads(self.rfile.read(length)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Receiver]]]:
    class Handler(Receiver):
        bodies: ClassVar[list[dict]] = []

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", Handler
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_callable_hook_at_or_above_threshold(tmp_path: Path) -> None:
    seen: list[AuditEvent] = []
    with AuditLogger(directory=tmp_path, alert_hooks=[seen.append], alert_severity=Severity.MEDIUM) as logger:
        logger.log_security_event("authentication", "ann", "login", "success")
        logger.log_security_event("authentication", "ann", "login", "failure", severity="medium")
        logger.log_security_event("security_violation", "eve", "probe", "denied")  # defaults to HIGH
    assert [(e.severity, e.actor) for e in seen] == [(Severity.MEDIUM, "ann"), (Severity.HIGH, "eve")]


def test_failing_hook_does_not_break_auditing(tmp_path: Path) -> None:
    def boom(event: AuditEvent) -> None:
        raise RuntimeError("pager down")

    with AuditLogger(directory=tmp_path, alert_hooks=[boom]) as logger:
        logger.log_security_event("security_violation", "eve", "probe", "denied")
        assert logger.head.seq == 1


def test_webhook_receives_redacted_event(tmp_path: Path, server: tuple[str, type[Receiver]]) -> None:
    url, handler = server
    hook = WebhookAlert(url, headers={"X-Token": "t"})
    with AuditLogger(directory=tmp_path, alert_hooks=[hook]) as logger:
        logger.log_security_event("security_violation", "eve", "probe", "denied", details={"password": "hunter2"})
        logger.log_security_event("authentication", "ann", "login", "success")  # INFO: no alert
    assert len(handler.bodies) == 1
    body = handler.bodies[0]
    assert body["alert"] == "audit" and body["event"]["actor"] == "eve"
    assert "hunter2" not in json.dumps(body)
    assert body["event"]["details"]["password"].startswith("hmac-sha256:")


def test_webhook_error_status_raises(server: tuple[str, type[Receiver]]) -> None:
    url, handler = server
    handler.status = 500
    with pytest.raises(OSError, match="500"):
        WebhookAlert(url)(AuditEvent(event_type="authentication", actor="a", action="b", outcome="success"))


def test_webhook_url_scheme_checked() -> None:
    with pytest.raises(AuditConfigError, match="http or https"):
        WebhookAlert("file:///etc/passwd")
