"""Models of the node, one per file."""

from __future__ import annotations

from order_totals.models.model_order_totals_config import (
    OrderTotalsConfig,
)
from order_totals.models.model_order_totals_input import (
    OrderTotalsInput,
)
from order_totals.models.model_order_totals_output import (
    OrderTotalsOutput,
)

__all__ = [
    "OrderTotalsConfig",
    "OrderTotalsInput",
    "OrderTotalsOutput",
]
