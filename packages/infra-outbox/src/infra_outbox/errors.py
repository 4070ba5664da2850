"""Errors of infra-outbox: a shallow tree under :class:`infra_models.errors.OutboxError`."""

from __future__ import annotations

from infra_models.errors import OutboxError

__all__ = ["OutboxError"]
