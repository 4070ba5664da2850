"""Integration fixtures: the launcher's PostgreSQL and Kafka, a fresh database and topic per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra_models.testing import kafka_bootstrap, postgres_url  # noqa: F401

from .ledger import delete_made_topics, fresh_database, new_topic


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[str]:  # noqa: F811
    """URL of an empty database with the outbox tables, on the shared PostgreSQL."""
    with fresh_database(postgres_url) as url:
        yield url


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:  # noqa: F811
    """A new 3-partition topic on the shared broker."""
    return new_topic(kafka_bootstrap)


@pytest.fixture(scope="session", autouse=True)
def _delete_topics_afterwards() -> Iterator[None]:
    """The topics made by the tests are deleted once they are all done."""
    yield
    delete_made_topics()
