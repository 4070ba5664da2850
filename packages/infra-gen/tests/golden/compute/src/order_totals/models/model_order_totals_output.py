"""OrderTotalsOutput: what the transform returns."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderTotalsOutput"]


class OrderTotalsOutput(BaseModel):
    """What the transform returns: equal inputs give equal outputs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[str] = Field(
        description="The values trimmed, case-folded (unless case-sensitive), de-duplicated and sorted.",
    )
    count: int = Field(ge=0, description="Number of values in `items`.")
    digest: str = Field(description="SHA-256 of the normalised values: equal inputs give equal digests.")
