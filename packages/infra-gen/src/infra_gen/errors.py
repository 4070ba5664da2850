"""Errors of infra-gen: a shallow tree under :class:`infra_models.errors.GenError`."""

from __future__ import annotations

from infra_models.errors import GenError

__all__ = [
    "ConflictError",
    "GenError",
    "InvalidAnswerError",
    "InvalidNameError",
    "NotGeneratedError",
    "StalePlanError",
    "TemplateError",
    "UnsafePathError",
    "WriteError",
]


class InvalidNameError(GenError):
    """A node name that cannot be a package or class name; the message proposes a valid one."""

    default_code = "gen.name.invalid"


class InvalidAnswerError(GenError):
    """An answer (kind, domain, description, contract field) the templates cannot use."""

    default_code = "gen.answer.invalid"


class TemplateError(GenError):
    """A template that cannot be loaded or rendered (including one that ships hooks)."""

    default_code = "gen.template"


class UnsafePathError(GenError):
    """A rendered path that would land outside the output directory."""

    default_code = "gen.path.unsafe"


class ConflictError(GenError):
    """Applying a plan would overwrite files that differ; nothing was written."""

    default_code = "gen.conflict"


class StalePlanError(GenError):
    """A file changed between planning and applying; nothing was written."""

    default_code = "gen.plan.stale"


class NotGeneratedError(GenError):
    """A folder without a readable ``.infra-gen.json``, so it cannot be checked or updated."""

    default_code = "gen.not_generated"


class WriteError(GenError):
    """The file system refused a write (permissions, a file where a folder should be, disk full); rolled back."""

    default_code = "gen.write"
