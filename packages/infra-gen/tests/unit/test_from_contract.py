"""``from-contract``: real ONEX contracts are accepted (the ONEX layout in a service, a stand-alone package elsewhere);
hostile YAML is refused with exit 2 well within a second and nothing is written."""

from __future__ import annotations

import json
import os
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


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _contracts_folder(tmp_path: Path, **extra: str) -> Path:
    """A copy of tests/onex_contracts, plus `<name>/contract.yaml` holding each extra text."""
    folder = tmp_path / "contracts"
    for node in ("node_ledger_append_effect", "node_invoice_orchestrator"):
        (folder / node).mkdir(parents=True)
        (folder / node / "contract.yaml").write_bytes((CONTRACTS / node / "contract.yaml").read_bytes())
    for name, text in extra.items():
        (folder / name).mkdir()
        (folder / name / "contract.yaml").write_text(text, encoding="utf-8")
    return folder


def _stderr_shown_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run infra-gen with stderr on a pseudo-terminal (stdout discarded): its exit code and what the terminal got."""
    leader, follower = os.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-c", "from infra_gen.cli import main; main()", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO once the process has closed its end
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return process.wait(timeout=120), shown.decode(errors="replace")


class TestManyContracts:
    """Bulk generation: files and folders of contracts become one plan, applied all or nothing."""

    def test_a_folder_generates_what_one_contract_at_a_time_does(self, tmp_path: Path) -> None:
        one_by_one = make_service(tmp_path / "one")
        for node in ("node_ledger_append_effect", "node_invoice_orchestrator"):
            NodeGenerator(one_by_one).generate_from_contract(CONTRACTS / node / "contract.yaml")
        nodes = make_service(tmp_path / "bulk")
        result = CliRunner().invoke(app, ["from-contract", str(CONTRACTS), "-o", str(nodes), "-f", "json"])
        assert result.exit_code == 0, result.output
        assert result.stderr == ""  # not a terminal: no progress bar
        data = json.loads(result.stdout)
        assert Path(data["root"]) == (tmp_path / "bulk").resolve()  # the service root both nodes' plans share
        assert [p["source"] for p in data["plans"]] == [
            str(CONTRACTS / "node_invoice_orchestrator" / "contract.yaml"),
            str(CONTRACTS / "node_ledger_append_effect" / "contract.yaml"),
        ]
        assert _tree(tmp_path / "bulk") == _tree(tmp_path / "one")
        assert len(data["written"]) == len(_tree(tmp_path / "bulk")) - 1  # every file but the service's pyproject

    def test_files_and_folders_mix_and_a_file_named_twice_is_generated_once(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        ledger = CONTRACTS / "node_ledger_append_effect" / "contract.yaml"
        result = CliRunner().invoke(app, ["from-contract", str(ledger), str(CONTRACTS), "-o", str(nodes)])
        assert result.exit_code == 0, result.output
        assert "infra-gen from-contract 2 contracts" in result.stdout
        assert sorted(p.name for p in nodes.iterdir() if p.is_dir()) == [
            "node_invoice_orchestrator",
            "node_ledger_append_effect",
        ]

    @pytest.mark.parametrize(
        ("bad", "says"),
        [
            (ORCHESTRATOR.replace("ORCHESTRATOR_GENERIC", "GATEWAY"), "not an archetype infra-gen generates"),
            (_bomb(), "node_zz_bad/contract.yaml"),
            ("- a list\n", "not a YAML mapping"),
        ],
        ids=["gateway", "alias-bomb", "not-a-mapping"],
    )
    def test_one_bad_contract_writes_nothing_and_is_named(self, tmp_path: Path, bad: str, says: str) -> None:
        folder = _contracts_folder(tmp_path, node_zz_bad=bad)  # planned last: the good ones are planned first
        nodes = make_service(tmp_path / "svc")
        result = CliRunner().invoke(app, ["from-contract", str(folder), "-o", str(nodes)])
        assert result.exit_code == 2, result.output
        assert str(folder / "node_zz_bad" / "contract.yaml") in result.output and says in result.output
        assert "Traceback" not in result.output
        assert list(nodes.iterdir()) == [] and not (tmp_path / "svc" / "tests").exists()

    def test_a_conflict_in_one_node_stops_every_node(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        NodeGenerator(nodes).generate_from_contract(CONTRACTS / "node_ledger_append_effect" / "contract.yaml")
        edited = nodes / "node_ledger_append_effect" / "node.py"
        edited.write_text(edited.read_text(encoding="utf-8") + "# edited by hand\n", encoding="utf-8")
        before = _tree(tmp_path)
        result = CliRunner().invoke(app, ["from-contract", str(CONTRACTS), "-o", str(nodes)])
        assert result.exit_code == 1, result.output
        assert "src/billing/nodes/node_ledger_append_effect/node.py" in result.output
        assert _tree(tmp_path) == before  # the orchestrator was not written either

    def test_two_contracts_writing_one_node_differently_are_refused(self, tmp_path: Path) -> None:
        other = LEDGER.replace("Appends events to the ledger table", "Appends rows elsewhere")
        folder = _contracts_folder(tmp_path, again=other)
        nodes = make_service(tmp_path / "svc")
        result = CliRunner().invoke(app, ["from-contract", str(folder), "-o", str(nodes), "-f", "json"])
        assert result.exit_code == 2, result.output
        error = json.loads(result.stdout)["error"]
        assert str(folder / "again" / "contract.yaml") in error["message"]
        assert str(folder / "node_ledger_append_effect" / "contract.yaml") in error["message"]
        assert "with different content" in error["message"]
        assert list(nodes.iterdir()) == []

    def test_a_folder_without_contracts_is_bad_input(self, tmp_path: Path) -> None:
        (tmp_path / "empty").mkdir()
        result = CliRunner().invoke(app, ["from-contract", str(tmp_path / "empty"), "-o", str(tmp_path)])
        assert result.exit_code == 2
        assert f"no contract.yaml under {tmp_path / 'empty'}" in result.output

    @pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
    def test_a_progress_bar_only_on_a_terminal_in_text_mode_without_q(self, tmp_path: Path) -> None:
        runs = {
            "text": ["from-contract", str(CONTRACTS), "-o"],
            "json": ["from-contract", str(CONTRACTS), "-f", "json", "-o"],
            "quiet": ["-q", "from-contract", str(CONTRACTS), "-o"],
            "one contract": ["from-contract", str(CONTRACTS / "node_ledger_append_effect" / "contract.yaml"), "-o"],
        }
        shown = {}
        for name, args in runs.items():
            nodes = make_service(tmp_path / name.replace(" ", "-"))
            code, shown[name] = _stderr_shown_on_a_terminal([*args, str(nodes)], tmp_path)
            assert code == 0, shown[name]
        assert "generating nodes" in shown["text"] and "\x1b[" in shown["text"]  # drawn, with terminal codes
        assert shown["json"] == "" and shown["quiet"] == "" and shown["one contract"] == ""
