"""AccountBalanceInput: one event the reducer folds in."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccountBalanceInput"]


class AccountBalanceInput(BaseModel):
    """One event: applied once per ``event_id``, however often it is delivered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, description="Unique id of the event: an event seen twice is applied once.")
    key: str = Field(min_length=1, description="What the event counts towards.")
    amount: int = Field(description="How much it adds (negative to subtract).")
