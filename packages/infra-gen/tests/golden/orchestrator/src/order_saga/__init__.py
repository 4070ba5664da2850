"""OrderSagaOrchestrator: Places an order across services"""

from __future__ import annotations

from order_saga.__about__ import __version__
from order_saga.contract import load_node_contract
from order_saga.models import (
    OrderSagaConfig,
    OrderSagaInput,
    OrderSagaOutput,
)
from order_saga.node import OrderSagaOrchestrator

__all__ = [
    "OrderSagaOrchestrator",
    "OrderSagaConfig",
    "OrderSagaInput",
    "OrderSagaOutput",
    "__version__",
    "load_node_contract",
]
