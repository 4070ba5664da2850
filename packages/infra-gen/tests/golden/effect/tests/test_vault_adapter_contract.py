"""The shipped contract validates and matches the models."""

from __future__ import annotations

from infra_models import NodeKind

from vault_adapter.contract import load_node_contract
from vault_adapter.models import (
    VaultAdapterConfig,
    VaultAdapterInput,
    VaultAdapterOutput,
)


def test_contract_validates() -> None:
    contract = load_node_contract()
    assert contract.name == "vault_adapter"
    assert contract.kind is NodeKind.EFFECT


def test_models_match_the_contract() -> None:
    contract = load_node_contract()
    assert contract.config_model is not None
    for spec, model in (
        (contract.input_model, VaultAdapterInput),
        (contract.output_model, VaultAdapterOutput),
        (contract.config_model, VaultAdapterConfig),
    ):
        assert spec.name == model.__name__
        assert [f.name for f in spec.fields] == list(model.model_fields)


def test_package_version_is_the_contract_version() -> None:
    from vault_adapter import __version__

    assert __version__ == load_node_contract().version


def test_models_forbid_unknown_fields() -> None:
    assert VaultAdapterInput.model_config.get("extra") == "forbid"
    assert VaultAdapterOutput.model_config.get("extra") == "forbid"
