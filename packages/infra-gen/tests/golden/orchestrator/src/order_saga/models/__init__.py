"""Models of the node, one per file."""

from __future__ import annotations

from order_saga.models.model_order_saga_config import (
    OrderSagaConfig,
)
from order_saga.models.model_order_saga_input import (
    OrderSagaInput,
)
from order_saga.models.model_order_saga_output import (
    OrderSagaOutput,
)

__all__ = [
    "OrderSagaConfig",
    "OrderSagaInput",
    "OrderSagaOutput",
]
