"""Check each package's sdist and wheel as PyPI and a user will see them: `python tools/check_dists.py --help`.

Builds the sdist, then the wheel from that sdist (so a file missing from the sdist breaks the wheel), and runs
`twine check --strict`, `check-wheel-contents` (configured by the package's `[tool.check-wheel-contents]`) and
pyroma (which must score 10/10). It also checks what those tools do not: the LICENSE is inside both archives,
the README that becomes the PyPI page has no relative links (dead there), and, with `--unpacked-tests`, the unit
tests shipped in the sdist pass from the unpacked sdist, away from the repository (no test reads a repo file).
Run through hatch: `hatch run dists [PACKAGE ...] [--unpacked-tests]`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"
# Markdown links and images whose target is neither absolute (scheme://) nor an anchor on the same page.
RELATIVE_LINK = re.compile(r"!?\[[^\]]*\]\((?![a-z][a-z0-9+.-]*://|#|mailto:)([^)\s]+)[^)]*\)")
PYROMA_RATING = re.compile(r"Final rating: (\d+)/10")
PYTHON_CLASSIFIERS = [f"Programming Language :: Python :: 3.{minor}" for minor in (11, 12, 13)]


@dataclass
class Result:
    """The findings for one package; empty `problems` means every check passed."""

    dist: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run(cmd: list[str], cwd: Path, timeout: float = 600) -> tuple[int, str]:
    """Run a command, return its exit code and its combined output."""
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def tool(name: str) -> str:
    """The path of a console script of this interpreter's environment (or on PATH)."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    if found is None:
        raise SystemExit(f"check_dists: `{name}` is not installed; run through `hatch run dists`")
    return found


def relative_links(readme: str) -> list[str]:
    """The link targets in a README that PyPI would render as dead relative links."""
    return [m.group(1) for m in RELATIVE_LINK.finditer(readme)]


def build(pkg: Path, out: Path) -> tuple[Path, Path]:
    """Build the sdist, then the wheel from it; return both paths."""
    if shutil.which("uv"):
        cmd = ["uv", "build", "--no-cache", "--out-dir", str(out), str(pkg)]
        # uv builds the sdist first and the wheel from the unpacked sdist.
    else:
        cmd = [sys.executable, "-m", "build", "--outdir", str(out), str(pkg)]
    code, output = run(cmd, cwd=ROOT)
    if code != 0:
        raise RuntimeError(f"build failed:\n{output}")
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    if len(sdists) != 1 or len(wheels) != 1:
        raise RuntimeError(f"expected one sdist and one wheel in {out}, found {[p.name for p in out.iterdir()]}")
    return sdists[0], wheels[0]


def check_archives(sdist: Path, wheel: Path, result: Result) -> None:
    """The LICENSE travels in both archives and the metadata names the URLs and classifiers PyPI shows."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
            result.problems.append(f"{wheel.name}: no .dist-info/licenses/LICENSE")
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(meta_name).decode("utf-8")
    with tarfile.open(sdist) as tf:
        if not any(n.count("/") == 1 and n.endswith("/LICENSE") for n in tf.getnames()):
            result.problems.append(f"{sdist.name}: no LICENSE at the top of the sdist")
    headers = metadata.split("\n\n", 1)[0].splitlines()
    if not any(h.startswith("Project-URL: Repository,") for h in headers):
        result.problems.append("metadata: no Repository in [project.urls]")
    classifiers = [h.removeprefix("Classifier: ") for h in headers if h.startswith("Classifier: ")]
    for prefix in ("Development Status :: ", "Operating System :: "):
        if not any(c.startswith(prefix) for c in classifiers):
            result.problems.append(f"metadata: no `{prefix}...` classifier")
    missing = [c for c in PYTHON_CLASSIFIERS if c not in classifiers]
    if missing:
        result.problems.append(f"metadata: classifiers miss {missing} (CI tests 3.11-3.13)")
    body = metadata.split("\n\n", 1)[1] if "\n\n" in metadata else ""
    dead = relative_links(body)
    if dead:
        result.problems.append(f"README (the PyPI page) has relative links, dead on PyPI: {dead}")


def check_tools(pkg: Path, sdist: Path, wheel: Path, result: Result) -> None:
    """twine check --strict, check-wheel-contents and pyroma 10/10."""
    code, output = run([tool("twine"), "check", "--strict", str(sdist), str(wheel)], cwd=pkg)
    if code != 0:
        result.problems.append(f"twine check --strict failed:\n{output}")
    code, output = run([tool("check-wheel-contents"), str(wheel)], cwd=pkg)
    if code != 0:
        result.problems.append(f"check-wheel-contents failed:\n{output}")
    code, output = run([tool("pyroma"), "--min", "10", "--file", str(sdist)], cwd=pkg)
    rating = PYROMA_RATING.search(output)
    if code != 0 or rating is None or rating.group(1) != "10":
        result.problems.append(f"pyroma below 10/10:\n{output}")


def check_unpacked_tests(sdist: Path, work: Path, python: str, result: Result) -> None:
    """The unit tests shipped in the sdist pass from the unpacked sdist, outside the repository."""
    target = work / "unpacked"
    with tarfile.open(sdist) as tf:
        tf.extractall(target, filter="data")
    (top,) = list(target.iterdir())
    unit = top / "tests" / "unit"
    if not unit.is_dir():
        result.problems.append(f"{sdist.name}: no tests/unit in the sdist")
        return
    cmd = [python, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", "--import-mode=importlib", "tests/unit"]
    cmd += ["-m", "not integration", "--rootdir", str(top)]
    code, output = run(cmd, cwd=top, timeout=1200)
    if code != 0:
        lines = output.splitlines()
        summary = [line for line in lines if line.startswith(("FAILED ", "ERROR "))] + lines[-1:]
        result.problems.append("unit tests of the unpacked sdist failed:\n" + "\n".join(summary))


def check_package(dist: str, test_python: str | None) -> Result:
    """Every check for one package."""
    result = Result(dist)
    start = time.perf_counter()
    pkg = PACKAGES / dist
    with tempfile.TemporaryDirectory(prefix=f"check-dists-{dist}-") as tmp:
        work = Path(tmp)
        try:
            sdist, wheel = build(pkg, work / "dist")
        except RuntimeError as exc:
            result.problems.append(str(exc))
            return result
        check_archives(sdist, wheel, result)
        check_tools(pkg, sdist, wheel, result)
        if test_python is not None:
            check_unpacked_tests(sdist, work, test_python, result)
    result.seconds = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    """Check the named packages (default: all); exit 1 when any check fails, 2 on bad arguments."""
    known = sorted(p.name for p in PACKAGES.iterdir() if (p / "pyproject.toml").is_file())
    parser = argparse.ArgumentParser(prog="check_dists", description=__doc__.splitlines()[0])
    parser.add_argument("packages", nargs="*", metavar="PACKAGE", help=f"default: all ({', '.join(known)})")
    parser.add_argument(
        "--unpacked-tests",
        action="store_true",
        help="also run each sdist's unit tests from the unpacked sdist (this interpreter must have the packages)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.packages if name not in known]
    if unknown:
        parser.error(f"unknown package(s) {unknown}; choose from {known}")
    failed = 0
    for dist in args.packages or known:
        result = check_package(dist, sys.executable if args.unpacked_tests else None)
        status = "ok" if not result.problems else "FAILED"
        print(f"{dist}: {status} ({result.seconds:.1f} s)", flush=True)
        for problem in result.problems:
            print("  " + problem.replace("\n", "\n    "), flush=True)
        failed += bool(result.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
