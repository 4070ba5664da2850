"""The proof the issue asks for: each kind generated into a tiny ONEX service package imports, and its generated
tests pass, in a Python 3.12 venv with ``omnibase-core`` from PyPI (the archetypes the nodes extend).

One venv (cached under ``.cache/`` by the pinned omnibase-core version) and one service serve the four kinds.
Without a Python 3.12 the test fails in CI and skips elsewhere, with the reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra_gen.generator import NodeGenerator
from infra_models.testing import in_ci

sys.path.insert(0, str(Path(__file__).parent))
from onex_env import OMNIBASE_CORE, find_python312, onex_venv

pytestmark = pytest.mark.integration

# The real-format ONEX contracts the unit tests of from-contract use (tests/onex_contracts/<node>/contract.yaml).
CONTRACTS = Path(__file__).resolve().parents[1] / "onex_contracts"
KINDS = {
    "effect": "vault_reader",
    "compute": "label_normaliser",
    "reducer": "ledger_balance",
    "orchestrator": "order_flow",
}


@pytest.fixture(scope="module")
def onex_python() -> Path:
    python312 = find_python312()
    if python312 is None:
        reason = "no Python 3.12 found (python3.12 on PATH, pyenv, uv): omnibase-core needs Python >= 3.12"
        if in_ci():
            pytest.fail(f"{reason}; CI must provide one", pytrace=False)
        pytest.skip(reason)
    try:
        return onex_venv(python312)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny ONEX service package with the four kinds generated into its nodes folder."""
    root = tmp_path_factory.mktemp("onex-service")
    nodes = root / "src" / "vault_svc" / "nodes"
    nodes.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "vault-svc"\nversion = "0.1.0"\nrequires-python = ">=3.12"\n'
        f'dependencies = ["omnibase-core>={OMNIBASE_CORE},<0.48"]\n',
        encoding="utf-8",
    )
    (nodes.parent / "__init__.py").write_text('"""vault-svc."""\n', encoding="utf-8")
    (nodes / "__init__.py").write_text('"""Nodes of vault-svc."""\n', encoding="utf-8")
    for kind, name in KINDS.items():
        external = "HashiCorp Vault" if kind == "effect" else None
        NodeGenerator(output_dir=nodes).generate_node(kind, name, external_system=external)
    # Real ONEX contracts through from-contract: an EFFECT with dependencies and extra sections, and an
    # orchestrator with its own topics, dlq topics and payload-type routing, as omnibase_infra writes them.
    for node in ("node_ledger_append_effect", "node_invoice_orchestrator"):
        NodeGenerator(output_dir=nodes).generate_from_contract(CONTRACTS / node / "contract.yaml")
    return root


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONHOME"}}
    env["PYTHONPATH"] = str(cwd / "src")
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_generated_nodes_import_and_extend_the_archetypes(onex_python: Path, service: Path) -> None:
    script = (
        "import json, importlib\n"
        "from omnibase_core.models.container import ModelONEXContainer\n"
        f"kinds = {json.dumps(KINDS)}\n"
        "out = {}\n"
        "for kind, name in kinds.items():\n"
        "    pkg = importlib.import_module(f'vault_svc.nodes.node_{name}_{kind}')\n"
        "    cls = getattr(pkg, pkg.__all__[0])\n"
        "    archetype = getattr(importlib.import_module(f'omnibase_core.nodes.node_{kind}'), f'Node{kind.title()}')\n"
        "    node = cls(ModelONEXContainer())\n"
        "    out[kind] = [cls.__name__, isinstance(node, archetype)]\n"
        "print(json.dumps(out))\n"
    )
    done = _run(onex_python, "-c", script, cwd=service)
    assert done.returncode == 0, done.stderr[-4000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "effect": ["NodeVaultReaderEffect", True],
        "compute": ["NodeLabelNormaliserCompute", True],
        "reducer": ["NodeLedgerBalanceReducer", True],
        "orchestrator": ["NodeOrderFlowOrchestrator", True],
    }


def test_generated_tests_pass_with_omnibase_core(onex_python: Path, service: Path) -> None:
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", "tests/unit/nodes"]
    done = _run(onex_python, *args, cwd=service)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed is not None and "failed" not in done.stdout and "error" not in done.stdout.lower(), done.stdout
    # Six nodes' tests ran: the contract tests (6 per node) plus the handler tests (5 or more per node).
    assert int(passed.group(1)) >= 6 * 6 + 6 * 5, done.stdout[-2000:]
    folders = {*(f"node_{name}_{kind}" for kind, name in KINDS.items())}
    folders |= {"node_ledger_append_effect", "node_invoice_orchestrator"}
    assert {p.name for p in (service / "tests" / "unit" / "nodes").iterdir()} == folders


def test_a_broken_handler_makes_the_generated_tests_fail(onex_python: Path, service: Path, tmp_path: Path) -> None:
    """The generated tests can fail: a handler routed in the contract but renamed is caught."""
    handler = (
        service / "src" / "vault_svc" / "nodes" / "node_vault_reader_effect" / "handlers" / "handler_vault_reader.py"
    )
    original = handler.read_text(encoding="utf-8")
    try:
        handler.write_text(original.replace("class HandlerVaultReader:", "class HandlerRenamed:"), encoding="utf-8")
        target = "tests/unit/nodes/node_vault_reader_effect"
        done = _run(onex_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", target, cwd=service)
        assert done.returncode != 0, done.stdout[-3000:]
    finally:
        handler.write_text(original, encoding="utf-8")


def test_generated_code_is_strictly_typed_and_lint_clean(onex_python: Path, service: Path) -> None:
    """mypy --strict over the generated nodes and tests, against the real omnibase-core (the archetypes' generics)."""
    # omnibase-core's own modules are analysed too (the archetypes' generics): their results are cached beside the
    # venv, so only the first run pays for them.
    cache = onex_python.parents[1].with_name(onex_python.parents[1].name + "-mypy")
    done = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--explicit-package-bases", "--cache-dir", str(cache),
            "--python-executable", str(onex_python), "src", "tests",
        ],
        cwd=service, env={**os.environ, "MYPYPATH": str(service / "src")},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # The lint rules that do not depend on a service's own settings (line length, import sections do): no
    # undefined or unused names, no syntax errors, no bugbear findings.
    lint = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F,E9,B", "."]
    checked = subprocess.run(lint, cwd=service, capture_output=True, text=True, timeout=120, check=False)
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-1000:]


def test_a_python312_shim_that_cannot_run_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pyenv installs a `python3.12` shim that refuses to run unless 3.12 is selected: it must not be taken."""
    shim = tmp_path / "python3.12"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.12: command not found' >&2\nexit 127\n", encoding="utf-8")
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    found = find_python312()
    assert found != str(shim)
    if found is not None:
        version = subprocess.run(
            [found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True, check=False
        )
        assert version.stdout.strip() == "(3, 12)"
