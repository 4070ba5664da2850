"""Errors of infra-gen: a shallow tree under :class:`infra_models.errors.GenError`."""

from __future__ import annotations

from infra_models.errors import GenError

__all__ = ["GenError"]
