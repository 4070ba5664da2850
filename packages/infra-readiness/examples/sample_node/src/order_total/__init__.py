"""order_total: a pure COMPUTE node."""

from __future__ import annotations

__all__ = ["total"]


def total(lines: list[int]) -> int:
    """The sum of the order's lines."""
    return sum(lines)
