"""ONEX service packages: detection, the declarative layout, the contract schema, plans over both roots."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from infra_gen.cli import app
from infra_gen.errors import ConflictError, InvalidAnswerError, InvalidNameError, WriteError
from infra_gen.generator import NodeGenerator
from infra_gen.onex import find_onex_service

KINDS = ("effect", "compute", "reducer", "orchestrator")


def make_service(root: Path, *, dependency: str = "omnibase-core>=0.47,<0.48", name: str = "vault-svc") -> Path:
    """A minimal ONEX service package; returns its nodes folder."""
    nodes = root / "src" / "vault_svc" / "nodes"
    nodes.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{name}"\nversion = "0.1.0"\ndependencies = ["{dependency}"]\n', encoding="utf-8"
    )
    (nodes.parent / "__init__.py").write_text('"""Service."""\n', encoding="utf-8")
    (nodes / "__init__.py").write_text('"""Nodes."""\n', encoding="utf-8")
    return nodes


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class TestDetection:
    @pytest.mark.parametrize(
        "dependency", ["omnibase-core>=0.47,<0.48", "omnibase_core", "Omnibase.Core[all] >= 0.47", "omnibase-core"]
    )
    def test_any_spelling_of_the_dependency(self, tmp_path: Path, dependency: str) -> None:
        nodes = make_service(tmp_path, dependency=dependency)
        service = find_onex_service(nodes)
        assert service is not None
        assert (service.root, service.nodes_package, service.service) == (tmp_path, "vault_svc.nodes", "vault-svc")
        assert service.tests_dir == tmp_path / "tests" / "unit" / "nodes"

    def test_a_missing_nodes_folder_inside_the_package_is_still_onex(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        service = find_onex_service(nodes.parent / "more_nodes")
        assert service is not None and service.nodes_package == "vault_svc.more_nodes"

    def test_other_dependencies_are_not_onex(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path, dependency="omnibase-core-extras>=1")
        assert find_onex_service(nodes) is None

    def test_sibling_node_contracts_without_the_dependency(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path, dependency="pydantic>=2")
        (nodes / "node_existing_effect").mkdir()
        (nodes / "node_existing_effect" / "contract.yaml").write_text("name: node_existing_effect\n")
        service = find_onex_service(nodes)
        assert service is not None and service.nodes_package == "vault_svc.nodes"

    def test_sibling_contracts_without_any_pyproject(self, tmp_path: Path) -> None:
        nodes = tmp_path / "src" / "pkg" / "nodes"
        (nodes / "node_a_compute").mkdir(parents=True)
        (nodes / "node_a_compute" / "contract.yaml").write_text("name: node_a_compute\n")
        for folder in (nodes, nodes.parent):
            (folder / "__init__.py").write_text("")
        service = find_onex_service(nodes)
        assert service is not None
        assert (service.root, service.nodes_package, service.service) == (tmp_path, "pkg.nodes", "pkg")

    def test_the_service_root_itself_is_refused_with_the_folder_to_use(self, tmp_path: Path) -> None:
        make_service(tmp_path)
        with pytest.raises(InvalidAnswerError, match=r"nodes folder, such as .*src/vault_svc/nodes"):
            NodeGenerator(tmp_path).generate_node("effect", "vault_reader")
        assert files_under(tmp_path) == {
            "pyproject.toml",
            "src/vault_svc/__init__.py",
            "src/vault_svc/nodes/__init__.py",
        }

    def test_outside_a_service_the_stand_alone_package_is_kept(self, tmp_path: Path) -> None:
        result = NodeGenerator(tmp_path).generate_node("compute", "order_totals")
        assert result.plan.meta.get("layout") is None
        assert (tmp_path / "order-totals" / "pyproject.toml").is_file()


class TestLayout:
    @pytest.mark.parametrize("kind", KINDS)
    def test_declarative_layout_and_tests_folder(self, tmp_path: Path, kind: str) -> None:
        nodes = make_service(tmp_path)
        result = NodeGenerator(output_dir=nodes).generate_node(kind, "vault_reader")
        node = f"node_vault_reader_{kind}"
        assert result.project_dir == nodes / node
        created = files_under(tmp_path) - {
            "pyproject.toml",
            "src/vault_svc/__init__.py",
            "src/vault_svc/nodes/__init__.py",
        }
        base = f"src/vault_svc/nodes/{node}"
        expected = {
            f"{base}/__init__.py",
            f"{base}/README.md",
            f"{base}/contract.yaml",
            f"{base}/node.py",
            f"{base}/handlers/__init__.py",
            f"{base}/handlers/handler_vault_reader.py",
            f"{base}/models/__init__.py",
            f"{base}/models/model_vault_reader_input.py",
            f"tests/unit/nodes/{node}/__init__.py",
            f"tests/unit/nodes/{node}/test_{node}_contract.py",
            f"tests/unit/nodes/{node}/test_handler_vault_reader.py",
        }
        extra = {"reducer": {"event", "state"}}.get(kind, {"output"})
        expected |= {f"{base}/models/model_vault_reader_{role}.py" for role in extra}
        assert created == expected
        for path in created:
            if path.endswith(".py"):
                ast.parse((tmp_path / path).read_text(encoding="utf-8"), filename=path)

    @pytest.mark.parametrize("kind", KINDS)
    def test_contract_is_in_the_real_onex_schema(self, tmp_path: Path, kind: str) -> None:
        nodes = make_service(tmp_path)
        NodeGenerator(nodes).generate_node(
            kind, "VaultReader", business_description="Reads secrets 🔐", version="1.2.3"
        )
        node = f"node_vault_reader_{kind}"
        contract = yaml.safe_load((nodes / node / "contract.yaml").read_text(encoding="utf-8"))
        assert contract["name"] == node
        assert contract["node_type"] == f"{kind.upper()}_GENERIC"
        assert contract["contract_version"] == {"major": 1, "minor": 2, "patch": 3}
        assert contract["node_version"] == "1.2.3"
        assert contract["description"] == "Reads secrets 🔐"
        module = f"vault_svc.nodes.{node}"
        for role in ("input_model", "output_model"):
            spec = contract[role]
            assert set(spec) == {"name", "module", "description"}
            file = spec["module"].removeprefix(f"{module}.").replace(".", "/") + ".py"
            assert f"class {spec['name']}(BaseModel)" in (nodes / node / file).read_text(encoding="utf-8")
        assert contract["event_bus"]["subscribe_topics"] == ["onex.cmd.vault-svc.vault-reader.v1"]
        assert contract["event_bus"]["publish_topics"] == ["onex.evt.vault-svc.vault-reader.v1"]
        (route,) = contract["handler_routing"]["handlers"]
        assert route["handler"] == {"name": "HandlerVaultReader", "module": f"{module}.handlers.handler_vault_reader"}
        pure = kind in {"compute", "reducer"}
        assert contract["descriptor"] == {
            "node_archetype": kind,
            "purity": "pure" if pure else "impure",
            "idempotent": pure,
            "timeout_ms": 30000,
        }
        handler = (nodes / node / "handlers" / "handler_vault_reader.py").read_text(encoding="utf-8")
        assert "class HandlerVaultReader:" in handler and "async def handle(self, request:" in handler

    @pytest.mark.parametrize("kind", KINDS)
    def test_node_class_extends_the_archetype_and_holds_no_logic(self, tmp_path: Path, kind: str) -> None:
        nodes = make_service(tmp_path)
        NodeGenerator(nodes).generate_node(kind, "vault_reader")
        source = (nodes / f"node_vault_reader_{kind}" / "node.py").read_text(encoding="utf-8")
        tree = ast.parse(source)
        (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
        archetype = f"Node{kind.title()}"
        assert cls.name == f"NodeVaultReader{kind.title()}"
        (base,) = cls.bases
        if kind in {"compute", "reducer"}:  # generic archetypes, parametrised by the node's input and output models
            assert isinstance(base, ast.Subscript) and isinstance(base.value, ast.Name)
            assert base.value.id == archetype
            output = "State" if kind == "reducer" else "Output"
            assert ast.unparse(base.slice) == f"(ModelVaultReaderInput, ModelVaultReader{output})"
        else:
            assert isinstance(base, ast.Name) and base.id == archetype
        assert f"from omnibase_core.nodes.node_{kind} import {archetype}" in source
        assert [type(n).__name__ for n in cls.body] == ["Expr"], "only a docstring"

    def test_json_plan_names_both_roots(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        out = CliRunner().invoke(
            app, ["node", "effect", "vault_reader", "--output", str(nodes), "--dry-run", "--format", "json"]
        )
        assert out.exit_code == 0, out.output
        plan = json.loads(out.output)
        assert plan["layout"] == "onex" and plan["root"] == str(tmp_path)
        assert plan["node_dir"] == "src/vault_svc/nodes/node_vault_reader_effect"
        assert plan["tests_dir"] == "tests/unit/nodes/node_vault_reader_effect"
        assert {f["action"] for f in plan["files"]} == {"create"}
        assert files_under(tmp_path / "src") == {"vault_svc/__init__.py", "vault_svc/nodes/__init__.py"}
        assert not (tmp_path / "tests").exists()


class TestPlansOverBothRoots:
    def test_a_conflict_in_the_tests_folder_stops_everything(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        mine = tmp_path / "tests" / "unit" / "nodes" / "node_vault_reader_effect" / "__init__.py"
        mine.parent.mkdir(parents=True)
        mine.write_text("# mine\n")
        with pytest.raises(ConflictError, match=r"tests/unit/nodes/node_vault_reader_effect/__init__\.py"):
            NodeGenerator(nodes).generate_node("effect", "vault_reader")
        assert not (nodes / "node_vault_reader_effect").exists()
        assert mine.read_text() == "# mine\n"

    def test_dry_run_with_a_conflict_exits_1_and_writes_nothing(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        existing = nodes / "node_vault_reader_compute" / "node.py"
        existing.parent.mkdir()
        existing.write_text("# mine\n")
        before = files_under(tmp_path)
        out = CliRunner().invoke(app, ["node", "compute", "vault_reader", "--output", str(nodes), "--dry-run"])
        assert out.exit_code == 1, out.output
        assert "conflict" in out.output
        assert files_under(tmp_path) == before

    def test_a_file_where_a_test_folder_should_be_rolls_back_the_node_folder(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        (tmp_path / "tests" / "unit").mkdir(parents=True)
        (tmp_path / "tests" / "unit" / "nodes").write_text("not a folder\n")
        with pytest.raises(WriteError, match="nothing was written"):
            NodeGenerator(nodes).generate_node("effect", "vault_reader")
        assert not (nodes / "node_vault_reader_effect").exists()
        assert files_under(tmp_path / "tests") == {"unit/nodes"}

    def test_bad_names_are_refused_before_anything_is_planned(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        with pytest.raises(InvalidNameError):
            NodeGenerator(nodes).generate_node("effect", "class")
        assert not (tmp_path / "tests").exists()


class TestCheckAndUpdate:
    def test_an_onex_node_is_told_why_check_does_not_apply(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        node = NodeGenerator(nodes).generate_node("compute", "vault_reader").project_dir
        result = CliRunner().invoke(app, ["check", str(node)])
        assert result.exit_code == 2
        assert "ONEX node inside a service keeps no state file" in result.output


class TestOnexAnswers:
    @pytest.mark.parametrize(
        "name", ["vault_reader", "vault_reader_effect", "node_vault_reader_effect", "NodeVaultReader"]
    )
    def test_prefix_and_kind_in_the_name_are_not_doubled(self, tmp_path: Path, name: str) -> None:
        nodes = make_service(tmp_path)
        result = NodeGenerator(nodes).generate_node("effect", name)
        assert result.project_dir == nodes / "node_vault_reader_effect"
        assert "class NodeVaultReaderEffect(NodeEffect)" in (result.project_dir / "node.py").read_text()

    def test_a_new_nodes_folder_gets_an_init_an_existing_one_is_kept(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        (nodes / "__init__.py").write_text("# mine\n", encoding="utf-8")
        NodeGenerator(nodes).generate_node("compute", "a_one")
        assert (nodes / "__init__.py").read_text(encoding="utf-8") == "# mine\n"
        fresh = nodes.parent / "more_nodes"
        NodeGenerator(fresh).generate_node("compute", "a_two")
        assert (fresh / "__init__.py").read_text(encoding="utf-8") == '"""Nodes of vault-svc."""\n'
        NodeGenerator(fresh).generate_node("compute", "a_three")  # the second node finds it: no conflict

    @pytest.mark.parametrize(
        "description",
        ['"""; import os; os.system("x")  #', 'back\\slash " quote', "a\nb\r\nc", "emoji 🔐 and \x00 NUL", "é ✓ '''"],
    )
    def test_hostile_descriptions_stay_text(self, tmp_path: Path, description: str) -> None:
        nodes = make_service(tmp_path)
        for kind in KINDS:
            result = NodeGenerator(nodes).generate_node(kind, f"text_{kind}_probe", business_description=description)
            for file in result.project_dir.rglob("*.py"):
                tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
                assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import) and n.names[0].name == "os"]
            contract = yaml.safe_load((result.project_dir / "contract.yaml").read_text(encoding="utf-8"))
            assert contract["description"] == " ".join(description.split())

    def test_text_that_is_not_utf8_is_refused(self, tmp_path: Path) -> None:
        nodes = make_service(tmp_path)
        with pytest.raises(InvalidAnswerError, match="not UTF-8"):
            NodeGenerator(nodes).generate_node("compute", "bad_text", business_description="caf\udce9")
        with pytest.raises(InvalidAnswerError, match="not UTF-8"):
            NodeGenerator(tmp_path / "alone").generate_node("compute", "bad_text", business_description="caf\udce9")
        assert not (tmp_path / "alone").exists() and not (tmp_path / "tests").exists()
