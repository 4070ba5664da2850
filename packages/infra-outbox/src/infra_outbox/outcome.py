"""Turn delivery reports into what to record: published, failed (retry or dead), or held behind a failure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from infra_outbox.event import COL_CREATED_AT, Row, row_scope
from infra_outbox.send import SentBatch

__all__ = ["Decision", "decide"]


@dataclass(slots=True)
class Decision:
    """The outcome of one page, as positions in it: what Kafka acknowledged, what failed, what waits behind."""

    published: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, bool]] = field(default_factory=list)  # (position, error, permanent)
    behind: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


def decide(rows: Sequence[Row], sent: SentBatch | None, parked: set[tuple[str, str]]) -> Decision:
    """Per key, publish the prefix before the first failure; the failure and everything after it wait.

    ``parked`` (keys waiting behind an earlier failure) is updated with the keys that fail here. An event of a
    parked key is never counted as published, even if Kafka took it, so it is sent again after the failure.
    """
    decision = Decision()
    if sent is None:
        decision.behind = list(range(len(rows)))
        return decision
    published, latencies = decision.published, decision.latencies
    acked_at = sent.acked_at[0]
    if not parked and sent.all_acknowledged():
        # Every event acknowledged and no key parked (the common case): all published, in one pass.
        decision.published = list(range(len(rows)))
        decision.latencies = [acked_at - row[COL_CREATED_AT] for row in rows]
        return decision
    for index, row in enumerate(rows):
        scope = row_scope(row)
        result = sent.delivery(index)
        if result.acknowledged and (scope is None or not parked or scope not in parked):
            published.append(index)
            latencies.append(result.acked_at - row[COL_CREATED_AT])
            continue
        if scope is not None and scope in parked:
            decision.behind.append(index)
        elif not result.done:
            decision.behind.append(index)  # not sent: its key stopped earlier in the page
            if scope is not None:
                parked.add(scope)
        else:
            decision.failed.append((index, result.error or "no delivery report", result.permanent))
            if scope is not None:
                parked.add(scope)
    return decision
