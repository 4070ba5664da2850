"""Errors of infra-readiness: a shallow tree under :class:`infra_models.errors.ReadinessError`."""

from __future__ import annotations

from infra_models.errors import ReadinessError

__all__ = ["CheckRegistryError", "ReadinessError", "ReadinessInputError"]


class ReadinessInputError(ReadinessError):
    """A path, option or level the user gave that cannot be checked (the CLI exits 2)."""

    default_code = "readiness.bad_input"


class CheckRegistryError(ReadinessError):
    """A check plugin that cannot be loaded: broken entry point, duplicate id, unknown or higher prerequisite."""

    default_code = "readiness.plugin"
