"""Models of the node, one per file."""

from __future__ import annotations

from account_balance.models.model_account_balance_config import (
    AccountBalanceConfig,
)
from account_balance.models.model_account_balance_input import (
    AccountBalanceInput,
)
from account_balance.models.model_account_balance_output import (
    AccountBalanceOutput,
)

__all__ = [
    "AccountBalanceConfig",
    "AccountBalanceInput",
    "AccountBalanceOutput",
]
