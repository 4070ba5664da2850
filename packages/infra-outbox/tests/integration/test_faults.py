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
        print("ledger:", summary, "relays SIGKILLed:", kills)  # shown with -s: the figures of the run
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
        print("ledger:", summary)  # shown with -s: the figures of the run
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
        print("ledger:", summary)  # shown with -s: the figures of the run
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
        print("ledger:", summary)  # shown with -s: the figures of the run
        assert writer.errors > 0, "the writer saw no outage: the test did not test anything"
        assert summary["events"] > 100, summary


_STAGED_CRASH = """
import os, random, signal, sys
import infra_outbox.relay as relay_module

real = relay_module.Relay._results
rng = random.Random(os.getpid())

def _results(self, events, sent):
    outcome = real(self, events, sent)
    if events and rng.random() < 0.25:  # Kafka has the page; the cursor has not moved: die here
        os.kill(os.getpid(), signal.SIGKILL)
    return outcome

relay_module.Relay._results = _results
from infra_outbox.cli import app
app(sys.argv[1:], prog_name="infra-outbox")
"""


def _staged_relay(url: str, bootstrap: str) -> subprocess.Popen[bytes]:
    argv = ["relay", "--db", url, "--bootstrap-servers", bootstrap, "--batch-size", str(BATCH), "--lease", "4"]
    return subprocess.Popen([sys.executable, "-c", _STAGED_CRASH, *argv], stderr=subprocess.DEVNULL)


class TestStagedCrashes:
    def test_crash_between_send_and_cursor_advance_resends_without_reordering(
        self, postgres_url: str, kafka_bootstrap: str
    ) -> None:
        """Relays that die after Kafka acknowledged a page and before its cursor moved, again and again."""
        topic = new_topic(kafka_bootstrap)
        with fresh_database(postgres_url) as url:
            ledger = Ledger()
            writers = [Writer(url, topic, ledger, keys=30, pause=0.001, seed=s, hold=0.003) for s in (11, 12)]
            for writer in writers:
                writer.start()
            relays = [_staged_relay(url, kafka_bootstrap) for _ in range(2)]
            crashes = 0
            try:
                started = time.monotonic()  # at least 10 s and 4 staged crashes (at most 40 s on a busy machine)
                while time.monotonic() - started < 40 and (time.monotonic() - started < 10 or crashes < 4):
                    time.sleep(0.2)
                    for i, proc in enumerate(relays):
                        if proc.poll() is not None:
                            crashes += 1
                            relays[i] = _staged_relay(url, kafka_bootstrap)
                for writer in writers:
                    writer.finish()
                # Finish with plain relays (the staged ones could die on the last page for ever).
                _stop(relays)
                relays = [_relay_process(url, kafka_bootstrap)]
                _wait_drained(url, 90)
            finally:
                _stop(relays)
            records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        summary = ledger.check(records, max_duplicates=(crashes + 2) * 3 * BATCH)
        print("ledger:", summary, "staged crashes:", crashes)  # shown with -s: the figures of the run
        assert crashes >= 3, crashes
        assert summary["duplicates"] > 0, "no page was sent twice: the crash was not between send and advance"
        assert summary["events"] > 200, summary


class TestDeadKeyAndSmallTopic:
    def test_dead_key_with_1200_parked_events_does_not_stall_the_others(
        self, postgres_url: str, kafka_bootstrap: str
    ) -> None:
        from infra_outbox import NewEvent, Outbox

        topic = new_topic(kafka_bootstrap, config={"max.message.bytes": "4000"})
        with fresh_database(postgres_url) as url:
            engine = make_engine(url)
            outbox = Outbox()
            with engine.begin() as conn:
                outbox.enqueue(conn, topic=topic, key="dead", event_type="n", payload="x" * 6000)  # poison head
            for start in range(0, 1200, 300):
                with engine.begin() as conn:
                    outbox.enqueue_many(
                        conn,
                        [
                            NewEvent(topic=topic, key="dead", event_type="n", payload=i)
                            for i in range(start, start + 300)
                        ],
                    )
            ledger = Ledger()
            writer = Writer(url, topic, ledger, keys=40, pause=0.001, seed=5)
            writer.start()
            relays = [_relay_process(url, kafka_bootstrap) for _ in range(3)]
            kills = 0
            try:
                started = time.monotonic()  # three kills, and at least 200 events written (at most 30 s)
                while kills < 3 or (len(ledger.committed) < 200 and time.monotonic() - started < 30):
                    time.sleep(1.5)
                    relays[kills % 3].send_signal(signal.SIGKILL)
                    relays[kills % 3].wait(10)
                    relays[kills % 3] = _relay_process(url, kafka_bootstrap)
                    kills += 1
                writer.finish()
                started = time.monotonic()
                deadline = started + 60
                while time.monotonic() < deadline:
                    stats = outbox_stats(engine)
                    if stats.pending == 0 and stats.retrying == 0 and stats.parked == 1200 and stats.dead == 1:
                        break
                    time.sleep(0.2)
                else:
                    raise AssertionError(f"not settled: {outbox_stats(engine)}")
                drain_seconds = time.monotonic() - started
            finally:
                _stop(relays)
            engine.dispose()
            records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        assert "dead" not in {r.key for r in records}  # nothing of the parked key overtook its dead head
        summary = ledger.check([r for r in records if r.key != "dead"], max_duplicates=kills * 3 * BATCH)
        print(
            "ledger:", summary, "relays SIGKILLed:", kills, "settled in s:", round(drain_seconds, 1)
        )  # shown with -s: the figures of the run
        assert summary["events"] >= 150, summary
        assert drain_seconds < 30, drain_seconds

    def test_topic_limit_1500_with_1kb_events_no_innocent_dead(self, postgres_url: str, kafka_bootstrap: str) -> None:
        topic = new_topic(kafka_bootstrap, config={"max.message.bytes": "1500"})
        with fresh_database(postgres_url) as url:
            ledger = Ledger()
            writers = [Writer(url, topic, ledger, keys=20, pause=0.005, seed=s, pad=900) for s in (21, 22)]
            for writer in writers:
                writer.start()
            relays = [_relay_process(url, kafka_bootstrap) for _ in range(2)]
            try:
                time.sleep(3.0)
                relays[0].send_signal(signal.SIGKILL)
                relays[0].wait(10)
                relays[0] = _relay_process(url, kafka_bootstrap)
                time.sleep(3.0)
                for writer in writers:
                    writer.finish()
                _wait_drained(url, 90)
            finally:
                _stop(relays)
            engine = make_engine(url)
            stats = outbox_stats(engine)
            engine.dispose()
            records = consume(kafka_bootstrap, topic, expect=set(ledger.committed), timeout=60)
        assert stats.dead == 0, stats  # every ~1 KB event fits alone: none may be blamed
        summary = ledger.check(records, max_duplicates=3 * BATCH)
        print("ledger:", summary)  # shown with -s: the figures of the run
        assert summary["events"] > 100, summary


_CRASHING_RELAY = """
import os, signal, sys
import infra_outbox.send as send
from infra_outbox.event import COL_KEY

real = send.produce_events

def produce_events(pool, rows, **kwargs):
    if any(row[COL_KEY] == "poison" for row in rows):  # dies serialising it, every time (like an OOM kill)
        os.kill(os.getpid(), signal.SIGKILL)
    return real(pool, rows, **kwargs)

send.produce_events = produce_events
from infra_outbox.cli import app
app(sys.argv[1:], prog_name="infra-outbox")
"""


class TestPoisonThatKillsTheRelay:
    def test_event_that_kills_every_relay_goes_dead_and_other_keys_flow(
        self, postgres_url: str, kafka_bootstrap: str
    ) -> None:
        """A relay process is SIGKILLed each time it sends the poison event: two crashes, a careful try, DEAD."""
        from sqlalchemy import select

        from infra_outbox import Outbox
        from infra_outbox.tables import held

        topic = new_topic(kafka_bootstrap)
        outbox = Outbox()
        with fresh_database(postgres_url) as url:
            engine = make_engine(url)

            def write(start: int, count: int) -> None:
                with engine.begin() as conn:
                    for i in range(start, start + count):
                        outbox.enqueue(conn, topic=topic, key=f"k{i % 10}", event_type="n", payload=i)

            write(0, 50)
            with engine.begin() as conn:
                outbox.enqueue(conn, topic=topic, key="poison", event_type="n", payload="boom")
                outbox.enqueue(conn, topic=topic, key="poison", event_type="n", payload="after")
            write(50, 50)
            argv = ["relay", "--db", url, "--bootstrap-servers", kafka_bootstrap, "--batch-size", "40"]
            argv += ["--lease", "3", "--max-attempts", "3"]
            crashes = 0
            written = 100
            proc = subprocess.Popen([sys.executable, "-c", _CRASHING_RELAY, *argv], stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    time.sleep(0.2)
                    if proc.poll() is not None:
                        assert proc.returncode == -signal.SIGKILL, proc.returncode
                        crashes += 1
                        write(written, 20)  # the application keeps writing while relays crash
                        written += 20
                        proc = subprocess.Popen(
                            [sys.executable, "-c", _CRASHING_RELAY, *argv], stderr=subprocess.DEVNULL
                        )
                    with engine.connect() as conn:
                        rows = conn.execute(select(held.c.key, held.c.state)).all()
                    stats = outbox_stats(engine)
                    if sorted(rows) == [("poison", "dead"), ("poison", "waiting")] and stats.pending == 0:
                        break
                else:
                    raise AssertionError(f"not settled: {crashes} crashes, {sorted(set(rows))}, {outbox_stats(engine)}")
            finally:
                _stop([proc])
            with engine.connect() as conn:
                dead = conn.execute(select(held.c.attempts, held.c.last_error).where(held.c.state == "dead")).one()
            engine.dispose()
            records = consume(kafka_bootstrap, topic, expect=set(), timeout=10, settle=2)
        assert crashes == 3, crashes
        assert dead.attempts == 3
        assert dead.last_error.startswith("abandoned after 3 attempts"), dead.last_error
        assert {r.key for r in records} == {f"k{i}" for i in range(10)}  # the poison key never reached Kafka
        values = {int(r.value) for r in records}
        assert values == set(range(written)), sorted(set(range(written)) - values)
        for key in {r.key for r in records}:  # per-key order: first deliveries in sequence order
            first: dict[int, int] = {}
            for r in records:
                if r.key == key and r.seq is not None:
                    first.setdefault(r.seq, len(first))
            seqs = list(first)
            assert seqs == sorted(seqs), (key, seqs)
