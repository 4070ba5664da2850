"""Shared fixtures of the integration tests: one fresh venv holding the four generated kinds, and the services."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from infra_gen.generator import NodeGenerator
from infra_models.testing import postgres_url, vault_addr, vault_token  # noqa: F401

ROOT = Path(__file__).resolve().parents[4]
KINDS = {
    "effect": ("vault_adapter", "HashiCorp Vault"),
    "compute": ("order_totals", None),
    "reducer": ("account_balance", None),
    "orchestrator": ("order_saga", None),
}

Run = Callable[..., subprocess.CompletedProcess[str]]


def _run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    return subprocess.run(
        args, cwd=cwd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="session")
def run() -> Run:
    """``run(*args, cwd=None, env=None)``: a subprocess outside the dev env (no VIRTUAL_ENV, no PYTHONPATH)."""
    return _run


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """(venv python, generated projects): the four kinds installed with their [test] extra, beside the real
    infra-models, infra-security[vault] and infra-outbox[postgres] from packages/."""
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
    created = _run(uv, "venv", "--quiet", "--python", sys.executable, str(venv))
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    siblings = [
        str(ROOT / "packages" / "infra-models"),
        str(ROOT / "packages" / "infra-security"),
        f"infra-outbox[postgres] @ {(ROOT / 'packages' / 'infra-outbox').as_uri()}",
    ]
    extras = [f"{p}[test]" for p in projects]
    installed = _run(uv, "pip", "install", "--quiet", "--python", str(python), *siblings, *extras)
    assert installed.returncode == 0, installed.stderr
    return python, projects
