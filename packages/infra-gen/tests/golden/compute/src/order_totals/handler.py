"""The pure transform of OrderTotalsCompute: no I/O, no clock, no randomness. Edit this."""

from __future__ import annotations

import hashlib
import json

from order_totals.models import (
    OrderTotalsConfig,
    OrderTotalsInput,
    OrderTotalsOutput,
)

__all__ = ["transform"]


def transform(data: OrderTotalsInput, config: OrderTotalsConfig) -> OrderTotalsOutput:
    """Normalise the values: trim, fold case (unless case-sensitive), drop empties and duplicates, sort."""
    values = (item.strip() for item in data.items)
    normalised = sorted({value if config.case_sensitive else value.casefold() for value in values if value})
    digest = hashlib.sha256(json.dumps(normalised, ensure_ascii=False).encode("utf-8")).hexdigest()
    return OrderTotalsOutput(items=normalised, count=len(normalised), digest=digest)
