"""Benchmark: drain N committed events from PostgreSQL to Kafka, beside the raw producer and the v1 relay.

    hatch run bench infra-outbox -- --events 20000
    python packages/infra-outbox/bench/bench_relay.py --db postgresql+psycopg://... --bootstrap 127.0.0.1:9092

Figures, all measured in the same run (256-byte payloads, 1,000 keys):
  raw      the raw confluent-kafka producer sending the same records (the anchor)
  v2       one infra-outbox relay (this version) draining them from PostgreSQL
  v1       the v1 work-queue relay (lease UPDATE, mark UPDATE), from git commit V1_COMMIT, if git is available
  latency  commit-to-ack p50/p99 while a writer commits a steady 1,000 events/s and one v2 relay serves them
  dead     n_dead_tup on the event tables after publishing --dead-events events (v2 and v1)
  horizon  v2 and v1 throughput while a REPEATABLE READ transaction holds the xmin horizon for the whole drain
Reads INFRA_TEST_POSTGRES_URL and INFRA_TEST_KAFKA_BOOTSTRAP when --db/--bootstrap are not given.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from sqlalchemy import text

from infra_models.kafka import KafkaProducerConfig
from infra_outbox import NewEvent, Outbox, Relay, RelaySettings
from infra_outbox.db import make_engine
from infra_outbox.event import LogEvent
from infra_outbox.send import record_headers
from infra_outbox.tables import create_all

PAYLOAD = 256
KEYS = 1000
V1_COMMIT = "be8b43b"  # the last commit of the v1 relay
ROOT = Path(__file__).resolve().parents[3]


def fresh_database(admin_url: str) -> str:
    name = "bench_" + uuid.uuid4().hex[:8]
    engine = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    engine = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()


def new_topic(bootstrap: str, partitions: int = 6) -> str:
    topic = "bench-" + uuid.uuid4().hex[:8]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        future.result(30)
    return topic


def drop_topic(bootstrap: str, topic: str) -> None:
    """Delete a topic the bench made: thousands of leftover partitions slow the broker down for every later run."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics([topic], operation_timeout=30).values():
        future.result(30)


def payload(i: int) -> bytes:
    body = f'{{"n":{i},"pad":"'.encode()
    return body + b"x" * (PAYLOAD - len(body) - 2) + b'"}'


def fill(url: str, topic: str, n: int) -> None:
    engine = make_engine(url)
    outbox = Outbox(notify=False)
    for start in range(0, n, 5000):
        batch = [
            NewEvent(topic=topic, key=f"key-{i % KEYS}", event_type="bench", payload=payload(i))
            for i in range(start, min(n, start + 5000))
        ]
        with engine.begin() as conn:
            outbox.enqueue_many(conn, batch)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def producer_settings(bootstrap: str) -> dict[str, object]:
    """The librdkafka settings a relay uses (KafkaProducerConfig's defaults and the relay's partitioner)."""
    conf: dict[str, object] = dict(KafkaProducerConfig(bootstrap_servers=bootstrap).to_librdkafka())
    conf.setdefault("partitioner", "murmur2_random")
    return conf


def raw_producer(bootstrap: str, topic: str, n: int) -> float:
    # The same producer settings as the relay's (idempotence, acks=all, linger.ms, batch size, partitioner): the
    # anchor differs from the relay only by having no database.
    producer = Producer(producer_settings(bootstrap))
    producer.list_topics(timeout=10)
    now = time.time()
    records = [
        LogEvent(
            i,
            0,
            str(uuid.uuid4()),
            "bench",
            topic,
            f"key-{i % KEYS}",
            i // KEYS + 1,
            None,
            payload(i),
            "application/json",
            None,
            now,
        )
        for i in range(n)
    ]
    done = [0]

    def on_delivery(err: object, _msg: object) -> None:
        if err is None:
            done[0] += 1

    start = time.perf_counter()
    for r in records:
        while True:
            try:
                producer.produce(r.topic, r.payload, r.key, headers=record_headers(r), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    elapsed = time.perf_counter() - start
    assert done[0] == n, f"raw producer delivered {done[0]} of {n}"
    return n / elapsed


class Horizon:
    """A REPEATABLE READ transaction that holds the xmin horizon (PgQue's benchmark scenario) until closed."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url).execution_options(isolation_level="REPEATABLE READ")
        self.conn = self.engine.connect()
        self.conn.execute(text("SELECT count(*) FROM pg_class"))  # takes the snapshot

    def close(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.engine.dispose()


def v2_drain(url: str, bootstrap: str, n: int, batch_size: int, *, hold_horizon: bool = False) -> float:
    relay = Relay(url, bootstrap, settings=RelaySettings(batch_size=batch_size))
    relay.check_broker()
    horizon = Horizon(url) if hold_horizon else None
    try:
        start = time.perf_counter()
        report = relay.drain()
        elapsed = time.perf_counter() - start
    finally:
        if horizon is not None:
            horizon.close()
    relay.close()
    assert report.published == n, f"v2 relay published {report.published} of {n}"
    return n / elapsed


def dead_tuples(url: str, prefix: str) -> int:
    engine = make_engine(url)
    time.sleep(1.5)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_force_next_flush()"))
        value = conn.execute(
            text("SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relname LIKE :p"),
            {"p": prefix},
        ).scalar_one()
    engine.dispose()
    return int(value)


_V1_RUNNER = r"""
import json, sys, time
from sqlalchemy import text
from infra_models.kafka import KafkaProducerConfig
from infra_outbox import NewEvent, Outbox, Relay, RelaySettings
from infra_outbox.db import make_engine
from infra_outbox.tables import create_all
url, bootstrap, topic = sys.argv[1:4]
n, batch, hold = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
engine = make_engine(url)
create_all(engine)
outbox = Outbox(notify=False)
pad = lambda i: (f'{{"n":{i},"pad":"'.encode() + b"x" * 240)[:254] + b'"}'
for start in range(0, n, 5000):
    with engine.begin() as conn:
        outbox.enqueue_many(conn, [NewEvent(topic=topic, key=f"key-{i % 1000}", event_type="bench", payload=pad(i))
                                   for i in range(start, min(n, start + 5000))])
with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
    conn.execute(text("VACUUM ANALYZE"))
relay = Relay(url, bootstrap, settings=RelaySettings(batch_size=batch))
relay.check_broker()
import gc; gc.collect(); gc.freeze()  # as the v2 side of the bench (and the relay command) does
horizon = None
if hold:
    horizon = make_engine(url).execution_options(isolation_level="REPEATABLE READ").connect()
    horizon.execute(text("SELECT count(*) FROM pg_class"))
start = time.perf_counter()
report = relay.drain()
elapsed = time.perf_counter() - start
if horizon is not None:
    horizon.rollback(); horizon.close()
relay.close()
time.sleep(1.5)
with engine.connect() as conn:
    conn.execute(text("SELECT pg_stat_force_next_flush()"))
    dead = conn.execute(text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'infra_outbox'")).scalar_one()
print(json.dumps({"rate": report.published / elapsed, "published": report.published, "dead": int(dead)}))
"""


def v1_source() -> Path | None:
    """The v1 package source, extracted from git (None when the history is not available)."""
    target = Path(tempfile.mkdtemp(prefix="infra-outbox-v1-"))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", V1_COMMIT, "packages/infra-outbox/src"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        return None
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "packages" / "infra-outbox" / "src"


def v1_drain(source: Path, url: str, bootstrap: str, topic: str, n: int, batch: int, *, hold: bool = False) -> dict:
    env = {**os.environ, "PYTHONPATH": str(source)}
    out = subprocess.run(
        [sys.executable, "-c", _V1_RUNNER, url, bootstrap, topic, str(n), str(batch), "1" if hold else "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"v1 relay failed: {out.stderr[-2000:]}")
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["published"] == n, result
    return result


class _MeasuredRelay(Relay):
    """A relay that keeps (written at, commit-to-ack seconds) for every event it publishes."""

    samples: list[tuple[float, float]]

    def _observe(self, report):  # type: ignore[no-untyped-def]
        super()._observe(report)
        now = time.time()
        self.samples.extend((now - x, x) for x in report.latencies)


def _latency_relay(url: str, bootstrap: str, ready: object, stop: object, out: object) -> None:
    relay = _MeasuredRelay(url, bootstrap, settings=RelaySettings(batch_size=1000))
    relay.samples = []
    relay.check_broker()
    gc.collect()
    gc.freeze()  # as the `relay` command does before serving
    threading.Thread(target=lambda: (stop.wait(), relay.stop()), daemon=True).start()  # type: ignore[attr-defined]
    ready.set()  # type: ignore[attr-defined]
    relay.run()
    out.put(relay.samples)  # type: ignore[attr-defined]


def latency(
    url: str, bootstrap: str, topic: str, rate: int, seconds: float, warmup: float = 1.0
) -> tuple[float, float, int]:
    """Write ``rate`` events/s for ``warmup + seconds``; percentiles over events written after the warm-up."""
    ctx = mp.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_latency_relay, args=(url, bootstrap, ready, stop, out))
    proc.start()
    ready.wait(60)
    time.sleep(0.5)
    engine = make_engine(url)
    outbox = Outbox()
    tick = 0.005
    start = time.perf_counter()
    measure_from = time.time() + warmup
    written = 0
    while time.perf_counter() - start < warmup + seconds:
        # Every tick, write what the rate asks for by now: a slow commit is caught up in the next transaction.
        due = max(1, int((time.perf_counter() - start) * rate) - written)
        with engine.begin() as conn:
            outbox.enqueue_many(
                conn,
                [
                    NewEvent(topic=topic, key=f"key-{(written + j) % KEYS}", event_type="bench", payload=payload(j))
                    for j in range(due)
                ],
            )
        written += due
        pause = start + written / rate - time.perf_counter()
        if pause > 0:
            time.sleep(min(pause, tick))
    achieved = written / (time.perf_counter() - start)
    time.sleep(1.0)
    stop.set()
    samples = sorted(x for written_at, x in out.get(timeout=60) if written_at >= measure_from)
    proc.join(30)
    engine.dispose()
    if not samples:
        return float("nan"), float("nan"), int(achieved)
    p50 = statistics.median(samples)
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    return p50 * 1000, p99 * 1000, int(achieved)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("INFRA_TEST_POSTGRES_URL"), help="PostgreSQL admin URL")
    parser.add_argument("--bootstrap", default=os.environ.get("INFRA_TEST_KAFKA_BOOTSTRAP"))
    parser.add_argument("--events", type=int, default=20_000, help="events to drain per throughput scenario")
    parser.add_argument("--dead-events", type=int, default=100_000, help="events for the dead-tuple scenario")
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--rate", type=int, default=1_000, help="events/s for the latency run")
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of the latency run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of raw / v2 / v1 (medians are printed)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted rounds of raw / v2 first")
    parser.add_argument(
        "--skip", action="append", default=[], help="skip a scenario: raw, v2, v1, latency, dead, horizon"
    )
    args = parser.parse_args()
    if not args.db or not args.bootstrap:
        print(
            "needs --db and --bootstrap (or INFRA_TEST_POSTGRES_URL / INFRA_TEST_KAFKA_BOOTSTRAP); "
            "start them with `python tools/services.py up postgres kafka`",
            file=sys.stderr,
        )
        return 2
    n, batch = args.events, args.batch_size
    # As the `relay` command does: start-up objects (SQLAlchemy, pydantic, confluent-kafka) out of the collector's
    # reach. One process runs the raw anchor and the v2 relay, so both get it (the v1 runner freezes too).
    gc.collect()
    gc.freeze()
    print(
        f"{n} events, {PAYLOAD}-byte payloads, {KEYS} keys, batch {batch}, {os.cpu_count()} CPUs, "
        f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    source = None if "v1" in args.skip else v1_source()
    if "v1" not in args.skip and source is None:
        print(f"  v1: skipped (git commit {V1_COMMIT} not available)")

    def scenario(fn, *, v1: bool = False, events: int = n, hold: bool = False):  # type: ignore[no-untyped-def]
        url = fresh_database(args.db)
        topic = new_topic(args.bootstrap)
        horizon = None
        try:
            if not v1:
                engine = make_engine(url)
                create_all(engine)
                engine.dispose()
                horizon = Horizon(url) if hold else None
                fill(url, topic, events)
            return fn(url, topic)
        finally:
            if horizon is not None:
                horizon.close()
            drop_database(args.db, url)
            drop_topic(args.bootstrap, topic)

    runs = {
        "raw": lambda: scenario(lambda url, topic: raw_producer(args.bootstrap, topic, n)),
        "v2": lambda: scenario(lambda url, topic: v2_drain(url, args.bootstrap, n, batch)),
        "v1": lambda: scenario(
            lambda url, topic: v1_drain(source, url, args.bootstrap, topic, n, batch)["rate"], v1=True
        ),
    }
    chosen = [name for name in ("raw", "v2", "v1") if name not in args.skip and (name != "v1" or source is not None)]
    # Warm-up rounds, not counted: the first producer and relay of a process pay for connections, metadata, the
    # broker's and PostgreSQL's caches (the raw anchor varied 2x between rounds without them).
    for _ in range(args.warmup):
        for name in chosen:
            if name != "v1":
                runs[name]()
    rates: dict[str, list[float]] = {"raw": [], "v2": [], "v1": []}
    for round_no in range(args.repeat if chosen else 0):
        # Alternate the order, so drift of the machine's load within a round does not favour one side.
        order = chosen if round_no % 2 == 0 else chosen[::-1]
        for name in order:
            rates[name].append(runs[name]())
        print(
            f"  round {round_no + 1}: "
            + ", ".join(f"{name} {rates[name][-1]:,.0f}" for name in chosen)
            + f" events/s; load {os.getloadavg()[0]:.2f}",
            flush=True,
        )
    medians = {k: statistics.median(v) for k, v in rates.items() if v}
    for name, rate in medians.items():
        print(f"  {name:<4} {rate:>10,.0f} events/s   (runs: {', '.join(f'{r:,.0f}' for r in rates[name])})")

    def ratios(a: str, b: str) -> str:
        # Each round runs the scenarios back to back: its own ratio cancels the machine's drift between rounds.
        per_round = [x / y for x, y in zip(rates[a], rates[b], strict=True)]
        return f"median {statistics.median(per_round):.2f} (rounds: {', '.join(f'{r:.2f}' for r in per_round)})"

    if rates["raw"] and rates["v2"]:
        print(f"  v2 relay / raw producer: {ratios('v2', 'raw')}   (target >= 0.50)")
    if rates["v1"] and rates["v2"]:
        print(f"  v2 relay / v1 relay:     {ratios('v2', 'v1')}   (target >= 2.5)")
    if "latency" not in args.skip:
        p50, p99, achieved = scenario(
            lambda url, topic: latency(url, args.bootstrap, topic, args.rate, args.seconds), events=0
        )
        print(
            f"  commit-to-ack at {achieved:,} events/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms   (target p99 < 50 ms); "
            f"load {os.getloadavg()[0]:.2f}"
        )
    if "dead" not in args.skip:
        m = args.dead_events

        def v2_dead(url: str, topic: str) -> int:
            v2_drain(url, args.bootstrap, m, batch)
            return dead_tuples(url, "infra_outbox_log%")

        print(f"  n_dead_tup after publishing {m:,} events: v2 log {scenario(v2_dead, events=m)}", end="", flush=True)
        if source is not None:
            v1 = scenario(lambda url, topic: v1_drain(source, url, args.bootstrap, topic, m, batch), v1=True)
            print(f", v1 table {v1['dead']:,}", end="")
        print("   (target 0)")
    if "horizon" not in args.skip:
        # PgQue's scenario: a REPEATABLE READ transaction holds the xmin horizon from before the events are
        # written until they are all published; rounds alternate free and held runs.
        free_runs: list[float] = []
        held_runs: list[float] = []
        for _ in range(args.repeat):
            free_runs.append(scenario(lambda url, topic: v2_drain(url, args.bootstrap, n, batch)))
            held_runs.append(scenario(lambda url, topic: v2_drain(url, args.bootstrap, n, batch), hold=True))
        per_round = [h / f for h, f in zip(held_runs, free_runs, strict=True)]
        print(
            f"  xmin horizon held, v2: median {statistics.median(held_runs):,.0f} vs "
            f"{statistics.median(free_runs):,.0f} events/s free; "
            f"held/free per round median {statistics.median(per_round):.2f} "
            f"(rounds: {', '.join(f'{r:.2f}' for r in per_round)})   (target within 10%)"
        )
        if source is not None:
            v1_free = scenario(lambda url, topic: v1_drain(source, url, args.bootstrap, topic, n, batch), v1=True)
            v1_held = scenario(
                lambda url, topic: v1_drain(source, url, args.bootstrap, topic, n, batch, hold=True), v1=True
            )
            print(
                f"  xmin horizon held, v1: {v1_held['rate']:,.0f} vs {v1_free['rate']:,.0f} events/s free "
                f"= {v1_held['rate'] / v1_free['rate']:.2f}; "
                f"dead tuples left {v1_held['dead']:,} vs {v1_free['dead']:,}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
