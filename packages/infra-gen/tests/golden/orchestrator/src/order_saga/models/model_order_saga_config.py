"""OrderSagaConfig: settings of the saga."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderSagaConfig"]


class OrderSagaConfig(BaseModel):
    """Settings of the saga; each step's own timeout comes from the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_step_timeout_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="Cap on every step's timeout (each step's own is in the contract).",
    )
