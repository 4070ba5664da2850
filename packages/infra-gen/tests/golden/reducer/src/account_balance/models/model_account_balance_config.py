"""AccountBalanceConfig: settings of the reducer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccountBalanceConfig"]


class AccountBalanceConfig(BaseModel):
    """Settings of the reducer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    snapshot_version: int = Field(default=1, ge=1, description="Version written into and required from snapshots.")
