"""infra_models.cli: the conventions every infra CLI gets from the kit, tried on a small app built with it."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from infra_models.cli import (
    CliError,
    ExitCode,
    FormatOption,
    OutputFileOption,
    OutputFormat,
    console,
    emit,
    make_app,
    report_error,
    wants_json,
)
from infra_models.errors import ContractError


def build_app() -> typer.Typer:
    app = make_app("demo", "1.2.3", help="A demo CLI.")

    @app.command()
    def show(
        fmt: FormatOption = OutputFormat.TEXT,
        output: OutputFileOption = None,
        count: Annotated[int, typer.Option(help="How many.")] = 1,
    ) -> None:
        """Print data."""
        logging.getLogger("demo").info("showing %d", count)
        emit({"count": count}, fmt, text=f"count: {count}", output=output)

    @app.command()
    def fail(
        kind: Annotated[str, typer.Argument(help="usage, infra, finding or crash")],
        fmt: FormatOption = OutputFormat.TEXT,
    ) -> None:
        """Fail in one of the expected ways."""
        if kind == "usage":
            raise CliError("bad value\nsecond line", code="demo.bad", hint="pass a good one")
        if kind == "infra":
            raise ContractError("the contract is broken", code="contract.yaml")
        if kind == "finding":
            emit({"ok": False}, fmt, text="found a problem")
            raise typer.Exit(ExitCode.FINDINGS)
        raise RuntimeError("a bug")

    @app.command()
    def wide(fmt: FormatOption = OutputFormat.TEXT) -> None:
        """Print a wide table."""
        from rich.table import Table

        table = Table("name", "value")
        table.add_row("long", "x" * 300)
        console().print(table)

    return app


@pytest.fixture
def run():
    app = build_app()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


class TestWantsJson:
    @pytest.mark.parametrize(
        "argv",
        [
            ["-f", "json"],
            ["--format", "json"],
            ["--format=json"],
            ["-fjson"],
            ["x", "-f", "JSON"],
            ["--format", "Json"],
        ],
    )
    def test_json_is_seen_in_every_spelling(self, argv):
        assert wants_json(argv)

    @pytest.mark.parametrize("argv", [[], ["-f", "text"], ["-f"], ["--", "-f", "json"], ["--output", "json"]])
    def test_other_arguments_are_not_json(self, argv):
        assert not wants_json(argv)

    @given(st.lists(st.sampled_from(["-f", "text", "x", "-o", "--", "--format=text"]), max_size=6))
    def test_never_json_without_the_word(self, argv):
        assert not wants_json(argv)


class TestSuccess:
    def test_version(self, run):
        result = run("--version")
        assert (result.exit_code, result.stdout) == (0, "demo 1.2.3\n")

    def test_text_and_json(self, run):
        assert run("show", "--count", "3").stdout == "count: 3\n"
        result = run("show", "-f", "json", "--count", "3")
        assert result.exit_code == 0 and json.loads(result.stdout) == {"count": 3}

    def test_output_file_is_written_whole(self, run, tmp_path):
        target = tmp_path / "out.json"
        result = run("show", "-f", "json", "-o", str(target))
        assert result.exit_code == 0 and result.stdout == ""
        assert json.loads(target.read_text()) == {"count": 1}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left

    def test_unwritable_output_is_a_usage_error_in_json(self, run, tmp_path):
        result = run("show", "-f", "json", "-o", str(tmp_path / "missing" / "out.json"))
        assert result.exit_code == 2
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "output.unwritable" and "missing" in error["message"] and error["hint"]

    def test_help_shows_flags_without_a_type_and_offers_completion(self, run):
        text = run("--help").stdout
        assert "<bool>" not in text
        assert "--install-completion" in text and "--version" in text
        assert "-q" in text and "-v" in text
        assert "<bool>" not in run("show", "--help").stdout


class TestErrors:
    def test_cli_error_json_envelope_on_stdout_only(self, run):
        result = run("fail", "usage", "-f", "json")
        assert result.exit_code == 2
        assert json.loads(result.stdout) == {
            "error": {"code": "demo.bad", "message": "bad value\nsecond line", "hint": "pass a good one"}
        }
        assert result.stderr == ""

    def test_cli_error_text_is_one_line_on_stderr(self, run):
        result = run("fail", "usage")
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr == "error: bad value; second line (hint: pass a good one)\n"

    def test_infra_error_keeps_its_code(self, run):
        result = run("fail", "infra", "--format=json")
        assert result.exit_code == 2
        assert json.loads(result.stdout)["error"]["code"] == "contract.yaml"
        assert run("fail", "infra").stderr.startswith("error: the contract is broken")

    def test_finding_is_data_and_exit_1(self, run):
        result = run("fail", "finding", "-f", "json")
        assert result.exit_code == 1 and json.loads(result.stdout) == {"ok": False}

    @pytest.mark.parametrize(
        "argv",
        [
            ["show", "--nope"],
            ["show", "--count", "many"],
            ["show", "-f", "xml"],
            ["fail"],
            ["nosuchcommand"],
        ],
    )
    def test_usage_errors_exit_2_in_either_format(self, run, argv):
        text = run(*argv)
        assert text.exit_code == 2 and text.stdout == "" and "Traceback" not in text.stderr
        assert text.stderr.startswith("error: ") and text.stderr.count("\n") == 1
        as_json = run(*argv, "-f", "json") if "-f" not in argv else run(*argv[:-2], "-f", "json", argv[-2], argv[-1])
        assert as_json.exit_code == 2
        envelope = json.loads(as_json.stdout)
        assert set(envelope["error"]) >= {"code", "message", "hint"}
        assert envelope["error"]["code"] == "usage" and "--help" in envelope["error"]["hint"]

    def test_a_group_without_a_command_shows_its_help_not_an_error(self):
        app = build_app()
        group = typer.Typer(no_args_is_help=True)

        @group.command()
        def one() -> None:
            """First."""

        @group.command()
        def two() -> None:
            """Second."""

        app.add_typer(group, name="grp", help="A group.")
        for argv in ([], ["grp"]):
            result = CliRunner().invoke(app, argv)
            assert result.exit_code == 2  # click's answer to a missing command
            assert "Usage" in result.stdout + result.stderr
            assert "error:" not in result.stdout + result.stderr

    def test_quiet_and_verbose_together_is_a_usage_error(self, run):
        result = run("-q", "-v", "show")
        assert result.exit_code == 2 and "contradict" in result.stderr

    def test_a_bug_still_raises(self, run):
        result = run("fail", "crash")
        assert result.exit_code == 1 and isinstance(result.exception, RuntimeError)


class TestLogging:
    @pytest.mark.parametrize(
        ("flags", "level"), [([], "WARNING"), (["-v"], "INFO"), (["-vv"], "DEBUG"), (["-q"], "ERROR")]
    )
    def test_flags_set_the_root_level(self, run, flags, level):
        assert run(*flags, "show").exit_code == 0
        assert logging.getLevelName(logging.getLogger().level) == level

    def test_verbose_logs_reach_stderr_not_stdout(self, run):
        result = run("-v", "show", "-f", "json")
        assert json.loads(result.stdout) == {"count": 1}
        assert "INFO demo: showing 1" in result.stderr
        assert "showing" not in run("show").stderr  # WARNING by default


class TestOutput:
    def test_piped_tables_are_not_cut(self, run):
        result = run("wide")
        assert "x" * 300 in result.stdout

    def test_report_error_collapses_lines(self, capsys):
        report_error("c", "one\n\ntwo", "h1\nh2", json_mode=False)
        assert capsys.readouterr().err == "error: one; two (hint: h1; h2)\n"

    def test_emit_refuses_an_unknown_format(self):
        with pytest.raises(ValueError, match="xml"):
            emit({}, "xml")


class TestLightImports:
    def test_the_kit_package_imports_no_typer_until_used(self):
        code = "import sys, infra_models.cli; print('typer' in sys.modules, 'rich' in sys.modules)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.split() == ["False", "False"]

    @pytest.mark.parametrize(
        ("args", "code", "stream", "text"),
        [
            (["validate", "x.yaml"], 2, "stderr", "pip install 'infra-models[cli]'"),
            (["--help"], 0, "stdout", "pip install 'infra-models[cli]'"),
            (["--version"], 0, "stdout", "infra-models "),
        ],
    )
    def test_without_the_cli_extra_the_command_says_what_to_install(self, args, code, stream, text):
        program = "import sys; sys.modules['typer'] = None; from infra_models.cli import main; main()"
        proc = subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, check=False)
        assert proc.returncode == code
        assert text in getattr(proc, stream) and "Traceback" not in proc.stderr


def test_cli_error_defaults():
    err = CliError("x")
    assert (err.code, err.hint, err.exit_code, err.details) == ("usage", None, 2, {})
    assert Path  # the kit's options are typed with pathlib
