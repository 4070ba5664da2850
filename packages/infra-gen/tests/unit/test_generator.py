"""Generation: golden trees per kind, the original API, workspaces, contracts, templates (CRLF, binary, hooks)."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from infra_gen.errors import InvalidAnswerError, TemplateError
from infra_gen.generator import BUILTIN_TEMPLATES, NodeGenerator, template_roots
from infra_gen.render import render_templates
from infra_models import NodeContract, NodeKind, load_contract

GOLDEN = Path(__file__).parents[1] / "golden"
sys.path.insert(0, str(GOLDEN))
from regenerate import CASES  # noqa: E402

CACHES = {"__pycache__", ".ruff_cache", ".pytest_cache", ".mypy_cache", ".hypothesis"}


def tree(root: Path) -> dict[str, bytes]:
    """Files under ``root`` by relative path, tool caches left out."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not CACHES & set(p.relative_to(root).parts)
    }


class TestGolden:
    @pytest.mark.parametrize("kind", sorted(CASES))
    def test_matches_golden_tree(self, tmp_path: Path, kind: str) -> None:
        name, description, external = CASES[kind]
        result = NodeGenerator(tmp_path).generate_node(
            kind, name, business_description=description, external_system=external
        )
        assert tree(result.project_dir) == tree(GOLDEN / kind), (
            "generated tree differs from tests/golden; if the template change is deliberate, run "
            "`python packages/infra-gen/tests/golden/regenerate.py` and review the diff"
        )

    @pytest.mark.parametrize("kind", sorted(CASES))
    def test_generated_python_parses_and_contract_validates(self, kind: str) -> None:
        for path, content in tree(GOLDEN / kind).items():
            if path.endswith(".py"):
                ast.parse(content, filename=path)
        name = CASES[kind][0]
        contract = load_contract(GOLDEN / kind / "src" / name / "contract.yaml")
        assert contract.kind is NodeKind(kind)


class TestOriginalApi:
    def test_documented_call_works_as_written(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.chdir(tmp_path)
        generator = NodeGenerator(output_dir=".")
        result = generator.generate_node(
            node_type="effect",
            domain="infrastructure",
            microservice_name="vault_adapter",
            business_description="HashiCorp Vault secret management",
            external_system="HashiCorp Vault",
        )
        contract = load_contract(tmp_path / "vault-adapter" / "src" / "vault_adapter" / "contract.yaml")
        assert result.project_dir == Path("vault-adapter")
        assert contract.external_systems[0].name == "HashiCorp Vault"
        assert contract.timeouts is not None and contract.retry_policy is not None
        assert contract.circuit_breaker is not None

    def test_external_system_only_for_effects(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidAnswerError, match="EFFECT"):
            NodeGenerator(tmp_path).generate_node("compute", "x_node", external_system="Redis")
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize("description", ['"""; import os; os.system("x")  #', 'back\\slash " quote', "a\nb\r\nc"])
    def test_hostile_descriptions_stay_text(self, tmp_path: Path, description: str) -> None:
        result = NodeGenerator(tmp_path).generate_node("effect", "vault_adapter", business_description=description)
        for path in result.project_dir.rglob("*.py"):
            module = ast.parse(path.read_text(), filename=str(path))
            assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in ast.walk(module))
        contract = load_contract(result.project_dir / "src" / "vault_adapter" / "contract.yaml")
        assert contract.description == description


class TestWorkspace:
    def test_node_lands_as_a_member_package(self, tmp_path: Path) -> None:
        root = Path(__file__).parents[4]
        if not (root / "hatch.toml").is_file():
            pytest.skip("copies this repository's hatch.toml: not in an unpacked sdist")
        shutil.copy(root / "hatch.toml", tmp_path / "hatch.toml")
        result = NodeGenerator(tmp_path).generate_node("reducer", "ledger_totals")
        assert result.project_dir == tmp_path / "packages" / "ledger-totals"
        assert (result.project_dir / "src" / "ledger_totals" / "node.py").is_file()
        text = (tmp_path / "hatch.toml").read_text()
        import tomllib

        members = tomllib.loads(text)["envs"]["default"]["workspace"]["members"]
        assert {"path": "packages/ledger-totals"} in members
        before = tomllib.loads((root / "hatch.toml").read_text())["envs"]["default"]["workspace"]["members"]
        assert members == [*before, {"path": "packages/ledger-totals"}]  # the others kept exactly, features included
        again = NodeGenerator(tmp_path).plan_node("reducer", "ledger_totals")
        assert "hatch.toml" not in {f.path for f in again.writes}

    def test_node_follows_this_repositorys_member_conventions(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root = Path(__file__).parents[4]
        spec = importlib.util.spec_from_file_location("_workspace_tool", root / "tools" / "workspace.py")
        if spec is None or spec.loader is None or not (root / "tools" / "workspace.py").is_file():
            pytest.skip("tools/workspace.py is not in this checkout")
        tool = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, tool)  # dataclasses look their module up while built
        spec.loader.exec_module(tool)
        shutil.copy(root / "hatch.toml", tmp_path / "hatch.toml")
        result = NodeGenerator(tmp_path).generate_node("compute", "ledger_totals", version="0.3.0")
        package = tool.load_package(result.project_dir)
        assert (package.dist, package.import_name, package.version) == ("ledger-totals", "ledger_totals", "0.3.0")
        assert (result.project_dir / "CHANGELOG.md").read_text().count("## Unreleased") == 1
        assert "ledger-totals" in tool.registered_members(tmp_path)

    @pytest.mark.parametrize(
        ("members", "entry"),
        [
            ('workspace.members = ["packages/a", "packages/b"]', '"packages/new-node"'),
            ('workspace.members = [\n  { path = "packages/a" }\n]', '{ path = "packages/new-node" }'),
            ("workspace.members = []", '{ path = "packages/new-node" }'),
        ],
    )
    def test_member_styles(self, tmp_path: Path, members: str, entry: str) -> None:
        import tomllib

        (tmp_path / "hatch.toml").write_text(f"[envs.default]\n{members}\n\n[envs.default.scripts]\nx = 'y'\n")
        NodeGenerator(tmp_path).generate_node("compute", "new_node")
        text = (tmp_path / "hatch.toml").read_text()
        assert entry in text
        data = tomllib.loads(text)
        assert data["envs"]["default"]["scripts"] == {"x": "y"}
        listed = data["envs"]["default"]["workspace"]["members"]
        assert "packages/new-node" in [m if isinstance(m, str) else m["path"] for m in listed]


class TestFromContract:
    def test_extra_optional_fields_and_steps(self, tmp_path: Path) -> None:
        contract = NodeContract.model_validate(
            {
                "name": "checkout_saga",
                "kind": "ORCHESTRATOR",
                "version": "1.2.0",
                "input_model": {
                    "name": "CheckoutSagaInput",
                    "fields": [{"name": "coupon", "type": "str", "required": False}],
                },
                "output_model": {"name": "CheckoutSagaOutput"},
                "steps": [{"name": "reserve_stock", "timeout_seconds": 2}, {"name": "charge_card"}],
            }
        )
        result = NodeGenerator(tmp_path).generate_from_contract(contract)
        node_dir = result.project_dir / "src" / "checkout_saga"
        written = load_contract(node_dir / "contract.yaml")
        assert [s.name for s in written.steps] == ["reserve_stock", "charge_card"]
        assert "coupon: str | None" in (node_dir / "models" / "model_checkout_saga_input.py").read_text()
        handler = (node_dir / "handler.py").read_text()
        assert "async def step_reserve_stock" in handler and "async def compensate_charge_card" in handler

    def test_required_extra_field_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text(
            yaml.safe_dump(
                {
                    "name": "order_totals",
                    "kind": "COMPUTE",
                    "version": "0.1.0",
                    "input_model": {"name": "OrderTotalsInput", "fields": [{"name": "currency", "type": "str"}]},
                    "output_model": {"name": "OrderTotalsOutput"},
                }
            )
        )
        with pytest.raises(InvalidAnswerError, match=r"`currency`.*required: false"):
            NodeGenerator(tmp_path / "out").generate_from_contract(path)
        assert not (tmp_path / "out").exists()

    @pytest.mark.parametrize("type_", ["os.system('x')", "__import__('os')", "Foo"])
    def test_unsafe_field_types_are_refused(self, tmp_path: Path, type_: str) -> None:
        contract = NodeContract.model_validate(
            {
                "name": "order_totals",
                "kind": "COMPUTE",
                "version": "0.1.0",
                "input_model": {
                    "name": "OrderTotalsInput",
                    "fields": [{"name": "x", "type": type_, "required": False}],
                },
                "output_model": {"name": "OrderTotalsOutput"},
            }
        )
        with pytest.raises(InvalidAnswerError, match="field `x`"):
            NodeGenerator(tmp_path).generate_from_contract(contract)


def make_template(root: Path) -> Path:
    (root / "{{cookiecutter.project_dir}}").mkdir(parents=True)
    (root / "cookiecutter.json").write_text('{"project_dir": "demo"}')
    return root


class TestTemplates:
    def test_crlf_template_renders_crlf_and_binary_is_copied_verbatim(self, tmp_path: Path) -> None:
        root = make_template(tmp_path / "t")
        top = root / "{{cookiecutter.project_dir}}"
        (top / "run.bat.jinja").write_bytes(b"@echo {{ cookiecutter.project_dir }}\r\nexit /b 0\r\n")
        png = b"\x89PNG\r\n\x1a\n\x00\x00{{ not a template }}\xff"
        (top / "logo.png").write_bytes(png)
        (top / "unix.sh.jinja").write_bytes(b"echo {{ cookiecutter.project_dir }}\n")
        files = render_templates([root], {"project_dir": "demo"})
        assert files["demo/run.bat"].content == b"@echo demo\r\nexit /b 0\r\n"
        assert files["demo/logo.png"].content == png
        assert files["demo/unix.sh"].content == b"echo demo\n"

    def test_template_with_hooks_is_refused_and_never_run(self, tmp_path: Path) -> None:
        root = make_template(tmp_path / "t")
        (root / "hooks").mkdir()
        marker = tmp_path / "hook-ran"
        (root / "hooks" / "pre_gen_project.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
        with pytest.raises(TemplateError, match="never runs template code"):
            render_templates([root], {"project_dir": "demo"})
        assert not marker.exists()

    def test_rendered_path_cannot_escape(self, tmp_path: Path) -> None:
        from infra_gen.errors import UnsafePathError

        root = make_template(tmp_path / "t")
        (root / "{{cookiecutter.project_dir}}" / "{{cookiecutter.name}}.txt").write_text("x")
        with pytest.raises(UnsafePathError):
            render_templates([root], {"project_dir": "demo", "name": "../../etc/x"})

    def test_template_files_are_not_python_modules(self) -> None:
        assert not list(BUILTIN_TEMPLATES.rglob("*.py")), "template .py files need the .jinja suffix"

    @pytest.mark.skipif(importlib.util.find_spec("cookiecutter") is None, reason="needs infra-gen[compat]")
    @pytest.mark.parametrize("kind", sorted(CASES))
    def test_plain_cookiecutter_renders_the_same_files(self, tmp_path: Path, kind: str) -> None:
        from cookiecutter.main import cookiecutter

        from infra_gen.answers import build_contract, template_context

        name, description, external = CASES[kind]
        context = template_context(build_contract(kind, name, description=description, external_system=external))
        merged = tmp_path / "template"
        for root in template_roots(NodeKind(kind)):
            shutil.copytree(root, merged, dirs_exist_ok=True)
        out = Path(cookiecutter(str(merged), no_input=True, extra_context=context, output_dir=str(tmp_path / "cc")))
        ours = {k: v for k, v in tree(GOLDEN / kind).items() if k != ".infra-gen.json"}
        theirs = {k.removesuffix(".jinja"): v for k, v in tree(out).items()}
        assert theirs == ours
