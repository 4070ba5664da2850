"""The Vault provider retries 412 and 5xx (urllib3 Retry on hvac's session), with a backoff counted in seconds."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra_security.errors import CredentialBackendError

pytest.importorskip("hvac")

from infra_security.credentials._vault_provider import VaultProvider

KV_REPLY = {"data": {"data": {"api_key": "k"}, "metadata": {"version": 3}}}


class FlakyVault(BaseHTTPRequestHandler):
    """Answers lookup-self, then `failures` 412s, then the secret."""

    failures = 0
    status = 412
    reads = 0

    def do_GET(self) -> None:
        if self.path.startswith("/v1/auth/token/lookup-self"):
            self._reply(200, {"data": {"ttl": 0, "renewable": False, "accessor": "a"}})
            return
        type(self).reads += 1
        if type(self).reads <= type(self).failures:
            self._reply(type(self).status, {"errors": ["not yet"]})
            return
        self._reply(200, KV_REPLY)

    def _reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[tuple[str, type[FlakyVault]]]:
    handler = type("Handler", (FlakyVault,), {"failures": 0, "reads": 0, "status": 412})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


class TestRetries:
    def test_412_is_retried(self, flaky: tuple[str, type[FlakyVault]]) -> None:
        url, handler = flaky
        handler.failures = 1  # eventual consistency: the first read races a write
        secret = VaultProvider(url, token="t", retries=2).read("svc")
        assert secret.field("api_key").get_secret_value() == "k" and secret.version == 3
        assert handler.reads == 2

    def test_gives_up_after_retries_with_a_clear_error(self, flaky: tuple[str, type[FlakyVault]]) -> None:
        url, handler = flaky
        handler.failures, handler.status = 10, 503
        with pytest.raises(CredentialBackendError, match="read of secret/svc"):
            VaultProvider(url, token="t", retries=1).read("svc")
        assert handler.reads == 2  # the first try and one retry

    def test_backoff_is_in_seconds_and_capped(self) -> None:
        provider = VaultProvider("http://127.0.0.1:9", token="t", retries=10)
        retry = provider.client.adapter.session.get_adapter("http://").max_retries
        assert retry.status_forcelist == (412, 500, 502, 503)
        for _ in range(6):
            retry = retry.increment(method="GET", url="/v1/x")
        assert retry.get_backoff_time() == pytest.approx(2.0)  # seconds: 0.2, 0.4, 0.8 ... capped at 2 s
