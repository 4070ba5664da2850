"""Models of the node, one per file."""

from __future__ import annotations

from vault_adapter.models.model_vault_adapter_config import (
    VaultAdapterConfig,
)
from vault_adapter.models.model_vault_adapter_input import (
    VaultAdapterInput,
)
from vault_adapter.models.model_vault_adapter_output import (
    VaultAdapterOutput,
)

__all__ = [
    "VaultAdapterConfig",
    "VaultAdapterInput",
    "VaultAdapterOutput",
]
