"""The shipped contract validates and matches the models."""

from __future__ import annotations

from infra_models import NodeKind

from order_saga.contract import load_node_contract
from order_saga.models import (
    OrderSagaConfig,
    OrderSagaInput,
    OrderSagaOutput,
)


def test_contract_validates() -> None:
    contract = load_node_contract()
    assert contract.name == "order_saga"
    assert contract.kind is NodeKind.ORCHESTRATOR


def test_models_match_the_contract() -> None:
    contract = load_node_contract()
    assert contract.config_model is not None
    for spec, model in (
        (contract.input_model, OrderSagaInput),
        (contract.output_model, OrderSagaOutput),
        (contract.config_model, OrderSagaConfig),
    ):
        assert spec.name == model.__name__
        assert [f.name for f in spec.fields] == list(model.model_fields)


def test_package_version_is_the_contract_version() -> None:
    from order_saga import __version__

    assert __version__ == load_node_contract().version


def test_models_forbid_unknown_fields() -> None:
    assert OrderSagaInput.model_config.get("extra") == "forbid"
    assert OrderSagaOutput.model_config.get("extra") == "forbid"
