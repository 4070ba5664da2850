"""Fixtures shared by the infra-security tests: the real-service settings from infra_models.testing."""

from __future__ import annotations

from infra_models.testing import (  # noqa: F401
    kafka_bootstrap,
    postgres_url,
    redis_url,
    vault_addr,
    vault_token,
)
