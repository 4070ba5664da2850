"""Fault suite: a ledger of committed events against what a real consumer read, while things break.

Relays are SIGKILLed mid-batch, the broker is SIGKILLed and restarted, PostgreSQL crashes and restarts. The
tests that crash a server start their own (see ``servers.py``): the shared services are never stopped.
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra_models.testing import in_ci
from infra_outbox import Relay, RelaySettings
from infra_outbox.admin import outbox_stats
from infra_outbox.db import make_engine

from .ledger import Ledger, Writer, consume, fresh_database, new_topic
from .servers import KafkaServer, PostgresServer, kafka_classpath, postgres_bin

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 100


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every relay at once, then wait for each (SIGKILL after 15 s)."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _relay_process(url: str, bootstrap: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra_outbox",
            "relay",
            "--db",
            url,
            "--bootstrap-servers",
            bootstrap,
            "--batch-size",
            str(BATCH),
            "--lease",
            "4",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_drained(url: str, timeout: float) -> None:
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                stats = outbox_stats(engine)
                if stats.unpublished == 0:
                    return
            except Exception:  # the database may still be recovering
                pass
            time.sleep(0.2)
        raise AssertionError(f"outbox not drained after {timeout:.0f} s: {outbox_stats(engine)}")
    finally:
        engine.dispose()


def _missing(message: str) -> None:
    """Fail in CI (a missing server there is a broken build), skip on a developer's machine."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[PostgresServer]:
    if postgres_bin() is None:
        _missing("PostgreSQL server binaries not found: run `python tools/services.py up postgres` once")
    # Not under pytest's temp folder: that one is private to root, and the server runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="infra-outbox-pg-"))
    server = PostgresServer(root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaServer]:
    classpath = kafka_classpath()
    if classpath is None:
        _missing("Kafka jars not found: run `python tools/services.py up kafka` once")
    server = KafkaServer(tmp_path_factory.mktemp("kafka"), classpath)
    server.start()
    yield server
    server.stop()


class TestRelayCrashes:
    def test_four_relays_sigkilled_mid_batch(self, postgres_url: str, kafka_bootstrap: str) -> None:
        topic = new_topic(kafka_bootstrap)
        rng = random.Random(7)
        with fresh_database(postgres_url) as url:
            ledger = Ledger()
            # Three writers on the same keys, holding their transactions open for a few ms: commits land in
            # every order relative to ids, and writers of one key queue on its counter.
            writers = [Writer(url, topic, ledger, keys=30, pause=0.0, seed=seed, hold=0.005) for seed in (1, 2, 3)]
            for writer in writers:
                writer.start()
            relays = [_relay_process(url, kafka_bootstrap) for _ in range(4)]
            kills = 0
            try:
                deadline = time.monotonic() + 9.0
                while time.monotonic() < deadline:
                    time.sleep(rng.uniform(0.8, 1.6))
                    victim = rng.randrange(len(relays))
                    relays[victim].send_signal(signal.SIGKILL)
                    relays[victim].wait(10)
                    kills += 1
                    relays[victim] = _relay_process(url, kafka_bootstrap)
                for writer in writers:
                    writer.finish()
                _wait_drained(url, 60)
            finally:
                _stop(relays)
            records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        summary = ledger.check(records, max_duplicates=kills * 2 * BATCH)
        assert kills >= 5
        assert summary["events"] > 200, summary
        assert ledger.rolled_back, "the writer rolled nothing back: the test would not see ghosts"

    def test_two_relays_on_one_sqlite_file(self, tmp_path: Path, kafka_bootstrap: str) -> None:
        """SQLite, the embedded default: two relay processes share the file; one is SIGKILLed mid-run."""
        from typer.testing import CliRunner

        from infra_outbox.cli import app

        topic = new_topic(kafka_bootstrap)
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
        assert CliRunner().invoke(app, ["db", "init", "--db", url]).exit_code == 0
        ledger = Ledger()
        writer = Writer(url, topic, ledger, keys=15, pause=0.002, seed=4)
        writer.start()
        relays = [_relay_process(url, kafka_bootstrap) for _ in range(2)]
        try:
            time.sleep(2.5)
            relays[0].send_signal(signal.SIGKILL)
            relays[0].wait(10)
            relays[0] = _relay_process(url, kafka_bootstrap)
            time.sleep(2.5)
            writer.finish()
            _wait_drained(url, 60)
        finally:
            _stop(relays)
        records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        summary = ledger.check(records, max_duplicates=BATCH)
        assert summary["events"] > 100, summary


class TestServerCrashes:
    def test_broker_killed_and_restarted(self, postgres_url: str, own_kafka: KafkaServer) -> None:
        topic = new_topic(own_kafka.bootstrap)
        with fresh_database(postgres_url) as url:
            ledger = Ledger()
            writer = Writer(url, topic, ledger, keys=20, pause=0.003, seed=2)
            relay = Relay(url, own_kafka.bootstrap, settings=RelaySettings(batch_size=BATCH))
            thread = threading.Thread(target=relay.run)
            writer.start()
            thread.start()
            try:
                time.sleep(2.0)
                own_kafka.kill()
                time.sleep(3.0)  # events keep committing while the broker is down
                own_kafka.start()
                time.sleep(2.0)
                writer.finish()
                _wait_drained(url, 90)
            finally:
                relay.stop()
                thread.join(60)
            records = consume(own_kafka.bootstrap, topic, expect=set(ledger.committed), timeout=60)
        summary = ledger.check(records, max_duplicates=2 * BATCH)
        assert summary["events"] > 100, summary

    def test_postgres_restarted(self, own_postgres: PostgresServer, kafka_bootstrap: str) -> None:
        topic = new_topic(kafka_bootstrap)
        with fresh_database(own_postgres.url) as url:
            ledger = Ledger()
            writer = Writer(url, topic, ledger, keys=20, pause=0.003, seed=3, tolerate_errors=True)
            relay = Relay(url, kafka_bootstrap, settings=RelaySettings(batch_size=BATCH))
            thread = threading.Thread(target=relay.run)
            writer.start()
            thread.start()
            try:
                time.sleep(2.0)
                own_postgres.crash()
                time.sleep(2.0)
                own_postgres.start()
                time.sleep(3.0)
                writer.finish()
                _wait_drained(url, 60)
            finally:
                relay.stop()
                thread.join(60)
            records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        summary = ledger.check(records, max_duplicates=2 * BATCH)
        assert writer.errors > 0, "the writer saw no outage: the test did not test anything"
        assert summary["events"] > 100, summary
