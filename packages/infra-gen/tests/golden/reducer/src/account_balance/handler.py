"""The pure fold of AccountBalanceReducer: the next state from a state and one new event. Edit this."""

from __future__ import annotations

from account_balance.models import AccountBalanceInput, AccountBalanceOutput

__all__ = ["reduce_state"]


def reduce_state(state: AccountBalanceOutput, event: AccountBalanceInput) -> AccountBalanceOutput:
    """Add ``event.amount`` to its key's total. Called once per event id: the node filters duplicates."""
    totals = dict(state.totals)
    totals[event.key] = totals.get(event.key, 0) + event.amount
    return state.model_copy(update={"totals": totals})
