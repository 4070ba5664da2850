"""Fixtures shared by the infra-security tests: the real-service settings from infra_models.testing."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from infra_models.testing import (  # noqa: F401
    in_ci,
    kafka_bootstrap,
    postgres_url,
    redis_url,
    vault_addr,
    vault_token,
)

# -- servers a test starts and stops itself (credentials and rate-limit outage tests) ------------------------

_ROOT = Path(__file__).resolve().parents[3]


def _launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("infra_test_services", _ROOT / "tools" / "services.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _missing(what: str) -> None:
    message = f"{what} not found: run `python tools/services.py up` once to install it"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class OwnServer:
    """A server this test started on 127.0.0.1; ``stop()`` ends it by PID."""

    url: str
    port: int
    token: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _start(cmd: list[str], ready: Callable[[], bool], log: Path, url: str, port: int, token: str) -> OwnServer:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=log.parent, start_new_session=True)
    server = OwnServer(url, port, token, proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited: {log.read_text(errors='replace')[-2000:]}")
        if ready():
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{cmd[0]} not ready in 30 s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def own_openbao(tmp_path: Path) -> Iterator[OwnServer]:
    """An OpenBao dev server of this test only (never the shared one), on a free port."""
    binary = _launcher()._bao_binary()
    if binary is None:
        _missing("the OpenBao binary")
    port, token = _free_port(), f"own-{uuid.uuid4().hex}"
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/v1/sys/health", timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    cmd = [str(binary), "server", "-dev", f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={token}"]
    cmd.append("-dev-no-store-token")
    server = _start(cmd, ready, tmp_path / "openbao.log", url, port, token)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_openbao_tls(tmp_path: Path) -> Iterator[OwnServer]:
    """An OpenBao dev server of this test only, serving HTTPS with its own CA (``<tmp>/tls/vault-ca.pem``)."""
    binary = _launcher()._bao_binary()
    if binary is None:
        _missing("the OpenBao binary")
    port, token = _free_port(), f"own-{uuid.uuid4().hex}"
    certs = tmp_path / "tls"
    certs.mkdir()
    url = f"https://127.0.0.1:{port}"

    def ready() -> bool:
        import ssl

        if not (certs / "vault-ca.pem").is_file():
            return False
        try:
            ctx = ssl.create_default_context(cafile=str(certs / "vault-ca.pem"))
            with urllib.request.urlopen(f"{url}/v1/sys/health", timeout=1, context=ctx) as reply:
                return bool(reply.status == 200)
        except (OSError, ssl.SSLError):
            return False

    cmd = [str(binary), "server", "-dev", "-dev-tls", f"-dev-tls-cert-dir={certs}"]
    cmd += [f"-dev-listen-address=127.0.0.1:{port}", f"-dev-root-token-id={token}", "-dev-no-store-token"]
    server = _start(cmd, ready, tmp_path / "openbao.log", url, port, token)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnServer]:
    """A redis-server of this test only (never the shared one), on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server")
    port = _free_port()

    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(7).startswith(b"+PONG")
        except OSError:
            return False

    cmd = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    cmd += ["--dir", str(tmp_path)]  # redis-server's own option (not the CLI kit's --directory)
    server = _start(cmd, ready, tmp_path / "redis.log", f"redis://127.0.0.1:{port}/0", port, "")
    try:
        yield server
    finally:
        server.stop()
