"""Credentials from the environment, files and Vault/OpenBao, with a lease-aware cache."""

from __future__ import annotations

from infra_security.credentials._cache import CredentialCache
from infra_security.credentials._leases import LeaseKeeper
from infra_security.credentials._manager import CredentialManager
from infra_security.credentials._providers import CredentialProvider, EnvProvider, FileProvider, Secret
from infra_security.credentials._settings import kafka_sasl_config, sqlalchemy_url
from infra_security.credentials._vault_auth import AppRoleAuth, KubernetesAuth, TokenAuth
from infra_security.credentials._vault_provider import VaultProvider

__all__ = [
    "AppRoleAuth",
    "CredentialCache",
    "CredentialManager",
    "CredentialProvider",
    "EnvProvider",
    "FileProvider",
    "KubernetesAuth",
    "LeaseKeeper",
    "Secret",
    "TokenAuth",
    "VaultProvider",
    "kafka_sasl_config",
    "sqlalchemy_url",
]
