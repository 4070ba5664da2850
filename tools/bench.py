"""Run the packages' benchmarks: ``hatch run bench [PACKAGE ...] [-- ARGS]``.

Each package keeps its benchmark scripts in ``packages/<dist>/bench/bench_*.py`` and the peer libraries they
compare against in ``packages/<dist>/bench/requirements.txt``, installed here into the running environment.
Benchmarks are not tests: they print figures beside an anchor measured in the same run.

CLI start-up is measured as users get it: ``pip install`` compiles bytecode, so this runner compiles the
environment and the sources first and runs the scripts without ``PYTHONDONTWRITEBYTECODE`` (set on some
machines, where every CLI start would otherwise recompile every module from source).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
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
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compile_targets = [sysconfig.get_paths()["purelib"], *(str(p / "src") for p in packages)]
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", *compile_targets], check=False, env=env)
    status = 0
    for package in packages:
        requirements = package / "bench" / "requirements.txt"
        if requirements.is_file():
            subprocess.run(
                ["uv", "pip", "install", "-q", "--python", sys.executable, "-r", str(requirements)], check=True
            )
        for script in sorted((package / "bench").glob("bench_*.py")):
            print(f"\n=== {package.name}: {script.name} ===", flush=True)
            run = subprocess.run([sys.executable, str(script), *extra], cwd=ROOT, check=False, env=env)
            status |= run.returncode
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
