"""OrderTotalsCompute is a pure, deterministic transform (checked with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from order_totals.models import OrderTotalsConfig, OrderTotalsInput
from order_totals.node import OrderTotalsCompute

values = st.lists(st.text(max_size=12), max_size=20)


def test_normalises() -> None:
    output = OrderTotalsCompute().run({"items": [" b", "A", "a", ""]})
    assert output.items == ["a", "b"]
    assert output.count == 2


def test_case_sensitive_config() -> None:
    node = OrderTotalsCompute(OrderTotalsConfig(case_sensitive=True))
    assert node.run({"items": ["A", "a"]}).items == ["A", "a"]


def test_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        OrderTotalsCompute().run({"items": [], "unexpected": 1})


@given(values)
def test_deterministic(items: list[str]) -> None:
    node = OrderTotalsCompute()
    assert node.run(OrderTotalsInput(items=items)) == node.run(OrderTotalsInput(items=list(items)))


@given(values)
def test_idempotent(items: list[str]) -> None:
    node = OrderTotalsCompute()
    once = node.run({"items": items})
    assert node.run({"items": once.items}) == once


@given(values, st.randoms(use_true_random=False))
def test_order_does_not_matter(items: list[str], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    node = OrderTotalsCompute()
    assert node.run({"items": shuffled}).digest == node.run({"items": items}).digest


@given(values)
def test_count_matches_items(items: list[str]) -> None:
    output = OrderTotalsCompute().run({"items": items})
    assert output.count == len(output.items) == len(set(output.items))
