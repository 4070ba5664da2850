"""The real-service fixtures of infra_models.testing, for the smoke tests of tools/services.py."""

from infra_models.testing import kafka_bootstrap, postgres_url, redis_url, vault_addr, vault_token  # noqa: F401
