"""The fold of AccountBalanceReducer: one new event added to the running totals, in place. Edit this."""

from __future__ import annotations

from account_balance.models import AccountBalanceInput

__all__ = ["fold_event"]


def fold_event(totals: dict[str, int], event: AccountBalanceInput) -> None:
    """Add ``event.amount`` to its key's total. Called once per event id: the node filters duplicates.

    It updates ``totals`` in place, so folding one event costs the same however many the state holds; the node
    builds the frozen state model from the totals only when it is read.
    """
    totals[event.key] = totals.get(event.key, 0) + event.amount
