"""Node contracts load from YAML, and every mistake names its line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_models import ContractError, NodeContract, NodeKind, load_contract, parse_contract

EFFECT = """\
name: vault_adapter
kind: EFFECT
version: 1.2.0
description: HashiCorp Vault secret management
input_model:
  name: VaultAdapterInput
  fields:
    - {name: path, type: str}
output_model:
  name: VaultAdapterOutput
external_systems:
  - name: HashiCorp Vault
    kind: vault
topics:
  consumed: [secrets.requested]
  produced: [secrets.read]
timeouts: {connect_seconds: 2, request_seconds: 10}
retry_policy: {max_attempts: 5, initial_backoff_seconds: 0.2, max_backoff_seconds: 5}
circuit_breaker: {failure_threshold: 3}
"""


class TestLoad:
    def test_valid_effect_contract(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text(EFFECT)
        contract = load_contract(path)
        assert contract.kind is NodeKind.EFFECT
        assert contract.retry_policy is not None and contract.retry_policy.max_attempts == 5
        assert contract.topics.produced == ("secrets.read",)

    def test_kind_is_case_insensitive(self) -> None:
        text = EFFECT.replace("kind: EFFECT", "kind: effect")
        assert parse_contract(text).kind is NodeKind.EFFECT

    def test_round_trips_through_json(self) -> None:
        contract = parse_contract(EFFECT)
        assert NodeContract.model_validate_json(contract.model_dump_json()) == contract

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(ContractError, match="no such contract file") as info:
            load_contract(tmp_path / "nope.yaml")
        assert info.value.code == "contract.not_found"

    def test_binary_file(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_bytes(b"\xff\xfe\x00garbage")
        with pytest.raises(ContractError, match="not UTF-8"):
            load_contract(path)


class TestErrorsNameLineAndField:
    def test_bad_version_names_its_line(self) -> None:
        text = EFFECT.replace("version: 1.2.0", "version: one")
        with pytest.raises(ContractError, match=r"<contract>:3: field `version`: .*not a semantic version"):
            parse_contract(text)

    def test_nested_field_names_its_line(self) -> None:
        text = EFFECT.replace("max_attempts: 5", "max_attempts: 0")
        with pytest.raises(ContractError, match=r":18: field `retry_policy.max_attempts`"):
            parse_contract(text)

    def test_list_item_field(self) -> None:
        text = EFFECT.replace("{name: path, type: str}", "{name: Path, type: str}")
        with pytest.raises(ContractError, match=r":8: field `input_model.fields.0.name`"):
            parse_contract(text)

    def test_unknown_field_is_refused(self) -> None:
        with pytest.raises(ContractError, match=r":20: field `colour`: Extra inputs are not permitted"):
            parse_contract(EFFECT + "colour: blue\n")

    def test_effect_without_policies(self) -> None:
        text = "\n".join(line for line in EFFECT.splitlines() if not line.startswith(("timeouts", "retry_policy")))
        with pytest.raises(ContractError, match="EFFECT node must declare timeouts and retry_policy"):
            parse_contract(text)

    def test_all_problems_in_details(self) -> None:
        text = EFFECT.replace("version: 1.2.0", "version: x").replace("name: vault_adapter", "name: Vault")
        with pytest.raises(ContractError, match=r"and 1 more problem\)") as info:
            parse_contract(text, filename="c.yaml")
        fields = [p["field"] for p in info.value.details["problems"]]
        assert fields == ["name", "version"]

    def test_malformed_yaml(self) -> None:
        with pytest.raises(ContractError, match=r"c.yaml:3: not valid YAML: .*flow sequence started at line 2") as info:
            parse_contract("name: a\nkind: [EFFECT\n", filename="c.yaml")
        assert info.value.code == "contract.yaml"

    def test_not_a_mapping(self) -> None:
        with pytest.raises(ContractError, match="the top level is a list, not a YAML mapping"):
            parse_contract("- a\n- b\n")

    def test_duplicate_key(self) -> None:
        with pytest.raises(ContractError, match=r":2: key `name` appears twice"):
            parse_contract("name: a\nname: b\n")

    @pytest.mark.parametrize("name", ["class", "1node", "../etc", "a/b", "Vault", "a__b", ""])
    def test_hostile_names(self, name: str) -> None:
        with pytest.raises(ContractError, match="field `name`"):
            parse_contract(EFFECT.replace("name: vault_adapter", f"name: '{name}'"))

    def test_no_python_objects_from_yaml(self) -> None:
        with pytest.raises(ContractError, match="not valid YAML"):
            parse_contract("name: !!python/object/apply:os.system ['true']\n")


class TestShippedExample:
    def test_quickstart_contract_is_valid(self) -> None:
        example = Path(__file__).resolve().parents[2] / "examples" / "contract.yaml"
        if example.is_file():  # absent when the tests run against an installed wheel
            assert load_contract(example).name == "vault_adapter"


class TestOrchestratorSteps:
    def _contract(self, kind: str, steps: list[dict[str, object]]) -> dict[str, object]:
        return {
            "name": "order_saga",
            "kind": kind,
            "version": "0.1.0",
            "input_model": {"name": "OrderSagaInput"},
            "output_model": {"name": "OrderSagaOutput"},
            "steps": steps,
        }

    def test_steps_keep_their_order(self) -> None:
        from infra_models import NodeContract

        contract = NodeContract.model_validate(
            self._contract("ORCHESTRATOR", [{"name": "reserve", "timeout_seconds": 2}, {"name": "charge"}])
        )
        assert [s.name for s in contract.steps] == ["reserve", "charge"]
        assert contract.steps[0].timeout_seconds == 2
        assert contract.steps[1].compensate is True

    def test_steps_only_for_orchestrators(self) -> None:
        import pytest
        from pydantic import ValidationError

        from infra_models import NodeContract

        with pytest.raises(ValidationError, match="only an ORCHESTRATOR"):
            NodeContract.model_validate(self._contract("COMPUTE", [{"name": "reserve"}]))

    def test_step_names_unique_and_snake(self) -> None:
        import pytest
        from pydantic import ValidationError

        from infra_models import NodeContract

        with pytest.raises(ValidationError, match="repeated: reserve"):
            NodeContract.model_validate(self._contract("ORCHESTRATOR", [{"name": "reserve"}, {"name": "reserve"}]))
        with pytest.raises(ValidationError, match="snake_case"):
            NodeContract.model_validate(self._contract("ORCHESTRATOR", [{"name": "Reserve"}]))


class TestHostileYaml:
    def test_deep_nesting_is_a_clear_error(self) -> None:
        with pytest.raises(ContractError, match="maximum nesting depth"):
            parse_contract("a: " + "[" * 100_000 + "]" * 100_000 + "\n")

    def test_deep_nesting_with_the_pure_python_parser(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import yaml

        from infra_models import yaml_limits

        monkeypatch.setattr(yaml_limits, "_Loader", yaml.SafeLoader)
        with pytest.raises(ContractError, match="maximum nesting depth"):
            parse_contract("a: " + "[" * 100_000 + "]" * 100_000 + "\n")

    def test_billion_laughs_alias_bomb_is_bounded(self) -> None:
        bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
        bomb += "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nname: *c\n"
        with pytest.raises(ContractError, match="field `"):
            parse_contract(bomb)
