"""AccountBalanceOutput: the state the events fold into."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccountBalanceOutput"]


class AccountBalanceOutput(BaseModel):
    """The folded state: totals per key and the ids already applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    totals: dict[str, int] = Field(default_factory=dict, description="Running total per key.")
    applied: int = Field(default=0, ge=0, description="Number of distinct events folded in.")
    seen_event_ids: list[str] = Field(default_factory=list, description="Ids already applied, kept for idempotency.")
