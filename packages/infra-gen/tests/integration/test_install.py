"""Every kind, generated, installed into a fresh venv (with infra-models/-security/-outbox from packages/), passes
its own tests, as a user would run them. One venv serves the four nodes to keep this under a minute and a half."""

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


def test_every_kind_installs_and_passes_its_own_tests(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        if os.environ.get("CI"):
            pytest.fail("uv is needed to build the fresh venv (tools/bootstrap.sh installs it)")
        pytest.skip("uv not installed")
    out = tmp_path / "nodes"
    projects = []
    for kind, (name, external) in KINDS.items():
        result = NodeGenerator(out).generate_node(kind, name, external_system=external)
        projects.append(result.project_dir)
    venv = tmp_path / "venv"
    created = run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    locals_ = [str(ROOT / "packages" / p) for p in ("infra-models", "infra-security", "infra-outbox")]
    installed = run(
        uv, "pip", "install", "--quiet", "--python", str(python), *locals_, *[f"{p}[test]" for p in projects]
    )
    assert installed.returncode == 0, installed.stderr
    imported = run(str(python), "-c", "import vault_adapter, order_totals, account_balance, order_saga", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    tests = [str(p / "tests") for p in projects]
    result = run(
        str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", *tests, cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
