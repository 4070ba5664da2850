"""VaultAdapterOutput: what HashiCorp Vault answered."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["VaultAdapterOutput"]


class VaultAdapterOutput(BaseModel):
    """What HashiCorp Vault answered, and how many calls it took."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resource: str = Field(description="The resource the call was about.")
    status: str = Field(description="`ok`, or the status the external system answered.")
    data: dict[str, str] = Field(default_factory=dict, description="Data the external system returned.")
    attempts: int = Field(ge=1, description="Calls made, retries included.")
