"""The plugin interface: a check is a function of a node plus its metadata, declared with :func:`check`.

Example:
    >>> from infra_models import CheckCategory, ReadinessLevel
    >>> @check(id="ACME-001", title="Has a LICENSE", category=CheckCategory.DOCUMENTATION,
    ...        gates=ReadinessLevel.STAGING, remediation="Add a LICENSE file.")
    ... def has_license(node):
    ...     return Outcome.passed("found") if node.exists("LICENSE") else Outcome.failed("no LICENSE file")
    >>> has_license.id, has_license.gates
    ('ACME-001', <ReadinessLevel.STAGING: 'STAGING'>)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from infra_models.enums import Severity
from infra_models.node import NodeKind
from infra_models.readiness import CheckCategory, CheckStatus, Finding, ReadinessLevel

if TYPE_CHECKING:
    from infra_readiness.context import NodeContext

__all__ = ["ADVISORY_SEVERITIES", "Check", "CheckFunction", "Outcome", "check"]

_ID = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]{3}$")

#: Checks of these severities only recommend: their failures never lower the level.
ADVISORY_SEVERITIES = frozenset({Severity.INFO, Severity.LOW})


@dataclass(frozen=True)
class Outcome:
    """What a check function returns: PASS, FAIL, SKIP or ERROR, a message and the findings."""

    status: CheckStatus
    message: str = ""
    findings: tuple[Finding, ...] = ()

    @classmethod
    def passed(cls, message: str = "") -> Outcome:
        """The node meets the check."""
        return cls(CheckStatus.PASS, message)

    @classmethod
    def failed(cls, message: str, findings: Iterable[Finding] = ()) -> Outcome:
        """The node does not meet the check; ``findings`` say where."""
        return cls(CheckStatus.FAIL, message, tuple(findings))

    @classmethod
    def skipped(cls, message: str) -> Outcome:
        """The check does not apply to this node (or was not asked for); a SKIP earns nothing."""
        return cls(CheckStatus.SKIP, message)

    @classmethod
    def errored(cls, message: str, findings: Iterable[Finding] = ()) -> Outcome:
        """The check could not decide; an ERROR never counts as a pass."""
        return cls(CheckStatus.ERROR, message, tuple(findings))


CheckFunction = Callable[["NodeContext"], Outcome]


@dataclass(frozen=True)
class Check:
    """One readiness check: its metadata and the function that runs it."""

    id: str
    title: str
    category: CheckCategory
    gates: ReadinessLevel
    function: CheckFunction = field(repr=False, compare=False)
    severity: Severity = Severity.MEDIUM
    kinds: tuple[NodeKind, ...] = ()
    requires: tuple[str, ...] = ()
    remediation: str = ""
    url: str = ""
    description: str = ""
    source: str = "infra-readiness"
    effective_from: date | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"check id {self.id!r} must look like `SEC-001` (capitals, a dash, three digits)")
        if self.gates is ReadinessLevel.NOT_READY:
            raise ValueError(f"check {self.id} cannot gate NOT_READY: gate DEVELOPMENT, STAGING or PRODUCTION")

    @property
    def advisory(self) -> bool:
        """True when the check only recommends (severity LOW or INFO)."""
        return self.severity in ADVISORY_SEVERITIES

    def enforced(self, today: date) -> bool:
        """False before ``effective_from``: a new check is shown (and recommended) but does not gate yet."""
        return self.effective_from is None or today >= self.effective_from

    def applies_to(self, kind: NodeKind | None) -> bool:
        """True when the check applies to a node of ``kind`` (``None`` for a package without a contract)."""
        return not self.kinds or kind in self.kinds

    def __call__(self, node: NodeContext) -> Outcome:
        return self.function(node)


def check(
    *,
    id: str,
    title: str,
    category: CheckCategory,
    gates: ReadinessLevel,
    remediation: str,
    severity: Severity = Severity.MEDIUM,
    kinds: Iterable[NodeKind] = (),
    requires: Iterable[str] = (),
    url: str = "",
    effective_from: date | None = None,
) -> Callable[[CheckFunction], Check]:
    """Turn a function of a :class:`~infra_readiness.context.NodeContext` into a :class:`Check`.

    The function's docstring becomes the check's description (shown by ``infra-readiness explain``).
    With ``effective_from``, a new check is announced before it bites: until that date its failures are
    recommendations (the result says from when it gates), so adding it does not break anyone's CI that day.
    """

    def wrap(function: CheckFunction) -> Check:
        module = getattr(function, "__module__", "") or ""
        return Check(
            id=id,
            title=title,
            category=CheckCategory(category),
            gates=ReadinessLevel(gates),
            function=function,
            severity=Severity(severity),
            kinds=tuple(NodeKind(k) for k in kinds),
            requires=tuple(requires),
            remediation=remediation,
            url=url or f"docs/infra-readiness.md#{id.lower()}",
            description=" ".join((function.__doc__ or "").split()),
            source=module.split(".")[0] or "infra-readiness",
            effective_from=effective_from,
        )

    return wrap
