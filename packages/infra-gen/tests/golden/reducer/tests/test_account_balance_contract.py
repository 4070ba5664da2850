"""The shipped contract validates and matches the models."""

from __future__ import annotations

from infra_models import NodeKind

from account_balance.contract import load_node_contract
from account_balance.models import (
    AccountBalanceConfig,
    AccountBalanceInput,
    AccountBalanceOutput,
)


def test_contract_validates() -> None:
    contract = load_node_contract()
    assert contract.name == "account_balance"
    assert contract.kind is NodeKind.REDUCER


def test_models_match_the_contract() -> None:
    contract = load_node_contract()
    assert contract.config_model is not None
    for spec, model in (
        (contract.input_model, AccountBalanceInput),
        (contract.output_model, AccountBalanceOutput),
        (contract.config_model, AccountBalanceConfig),
    ):
        assert spec.name == model.__name__
        assert [f.name for f in spec.fields] == list(model.model_fields)


def test_package_version_is_the_contract_version() -> None:
    from account_balance import __version__

    assert __version__ == load_node_contract().version


def test_models_forbid_unknown_fields() -> None:
    assert AccountBalanceInput.model_config.get("extra") == "forbid"
    assert AccountBalanceOutput.model_config.get("extra") == "forbid"
