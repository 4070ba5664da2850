"""TransactionalOutbox: the original async usage on AsyncConnection and AsyncSession (aiosqlite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select

pytest.importorskip("aiosqlite", reason="the async tests run on aiosqlite (a dev dependency)")
pytest.importorskip("greenlet", reason="SQLAlchemy's asyncio support needs greenlet")

from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from infra_outbox import NoTransactionError, TransactionalOutbox
from infra_outbox.db import make_engine
from infra_outbox.tables import create_all, log


def count(path: Path) -> int:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(log)).scalar_one()
    engine.dispose()
    return int(n)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "async.db"
    engine = make_engine(f"sqlite:///{path}")
    create_all(engine)
    engine.dispose()
    return path


class TestTransactionalOutbox:
    def test_documented_usage_on_async_connection(self, db_path: Path) -> None:
        async def main() -> None:
            engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}")
            async with engine.begin() as conn:
                outbox = TransactionalOutbox(db_connection=conn)
                await outbox.publish_event(event_type="user_created", payload={"id": 1}, topic="users")
                await outbox.publish_event(event_type="user_created", payload={"id": 2}, topic="users", key="2")
            await engine.dispose()

        asyncio.run(main())
        assert count(db_path) == 2

    def test_async_session_and_rollback(self, db_path: Path) -> None:
        async def main() -> None:
            engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}")
            async with AsyncSession(engine) as session, session.begin():
                await TransactionalOutbox(db_connection=session).publish_event(event_type="kept", payload={}, topic="t")
            async with AsyncSession(engine) as session:
                await session.begin()
                await TransactionalOutbox(db_connection=session).publish_event(
                    event_type="dropped", payload={}, topic="t"
                )
                await session.rollback()
            await engine.dispose()

        asyncio.run(main())
        assert count(db_path) == 1

    def test_refuses_without_transaction(self, db_path: Path) -> None:
        async def main() -> None:
            engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}")
            try:
                async with engine.connect() as conn:
                    with pytest.raises(NoTransactionError, match="no open transaction"):
                        await TransactionalOutbox(db_connection=conn).publish_event(
                            event_type="e", payload={}, topic="t"
                        )
            finally:
                await engine.dispose()

        asyncio.run(main())

    def test_refuses_a_sync_connection(self) -> None:
        with pytest.raises(NoTransactionError, match="AsyncConnection or AsyncSession"):
            TransactionalOutbox(db_connection=object())  # type: ignore[arg-type]
