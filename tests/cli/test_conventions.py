"""Every command of every infra CLI follows the conventions of the CLI kit (infra_models.cli, issue 15).

Walks each CLI's command tree and checks, per command: `--help` works and shows flags without `<bool>`; data
commands have `-f/--format text|json`; file options are `-o/--output`, `-i` means `--input`; a bad option is
exit 2 with one `error:` line on stderr, or the `{"error": {"code", "message", "hint"}}` envelope on stdout under
`--format json`. Per CLI: `--version` prints the installed version, `-q/-v` and shell completion exist.
"""

from __future__ import annotations

import importlib
import json

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from infra_models.cli import InfraGroup

CLIS = {
    "infra-models": "infra_models.cli",
    "infra-gen": "infra_gen.cli",
    "infra-security": "infra_security.cli",
    "infra-outbox": "infra_outbox.cli",
    "infra-readiness": "infra_readiness.cli",
}
# CLIs not yet moved onto the kit (their packages were being changed while the kit landed). Remove a name once its
# CLI is built with make_app: the xfail below is strict, so a migrated CLI left here fails the suite.
NOT_YET_ON_THE_KIT: set[str] = set()
FORBIDDEN_FILE_OPTIONS = {"--out", "--out-dir", "--output-dir", "--outdir", "--dir"}


def load_app(dist: str) -> typer.Typer:
    app = importlib.import_module(CLIS[dist]).app
    assert isinstance(app, typer.Typer)
    return app


def leaf_commands(command, path=()):
    """(path, click command) for every command that runs something, depth first."""
    children = getattr(command, "commands", None)
    if not children:
        yield path, command
        return
    for name, child in sorted(children.items()):
        if not getattr(child, "hidden", False):
            yield from leaf_commands(child, (*path, name))


def kit_cases():
    for dist in CLIS:
        if dist in NOT_YET_ON_THE_KIT:
            continue
        for path, command in leaf_commands(get_command(load_app(dist))):
            yield pytest.param(dist, path, command, id=f"{dist} {' '.join(path)}")


@pytest.mark.parametrize(
    "dist",
    [
        pytest.param(d, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason="CLI not yet on the kit"))
        if d in NOT_YET_ON_THE_KIT
        else d
        for d in CLIS
    ],
)
def test_every_cli_is_built_on_the_kit(dist):
    assert isinstance(get_command(load_app(dist)), InfraGroup)


@pytest.mark.parametrize("dist", [d for d in CLIS if d not in NOT_YET_ON_THE_KIT])
class TestRoot:
    def test_version_is_the_packages_own(self, dist):
        result = CliRunner().invoke(load_app(dist), ["--version"])
        package = importlib.import_module(CLIS[dist].split(".")[0])
        assert (result.exit_code, result.stdout) == (0, f"{dist} {package.__version__}\n")

    def test_shared_root_options(self, dist):
        names = {opt for p in get_command(load_app(dist)).params for opt in p.opts}
        assert {"--version", "-q", "--quiet", "-v", "--verbose", "--install-completion", "--show-completion"} <= names

    def test_help_without_bool_markers(self, dist):
        result = CliRunner().invoke(load_app(dist), ["--help"])
        assert result.exit_code == 0 and "<bool>" not in result.stdout


@pytest.mark.parametrize(("dist", "path", "command"), list(kit_cases()))
class TestEveryCommand:
    def test_help(self, dist, path, command):
        result = CliRunner().invoke(load_app(dist), [*path, "--help"])
        assert result.exit_code == 0, result.output
        assert "<bool>" not in result.stdout and "Traceback" not in result.output

    def test_format_option(self, dist, path, command):
        fmt = next((p for p in command.params if "--format" in p.opts), None)
        assert fmt is not None, f"`{dist} {' '.join(path)}` has no --format"
        assert "-f" in fmt.opts
        shown = CliRunner().invoke(load_app(dist), [*path, "--help"]).stdout
        assert "text|json" in shown.replace(" ", ""), "--format offers text and json"
        refused = CliRunner().invoke(load_app(dist), [*path, "-f", "xml"])
        assert refused.exit_code == 2 and "xml" in refused.stderr

    def test_option_names(self, dist, path, command):
        shown = [p for p in command.params if not getattr(p, "hidden", False)]  # hidden: deprecated spellings
        opts = {opt for p in shown for opt in [*p.opts, *getattr(p, "secondary_opts", [])]}
        assert not opts & FORBIDDEN_FILE_OPTIONS, f"use -o/--output, not {sorted(opts & FORBIDDEN_FILE_OPTIONS)}"
        for param in shown:
            if "-i" in param.opts:
                assert "--input" in param.opts
            if "-o" in param.opts:
                assert "--output" in param.opts
            if "-f" in param.opts:
                assert "--format" in param.opts
            assert not {"-q", "-v"} & set(param.opts), "-q/-v belong to the root"

    def test_bad_option_text(self, dist, path, command):
        result = CliRunner().invoke(load_app(dist), [*path, "--no-such-option"])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1

    def test_bad_option_json(self, dist, path, command):
        result = CliRunner().invoke(load_app(dist), [*path, "--no-such-option", "-f", "json"])
        assert result.exit_code == 2
        assert result.stderr == ""
        error = json.loads(result.stdout)["error"]
        assert set(error) >= {"code", "message", "hint"} and error["code"] == "usage"
        assert "--no-such-option" in error["message"]
