"""A Python 3.12 venv with ``omnibase-core`` from PyPI, cached under the repository's ``.cache/`` by pinned version.

Generated ONEX nodes extend omnibase_core's archetypes, and omnibase-core needs Python >= 3.12 while the workspace
runs on 3.11: their tests run in this venv. It is built once (``uv venv`` + ``uv pip install``) under a file lock, so
concurrent test runs share it, and marked complete only when everything installed.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["OMNIBASE_CORE", "REQUIREMENTS", "find_python312", "onex_venv"]

OMNIBASE_CORE = "0.47.57"
"""The omnibase-core release generated nodes are tested against (0.47.x, the line the issue names)."""

REQUIREMENTS = (f"omnibase-core=={OMNIBASE_CORE}", "pytest>=8", "types-PyYAML")
"""What the venv holds: omnibase-core, pytest to run the generated tests, PyYAML's stubs for mypy --strict."""

ROOT = Path(__file__).resolve().parents[4]
_STAMP = ".infra-gen-complete"


def _is_312(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == "True"


def find_python312() -> str | None:
    """A working Python 3.12: ``python3.12`` on PATH, a pyenv install, or one uv knows; None when there is none."""
    candidates: list[str] = []
    on_path = shutil.which("python3.12")
    if on_path:
        candidates.append(on_path)  # may be a pyenv shim that refuses to run: checked below
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates.extend(sorted(glob.glob(f"{pyenv_root}/versions/3.12*/bin/python3.12"), reverse=True))
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run([uv, "python", "find", "3.12"], capture_output=True, text=True, timeout=60, check=False)
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip())
    return next((c for c in candidates if _is_312(c)), None)


def onex_venv(python312: str, *, cache: Path | None = None) -> Path:
    """The venv's python, building the venv on first use: Python 3.12 and REQUIREMENTS.

    Raises:
        RuntimeError: uv is missing or an install failed (the message carries uv's output).
    """
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is needed to build the omnibase-core venv (tools/bootstrap.sh installs it)")
    base = cache or ROOT / ".cache"
    base.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()[:8]
    venv = base / f"onex-venv-omnibase-core-{OMNIBASE_CORE}-{key}"
    python = venv / "bin" / "python"
    with open(base / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / _STAMP).is_file() and python.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        steps = [
            [uv, "venv", "--quiet", "--python", python312, str(venv)],
            [uv, "pip", "install", "--quiet", "--python", str(python), *REQUIREMENTS],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(step)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        (venv / _STAMP).write_text(f"omnibase-core=={OMNIBASE_CORE}\n", encoding="utf-8")
    return python
