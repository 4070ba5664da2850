"""The error root of every infra package and the per-package bases under it.

Every expected failure raised by an infra package is an :class:`InfraError`: a stable machine-readable
``code``, a human message that names what is wrong and how to fix it, and JSON-ready ``details``. Causes are
chained with ``raise ... from exc``.

Example:
    >>> try:
    ...     raise ContractError("field `kind` must be one of EFFECT, COMPUTE", code="contract.invalid")
    ... except InfraError as exc:
    ...     exc.code
    'contract.invalid'
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ContractError",
    "GenError",
    "InfraError",
    "ModelsError",
    "OutboxError",
    "ReadinessError",
    "SecurityError",
]


class InfraError(Exception):
    """Root of all infra errors: a stable ``code``, a message, ``details`` and a chained cause."""

    default_code: ClassVar[str] = "infra.error"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready view: code, message, details and the cause's text when there is one."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.__cause__ is not None:
            data["cause"] = f"{type(self.__cause__).__name__}: {self.__cause__}"
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ModelsError(InfraError):
    """Base of errors raised by infra-models itself."""

    default_code = "models.error"


class ContractError(ModelsError):
    """A node contract (``contract.yaml``) that cannot be read or does not validate."""

    default_code = "contract.invalid"


class GenError(InfraError):
    """Base of infra-gen errors."""

    default_code = "gen.error"


class SecurityError(InfraError):
    """Base of infra-security errors."""

    default_code = "security.error"


class OutboxError(InfraError):
    """Base of infra-outbox errors."""

    default_code = "outbox.error"


class ReadinessError(InfraError):
    """Base of infra-readiness errors."""

    default_code = "readiness.error"
