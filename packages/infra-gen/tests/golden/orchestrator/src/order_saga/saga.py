"""A small saga runner: steps in order, each within its timeout; on failure, undo the finished ones in reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["SagaResult", "Step", "run_saga"]

Action = Callable[[], Awaitable[None]]
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One step: its action, its compensation (if it has one) and its timeout."""

    name: str
    action: Action
    compensation: Action | None
    timeout_seconds: float


@dataclass
class SagaResult:
    """What happened: ``completed``, ``compensated`` or ``compensation_failed``."""

    status: str = "completed"
    completed: list[str] = field(default_factory=list)
    compensated: list[str] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    compensation_errors: dict[str, str] = field(default_factory=dict)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def run_saga(steps: Sequence[Step]) -> SagaResult:
    """Run ``steps`` in order; when one fails or times out, compensate the finished steps, newest first."""
    result = SagaResult()
    done: list[Step] = []
    for step in steps:
        try:
            await asyncio.wait_for(step.action(), timeout=step.timeout_seconds)
        except Exception as exc:  # a failed step of any kind triggers compensation
            result.failed_step = step.name
            result.error = _describe(exc)
            _log.warning("step %s failed (%s): compensating %d finished step(s)", step.name, result.error, len(done))
            break
        done.append(step)
        result.completed.append(step.name)
    else:
        return result
    result.status = "compensated"
    for step in reversed(done):
        if step.compensation is None:
            continue
        try:
            await asyncio.wait_for(step.compensation(), timeout=step.timeout_seconds)
        except Exception as exc:  # keep undoing the others; report what could not be undone
            result.compensation_errors[step.name] = _describe(exc)
            result.status = "compensation_failed"
            _log.error("compensation of step %s failed (%s): undo it by hand", step.name, _describe(exc))
        else:
            result.compensated.append(step.name)
            _log.info("step %s compensated", step.name)
    return result
