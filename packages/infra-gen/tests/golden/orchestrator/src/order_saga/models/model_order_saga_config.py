"""OrderSagaConfig: settings of the saga."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderSagaConfig"]


class OrderSagaConfig(BaseModel):
    """Settings of the saga; each step's own timeout comes from the contract."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_step_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Timeout of a step the contract gives none.",
    )
