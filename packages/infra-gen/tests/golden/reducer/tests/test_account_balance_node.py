"""AccountBalanceReducer folds events idempotently per event id and survives snapshot and restore."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from account_balance import AccountBalanceReducer
from account_balance.models import AccountBalanceConfig, AccountBalanceInput
from account_balance.node import SnapshotError

events = st.lists(
    st.builds(
        AccountBalanceInput,
        event_id=st.sampled_from([f"e{i}" for i in range(8)]),
        key=st.sampled_from(["a", "b", "c"]),
        amount=st.integers(-100, 100),
    ),
    max_size=30,
)


def first_of_each_id(items: list[AccountBalanceInput]) -> list[AccountBalanceInput]:
    seen: dict[str, AccountBalanceInput] = {}
    for event in items:
        seen.setdefault(event.event_id, event)
    return list(seen.values())


def test_folds_totals_per_key() -> None:
    node = AccountBalanceReducer()
    node.apply_all(
        [
            AccountBalanceInput(event_id="1", key="a", amount=5),
            AccountBalanceInput(event_id="2", key="a", amount=-2),
            AccountBalanceInput(event_id="3", key="b", amount=1),
        ]
    )
    assert node.state.totals == {"a": 3, "b": 1}
    assert node.state.applied == 3


def test_duplicate_event_is_applied_once() -> None:
    node = AccountBalanceReducer()
    event = AccountBalanceInput(event_id="1", key="a", amount=5)
    assert node.apply(event) is True
    assert node.apply(event) is False
    assert node.state.totals == {"a": 5}


def test_snapshot_restore_continues_idempotently() -> None:
    node = AccountBalanceReducer()
    node.apply(AccountBalanceInput(event_id="1", key="a", amount=5))
    restored = AccountBalanceReducer.restore(node.snapshot())
    assert restored.state == node.state
    assert restored.apply(AccountBalanceInput(event_id="1", key="a", amount=5)) is False
    assert restored.apply(AccountBalanceInput(event_id="2", key="a", amount=1)) is True
    assert restored.state.totals == {"a": 6}


def test_restore_rejects_other_versions_and_garbage() -> None:
    snapshot = AccountBalanceReducer().snapshot()
    with pytest.raises(SnapshotError, match="version"):
        AccountBalanceReducer.restore(snapshot, AccountBalanceConfig(snapshot_version=2))
    with pytest.raises(SnapshotError):
        AccountBalanceReducer.restore("not json")
    with pytest.raises(SnapshotError):
        AccountBalanceReducer.restore('{"node": "other", "version": 1, "state": {}}')


@given(events)
def test_redelivery_changes_nothing(items: list[AccountBalanceInput]) -> None:
    once, twice = AccountBalanceReducer(), AccountBalanceReducer()
    once.apply_all(first_of_each_id(items))
    twice.apply_all(items + items)
    assert twice.state == once.state


@given(events, st.integers(0, 30))
def test_snapshot_at_any_point_gives_the_same_state(items: list[AccountBalanceInput], cut: int) -> None:
    straight = AccountBalanceReducer()
    straight.apply_all(items)
    first = AccountBalanceReducer()
    first.apply_all(items[:cut])
    resumed = AccountBalanceReducer.restore(first.snapshot())
    resumed.apply_all(items[cut:])
    assert resumed.state == straight.state
