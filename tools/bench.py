"""Run the packages' benchmarks: ``hatch run bench [PACKAGE ...] [-- ARGS]``.

Each package keeps its benchmark scripts in ``packages/<dist>/bench/bench_*.py`` and the peer libraries they
compare against in ``packages/<dist>/bench/requirements.txt``, installed here into the running environment.
Benchmarks are not tests: they print figures beside an anchor measured in the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    """Install each selected package's bench requirements and run its bench scripts in turn."""
    split = argv.index("--") if "--" in argv else len(argv)
    names, extra = argv[:split], argv[split + 1 :]
    packages = sorted(p for p in (ROOT / "packages").iterdir() if (p / "bench").is_dir())
    if names:
        unknown = set(names) - {p.name for p in packages}
        if unknown:
            print(f"no benchmark for: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        packages = [p for p in packages if p.name in names]
    status = 0
    for package in packages:
        requirements = package / "bench" / "requirements.txt"
        if requirements.is_file():
            subprocess.run(
                ["uv", "pip", "install", "-q", "--python", sys.executable, "-r", str(requirements)], check=True
            )
        for script in sorted((package / "bench").glob("bench_*.py")):
            print(f"\n=== {package.name}: {script.name} ===", flush=True)
            status |= subprocess.run([sys.executable, str(script), *extra], cwd=ROOT, check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
