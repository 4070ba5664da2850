"""VaultAdapterEffect: HashiCorp Vault secret management"""

from __future__ import annotations

from vault_adapter.__about__ import __version__
from vault_adapter.contract import load_node_contract
from vault_adapter.models import (
    VaultAdapterConfig,
    VaultAdapterInput,
    VaultAdapterOutput,
)
from vault_adapter.node import VaultAdapterEffect

__all__ = [
    "VaultAdapterEffect",
    "VaultAdapterConfig",
    "VaultAdapterInput",
    "VaultAdapterOutput",
    "__version__",
    "load_node_contract",
]
