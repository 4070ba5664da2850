"""The shipped contract validates and matches the models."""

from __future__ import annotations

from infra_models import NodeKind

from order_totals.contract import load_node_contract
from order_totals.models import (
    OrderTotalsConfig,
    OrderTotalsInput,
    OrderTotalsOutput,
)


def test_contract_validates() -> None:
    contract = load_node_contract()
    assert contract.name == "order_totals"
    assert contract.kind is NodeKind.COMPUTE


def test_models_match_the_contract() -> None:
    contract = load_node_contract()
    assert contract.config_model is not None
    for spec, model in (
        (contract.input_model, OrderTotalsInput),
        (contract.output_model, OrderTotalsOutput),
        (contract.config_model, OrderTotalsConfig),
    ):
        assert spec.name == model.__name__
        assert [f.name for f in spec.fields] == list(model.model_fields)


def test_package_version_is_the_contract_version() -> None:
    from order_totals import __version__

    assert __version__ == load_node_contract().version


def test_models_forbid_unknown_fields() -> None:
    assert OrderTotalsInput.model_config.get("extra") == "forbid"
    assert OrderTotalsOutput.model_config.get("extra") == "forbid"
