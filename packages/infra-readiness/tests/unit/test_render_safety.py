"""SARIF locations that exist and are valid URIs, absolute help links, and output safe from hostile file names."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
from typer.testing import CliRunner

from infra_readiness import check_path, load_checks
from infra_readiness.cli import app
from infra_readiness.render._safe import safe_text
from infra_readiness.render.markdown import render_markdown
from infra_readiness.render.sarif import DOCS_BASE, render_sarif
from infra_readiness.testing import write_node

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "sarif-schema-2.1.0.json").read_text())
TODAY = "--today=2026-11-28"


def _src_layout_node(parent: Path, folder: str) -> Path:
    """A node whose contract lives in its package (src/<pkg>/contract.yaml), with a secret in a hostile file name."""
    root = parent / folder
    package = root / "src" / "weird_node"
    package.mkdir(parents=True)
    (package / "contract.yaml").write_text(
        "name: weird_node\nkind: COMPUTE\nversion: 0.1.0\ninput_model: {name: In}\noutput_model: {name: Out}\n"
    )
    (package / "__init__.py").write_text('"""weird_node."""\n')
    (package / "my conf #1 %.py").write_text('PASSWORD = "Zq8#vT2m!pL9xR4w"\n')  # pragma: allowlist secret
    (root / "pyproject.toml").write_text('[project]\nname = "weird-node"\nversion = "0.1.0"\n')
    return root


class TestSarifLocations:
    def test_every_location_exists_and_is_a_percent_encoded_uri(self, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        _src_layout_node(tmp_path, "my node")
        report = check_path("my node", today=None)
        log = render_sarif([report], load_checks())
        jsonschema.Draft4Validator(SCHEMA).validate(log)
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]]
        assert uris, "the node has findings"
        for uri in uris:
            assert " " not in uri and "#" not in uri
            assert (tmp_path / unquote(uri)).exists(), uri
        assert "my%20node/src/weird_node/my%20conf%20%231%20%25.py" in uris

    def test_absolute_node_path_gives_file_uris(self, tmp_path):
        root = _src_layout_node(tmp_path, "abs")
        log = render_sarif([check_path(root)], load_checks())
        for result in log["runs"][0]["results"]:
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            parsed = urlsplit(uri)
            assert parsed.scheme == "file"
            assert Path(unquote(parsed.path)).exists(), uri

    def test_help_uris_are_absolute(self):
        log = render_sarif([], load_checks())
        rules = log["runs"][0]["tool"]["driver"]["rules"]
        assert rules
        for rule in rules:
            parsed = urlsplit(rule["helpUri"])
            assert parsed.scheme == "https" and parsed.netloc, rule["helpUri"]
        sec = next(r for r in rules if r["id"] == "SEC-001")
        assert sec["helpUri"] == DOCS_BASE + "docs/infra-readiness.md#sec-001"


class TestHostileNames:
    NAME = "evil\x1b]0;pwned\x07\x1b[2J.py"

    def test_safe_text_shows_control_characters(self):
        assert safe_text(self.NAME) == "evil\\x1b]0;pwned\\x07\\x1b[2J.py"
        assert safe_text("tab\tand é stay") == "tab\tand é stay"

    @pytest.mark.parametrize("fmt", ["text", "markdown"])
    def test_escape_sequences_in_file_names_are_printed_escaped(self, tmp_path, monkeypatch, fmt):
        monkeypatch.chdir(tmp_path)
        root = write_node(tmp_path, "hostile", "COMPUTE")
        token = 'TOKEN = "ghp_Zq8vT2mpL9xR4wKa7bN3cD5eF1gH6iJ0kLmN"\n'  # pragma: allowlist secret
        (root / "src" / "hostile" / self.NAME).write_text(token)
        result = CliRunner().invoke(app, ["check", "hostile", "-f", fmt, TODAY])
        assert "\x1b" not in result.output and "\x07" not in result.output
        if fmt == "markdown":
            assert "\\x1b" in result.output

    def test_markdown_cells_keep_one_line(self, tmp_path):
        root = write_node(tmp_path, "cells", "COMPUTE")
        report = check_path(root)
        text = render_markdown([report.model_copy(update={"name": "a|b\nc"})])
        assert "### a\\|b c" in text


def test_below_floor_and_error_lines_escape_control_characters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = "evil\x1b[2Jnode"
    write_node(tmp_path, "plain", "COMPUTE").rename(tmp_path / name)
    result = CliRunner().invoke(app, ["check", name, "--min-level", "PRODUCTION", "-f", "json", TODAY])
    assert result.exit_code == 1
    assert "below PRODUCTION: evil\\x1b[2Jnode" in result.stderr
    missing = CliRunner().invoke(app, ["check", "gone\x1b]0;x\x07", TODAY])
    assert missing.exit_code == 2
    assert "\x1b" not in missing.stderr and "\\x1b]0;x\\x07" in missing.stderr
