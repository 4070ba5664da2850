"""Turn a batch's delivery reports into what to record: published, retry later, dead, or released."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from infra_outbox.backoff import Backoff
from infra_outbox.lease import ClaimedEvent, Settlement
from infra_outbox.send import Delivery

__all__ = ["decide"]


def decide(
    batch: Sequence[ClaimedEvent],
    results: Sequence[Delivery],
    *,
    backoff: Backoff,
    now: float,
    rand: Callable[[], float],
) -> tuple[Settlement, list[tuple[ClaimedEvent, str]], list[float]]:
    """Return the settlement, the events that went dead (with why), and the commit-to-ack latencies.

    Per key, only the prefix before the first failure is published; the failed event is retried after its
    backoff (or goes dead), and the events after it are released unmarked so they cannot overtake it.
    """
    settlement = Settlement()
    failed_keys: set[tuple[str, str]] = set()
    dead: list[tuple[ClaimedEvent, str]] = []
    latencies: list[float] = []
    for event, result in zip(batch, results, strict=True):
        scope = (event.topic, event.key) if event.key is not None else None
        if scope is not None and scope in failed_keys:
            settlement.released.append(event.id)  # later events of a failed key wait for it
        elif not result.done:
            settlement.released.append(event.id)  # not sent (its key stopped earlier in the batch)
            if scope is not None:
                failed_keys.add(scope)
        elif result.error is None:
            settlement.published.append(event.id)
            latencies.append(result.acked_at - event.created_at)
        else:
            if scope is not None:
                failed_keys.add(scope)
            if result.permanent or event.attempts >= backoff.max_attempts:
                reason = (
                    result.error if result.permanent else f"gave up after {event.attempts} attempts: {result.error}"
                )
                settlement.dead.append((event.id, reason))
                dead.append((event, reason))
            else:
                settlement.retry.append((event.id, now + backoff.delay(event.attempts, rand), result.error))
    return settlement, dead, latencies
