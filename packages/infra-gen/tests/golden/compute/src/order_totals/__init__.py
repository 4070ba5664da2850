"""OrderTotalsCompute: Normalises order line labels"""

from __future__ import annotations

from order_totals.__about__ import __version__
from order_totals.contract import load_node_contract
from order_totals.models import (
    OrderTotalsConfig,
    OrderTotalsInput,
    OrderTotalsOutput,
)
from order_totals.node import OrderTotalsCompute

__all__ = [
    "OrderTotalsCompute",
    "OrderTotalsConfig",
    "OrderTotalsInput",
    "OrderTotalsOutput",
    "__version__",
    "load_node_contract",
]
