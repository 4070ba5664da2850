"""Every kind, generated, installed into a fresh venv (with infra-models/-security/-outbox from packages/), passes
its own tests and mypy --strict, as a user would run them. One venv serves the four nodes to keep this quick."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra_gen.generator import NodeGenerator

ROOT = Path(__file__).resolve().parents[4]
KINDS = {
    "effect": ("vault_adapter", "HashiCorp Vault"),
    "compute": ("order_totals", None),
    "reducer": ("account_balance", None),
    "orchestrator": ("order_saga", None),
}

pytestmark = pytest.mark.integration


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(venv python, generated projects): the four kinds installed with their [test] extra."""
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is needed to build the fresh venv (tools/bootstrap.sh installs it)")
        pytest.skip("uv not installed")
    tmp = tmp_path_factory.mktemp("install")
    projects = []
    for kind, (name, external) in KINDS.items():
        projects.append(NodeGenerator(tmp / "nodes").generate_node(kind, name, external_system=external).project_dir)
    venv = tmp / "venv"
    created = run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    siblings = [str(ROOT / "packages" / p) for p in ("infra-models", "infra-security", "infra-outbox")]
    extras = [f"{p}[test]" for p in projects]
    installed = run(uv, "pip", "install", "--quiet", "--python", str(python), *siblings, *extras)
    assert installed.returncode == 0, installed.stderr
    return python, projects


def test_every_kind_installs_and_passes_its_own_tests(installed: tuple[Path, list[Path]]) -> None:
    python, projects = installed
    imported = run(str(python), "-c", "import vault_adapter, order_totals, account_balance, order_saga")
    assert imported.returncode == 0, imported.stderr
    tests = [str(p / "tests") for p in projects]
    args = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", *tests]
    result = run(*args, cwd=projects[0].parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_generated_code_is_strictly_typed_and_lint_clean(installed: tuple[Path, list[Path]]) -> None:
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
