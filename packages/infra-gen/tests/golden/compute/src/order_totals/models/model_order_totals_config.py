"""OrderTotalsConfig: how the transform normalises."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderTotalsConfig"]


class OrderTotalsConfig(BaseModel):
    """How the transform normalises."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_sensitive: bool = Field(default=False, description="Keep the case of values instead of folding it.")
