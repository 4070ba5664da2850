"""Errors of infra-security: a shallow tree under :class:`infra_models.errors.SecurityError`."""

from __future__ import annotations

from infra_models.errors import SecurityError

__all__ = ["SecurityError"]
