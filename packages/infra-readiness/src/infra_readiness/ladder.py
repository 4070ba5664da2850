"""The level ladder: a node reaches the highest level whose gating checks all pass, and no further.

A level's gating checks are those that gate it with severity MEDIUM or above; each must be PASS, WAIVED or
SKIP (not applicable). FAIL and ERROR block. Checks of severity LOW or INFO only recommend: they never lower
the level. Levels are climbed in order, so a failure at STAGING caps the node at DEVELOPMENT even when every
PRODUCTION check passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra_models.readiness import CheckResult, CheckStatus, ReadinessLevel
from infra_readiness.plugin import ADVISORY_SEVERITIES

__all__ = ["BLOCKING", "Rating", "rate"]

#: Statuses that keep a level out of reach.
BLOCKING = frozenset({CheckStatus.FAIL, CheckStatus.ERROR})
_LADDER = (ReadinessLevel.DEVELOPMENT, ReadinessLevel.STAGING, ReadinessLevel.PRODUCTION)


@dataclass(frozen=True)
class Rating:
    """The level reached, the next level (``None`` at the top) and the check ids that block it."""

    level: ReadinessLevel
    next_level: ReadinessLevel | None
    blockers: tuple[str, ...]


def gating(result: CheckResult) -> bool:
    """True when the result can hold a node back (severity MEDIUM or above)."""
    return result.severity not in ADVISORY_SEVERITIES


def rate(results: Sequence[CheckResult], *, not_yet: frozenset[str] = frozenset()) -> Rating:
    """Climb the ladder over ``results``; stop at the first level with a blocking gating result.

    ``not_yet`` names checks scheduled for later (``effective_from``): they do not gate yet.
    """
    level = ReadinessLevel.NOT_READY
    for step in _LADDER:
        blockers = tuple(
            r.check_id
            for r in results
            if r.gates == step and gating(r) and r.status in BLOCKING and r.check_id not in not_yet
        )
        if blockers:
            return Rating(level, step, blockers)
        level = step
    return Rating(level, None, ())
