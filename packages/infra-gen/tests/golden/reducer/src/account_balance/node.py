"""AccountBalanceReducer: the REDUCER node, folding events into state idempotently, with snapshots."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from pydantic import ValidationError

from account_balance.handler import fold_event
from account_balance.models import (
    AccountBalanceConfig,
    AccountBalanceInput,
    AccountBalanceOutput,
)

__all__ = ["SnapshotError", "AccountBalanceReducer"]

_log = logging.getLogger(__name__)


class SnapshotError(ValueError):
    """A snapshot that is not JSON, not this node's, or of another version."""


class AccountBalanceReducer:
    """Folds events into state; an event id already applied is ignored (at-least-once delivery is safe).

    Example:
        >>> node = AccountBalanceReducer()
        >>> node.apply(AccountBalanceInput(event_id="e1", key="a", amount=2))
        True
        >>> node.apply(AccountBalanceInput(event_id="e1", key="a", amount=2))
        False
        >>> node.state.totals
        {'a': 2}
    """

    def __init__(
        self,
        config: AccountBalanceConfig | None = None,
        state: AccountBalanceOutput | None = None,
    ) -> None:
        self.config = config or AccountBalanceConfig()
        initial = state or AccountBalanceOutput()
        # The working state is mutable and private; applying an event touches it in O(1). The frozen state model
        # is built from it when read (and kept until the next change): no per-event copy of everything seen so far.
        self._base = initial
        self._totals = dict(initial.totals)
        self._seen_ids = list(initial.seen_event_ids)
        self._seen = set(self._seen_ids)
        self._applied = initial.applied
        self._state: AccountBalanceOutput | None = initial

    @property
    def state(self) -> AccountBalanceOutput:
        """The current state, as a frozen model (built on the first read after a change)."""
        if self._state is None:
            self._state = self._base.model_copy(
                update={"totals": dict(self._totals), "applied": self._applied, "seen_event_ids": list(self._seen_ids)}
            )
        return self._state

    def apply(self, event: AccountBalanceInput) -> bool:
        """Fold ``event`` in; return False (and change nothing) when its id was already applied."""
        if event.event_id in self._seen:
            _log.debug("event %s already applied: ignored", event.event_id)
            return False
        fold_event(self._totals, event)
        self._seen.add(event.event_id)
        self._seen_ids.append(event.event_id)
        self._applied += 1
        self._state = None
        return True

    def apply_all(self, events: Iterable[AccountBalanceInput]) -> int:
        """Fold many events in order; return how many were new."""
        return sum(self.apply(event) for event in events)

    def snapshot(self) -> str:
        """The state as JSON, tagged with the node and the snapshot version."""
        return json.dumps(
            {
                "node": "account_balance",
                "version": self.config.snapshot_version,
                "state": self.state.model_dump(mode="json"),
            },
            sort_keys=True,
        )

    @classmethod
    def restore(cls, snapshot: str, config: AccountBalanceConfig | None = None) -> AccountBalanceReducer:
        """A node continuing from ``snapshot``.

        Raises:
            SnapshotError: the snapshot is not JSON, belongs to another node, or has another version.
        """
        settings = config or AccountBalanceConfig()
        try:
            data = json.loads(snapshot)
            if data.get("node") != "account_balance":
                raise SnapshotError(f"snapshot of node {data.get('node')!r}, not account_balance")
            if data.get("version") != settings.snapshot_version:
                raise SnapshotError(
                    f"snapshot version {data.get('version')!r}; this node reads version {settings.snapshot_version}"
                )
            state = AccountBalanceOutput.model_validate(data["state"])
        except (json.JSONDecodeError, AttributeError, KeyError, ValidationError) as exc:
            raise SnapshotError(f"not a snapshot of account_balance: {exc}") from exc
        _log.info("restored from a snapshot holding %d applied event(s)", state.applied)
        return cls(settings, state)
