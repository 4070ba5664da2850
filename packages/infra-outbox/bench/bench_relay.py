"""Benchmark: drain N pending events from PostgreSQL to Kafka, against the raw producer in the same run.

    hatch run bench infra-outbox -- --events 20000
    python packages/infra-outbox/bench/bench_relay.py --db postgresql+psycopg://... --bootstrap 127.0.0.1:9092

Scenarios (256-byte payloads, 1,000 keys): the raw confluent-kafka producer sending the same records (the
limit), a naive relay (claim one row, send, flush, mark), one Relay, four Relays in four processes; then the
commit-to-ack latency (p50/p99) while a writer commits a steady 1,000 events/s and one relay serves them.
Reads INFRA_TEST_POSTGRES_URL and INFRA_TEST_KAFKA_BOOTSTRAP when --db/--bootstrap are not given.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from sqlalchemy import text

from infra_outbox import NewEvent, Outbox, Relay, RelaySettings
from infra_outbox.db import make_engine
from infra_outbox.send import record_headers
from infra_outbox.tables import create_all

PAYLOAD = 256
KEYS = 1000


def fresh_database(admin_url: str) -> str:
    name = "bench_" + uuid.uuid4().hex[:8]
    engine = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    create_all(make_engine(url))
    return url


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
    engine.dispose()


def analyze(url: str) -> None:
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def raw_producer(bootstrap: str, topic: str, n: int) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    producer.list_topics(timeout=10)
    from infra_outbox.lease import ClaimedEvent

    records = [
        ClaimedEvent(
            i,
            str(uuid.uuid4()),
            "bench",
            topic,
            f"key-{i % KEYS}",
            i // KEYS + 1,
            None,
            payload(i),
            "application/json",
            None,
            1,
            time.time(),
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


def naive_relay(url: str, bootstrap: str, n: int) -> float:
    """Claim one row, send, flush, mark: what most hand-written relays do."""
    engine = make_engine(url)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.list_topics(timeout=10)
    claim = text(
        "SELECT id, topic, key, payload FROM infra_outbox WHERE status = 'pending' "
        "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
    )
    mark = text("UPDATE infra_outbox SET status = 'published', published_at = :now WHERE id = :id")
    start = time.perf_counter()
    sent = 0
    while sent < n:
        with engine.begin() as conn:
            row = conn.execute(claim).first()
            if row is None:
                break
            producer.produce(row.topic, bytes(row.payload), row.key)
            producer.flush(30)
            conn.execute(mark, {"now": time.time(), "id": row.id})
        sent += 1
    elapsed = time.perf_counter() - start
    engine.dispose()
    return sent / elapsed


def _relay_worker(url: str, bootstrap: str, batch_size: int, barrier: object, out: object) -> None:
    relay = Relay(url, bootstrap, settings=RelaySettings(batch_size=batch_size))
    relay.check_broker()
    barrier.wait()  # type: ignore[attr-defined]
    start = time.perf_counter()
    report = relay.drain()
    out.put((report.published, start, time.perf_counter()))  # type: ignore[attr-defined]
    relay.close()


def relays(url: str, bootstrap: str, n: int, count: int, batch_size: int) -> float:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(count)
    out = ctx.Queue()
    procs = [ctx.Process(target=_relay_worker, args=(url, bootstrap, batch_size, barrier, out)) for _ in range(count)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    published = sum(r[0] for r in results)
    assert published == n, f"{count} relay(s) published {published} of {n}"
    return n / (max(r[2] for r in results) - min(r[1] for r in results))


class _MeasuredRelay(Relay):
    """A relay that keeps (about when written, commit-to-ack seconds) for every event it publishes."""

    samples: list[tuple[float, float]]

    def _finish(self, flight):  # type: ignore[no-untyped-def]
        report = super()._finish(flight)
        now = time.time()
        self.samples.extend((now - x, x) for x in report.latencies)
        if os.environ.get("BENCH_DEBUG") and report.latencies and max(report.latencies) > 0.05:
            print(
                f"slow batch: {report.claimed} events, worst {max(report.latencies):.3f} s, claim "
                f"{report.claim_seconds:.3f} s, send {report.send_seconds:.3f} s, mark {report.settle_seconds:.3f} s"
            )
        return report


def _latency_relay(url: str, bootstrap: str, ready: object, stop: object, out: object) -> None:
    relay = _MeasuredRelay(url, bootstrap, settings=RelaySettings(batch_size=1000))
    relay.samples = []
    relay.check_broker()
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
    engine = make_engine(url)
    outbox = Outbox()
    tick = 0.005
    per_tick = max(1, int(rate * tick))
    start = time.perf_counter()
    measure_from = time.time() + warmup
    written = 0
    while time.perf_counter() - start < warmup + seconds:
        with engine.begin() as conn:
            outbox.enqueue_many(
                conn,
                [
                    NewEvent(
                        topic=topic, key=f"key-{(written + j) % KEYS}", event_type="bench", payload=payload(written + j)
                    )
                    for j in range(per_tick)
                ],
            )
        written += per_tick
        pause = start + written / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    achieved = written / (time.perf_counter() - start)
    time.sleep(1.0)
    stop.set()
    samples = sorted(x for written_at, x in out.get(timeout=60) if written_at >= measure_from)
    proc.join(30)
    engine.dispose()
    if os.environ.get("BENCH_DEBUG"):
        print("  worst latencies (s):", [round(x, 3) for x in samples[-10:]], len(samples))
    if not samples:
        return float("nan"), float("nan"), int(achieved)
    p50 = statistics.median(samples)
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    return p50 * 1000, p99 * 1000, int(achieved)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("INFRA_TEST_POSTGRES_URL"), help="PostgreSQL admin URL")
    parser.add_argument("--bootstrap", default=os.environ.get("INFRA_TEST_KAFKA_BOOTSTRAP"))
    parser.add_argument("--events", type=int, default=20_000, help="events to drain per scenario")
    parser.add_argument("--naive-events", type=int, default=1_000, help="events for the (slow) naive relay")
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument("--rate", type=int, default=1_000, help="events/s for the latency run")
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of the latency run")
    parser.add_argument("--skip", action="append", default=[], help="skip a scenario: raw, naive, one, four, latency")
    args = parser.parse_args()
    if not args.db or not args.bootstrap:
        print(
            "needs --db and --bootstrap (or INFRA_TEST_POSTGRES_URL / INFRA_TEST_KAFKA_BOOTSTRAP); "
            "start them with `python tools/services.py up postgres kafka`",
            file=sys.stderr,
        )
        return 2
    n = args.events
    print(f"{n} events, {PAYLOAD}-byte payloads, {KEYS} keys, batch {args.batch_size}, {os.cpu_count()} CPUs")
    figures: dict[str, float] = {}

    def run(name: str, fn, *, events: int) -> None:  # type: ignore[no-untyped-def]
        if name in args.skip:
            return
        url = fresh_database(args.db)
        topic = new_topic(args.bootstrap)
        try:
            fill(url, topic, events)
            analyze(url)
            figures[name] = fn(url, topic, events)
            print(f"  {name:<10} {figures[name]:>10,.0f} events/s", flush=True)
        finally:
            drop_database(args.db, url)

    run("raw", lambda url, topic, k: raw_producer(args.bootstrap, topic, k), events=n)
    run("naive", lambda url, topic, k: naive_relay(url, args.bootstrap, k), events=min(n, args.naive_events))
    run("one", lambda url, topic, k: relays(url, args.bootstrap, k, 1, args.batch_size), events=n)
    run("four", lambda url, topic, k: relays(url, args.bootstrap, k, 4, args.batch_size), events=n)
    raw = figures.get("raw")
    if raw:
        for name in ("naive", "one", "four"):
            if name in figures:
                print(f"  {name} / raw producer = {figures[name] / raw:.2f}")
    if "one" in figures and "naive" in figures:
        print(f"  one relay / naive relay = {figures['one'] / figures['naive']:.1f}x")
    if "latency" not in args.skip:
        url = fresh_database(args.db)
        topic = new_topic(args.bootstrap)
        try:
            p50, p99, achieved = latency(url, args.bootstrap, topic, args.rate, args.seconds)
        finally:
            drop_database(args.db, url)
        print(f"  commit-to-ack at {achieved:,} events/s (after a 1 s warm-up): p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
