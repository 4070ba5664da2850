"""Every kind, generated, installed into a fresh venv (with infra-models/-security/-outbox from packages/), passes
its own tests and mypy --strict, as a user would run them. One venv serves the four nodes to keep this quick."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_every_kind_installs_and_passes_its_own_tests(installed: tuple[Path, list[Path]], run: Any) -> None:
    python, projects = installed
    imported = run(str(python), "-c", "import vault_adapter, order_totals, account_balance, order_saga")
    assert imported.returncode == 0, imported.stderr
    tests = [str(p / "tests") for p in projects]
    args = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", *tests]
    result = run(*args, cwd=projects[0].parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_generated_code_is_strictly_typed_and_lint_clean(installed: tuple[Path, list[Path]], run: Any) -> None:
    python, projects = installed
    for project in projects:
        mypy = run(
            sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-executable", str(python),
            str(project / "src"),
        )  # fmt: skip
        assert mypy.returncode == 0, f"{project.name}: {mypy.stdout[-3000:]}"
        ruff = run(sys.executable, "-m", "ruff", "check", "--no-cache", str(project), cwd=project)
        assert ruff.returncode == 0, f"{project.name}: {ruff.stdout[-3000:]}"
        fmt = run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", str(project), cwd=project)
        assert fmt.returncode == 0, f"{project.name}: {fmt.stdout[-3000:]}"
