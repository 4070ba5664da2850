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

# Real-format ONEX contracts (an EFFECT with dependencies and extra sections, an orchestrator with payload-type routing
# and dlq topics), shared with tests/integration/test_onex_service.py; as a folder, the input of a bulk generation.
CONTRACTS = Path(__file__).resolve().parents[1] / "onex_contracts"
LEDGER = (CONTRACTS / "node_ledger_append_effect" / "contract.yaml").read_text(encoding="utf-8")
ORCHESTRATOR = (CONTRACTS / "node_invoice_orchestrator" / "contract.yaml").read_text(encoding="utf-8")


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
