"""OrderTotalsInput: what the transform reads."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderTotalsInput"]


class OrderTotalsInput(BaseModel):
    """What the transform reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[str] = Field(description="Values to normalise.")
