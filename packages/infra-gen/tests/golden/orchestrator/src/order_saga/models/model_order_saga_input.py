"""OrderSagaInput: the request the saga runs for."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderSagaInput"]


class OrderSagaInput(BaseModel):
    """The request the saga runs for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(min_length=1, description="Id of the request the saga runs for.")
    payload: dict[str, str] = Field(default_factory=dict, description="Data handed to every step.")
