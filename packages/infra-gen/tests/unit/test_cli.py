"""The CLI: exit codes (0 ok, 1 findings, 2 bad input), --dry-run, --format json, hostile names write nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infra_gen.__about__ import __version__
from infra_gen.cli import app

runner = CliRunner()


def files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


class TestBasics:
    def test_version(self) -> None:
        result = runner.invoke(app, ["--version"])
        assert result.exit_code == 0
        assert result.output.strip() == "infra-gen " + __version__

    def test_no_args_shows_help(self) -> None:
        result = runner.invoke(app, [])
        assert "Usage" in result.output

    def test_kinds_json(self) -> None:
        result = runner.invoke(app, ["kinds", "--format", "json"])
        assert result.exit_code == 0
        assert [k["kind"] for k in json.loads(result.output)] == ["effect", "compute", "reducer", "orchestrator"]

    def test_help_does_not_import_jinja_or_cookiecutter(self) -> None:
        code = (
            "import sys; from infra_gen.cli import app; import infra_gen; "
            "print(any(m.split('.')[0] in {'jinja2', 'cookiecutter', 'merge3', 'rich'} for m in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "False"


class TestNode:
    def test_generates(self, tmp_path: Path) -> None:
        result = runner.invoke(
            app, ["node", "effect", "VaultAdapter", "--external-system", "HashiCorp Vault", "-o", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        assert (tmp_path / "vault-adapter" / "src" / "vault_adapter" / "node.py").is_file()

    def test_dry_run_json_writes_nothing(self, tmp_path: Path) -> None:
        result = runner.invoke(
            app, ["node", "compute", "order_totals", "-o", str(tmp_path), "--dry-run", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        plan = json.loads(result.output)
        assert plan["dry_run"] is True and plan["counts"]["create"] == len(plan["files"])
        assert all(len(f["sha256"]) == 64 for f in plan["files"])
        assert files(tmp_path) == []

    @pytest.mark.parametrize(
        "name", ["../evil", "a/b", "..", "class", "1node", "", "x" * 80, "name;rm -rf", "json", "nöde", "/abs"]
    )
    def test_hostile_names_exit_2_and_write_nothing(self, tmp_path: Path, name: str) -> None:
        result = runner.invoke(app, ["node", "compute", name, "-o", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert "invalid node name" in result.output
        assert "Traceback" not in result.output
        assert files(tmp_path) == []

    def test_prompts_again_until_the_name_is_valid(self, tmp_path: Path) -> None:
        # "class" is refused and "class_node" proposed; an empty answer takes the proposal.
        args = ["node", "compute", "--interactive", "-o", str(tmp_path)]
        result = runner.invoke(app, args, input="class\n\nSums things\n")
        assert result.exit_code == 0, result.output
        assert "Python keyword" in result.output
        assert (tmp_path / "class-node" / "src" / "class_node" / "node.py").is_file()
        assert "Sums things" in (tmp_path / "class-node" / "README.md").read_text()

    def test_missing_name_without_a_terminal_exits_2(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["node", "compute", "-o", str(tmp_path)])
        assert result.exit_code == 2
        assert "missing NAME" in result.output
        assert files(tmp_path) == []

    def test_unknown_kind_exits_2(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["node", "sidecar", "x_node", "-o", str(tmp_path)])
        assert result.exit_code == 2
        assert files(tmp_path) == []

    def test_bad_domain_exits_2_with_the_field(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["node", "compute", "x_node", "--domain", "Bad Domain", "-o", str(tmp_path)])
        assert result.exit_code == 2
        assert "domain" in result.output
        assert files(tmp_path) == []

    def test_conflict_exits_1_and_keeps_the_file(self, tmp_path: Path) -> None:
        assert runner.invoke(app, ["node", "compute", "x_node", "-o", str(tmp_path)]).exit_code == 0
        readme = tmp_path / "x-node" / "README.md"
        readme.write_text("mine\n")
        result = runner.invoke(app, ["node", "compute", "x_node", "-o", str(tmp_path), "--description", "other"])
        assert result.exit_code == 1
        assert "nothing was written" in result.output
        assert readme.read_text() == "mine\n"
        skip = runner.invoke(app, ["node", "compute", "x_node", "-o", str(tmp_path), "--on-conflict", "skip"])
        assert skip.exit_code == 0 and readme.read_text() == "mine\n"


class TestFromContract:
    def test_generates_from_a_contract_file(self, tmp_path: Path) -> None:
        contract = tmp_path / "contract.yaml"
        contract.write_text(
            "name: ledger\nkind: reducer\nversion: 0.2.0\n"
            "input_model: {name: LedgerInput}\noutput_model: {name: LedgerOutput}\n"
        )
        result = runner.invoke(app, ["from-contract", str(contract), "-o", str(tmp_path / "out")])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "out" / "ledger" / "src" / "ledger" / "node.py").is_file()

    def test_invalid_contract_names_the_line(self, tmp_path: Path) -> None:
        contract = tmp_path / "contract.yaml"
        contract.write_text("name: ledger\nkind: sidecar\nversion: 0.2.0\n")
        result = runner.invoke(app, ["from-contract", str(contract), "-o", str(tmp_path / "out")])
        assert result.exit_code == 2
        assert "contract.yaml:2" in result.output
        assert not (tmp_path / "out").exists()


class TestCheckUpdate:
    def test_check_and_update_exit_codes(self, tmp_path: Path) -> None:
        assert runner.invoke(app, ["node", "compute", "x_node", "-o", str(tmp_path)]).exit_code == 0
        node = tmp_path / "x-node"
        check = runner.invoke(app, ["check", str(node), "--format", "json"])
        assert check.exit_code == 0 and json.loads(check.output)["up_to_date"] is True
        update = runner.invoke(app, ["update", str(node), "--format", "json"])
        assert update.exit_code == 0, update.output
        assert json.loads(update.output)["conflicts"] == []

    def test_check_of_a_plain_folder_exits_2(self, tmp_path: Path) -> None:
        result = runner.invoke(app, ["check", str(tmp_path)])
        assert result.exit_code == 2
        assert ".infra-gen.json" in result.output


def test_update_conflict_exits_1_and_check_reports_the_markers(tmp_path: Path) -> None:
    import shutil

    from infra_gen.generator import BUILTIN_TEMPLATES

    templates = tmp_path / "t"
    shutil.copytree(BUILTIN_TEMPLATES, templates)
    common = ["-o", str(tmp_path / "out"), "--template-dir", str(templates)]
    assert runner.invoke(app, ["node", "compute", "x_node", *common]).exit_code == 0
    node = tmp_path / "out" / "x-node"
    handler = node / "src" / "x_node" / "handler.py"
    handler.write_text(handler.read_text().replace("Edit this.", "Edit this, user."))
    jinja = templates / "compute/{{cookiecutter.project_dir}}/src/{{cookiecutter.package_name}}/handler.py.jinja"
    jinja.write_text(jinja.read_text().replace("Edit this.", "Edit this, template."))
    update = runner.invoke(app, ["update", str(node), "--template-dir", str(templates)])
    assert update.exit_code == 1, update.output
    assert "1 conflict(s)" in update.output
    check = runner.invoke(app, ["check", str(node), "--template-dir", str(templates), "--format", "json"])
    assert check.exit_code == 1
    report = json.loads(check.output)
    assert report["up_to_date"] is True and report["unresolved"] == ["src/x_node/handler.py"]
