"""The CLI answers --version and --help."""

from __future__ import annotations

from typer.testing import CliRunner

from infra_security.__about__ import __version__
from infra_security.cli._app import app


class TestCli:
    def test_version(self) -> None:
        result = CliRunner().invoke(app, ["--version"])
        assert result.exit_code == 0
        assert result.output.strip() == "infra-security " + __version__

    def test_no_args_shows_help(self) -> None:
        result = CliRunner().invoke(app, [])
        assert "Usage" in result.output
