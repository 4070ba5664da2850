"""Several relays on one SQLite file, in threads: shards shared, each event once, per-key order kept."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from infra_outbox import BatchReport, NewEvent, Outbox, Relay, RelaySettings, outbox_stats
from infra_outbox.db import make_engine
from infra_outbox.tables import create_all

from .conftest import FakeProducer


class SharedLog(FakeProducer):
    """A fake producer that appends deliveries to a log shared by all relays (the 'broker')."""

    def __init__(self, log: list[dict[str, Any]], lock: threading.Lock) -> None:
        super().__init__()
        self.log = log
        self.lock = lock

    def flush(self, timeout: float = 0) -> int:
        time.sleep(0.002)  # a send takes time, so the other relays get to claim meanwhile
        with self.lock:
            pending = list(self._pending)
            result = super().flush(timeout)
            self.log.extend(message for _, message in pending)
        return result


class TestSqliteRelays:
    def test_three_relays_share_one_sqlite_file(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        engine = make_engine(url)
        create_all(engine)
        outbox = Outbox()
        for start in range(0, 600, 50):
            with engine.begin() as conn:
                outbox.enqueue_many(
                    conn,
                    [
                        NewEvent(topic="t", key=f"k{i % 12}", event_type="e", payload=i)
                        for i in range(start, start + 50)
                    ],
                )
        log: list[dict[str, Any]] = []
        lock = threading.Lock()
        barrier = threading.Barrier(3)
        reports = []

        def work() -> None:
            relay = Relay(
                make_engine(url), "127.0.0.1:9", settings=RelaySettings(batch_size=40), producer=SharedLog(log, lock)
            )
            barrier.wait()
            total = BatchReport()
            while outbox_stats(relay.engine).pending:  # shards owned by another relay are not read: go on
                report = relay.run_once()
                total.add(report)
                if not report.read:
                    time.sleep(0.01)
            relay.close()  # gives its shards back
            reports.append(total)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(r.published for r in reports) == 600
        assert len(log) == 600  # each event exactly once
        for key in {m["key"] for m in log}:
            seqs = [int(m["headers"]["event_seq"]) for m in log if m["key"] == key]
            assert seqs == list(range(1, len(seqs) + 1)), key
