"""``from-contract``: real ONEX contracts are accepted (the ONEX layout in a service, a stand-alone package elsewhere);
hostile YAML is refused with exit 2 well within a second and nothing is written."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra_gen.cli import app
from infra_gen.generator import NodeGenerator

LEDGER = """\
# A real-format ONEX node contract, as omnibase_infra writes them (infra-models ships the same as its example).
name: "node_ledger_append_effect"
contract_name: "node_ledger_append_effect"
node_name: "node_ledger_append_effect"
contract_version: {major: 1, minor: 0, patch: 0}
node_version: "0.1.0"
node_type: "EFFECT_GENERIC"
description: "Appends events to the ledger table and confirms each append."
input_model:
  name: "ModelLedgerAppendRequest"
  module: "ledger_service.nodes.node_ledger_append_effect.models.model_ledger_append_request"
  description: "One event to append."
output_model:
  name: "ModelLedgerAppendResult"
  module: "ledger_service.nodes.node_ledger_append_effect.models.model_ledger_append_result"
  description: "Where the event landed."
event_bus:
  subscribe_topics: ["onex.cmd.ledger-service.ledger-append.v1"]
  publish_topics: ["onex.evt.ledger-service.ledger-appended.v1"]
handler_routing:
  routing_strategy: "operation_match"
  handlers:
    - operation: "ledger.append"
      handler:
        name: "HandlerLedgerAppend"
        module: "ledger_service.nodes.node_ledger_append_effect.handlers.handler_ledger_append"
dependencies:
  - {name: "protocol_postgres_pool", type: "protocol", description: "Connection pool to the ledger database."}
io_operations:
  - {operation: "ledger.append", idempotent: true}
metadata:
  owner: "ledger-team"
"""

# The shape of a real omnibase_infra orchestrator contract: payload_type_match routing, dlq topics, FSM-less.
ORCHESTRATOR = """\
name: "node_invoice_orchestrator"
node_type: "ORCHESTRATOR_GENERIC"
contract_version: {major: 1, minor: 2, patch: 0}
node_version: "1.2.0"
description: >
  Coordinates invoicing: receive a command, dispatch the steps, emit completion.
event_bus:
  subscribe_topics: ["onex.cmd.billing.invoice.v1", "onex.evt.billing.invoice-priced.v1"]
  publish_topics: ["onex.evt.billing.invoice-complete.v1"]
  dlq_topics: ["onex.dlq.billing.invoice.v1"]
handler_routing:
  routing_strategy: "payload_type_match"
  handlers:
    - event_model: {name: "ModelInvoiceCommand", module: "billing.nodes.x.models.model_invoice_command"}
      handler: {name: "HandlerInvoiceInitiate", module: "billing.nodes.x.handlers.handler_invoice_initiate"}
error_handling:
  circuit_breaker: {enabled: true, failure_threshold: 3, reset_timeout_ms: 1000}
capabilities: ["invoice.coordinate"]
metadata: {author: "billing team", tags: ["orchestrator", "billing"]}
"""


def make_service(root: Path) -> Path:
    nodes = root / "src" / "billing" / "nodes"
    nodes.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "billing"\nversion = "0.1.0"\ndependencies = ["omnibase-core>=0.47"]\n', encoding="utf-8"
    )
    return nodes


class TestRealOnexContracts:
    def test_into_a_service_the_onex_layout_keeps_the_contracts_sections(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        given = tmp_path / "given.yaml"
        given.write_text(ORCHESTRATOR, encoding="utf-8")
        result = CliRunner().invoke(app, ["from-contract", str(given), "-o", str(nodes)])
        assert result.exit_code == 0, result.output
        node = nodes / "node_invoice_orchestrator"
        contract = yaml.safe_load((node / "contract.yaml").read_text(encoding="utf-8"))
        assert contract["name"] == "node_invoice_orchestrator" and contract["node_type"] == "ORCHESTRATOR_GENERIC"
        assert contract["node_version"] == "1.2.0"
        assert contract["contract_version"] == {"major": 1, "minor": 2, "patch": 0}
        assert contract["description"].startswith("Coordinates invoicing")
        assert contract["event_bus"]["subscribe_topics"] == [
            "onex.cmd.billing.invoice.v1",
            "onex.evt.billing.invoice-priced.v1",
        ]
        assert contract["event_bus"]["publish_topics"] == ["onex.evt.billing.invoice-complete.v1"]
        # kept as written: sections the generated code does not own
        assert contract["error_handling"] == {
            "circuit_breaker": {"enabled": True, "failure_threshold": 3, "reset_timeout_ms": 1000}
        }
        assert contract["capabilities"] == ["invoice.coordinate"]
        assert contract["metadata"]["author"] == "billing team"
        # owned by the generated code: the handler and models infra-gen wrote
        (route,) = contract["handler_routing"]["handlers"]
        assert route["handler"]["name"] == "HandlerInvoice"
        assert (node / "handlers" / "handler_invoice.py").is_file()
        assert (tmp_path / "tests" / "unit" / "nodes" / "node_invoice_orchestrator").is_dir()

    def test_a_contract_with_dependencies_and_extra_sections(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        given = tmp_path / "ledger.yaml"
        given.write_text(LEDGER, encoding="utf-8")
        result = NodeGenerator(nodes).generate_from_contract(given)
        assert result.project_dir == nodes / "node_ledger_append_effect"
        contract = yaml.safe_load((result.project_dir / "contract.yaml").read_text(encoding="utf-8"))
        assert contract["io_operations"] == [{"operation": "ledger.append", "idempotent": True}]
        assert contract["dependencies"][0]["name"] == "protocol_postgres_pool"
        assert contract["event_bus"]["publish_topics"] == ["onex.evt.ledger-service.ledger-appended.v1"]

    def test_outside_a_service_a_stand_alone_package(self, tmp_path: Path) -> None:
        given = tmp_path / "ledger.yaml"
        given.write_text(LEDGER, encoding="utf-8")
        result = NodeGenerator(tmp_path).generate_from_contract(given)
        assert result.project_dir == tmp_path / "ledger-append"
        assert (result.project_dir / "src" / "ledger_append" / "node.py").is_file()

    @pytest.mark.parametrize("node_type", ["RUNTIME_HOST_GENERIC", "GATEWAY", "SOMETHING_ELSE"])
    def test_other_node_types_are_refused(self, tmp_path: Path, node_type: str) -> None:
        nodes = make_service(tmp_path)
        given = tmp_path / "given.yaml"
        given.write_text(ORCHESTRATOR.replace("ORCHESTRATOR_GENERIC", node_type), encoding="utf-8")
        result = CliRunner().invoke(app, ["from-contract", str(given), "-o", str(nodes)])
        assert result.exit_code == 2, result.output
        assert "not an archetype infra-gen generates" in result.output
        assert list(nodes.iterdir()) == []


def _bomb() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, cur in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\nname: node_bomb_effect\nnode_type: EFFECT_GENERIC\n"


HOSTILE = {
    "billion_laughs": _bomb(),
    "deep_nesting": "name: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep_mappings": "node_type: EFFECT_GENERIC\nx: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n",
    "huge_scalar": "node_type: EFFECT_GENERIC\nname: node_x_effect\ndescription: '" + "A" * 900_000 + "'\n",
    "huge_file": "node_type: EFFECT_GENERIC\n# " + "x" * 3_000_000 + "\n",
    "duplicate_keys_via_alias": (
        "base: &b {name: node_a_effect, node_type: EFFECT_GENERIC}\nname: node_b_effect\n<<: *b\n"
    ),
    "duplicate_keys": "name: node_a_effect\nnode_type: EFFECT_GENERIC\nname: node_b_effect\n",
}


class TestHostileYaml:
    @pytest.mark.parametrize("case", sorted(HOSTILE))
    def test_refused_with_exit_2_within_a_second(self, tmp_path: Path, case: str) -> None:
        nodes = make_service(tmp_path)
        given = tmp_path / "contract.yaml"
        given.write_text(HOSTILE[case], encoding="utf-8")
        started = time.perf_counter()
        result = CliRunner().invoke(app, ["from-contract", str(given), "-o", str(nodes)])
        elapsed = time.perf_counter() - started
        assert result.exit_code == 2, result.output
        assert str(given) in result.output and "Traceback" not in result.output
        assert elapsed < 1.0, f"{case}: refused after {elapsed:.2f}s"
        assert list(nodes.iterdir()) == [] and not (tmp_path / "tests").exists()

    def test_the_cli_process_refuses_a_bomb_quickly(self, tmp_path: Path) -> None:
        given = tmp_path / "bomb.yaml"
        given.write_text(_bomb(), encoding="utf-8")
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from infra_gen.cli import main; main()",
                "from-contract",
                str(given),
                "-o",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        elapsed = time.perf_counter() - started
        assert done.returncode == 2, done.stdout + done.stderr
        assert "alias" in done.stderr and "Traceback" not in done.stderr
        assert elapsed < 5.0, f"the whole process took {elapsed:.2f}s"  # interpreter start included; parse < 1 s above
        assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.yaml"]
