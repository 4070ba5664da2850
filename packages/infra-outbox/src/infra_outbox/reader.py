"""Read the log page by page: snapshot-range batches on PostgreSQL, rowid order on SQLite.

PostgreSQL (PgQ's tick): a batch of a shard is the events whose writer's transaction id is visible in a new
snapshot ``S_new`` (``pg_current_snapshot()``, taken when the batch starts) and was not visible in the shard's
previous one ``S_prev``: exactly the transactions that committed in between, each whole, none in flight. Inside
a batch events go in id order, which per key is commit order (a key's writers take their ids one after the
other under the key's counter row), so per key the order is (batch, id) = commit order. A batch larger than a
page is read as its sorted id list, then page by page; the cursor keeps ``(S_prev, S_new, last id done)``, so a
relay that takes the shard over after a crash rebuilds exactly the same batch and goes on after the last id.

SQLite has one writer at a time, so rowid order is commit order and the cursor is the last rowid done.
"""

from __future__ import annotations

import itertools
import sys
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import text

from infra_outbox.event import COL_PAYLOAD, EVENT_COLUMNS, Row
from infra_outbox.kept_connection import KeptConnection
from infra_outbox.snapshot import Snapshot
from infra_outbox.tables import LOG_TABLE

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from infra_outbox.ownership import ShardState

__all__ = ["Page", "Reader"]

T = TypeVar("T")

_DENSE = 2  # sorted ids spanning less than this many times their count are read as one id range

_SELECT = f"SELECT {', '.join(EVENT_COLUMNS)} FROM {LOG_TABLE}"  # noqa: S608 - table names and integer literals only


@dataclass(slots=True)
class Page:
    """Events of a group of shards read in one go (as rows), and where their cursors stand once they are done."""

    shards: tuple[int, ...]
    rows: list[Row]
    snap: Snapshot | None
    batch_snap: Snapshot | None
    last_id: int
    complete: bool  # the batch ends with this page: the cursors move to ``batch_snap``


def _all_rows(query: str) -> Callable[[Any], list[Any]]:
    """Work for a kept connection: every row of ``query``, as tuples in psycopg's binary format."""

    def read(driver: Any) -> list[Any]:
        with driver.cursor(binary=True) as cursor:
            cursor.execute(query)
            rows: list[Any] = cursor.fetchall()
            return rows

    return read


def _page_query(ids: list[int]) -> tuple[str, tuple[Any, ...], bool]:
    """The statement reading the events with these (sorted) ids, its parameters, and whether it reads a range.

    Dense ids (a batch of most of the log) are read as one id range, filtered afterwards to exactly ``ids``: an
    index range scan costs PostgreSQL a fraction of 2,000 separate ``= ANY`` probes. Sparse ids use ``ANY``.
    """
    low, high = ids[0], ids[-1]
    if high - low < _DENSE * len(ids):
        return f"{_SELECT} WHERE id BETWEEN %s AND %s ORDER BY id", (low, high), True
    return f"{_SELECT} WHERE id = ANY(%s) ORDER BY id", (ids,), False


def _only(ids: list[int], rows: list[Any], ranged: bool) -> list[Row]:
    """The rows whose ids are in ``ids`` (a range read may hold events of other batches), as psycopg made them."""
    if ranged and len(rows) != len(ids):
        wanted = set(ids)
        return [row for row in rows if row[0] in wanted]
    return cast("list[Row]", rows)  # nothing else committed inside the range: all of them are ours


@dataclass(slots=True)
class _Pending:
    """A page read sent in pipeline mode on the kept connection, its rows not received yet."""

    ids: list[int]
    driver: Any
    pipeline: Any
    cursor: Any
    ranged: bool


def _pipeline_supported() -> bool:
    """Whether psycopg's libpq has pipeline mode (libpq 14 or later; psycopg[binary] bundles one)."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _row(row: Any) -> Row:
    """A SQLite row as a plain tuple (the drivers return int, str, bytes and float for these columns)."""
    values = tuple(row)
    if type(values[COL_PAYLOAD]) is not bytes:  # memoryview from some drivers
        values = (*values[:COL_PAYLOAD], bytes(values[COL_PAYLOAD]), *values[COL_PAYLOAD + 1 :])
    return cast("Row", values)


class Reader:
    """Pages of the log for groups of shards that share a cursor."""

    def __init__(self, engine: Engine, *, page_size: int, connection: KeptConnection | None = None) -> None:
        self.engine = engine
        self.page_size = page_size
        self.postgres = engine.dialect.name == "postgresql"
        # PostgreSQL: one kept connection for this thread's reads, one for the background thread's cursor moves.
        self.connection = connection or KeptConnection(engine)
        self._background = KeptConnection(engine)
        self._queues: dict[tuple[Any, ...], deque[int]] = {}
        self._pending: _Pending | None = None
        self._read_ahead = self.postgres and _pipeline_supported()
        self._executor: ThreadPoolExecutor | None = None

    def reset(self) -> None:
        """Forget cached batch id lists (after the owned shards changed or a write failed)."""
        self._queues.clear()
        self.drop_read_ahead()

    def close(self) -> None:
        """Stop the background thread and give the connections back."""
        self.drop_read_ahead()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._background.close()
        self.connection.close()

    @staticmethod
    def _events(ids: list[int]) -> Callable[[Any], list[Row]]:
        """Work for a kept connection: the events with these ids (sorted), in id order, straight from psycopg."""

        def read(driver: Any) -> list[Row]:
            if not ids:
                return []
            query, params, ranged = _page_query(ids)
            with driver.cursor(binary=True) as cursor:
                cursor.execute(query, params)
                return _only(ids, cursor.fetchall(), ranged)

        return read

    def _send_read(self, ids: list[int]) -> None:
        """Send the read of the next page without waiting for it (psycopg pipeline mode).

        PostgreSQL runs it on its own core while this thread produces the current page; its rows are parsed on
        this thread when the page is taken. (A background reading thread competed with producing for the GIL.)
        Until then the read's implicit transaction is open (its Sync goes when the page is taken): a round drops
        a read still pending when it ends, so no transaction or lock outlives the round.
        """
        if not self._read_ahead:  # psycopg on a libpq older than 14: no pipeline mode, pages read when taken
            return

        def send(driver: Any) -> _Pending:
            query, params, ranged = _page_query(ids)
            pipeline = driver.pipeline()
            pipeline.__enter__()
            try:
                cursor = driver.cursor(binary=True)
                cursor.execute(query, params)
            except BaseException:
                pipeline.__exit__(*sys.exc_info())
                raise
            return _Pending(ids, driver, pipeline, cursor, ranged)

        self._pending = self.connection.run(send)

    def _receive(self, pending: _Pending) -> list[Row]:
        """The events of a page read sent before; read again if the connection was replaced meanwhile."""

        def receive(driver: Any) -> list[Row]:
            if driver is not pending.driver:
                return self._events(pending.ids)(driver)
            try:
                rows = pending.cursor.fetchall()
            except BaseException:
                pending.pipeline.__exit__(*sys.exc_info())
                raise
            pending.pipeline.__exit__(None, None, None)  # its Sync ends the statement's implicit transaction
            return _only(pending.ids, rows, pending.ranged)

        return self.connection.run(receive)

    def drop_read_ahead(self) -> None:
        """Forget the page read sent ahead, if any, and leave pipeline mode (its rows are discarded).

        A round ends with it: the read's implicit transaction must not stay open between rounds.
        """
        pending, self._pending = self._pending, None
        if pending is None or pending.driver.closed:
            return
        try:
            pending.pipeline.__exit__(None, None, None)
        except Exception:  # its failure does not matter: the connection is replaced
            self.connection.close(invalidate=True)

    def in_background(self, work: Callable[[Any], T]) -> Future[T]:
        """Run ``work(driver_connection)`` on the background thread's connection, after what was submitted before."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="infra-outbox-write")
        return self._executor.submit(self._background.run, work)

    def next_page(self, states: list[ShardState]) -> Page:
        """The next page of ``states`` (shards with the same snapshots); the cursors in ``states`` are not moved."""
        if self.postgres:
            return self._postgres_page(states)
        return self._sqlite_page(states)

    def _sqlite_page(self, states: list[ShardState]) -> Page:
        done = {s.shard: s.last_id for s in states}
        low = min(done.values())
        ids = ",".join(str(s) for s in sorted(done))
        query = text(f"{_SELECT} WHERE shard IN ({ids}) AND id > :low ORDER BY id LIMIT :n")
        with self.engine.connect() as conn:
            rows = conn.execute(query, {"low": low, "n": self.page_size}).all()
        events = [_row(r) for r in rows if int(r[0]) > done[int(r[1])]]
        last = int(rows[-1][0]) if rows else max(done.values())
        return Page(tuple(sorted(done)), events, None, None, max(last, low), complete=len(rows) < self.page_size)

    def _whole_batch(self, group: tuple[int, ...], snap: Snapshot | None) -> Page:
        """Start a batch in one statement: its snapshot, its first page of events, and (when bigger) its ids.

        Inside one statement the rows PostgreSQL lets us see are exactly those visible in the statement's own
        snapshot, which ``pg_current_snapshot()`` returns: so the snapshot and the batch agree. A batch larger
        than a page also returns its sorted id list; the rest of it is read page by page from that list.
        """
        conditions = [f"shard IN ({','.join(map(str, group))})"]
        if snap is not None:
            conditions.append(snap.sql_not_visible())
        where = " AND ".join(conditions)
        page = self.page_size
        columns = ", ".join(EVENT_COLUMNS)
        # One scan and one sort: the batch's sorted ids as an array, its first page fetched by them.
        query = (
            "WITH b AS MATERIALIZED (SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids "  # noqa: S608
            f"FROM {LOG_TABLE} WHERE {where}) "  # table names and literals only
            f"SELECT pg_current_snapshot()::text, cardinality(b.ids), "  # the id list of a big batch, on its first row:
            f"CASE WHEN cardinality(b.ids) > {page} AND e.id = b.ids[1] THEN b.ids END, e.* "
            f"FROM b LEFT JOIN LATERAL (SELECT {columns} FROM {LOG_TABLE} "
            f"WHERE id = ANY(b.ids[1:{page}]) ORDER BY id) AS e ON true"
        )
        rows = self.connection.run(_all_rows(query))
        batch_snap = Snapshot.parse(rows[0][0])
        events = [cast("Row", row[3:]) for row in rows if row[3] is not None]
        if rows[0][1] <= page:
            return Page(group, events, snap, batch_snap, 0, complete=True)
        # A big batch: this was its first page; keep the rest of its sorted ids and read them page by page.
        ids: list[int] = rows[0][2]
        queue = deque(ids[page:])
        self._queues = {(group, str(snap), str(batch_snap)): queue}
        self._send_read(list(itertools.islice(queue, page)))
        return Page(group, events, snap, batch_snap, ids[page - 1], complete=False)

    def _postgres_page(self, states: list[ShardState]) -> Page:
        first = states[0]
        snap, batch_snap = first.snap, first.batch_snap
        done = {s.shard: s.last_id for s in states}
        group = tuple(sorted(done))
        if batch_snap is None:  # a new batch: everything committed up to now
            self.drop_read_ahead()
            return self._whole_batch(group, snap)
        key = (group, str(snap), str(batch_snap))
        queue = self._queues.get(key)
        if queue is None:
            conditions = [f"shard IN ({','.join(map(str, group))})", batch_snap.sql_visible()]
            if snap is not None:
                conditions.append(snap.sql_not_visible())
            low = min(done.values())
            if low:
                conditions.append(f"id > {low}")
            where = " AND ".join(conditions)
            self.drop_read_ahead()
            ids = self.connection.run(_all_rows(f"SELECT id, shard FROM {LOG_TABLE} WHERE {where}"))  # noqa: S608
            queue = deque(sorted(i for i, s in ids if i > done[s]))
            self._queues = {key: queue}  # one group reads at a time: keep only this list
        take = [queue.popleft() for _ in range(min(self.page_size, len(queue)))]
        pending = self._pending
        if pending is not None and pending.ids == take:
            self._pending = None
            events = self._receive(pending)
        else:  # not read ahead (or read for another list): read it now
            self.drop_read_ahead()
            events = self.connection.run(self._events(take)) if take else []
        if queue:
            self._send_read(list(itertools.islice(queue, self.page_size)))
        complete = not queue
        if complete:
            self._queues.pop(key, None)
        last_id = 0 if complete else take[-1]
        return Page(group, events, snap, batch_snap, last_id, complete=complete)
