"""Readiness models: levels, check results, findings and the report of one node or package."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from infra_models._base import ValueModel
from infra_models._ordered import OrderedStrEnum
from infra_models.clock import utc_now
from infra_models.enums import Severity
from infra_models.node import NodeKind

__all__ = [
    "CheckCategory",
    "CheckResult",
    "CheckStatus",
    "Finding",
    "ReadinessLevel",
    "ReadinessReport",
    "ReadinessSummary",
    "Waiver",
]


class ReadinessLevel(OrderedStrEnum):
    """Ordered levels: NOT_READY < DEVELOPMENT < STAGING < PRODUCTION."""

    NOT_READY = "NOT_READY"
    DEVELOPMENT = "DEVELOPMENT"
    STAGING = "STAGING"
    PRODUCTION = "PRODUCTION"


class CheckStatus(StrEnum):
    """Outcome of one check. Only PASS and WAIVED let a level through; ERROR never counts as a pass."""

    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    WAIVED = "WAIVED"
    ERROR = "ERROR"


class CheckCategory(StrEnum):
    """What a check looks at."""

    CONTRACT = "contract"
    SECURITY = "security"
    PERFORMANCE = "performance"
    DOCUMENTATION = "documentation"
    TESTING = "testing"
    OBSERVABILITY = "observability"


class Finding(ValueModel):
    """One thing a check found, with the file and line where it has one."""

    message: str = Field(min_length=1)
    severity: Severity = Severity.MEDIUM
    file: str | None = None
    line: int | None = Field(default=None, ge=1)
    remediation: str | None = None


class CheckResult(ValueModel):
    """The result of one check on one node."""

    check_id: str = Field(pattern=r"^[A-Z][A-Z0-9]*-[0-9]{3}$", description="Such as `SEC-001`.")
    title: str
    category: CheckCategory
    status: CheckStatus
    severity: Severity = Severity.MEDIUM
    gates: ReadinessLevel = Field(description="The level this check must pass for.")
    message: str = ""
    findings: tuple[Finding, ...] = ()
    waiver_reason: str | None = None
    duration_ms: float = Field(default=0.0, ge=0)

    @property
    def passed(self) -> bool:
        """True for PASS and WAIVED: the results that let a level through. SKIP does not gate."""
        return self.status in (CheckStatus.PASS, CheckStatus.WAIVED)


class Waiver(ValueModel):
    """An accepted failure of one check, kept in the repository: why, who owns it, and until when."""

    check_id: str = Field(pattern=r"^[A-Z][A-Z0-9]*-[0-9]{3}$", description="Such as `PERF-001`.")
    reason: str = Field(min_length=1, max_length=1000)
    owner: str = Field(min_length=1, max_length=200)
    expires: date = Field(description="Last day the waiver applies; from the next day the check fails again.")

    def expired(self, today: date) -> bool:
        """True once ``today`` is after the expiry date."""
        return today > self.expires


class ReadinessReport(ValueModel):
    """The readiness of one node or package: the level reached, the checks, what blocks the next level."""

    path: str
    name: str
    kind: NodeKind | None = None
    level: ReadinessLevel
    target_level: ReadinessLevel | None = None
    checks: tuple[CheckResult, ...] = ()
    blockers: tuple[str, ...] = Field(default=(), description="Check ids that keep the next level out of reach.")
    issues: tuple[str, ...] = ()
    recommendations: tuple[str, ...] = ()
    waivers: tuple[Waiver, ...] = Field(default=(), description="Every waiver configured for the node, used or not.")
    generated_at: AwareDatetime = Field(default_factory=utc_now)
    tool_version: str = ""

    @model_validator(mode="after")
    def _blockers_are_checks(self) -> ReadinessReport:
        known = {c.check_id for c in self.checks}
        unknown = [b for b in self.blockers if b not in known]
        if unknown:
            raise ValueError(f"blockers name checks that are not in the report: {', '.join(unknown)}")
        return self

    @property
    def meets_target(self) -> bool:
        """True when no target is set or the achieved level reaches it."""
        return self.target_level is None or self.level >= self.target_level


class ReadinessSummary(ValueModel):
    """The readiness of several nodes checked in one run: each report and the lowest level among them."""

    path: str
    level: ReadinessLevel = Field(description="The lowest level reached by any report.")
    reports: tuple[ReadinessReport, ...] = Field(min_length=1)
    generated_at: AwareDatetime = Field(default_factory=utc_now)
    tool_version: str = ""

    @model_validator(mode="after")
    def _level_is_lowest(self) -> ReadinessSummary:
        lowest = min(report.level for report in self.reports)
        if self.level != lowest:
            raise ValueError(f"level {self.level} is not the lowest level of the reports ({lowest})")
        return self
