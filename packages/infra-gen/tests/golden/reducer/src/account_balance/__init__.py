"""AccountBalanceReducer: Folds ledger events into balances"""

from __future__ import annotations

from account_balance.__about__ import __version__
from account_balance.contract import load_node_contract
from account_balance.models import (
    AccountBalanceConfig,
    AccountBalanceInput,
    AccountBalanceOutput,
)
from account_balance.node import AccountBalanceReducer

__all__ = [
    "AccountBalanceReducer",
    "AccountBalanceConfig",
    "AccountBalanceInput",
    "AccountBalanceOutput",
    "__version__",
    "load_node_contract",
]
