"""OrderSagaOutput: how the saga ended."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OrderSagaOutput"]


class OrderSagaOutput(BaseModel):
    """How the saga ended: which steps ran, which were undone, and why it failed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(description="Id of the request.")
    status: str = Field(description="`completed`, `compensated` or `compensation_failed`.")
    completed_steps: list[str] = Field(default_factory=list, description="Steps that finished, in order.")
    compensated_steps: list[str] = Field(
        default_factory=list,
        description="Steps undone after a failure, in undo order.",
    )
    failed_step: str | None = Field(default=None, description="The step that failed, if any.")
    error: str | None = Field(default=None, description="Why it failed, if it did.")
