"""Run mypy --strict on each package's src/ separately (each package is typed on its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    """Type-check the named packages (default: all); return non-zero when any has errors."""
    names = argv or sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())
    failed = []
    for name in names:
        src = ROOT / "packages" / name / "src"
        print(f"mypy --strict packages/{name}/src", flush=True)
        cmd = [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(ROOT / ".cache" / "mypy"), str(src)]
        if subprocess.run(cmd, cwd=ROOT, check=False).returncode != 0:
            failed.append(name)
    if not argv:
        print("mypy --strict tools/", flush=True)
        tools = [
            "workspace.py",
            "check_versions.py",
            "release.py",
            "releasing",
            "services.py",
            "bench.py",
            "typecheck.py",
            "check_dists.py",
        ]
        cmd = [sys.executable, "-m", "mypy", "--strict", "--explicit-package-bases", *tools]
        env = {**os.environ, "MYPYPATH": str(ROOT / "tools")}
        if subprocess.run(cmd, cwd=ROOT / "tools", env=env, check=False).returncode != 0:
            failed.append("tools")
    if failed:
        print(f"type errors in: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
