"""Real ONEX contracts read tolerantly: each shape the public omnibase repositories use, written small here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_models import (
    ContractError,
    NodeContract,
    NodeKind,
    OnexContract,
    OnexModelRef,
    OnexVersion,
    contract_format,
    load_any_contract,
    load_onex_contract,
    parse_any_contract,
    parse_contract,
    parse_onex_contract,
)

# The common omnibase_infra shape: mapping versions, model refs with module, event_bus, operation routing.
EFFECT = """\
name: "node_vault_secret_effect"
contract_name: "node_vault_secret_effect"
node_name: "node_vault_secret_effect"
contract_version:
  major: 1
  minor: 2
  patch: 0
node_version:
  major: 0
  minor: 3
  patch: 1
node_type: "EFFECT_GENERIC"
description: "Reads secrets from Vault."
input_model:
  name: "ModelVaultSecretRequest"
  module: "svc.nodes.node_vault_secret_effect.models.model_vault_secret_request"
  description: "What to read."
output_model:
  name: "ModelVaultSecretResult"
  module: "svc.nodes.node_vault_secret_effect.models.model_vault_secret_result"
  description: "What was read."
event_bus:
  version: {major: 1, minor: 0, patch: 0}
  subscribe_topics:
    - "onex.cmd.svc.vault-secret-read.v1"
  publish_topics:
    - "onex.evt.svc.vault-secret-read.v1"
  dlq_topics: ["onex.dlq.svc.vault.v1"]
handler_routing:
  routing_strategy: "operation_match"
  handlers:
    - operation: "vault.read"
      handler_type: "vault"
      supported_operations: ["vault.read", "vault.list"]
      handler:
        name: "HandlerVaultRead"
        module: "svc.nodes.node_vault_secret_effect.handlers.handler_vault_read"
dependencies:
  - name: "protocol_vault_client"
    type: "protocol"
    class_name: "ProtocolVaultClient"
    module: "svc.protocols"
    description: "Vault client."
io_operations:
  - operation: "vault.read"
    idempotent: true
runtime_profiles: [default, local]
metadata:
  owner: platform
"""


class TestCommonShape:
    def test_typed_sections(self) -> None:
        contract = parse_onex_contract(EFFECT)
        assert contract.kind is NodeKind.EFFECT
        assert contract.node_type == "EFFECT_GENERIC"
        assert str(contract.contract_version) == "1.2.0" and str(contract.node_version) == "0.3.1"
        assert contract.input_model == OnexModelRef(
            name="ModelVaultSecretRequest",
            module="svc.nodes.node_vault_secret_effect.models.model_vault_secret_request",
            description="What to read.",
        )
        assert contract.subscribe_topics == ("onex.cmd.svc.vault-secret-read.v1",)
        assert contract.publish_topics == ("onex.evt.svc.vault-secret-read.v1",)
        assert contract.handler_routing is not None
        (route,) = contract.handler_routing.handlers
        assert route.operation == "vault.read" and route.supported_operations == ("vault.read", "vault.list")
        assert route.handler is not None and route.handler.name == "HandlerVaultRead"
        assert contract.dependencies[0].class_name == "ProtocolVaultClient"
        assert contract.display_name == "node_vault_secret_effect"

    def test_every_other_section_is_kept_as_written(self) -> None:
        contract = parse_onex_contract(EFFECT)
        assert contract.model_extra == {
            "io_operations": [{"operation": "vault.read", "idempotent": True}],
            "runtime_profiles": ["default", "local"],
            "metadata": {"owner": "platform"},
        }
        assert contract.event_bus is not None
        assert contract.event_bus.model_extra == {
            "version": {"major": 1, "minor": 0, "patch": 0},
            "dlq_topics": ["onex.dlq.svc.vault.v1"],
        }
        dumped = contract.model_dump(mode="json")
        assert dumped["runtime_profiles"] == ["default", "local"] and dumped["metadata"] == {"owner": "platform"}

    def test_round_trips_through_json(self) -> None:
        contract = parse_onex_contract(EFFECT)
        again = OnexContract.model_validate_json(contract.model_dump_json())
        assert again == contract and again.kind is NodeKind.EFFECT

    def test_load_from_file_and_detect(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text(EFFECT)
        assert load_onex_contract(path).name == "node_vault_secret_effect"
        assert isinstance(load_any_contract(path), OnexContract)


class TestShapeVariants:
    def test_core_style_lowercase_type_text_versions_dotted_models(self) -> None:
        # omnibase_core's own nodes: `node_type: compute`, text node_version, models as dotted paths.
        contract = parse_onex_contract(
            "name: node_no_utcnow_check_compute\n"
            "contract_version: {major: 1, minor: 0, patch: 0}\n"
            "node_version: 1.0.0\n"
            "node_type: compute\n"
            "description: Flags datetime.utcnow.\n"
            "input_model: pkg.models.nodes.model_check_input.ModelCheckInput\n"
            "output_model: pkg.models.validation.model_validation_report.ModelValidationReport\n"
            "handler_routing:\n"
            "  default_handler: handler:NodeNoUtcnowCheckCompute\n"
        )
        assert contract.kind is NodeKind.COMPUTE
        assert contract.node_version == OnexVersion(major=1, minor=0, patch=0)
        assert contract.input_model == OnexModelRef(name="ModelCheckInput", module="pkg.models.nodes.model_check_input")
        assert contract.handler_routing is not None
        assert contract.handler_routing.default_handler == "handler:NodeNoUtcnowCheckCompute"
        assert contract.handler_routing.handlers == ()

    @pytest.mark.parametrize(
        ("node_type", "kind"),
        [
            ("EFFECT_GENERIC", NodeKind.EFFECT),
            ("COMPUTE_GENERIC", NodeKind.COMPUTE),
            ("REDUCER_GENERIC", NodeKind.REDUCER),
            ("ORCHESTRATOR_GENERIC", NodeKind.ORCHESTRATOR),
            ("effect", NodeKind.EFFECT),
            ("reducer", NodeKind.REDUCER),
            ("Orchestrator", NodeKind.ORCHESTRATOR),
            ("compute_generic", NodeKind.COMPUTE),
            ("RUNTIME_HOST_GENERIC", None),
            ("GATEWAY", None),
            ("TRANSFORMER", None),
            ("TOOL", None),
            ("UNKNOWN", None),
            ("something_new", None),
        ],
    )
    def test_node_type_maps_to_kind_or_other(self, node_type: str, kind: NodeKind | None) -> None:
        contract = parse_onex_contract(f"name: n\nnode_type: {node_type}\n")
        assert contract.kind is kind
        assert contract.node_type == node_type

    def test_topics_from_every_shape(self) -> None:
        contract = parse_onex_contract(
            "name: node_router_reducer\n"
            "node_type: REDUCER_GENERIC\n"
            "event_bus:\n"
            "  subscribe: [{topic: routing.outcomes, description: fed back}]\n"
            "  publish: [{topic: routing.scores.updated}]\n"
            "consumed_events:\n"
            "  - {topic: onex.evt.a.one.v1, event_type: One}\n"
            "  - {topic: routing.outcomes, event_type: Dup}\n"
            "published_events:\n"
            "  - {topic: onex.evt.a.two.v1, event_type: Two, topic_config: {partitions: 3}}\n"
            "topics:\n"
            "  consumes: [{topic: onex.evt.a.three.v1, schema: ModelThree}]\n"
            "  produces: [{topic: onex.evt.a.four.v1}]\n"
            "input_subscriptions: [{topic: onex.cmd.a.five.v1, operation: a.five}]\n"
            "events: {emits: [onex.a.six]}\n"
        )
        assert contract.subscribe_topics == (
            "routing.outcomes",
            "onex.evt.a.one.v1",
            "onex.evt.a.three.v1",
            "onex.cmd.a.five.v1",
        )
        assert contract.publish_topics == (
            "routing.scores.updated",
            "onex.evt.a.two.v1",
            "onex.evt.a.four.v1",
            "onex.a.six",
        )

    def test_top_level_topic_lists_and_empty_lists(self) -> None:
        contract = parse_onex_contract(
            "name: n\nnode_type: effect\nsubscribe_topics: [onex.evt.core.x.v1]\npublish_topics: []\n"
            "event_bus: {subscribe_topics: [], publish_topics: [onex.evt.core.y.v1]}\n"
        )
        assert contract.subscribe_topics == ("onex.evt.core.x.v1",)
        assert contract.publish_topics == ("onex.evt.core.y.v1",)
        assert contract.model_extra == {"subscribe_topics": ["onex.evt.core.x.v1"], "publish_topics": []}

    def test_payload_routing_entries_keep_their_other_keys(self) -> None:
        contract = parse_onex_contract(
            "name: n\nnode_type: ORCHESTRATOR_GENERIC\n"
            "handler_routing:\n"
            "  routing_strategy: payload_type_match\n"
            "  execution_mode: parallel\n"
            "  handlers:\n"
            "    - event_model: {name: ModelPlan, module: svc.models.model_plan}\n"
            "      handler: {name: HandlerPlan, module: svc.handlers.handler_plan, handler_type: HTTP}\n"
            "      output_events: [ModelPlanDone]\n"
        )
        assert contract.handler_routing is not None
        assert contract.handler_routing.model_extra == {"execution_mode": "parallel"}
        (route,) = contract.handler_routing.handlers
        assert route.operation is None and route.handler is not None
        assert route.handler.module == "svc.handlers.handler_plan"
        assert route.handler.model_extra == {"handler_type": "HTTP"}
        assert route.model_extra == {
            "event_model": {"name": "ModelPlan", "module": "svc.models.model_plan"},
            "output_events": ["ModelPlanDone"],
        }

    def test_config_naming_a_model_or_holding_settings(self) -> None:
        ref = parse_onex_contract(
            "name: n\nnode_type: effect\nconfig: {name: ModelFwdConfig, module: svc.models, forwarder: {a: 1}}\n"
        )
        assert ref.config is not None and ref.config.name == "ModelFwdConfig" and ref.config_values == {}
        assert ref.config.model_extra == {"forwarder": {"a": 1}}
        settings = parse_onex_contract("name: n\nnode_type: effect\nconfig: {name: bridge, port: 8091, host: x}\n")
        assert settings.config is None
        assert settings.config_values == {"name": "bridge", "port": 8091, "host": "x"}

    def test_dependency_shapes(self) -> None:
        listed = parse_onex_contract(
            "name: n\nnode_type: effect\ndependencies:\n"
            "  - {name: httpx, type: library, library: httpx, version: '>=0.27'}\n"
            "  - {name: API_KEY, type: environment, env_var: API_KEY, required: false}\n"
        )
        assert [d.name for d in listed.dependencies] == ["httpx", "API_KEY"]
        assert listed.dependencies[0].model_extra == {"library": "httpx", "version": ">=0.27"}
        assert listed.dependencies[1].required is False
        grouped = parse_onex_contract("name: n\nnode_type: compute\ndependencies: {required: [llm_service]}\n")
        assert [(d.name, d.required) for d in grouped.dependencies] == [("llm_service", True)]
        both = parse_onex_contract("name: n\nnode_type: compute\ndependencies: {optional: cache, required: [db]}\n")
        assert [(d.name, d.required) for d in both.dependencies] == [("db", True), ("cache", False)]

    def test_grouped_dependencies_with_other_keys_are_refused_not_dropped(self) -> None:
        with pytest.raises(ContractError, match=r":3: field `dependencies`"):
            parse_onex_contract("name: n\nnode_type: compute\ndependencies: {required: [db], notes: keep me}\n")

    def test_handler_contract_under_handlers_folder(self) -> None:
        # handlers/contract.yaml files share the node schema (node_type is the node they serve) plus handler_id.
        contract = parse_onex_contract(
            "name: handler_ledger_projection\nhandler_id: handler-ledger-projection\n"
            "contract_version: {major: 1, minor: 0, patch: 0}\nnode_type: COMPUTE_GENERIC\n"
        )
        assert contract.kind is NodeKind.COMPUTE and contract.model_extra == {"handler_id": "handler-ledger-projection"}

    def test_only_contract_name_or_node_name(self) -> None:
        assert parse_onex_contract("contract_name: c\nnode_type: effect\n").display_name == "c"
        assert parse_onex_contract("node_name: n\nname: x\nnode_type: effect\n").display_name == "n"

    def test_section_named_like_a_property_is_kept(self) -> None:
        contract = parse_onex_contract("name: n\nnode_type: effect\nkind: special\ndisplay_name: Shown\n")
        assert contract.kind is NodeKind.EFFECT
        assert contract.model_extra == {"kind": "special", "display_name": "Shown"}


class TestErrorsNameFileLineAndField:
    def test_missing_node_type(self) -> None:
        with pytest.raises(ContractError, match=r"^c.yaml:1: field `node_type`: Field required"):
            parse_onex_contract("name: n\ncontract_version: {major: 1, minor: 0, patch: 0}\n", filename="c.yaml")

    def test_no_name_at_all(self) -> None:
        with pytest.raises(ContractError, match="needs `name`, `contract_name` or `node_name`"):
            parse_onex_contract("node_type: effect\ncontract_version: 1.0.0\n")

    def test_bad_version_names_its_line(self) -> None:
        with pytest.raises(ContractError, match=r":3: field `node_version`: .*not `MAJOR.MINOR.PATCH`"):
            parse_onex_contract("name: n\nnode_type: effect\nnode_version: one\n")

    def test_nested_version_field(self) -> None:
        with pytest.raises(ContractError, match=r":5: field `contract_version.minor`"):
            parse_onex_contract("name: n\nnode_type: effect\ncontract_version:\n  major: 1\n  minor: x\n")

    def test_handler_without_a_name(self) -> None:
        text = "name: n\nnode_type: effect\nhandler_routing:\n  handlers:\n    - operation: a\n"
        text += "      handler: {module: m}\n"
        with pytest.raises(ContractError, match=r":6: field `handler_routing.handlers.0.handler.name`: Field required"):
            parse_onex_contract(text)

    def test_topic_that_is_not_text(self) -> None:
        text = "name: n\nnode_type: effect\nevent_bus:\n  subscribe_topics:\n    - [a, b]\n"
        with pytest.raises(ContractError, match=r"field `event_bus.subscribe_topics.0`"):
            parse_onex_contract(text)

    def test_name_that_is_not_text(self) -> None:
        with pytest.raises(ContractError, match=r":1: field `name`: Input should be a valid string"):
            parse_onex_contract("name: 12\nnode_type: effect\n")


class TestFormats:
    INFRA = (
        "name: adder\nkind: COMPUTE\nversion: 0.1.0\n"
        "input_model: {name: AdderInput}\noutput_model: {name: AdderOutput}\n"
    )

    def test_contract_format(self) -> None:
        assert contract_format({"node_type": "EFFECT_GENERIC"}) == "onex"
        assert contract_format({"contract_version": {}}) == "onex"
        assert contract_format({"kind": "EFFECT", "version": "1.0.0"}) == "infra"
        assert contract_format({"name": "x"}) == "infra"

    def test_any_reads_both(self) -> None:
        assert isinstance(parse_any_contract(self.INFRA), NodeContract)
        assert isinstance(parse_any_contract(EFFECT), OnexContract)

    def test_infra_reader_points_onex_contracts_to_the_onex_reader(self) -> None:
        with pytest.raises(ContractError, match=r"this is an ONEX contract .*load_any_contract"):
            parse_contract(EFFECT)

    def test_infra_errors_stay_infra_errors(self) -> None:
        with pytest.raises(ContractError, match=r":3: field `version`"):
            parse_any_contract(self.INFRA.replace("0.1.0", "one"))


class TestShippedOnexExample:
    def test_example_is_a_valid_effect(self) -> None:
        example = Path(__file__).resolve().parents[2] / "examples" / "onex" / "contract.yaml"
        if not example.is_file():  # absent when the tests run against an installed wheel
            pytest.skip("examples/ ships in the repository only")
        contract = load_any_contract(example)
        assert isinstance(contract, OnexContract) and contract.kind is NodeKind.EFFECT
        assert contract.subscribe_topics == ("onex.cmd.ledger-service.ledger-append.v1",)
        assert set(contract.model_extra or {}) == {"io_operations", "metadata"}


class TestHostileSectionNames:
    @pytest.mark.parametrize(
        "key",
        ["model_config", "__class__", "_hidden", "model_dump", "__dict__", "model_extra", "__pydantic_extra__", "copy"],
    )
    def test_section_named_like_a_model_internal_is_kept_and_harmless(self, key: str) -> None:
        contract = parse_onex_contract(f"name: x\nnode_type: effect\n'{key}': {{a: 1}}\n")
        assert contract.model_extra == {key: {"a": 1}}
        assert contract.kind is NodeKind.EFFECT
        assert contract.model_dump(mode="json")[key] == {"a": 1}
        assert OnexContract.model_validate_json(contract.model_dump_json()) == contract


_TYPED = set(OnexContract.model_fields) | {"kind", "display_name", "subscribe_topics", "publish_topics"}
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)


class TestEverySectionKept:
    @settings(max_examples=100, deadline=None)
    @given(st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k not in _TYPED), _json, max_size=6))
    def test_unknown_sections_come_back_as_written(self, sections: dict[str, Any]) -> None:
        document = {"name": "node_x_effect", "node_type": "EFFECT_GENERIC", **sections}
        text = yaml.safe_dump(document, allow_unicode=True)
        # As PyYAML reads its own text back (its emitter writes a few control characters that read back otherwise).
        expected = {k: v for k, v in yaml.safe_load(text).items() if k not in ("name", "node_type")}
        contract = parse_onex_contract(text)
        assert contract.model_extra == expected
        assert {k: v for k, v in contract.model_dump().items() if k in expected} == expected


class TestJsonSchema:
    CORE_STYLE = (
        "name: n\nnode_type: compute\nnode_version: 1.0.0\ninput_model: pkg.models.ModelIn\n"
        "config: {port: 8091}\ndependencies: {required: [llm]}\n"
    )

    def test_schema_accepts_every_shape_the_reader_accepts(self) -> None:
        import jsonschema

        from infra_models.schema import render_schemas

        schema = json.loads(render_schemas()["OnexContract.schema.json"])
        for text in (EFFECT, self.CORE_STYLE):
            jsonschema.validate(yaml.safe_load(text), schema)
            parse_onex_contract(text)

    def test_schema_refuses_what_the_reader_refuses(self) -> None:
        import jsonschema

        from infra_models.schema import render_schemas

        schema = json.loads(render_schemas()["OnexContract.schema.json"])
        for text in ("name: n\nnode_type: effect\nnode_version: one\n", "name: n\nnode_type: 3\n"):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(yaml.safe_load(text), schema)
            with pytest.raises(ContractError):
                parse_onex_contract(text)
