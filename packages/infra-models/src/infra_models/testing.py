"""Pytest helpers shared by the test suites of every infra package: the real-service settings and fixtures.

The services come from the repository's launcher, which prints their settings as environment variables::

    python tools/services.py up
    eval "$(python tools/services.py env)"

A test that needs a service asks for its fixture; a package re-exports the fixtures it uses in its conftest::

    from infra_models.testing import postgres_url  # noqa: F401

When a setting is missing the test is skipped on a developer's machine, and fails in CI (the ``CI`` environment
variable set to anything but ``""``, ``"0"`` or ``"false"``): a service missing there is a broken build, never a
silent skip.

This module imports pytest; nothing else in ``infra_models`` imports it.
"""

from __future__ import annotations

import os

import pytest

__all__ = [
    "in_ci",
    "kafka_bootstrap",
    "postgres_url",
    "redis_url",
    "service_setting",
    "vault_addr",
    "vault_token",
]

_LAUNCHER_HINT = 'run `python tools/services.py up` and `eval "$(python tools/services.py env)"`'


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to something other than ``""``, ``"0"`` or ``"false"``."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false"}


def service_setting(var: str) -> str:
    """The value of the environment variable ``var``, set by the test-services launcher.

    When it is missing or empty: ``pytest.fail`` in CI, ``pytest.skip`` elsewhere.
    """
    value = os.environ.get(var, "").strip()
    if value:
        return value
    message = f"{var} is not set: this test needs a real service; {_LAUNCHER_HINT}"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so a missing service fails the test)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """SQLAlchemy URL of the test PostgreSQL (``postgresql+psycopg://infra@127.0.0.1:PORT/infra``)."""
    return service_setting("INFRA_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of the single-node test Kafka broker (PLAINTEXT)."""
    return service_setting("INFRA_TEST_KAFKA_BOOTSTRAP")


@pytest.fixture(scope="session")
def vault_addr() -> str:
    """Address of the OpenBao dev server (``http://127.0.0.1:PORT``), with KV v2 mounted at ``secret/``."""
    return service_setting("INFRA_TEST_VAULT_ADDR")


@pytest.fixture(scope="session")
def vault_token() -> str:
    """Root token of the OpenBao dev server."""
    return service_setting("INFRA_TEST_VAULT_TOKEN")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the test Redis (``redis://127.0.0.1:PORT/0``)."""
    return service_setting("INFRA_TEST_REDIS_URL")
