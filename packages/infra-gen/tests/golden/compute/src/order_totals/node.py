"""OrderTotalsCompute: the COMPUTE node, a validated wrapper around the pure transform."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from order_totals.handler import transform
from order_totals.models import (
    OrderTotalsConfig,
    OrderTotalsInput,
    OrderTotalsOutput,
)

__all__ = ["OrderTotalsCompute"]

_log = logging.getLogger(__name__)


class OrderTotalsCompute:
    """Validates input, runs the transform, returns the output; holds no state between calls.

    Example:
        >>> OrderTotalsCompute().run({"items": [" b", "A", "a"]}).items
        ['a', 'b']
    """

    def __init__(self, config: OrderTotalsConfig | None = None) -> None:
        self.config = config or OrderTotalsConfig()

    def run(self, data: OrderTotalsInput | Mapping[str, Any]) -> OrderTotalsOutput:
        """Transform ``data`` (a model or a mapping validated into one)."""
        model = data if isinstance(data, OrderTotalsInput) else OrderTotalsInput.model_validate(data)
        output = transform(model, self.config)
        _log.debug("transformed %d item(s) into %d", len(model.items), len(output.items))
        return output
