"""VaultAdapterInput: a request to HashiCorp Vault."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["VaultAdapterInput"]


class VaultAdapterInput(BaseModel):
    """A request to HashiCorp Vault."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    operation: str = Field(min_length=1, description="What to ask the external system, such as `read` or `write`.")
    resource: str = Field(min_length=1, description="What the operation is about, such as a secret path or a key.")
    payload: dict[str, str] = Field(default_factory=dict, description="Data sent with the request.")
