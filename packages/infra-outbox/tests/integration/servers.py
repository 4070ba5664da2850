"""Dedicated PostgreSQL and Kafka processes for the fault suite (which kills and restarts them).

The shared services of ``tools/services.py`` are never stopped; the tests that crash a server start their own
here, on free ports under a temp folder, and stop them by PID.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

__all__ = ["KafkaServer", "PostgresServer", "free_port", "kafka_classpath", "postgres_bin"]

REPO = Path(__file__).resolve().parents[4]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def postgres_bin() -> Path | None:
    """Folder of initdb/pg_ctl/postgres, or None."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def kafka_classpath() -> str | None:
    """Classpath of the Kafka broker jars (the launcher's cache), or None."""
    roots = [os.environ.get("INFRA_KAFKA_LIBS", ""), str(REPO / ".cache" / "kafka"), str(REPO / ".services")]
    for root in filter(None, roots):
        jars = glob.glob(f"{root}/**/kafka_2.13-*.jar", recursive=True)
        jars = [j for j in jars if "-test" not in j and "-sources" not in j]
        if jars:
            return str(Path(jars[0]).parent / "*")
    return None


def _as_postgres_user() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PostgresServer:
    """A throwaway PostgreSQL cluster that a test may crash and restart."""

    def __init__(self, root: Path) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL server binaries (pg_ctl, initdb) not found")
        self.bin = bin_dir
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*_as_postgres_user(), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if not self.data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(self.root, "postgres", "postgres")
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        # fsync off is safe here: the tests kill processes, not the machine. synchronous_commit stays on, or a
        # crash would lose commits the writers were told had succeeded.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "-t",
            "60",
            "start",
        )
        _wait_port(self.port, 30)

    def crash(self) -> None:
        """Stop without a clean shutdown (like a power cut): recovery runs at the next start."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class KafkaServer:
    """A throwaway single-node KRaft broker that a test may SIGKILL and restart on the same port and data."""

    def __init__(self, root: Path, classpath: str | None = None) -> None:
        cp = classpath or kafka_classpath()
        if cp is None:
            raise RuntimeError("Kafka broker jars not found (run `python tools/services.py up kafka` once)")
        self.classpath = cp
        self.root = root
        self.port = free_port()
        self.controller_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *args: str) -> list[str]:
        java = shutil.which("java") or "java"
        return [
            java,
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.root / 'log4j2.properties'}",
            "-cp",
            self.classpath,
            *args,
        ]

    def start(self) -> None:
        config = self.root / "server.properties"
        if not config.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            config.write_text(
                "\n".join(
                    [
                        "process.roles=broker,controller",
                        "node.id=1",
                        f"controller.quorum.bootstrap.servers=127.0.0.1:{self.controller_port}",
                        f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                        f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                        "controller.listener.names=CONTROLLER",
                        "inter.broker.listener.name=PLAINTEXT",
                        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                        f"log.dirs={self.root / 'logs'}",
                        "num.partitions=3",
                        "auto.create.topics.enable=false",
                        "offsets.topic.replication.factor=1",
                        "transaction.state.log.replication.factor=1",
                        "transaction.state.log.min.isr=1",
                        "group.initial.rebalance.delay.ms=0",
                        "num.network.threads=2",
                        "num.io.threads=2",
                        "",
                    ]
                )
            )
            (self.root / "log4j2.properties").write_text(
                "rootLogger.level=WARN\nrootLogger.appenderRef.f.ref=F\nappender.f.type=File\nappender.f.name=F\n"
                f"appender.f.fileName={self.root / 'kafka.log'}\nappender.f.layout.type=PatternLayout\n"
                "appender.f.layout.pattern=%d %p %c: %m%n\n"
            )
            cluster = uuid.uuid4().hex[:22]
            subprocess.run(
                self._java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster, "-c", str(config)),
                check=True,
                capture_output=True,
                timeout=120,
            )
        out = (self.root / "stdout.log").open("ab")
        self.proc = subprocess.Popen(self._java("kafka.Kafka", str(config)), stdout=out, stderr=subprocess.STDOUT)
        _wait_port(self.port, 90, self.proc)

    def kill(self) -> None:
        """SIGKILL the broker (no clean shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None
