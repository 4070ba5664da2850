"""Errors of infra-readiness: a shallow tree under :class:`infra_models.errors.ReadinessError`."""

from __future__ import annotations

from infra_models.errors import ReadinessError

__all__ = ["ReadinessError"]
