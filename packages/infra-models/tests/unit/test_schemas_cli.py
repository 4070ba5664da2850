"""The committed JSON Schemas are current, and the CLI writes and validates."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from infra_models.__about__ import __version__
from infra_models.cli import app
from infra_models.schema import PUBLIC_MODELS, render_schemas

COMMITTED = Path(__file__).resolve().parents[2] / "schemas"


class TestSchemas:
    def test_committed_schemas_are_current(self) -> None:
        if not COMMITTED.is_dir():  # installed from a wheel: the schemas folder ships in the sdist only
            return
        rendered = render_schemas()
        on_disk = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.schema.json")}
        stale = sorted(name for name in rendered if on_disk.get(name) != rendered[name])
        extra = sorted(set(on_disk) - set(rendered))
        assert not stale and not extra, (
            f"stale {stale}, extra {extra}: run `infra-models schema --out packages/infra-models/schemas`"
        )

    def test_every_public_model_has_a_schema(self) -> None:
        assert set(render_schemas()) == {f"{name}.schema.json" for name in PUBLIC_MODELS}


class TestCli:
    def test_version(self) -> None:
        result = CliRunner().invoke(app, ["--version"])
        assert result.exit_code == 0 and result.output.strip() == f"infra-models {__version__}"

    def test_schema_out_writes_files(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(app, ["schema", "-o", str(tmp_path), "--format", "json"])
        assert result.exit_code == 0, result.output
        written = json.loads(result.output)
        assert len(written) == len(PUBLIC_MODELS)
        schema = json.loads((tmp_path / "NodeContract.schema.json").read_text())
        assert schema["title"] == "NodeContract"

    def test_validate_ok_and_invalid(self, tmp_path: Path) -> None:
        good = tmp_path / "good.yaml"
        good.write_text(
            "name: adder\nkind: COMPUTE\nversion: 0.1.0\ninput_model: {name: AdderInput}\n"
            "output_model: {name: AdderOutput}\n"
        )
        result = CliRunner().invoke(app, ["validate", str(good)])
        assert result.exit_code == 0 and "valid: adder (COMPUTE 0.1.0)" in result.output
        bad = tmp_path / "bad.yaml"
        bad.write_text(good.read_text().replace("0.1.0", "x"))
        result = CliRunner().invoke(app, ["validate", str(bad), "--format", "json"])
        assert result.exit_code == 1
        assert json.loads(result.output)["error"]["details"]["problems"][0]["line"] == 3

    def test_missing_file_is_usage_error(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(app, ["validate", str(tmp_path / "none.yaml")])
        assert result.exit_code == 2
        assert "Traceback" not in result.output

    def test_validate_real_onex_contract(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text(
            "name: node_sum_compute\nnode_type: COMPUTE_GENERIC\ncontract_version: {major: 1, minor: 0, patch: 2}\n"
            "input_model: {name: ModelSumInput, module: svc.models}\ncapabilities: [sum]\n"
        )
        result = CliRunner().invoke(app, ["validate", str(path)])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == (
            "valid: node_sum_compute (ONEX contract, node_type COMPUTE_GENERIC, kind COMPUTE, version 1.0.2)"
        )
        result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
        report = json.loads(result.output)
        assert result.exit_code == 0
        assert (report["valid"], report["format"], report["kind"], report["name"]) == (
            True,
            "onex",
            "COMPUTE",
            "node_sum_compute",
        )
        assert report["contract"]["capabilities"] == ["sum"]
        assert report["contract"]["input_model"]["module"] == "svc.models"

    def test_validate_other_node_type_reports_other(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text("name: host\nnode_type: RUNTIME_HOST_GENERIC\n")
        result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
        assert result.exit_code == 0 and json.loads(result.output)["kind"] is None
        assert "kind other" in CliRunner().invoke(app, ["validate", str(path)]).output

    def test_invalid_onex_contract_exits_1_naming_line_and_field(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text("name: n\nnode_type: effect\nnode_version: one\n")
        result = CliRunner().invoke(app, ["validate", str(path)])
        assert result.exit_code == 1
        assert f"{path}:3: field `node_version`" in result.output

    def test_yaml_that_is_not_a_node_contract(self, tmp_path: Path) -> None:
        path = tmp_path / "ticket.yaml"
        path.write_text("ticket_id: OMN-1\nsummary: a ticket contract\n")
        result = CliRunner().invoke(app, ["validate", str(path)])
        assert result.exit_code == 1
        assert "not a node contract: it has neither `node_type`" in result.output

    def test_bad_format(self) -> None:
        assert CliRunner().invoke(app, ["schema", "--format", "xml"]).exit_code == 2


def test_the_deprecated_out_spelling_still_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schema", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "NodeContract.schema.json").is_file()
    shown = CliRunner().invoke(app, ["schema", "--help"]).stdout
    assert re.search(r"--out(?!put)", shown) is None  # hidden: -o/--output is the name
