"""Find a working interpreter of a given Python version (`verify-install --python 3.12`), and whether CI runs.

A pyenv install puts a `python3.12` shim on PATH that refuses to run unless 3.12 is selected, so a name on PATH
proves nothing: every candidate (PATH, pyenv's versions, uv's `python find`) is run and asked its version.
uv is never allowed to download an interpreter here: a missing Python is reported, not fetched.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from pathlib import Path

from releasing.errors import UsageError

__all__ = ["find_python", "parse_version", "running_in_ci"]

_VERSION = re.compile(r"^3\.(\d{1,2})$")


def running_in_ci() -> bool:
    """True when `CI` is set to something other than "", "0" or "false" (as infra_models.testing decides)."""
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false"}


def parse_version(text: str) -> str:
    """`3.12` stays `3.12`; anything else (`3`, `3.12.1`, `python3.12`) is a usage error naming the form."""
    if not _VERSION.match(text.strip()):
        raise UsageError(f"--python {text!r}: give a minor version such as 3.12")
    return text.strip()


def _reports(python: str, version: str) -> str | None:
    """The interpreter's real path when `python` runs and is `version`; None otherwise."""
    probe = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable)"
    try:
        proc = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) != 2 or lines[0] != version:
        return None
    return lines[1]


def find_python(version: str) -> str | None:
    """A working Python `version` (`3.12`): `python3.12` on PATH, a pyenv install, or one uv finds; else None."""
    candidates: list[str] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)  # may be a pyenv shim that refuses to run: checked below
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates += sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)
    uv = shutil.which("uv")
    if uv:
        try:
            found = subprocess.run(
                [uv, "python", "find", "--no-python-downloads", version],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            found = None
        if found is not None and found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip().splitlines()[-1])
    for candidate in candidates:
        real = _reports(candidate, version)
        if real is not None:
            return real
    return None
