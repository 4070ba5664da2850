"""Base classes: every infra model refuses unknown fields; value models are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["StrictModel", "ValueModel"]


class StrictModel(BaseModel):
    """A model that refuses unknown fields and validates assignments."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, use_enum_values=False)


class ValueModel(BaseModel):
    """An immutable, hashable value that refuses unknown fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
