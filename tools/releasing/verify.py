"""`verify-install`: build the wheels, install them alone in a fresh venv, and prove the package works there.

The package's wheel and infra-models' wheel (at the working tree, or with `lowest` at the oldest version the
package claims) go into a new `uv venv` with nothing else but their declared dependencies from the index. Then:
import from site-packages, `__all__` complete, every module importable, each console script answers `--help`
and `--version`, `uv pip check`, and the package's own tests run against the installed wheel from a copy of
the package folder without `src/`.
"""

from __future__ import annotations

import ast
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from workspace import Package, Workspace, load_package

from releasing.errors import UsageError
from releasing.gitutil import extract
from releasing.history import commit_for_version, lowest_claimed

__all__ = ["TEST_TOOLS", "Outcome", "Step", "Verifier", "declared_import_problems", "test_requirements"]

SHARED = "infra-models"
TEST_TOOLS = ("pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100")
_PYTEST_INI = """[pytest]
addopts = --import-mode=importlib --strict-markers -p no:cacheprovider -q
timeout = 300
markers =
    integration: needs a real service from tools/services.py
    slow: takes more than a few seconds
"""
_IMPORT_ALL = """
import importlib, pkgutil, sys
name = sys.argv[1]
pkg = importlib.import_module(name)
failed = []
for attr in getattr(pkg, "__all__", []):
    try:
        getattr(pkg, attr)
    except Exception as exc:
        failed.append(f"{name}.{attr} (in __all__): {type(exc).__name__}: {exc}")
for info in pkgutil.walk_packages(pkg.__path__, name + "."):
    parts = info.name.split(".")
    if not all(p.isidentifier() for p in parts) or "templates" in parts or parts[-1] == "__main__":
        continue
    try:
        importlib.import_module(info.name)
    except Exception as exc:
        failed.append(f"import {info.name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


@dataclass
class Step:
    """One verification step and how it went."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""


@dataclass
class Outcome:
    """All steps for one package."""

    dist: str
    models_version: str
    steps: list[Step] = field(default_factory=list)
    hint: str = ""
    python: str = ""  # the venv's Python version (`3.12`); empty in outcomes made before it was known

    @property
    def ok(self) -> bool:
        """True when every step passed."""
        return all(s.ok for s in self.steps)

    @property
    def seconds(self) -> float:
        """Total time."""
        return sum(s.seconds for s in self.steps)

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "package": self.dist,
            "infra_models": self.models_version,
            "python": self.python,
            "ok": self.ok,
            "seconds": round(self.seconds, 1),
            "hint": self.hint,
            "steps": [
                {"name": s.name, "ok": s.ok, "seconds": round(s.seconds, 1), "detail": s.detail} for s in self.steps
            ],
        }


class _StepError(Exception):
    pass


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "CONDA_PREFIX"}}
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def declared_import_problems(ws: Workspace, pkg: Package) -> list[str]:
    """Source files of `pkg` that import a workspace sibling the package does not declare (static check)."""
    siblings = {p.import_name: p.dist for p in ws.packages if p.dist != pkg.dist}
    declared = {canonicalize_name(r.name) for r in pkg.requirements}
    declared |= {canonicalize_name(r.name) for rs in pkg.extras.values() for r in rs}
    problems = []
    for path in sorted((pkg.src_path / pkg.import_name).rglob("*.py")):
        if "templates" in path.relative_to(pkg.src_path).parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SyntaxError as exc:
            problems.append(f"{path.relative_to(ws.root)}: syntax error: {exc.msg}")
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in siblings and canonicalize_name(siblings[top]) not in declared:
                    problems.append(
                        f"{path.relative_to(ws.root)}:{node.lineno}: imports {top}, but {pkg.dist} does not "
                        f"declare {siblings[top]} in its dependencies"
                    )
    return problems


_DEV_ONLY = {"ruff", "mypy", "import-linter", "griffe", "build", "hatch", "uv"}


def test_requirements(root: Path, pkg: Package) -> tuple[list[str], str]:
    """The package's test needs and where they came from.

    `[dependency-groups] test` in its pyproject (PEP 735), plus `tests/requirements.txt`; when it declares
    neither, the dev dependencies of the root `hatch.toml` (without linters and type stubs), which is what its
    tests get in the dev environment.
    """
    data = tomllib.loads((pkg.path / "pyproject.toml").read_text(encoding="utf-8"))
    groups = data.get("dependency-groups", {})

    def expand(name: str, seen: frozenset[str] = frozenset()) -> list[str]:
        out: list[str] = []
        for item in groups.get(name, []):
            if isinstance(item, dict) and "include-group" in item and item["include-group"] not in seen:
                out += expand(str(item["include-group"]), seen | {name})
            elif isinstance(item, str):
                out.append(item)
        return out

    reqs = expand("test") if "test" in groups else []
    txt = pkg.path / "tests" / "requirements.txt"
    if txt.is_file():
        reqs += [ln.strip() for ln in txt.read_text().splitlines() if ln.strip() and not ln.startswith(("#", "-"))]
    if reqs or "test" in groups:
        return reqs, "declared"
    hatch = root / "hatch.toml"
    if not hatch.is_file():
        return [], "none declared"
    dev = tomllib.loads(hatch.read_text(encoding="utf-8")).get("envs", {}).get("default", {}).get("dependencies", [])
    keep = []
    for raw in dev:
        name = canonicalize_name(Requirement(str(raw)).name)
        if name not in _DEV_ONLY and not name.startswith("types-"):
            keep.append(str(raw))
    return keep, "hatch.toml dev dependencies (declare `[dependency-groups] test` in its pyproject to narrow this)"


def _without_source(package_dir: Path) -> Callable[[str, list[str]], set[str]]:
    """A copytree filter that leaves out the package's own `src/` (only at its top) and build litter."""
    litter = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in litter}
        if Path(folder) == package_dir:
            skipped |= {n for n in names if n in {"src", "dist", "build"}}
        return skipped

    return ignore


class Verifier:
    """Builds wheels once per source and verifies packages; `log` receives progress lines."""

    def __init__(
        self,
        ws: Workspace,
        workdir: Path,
        log: Callable[[str], None] = lambda _m: None,
        wheel_dir: Path | None = None,
        python: str | None = None,
    ) -> None:
        self.ws = ws
        self.python = python or sys.executable  # the interpreter each fresh venv is made from
        self._python_version: str | None = None
        self.wheel_dir = wheel_dir
        self.workdir = workdir
        self.log = log
        self.uv = shutil.which("uv")
        if self.uv is None:
            raise UsageError("uv not found on PATH: install it (`python -m pip install uv`)")
        self._wheels: dict[tuple[str, str], Path] = {}
        self._unreleased_lowest: dict[str, str] = {}
        self._lock = threading.RLock()  # wheels are built once even when packages are verified in parallel

    def with_log(self, log: Callable[[str], None]) -> Verifier:
        """A verifier sharing this one's wheels, reporting to `log` (one per parallel package)."""
        twin = copy.copy(self)
        twin.log = log
        return twin

    def with_python(self, python: str) -> Verifier:
        """A verifier sharing this one's wheels (pure-Python, built once) whose venvs use `python`."""
        twin = copy.copy(self)
        twin.python = python
        twin._python_version = None
        return twin

    def python_version(self) -> str:
        """`major.minor` of the interpreter the venvs are made from."""
        if self._python_version is None:
            proc = subprocess.run(
                [self.python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                check=False,
            )
            self._python_version = proc.stdout.strip() if proc.returncode == 0 else "?"
        return self._python_version

    def _run(self, args: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(args, cwd=cwd, env=env or _clean_env(), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            shown = " ".join("<script>" if "\n" in a else a for a in args)
            raise _StepError(f"$ {shown}\n{_tail(proc.stdout + proc.stderr)}")
        return proc.stdout

    def build_wheel(self, pkg: Package, source: Path | None = None, key: str = "worktree") -> Path:
        """Build (once) the wheel of `pkg` from its folder or from `source`; return the wheel path."""
        with self._lock:
            return self._build_wheel(pkg, source, key)

    def _build_wheel(self, pkg: Package, source: Path | None, key: str) -> Path:
        cache_key = (pkg.dist, key)
        if cache_key not in self._wheels and self.wheel_dir is not None and key == "worktree":
            found = sorted(self.wheel_dir.glob(f"{pkg.import_name}-{pkg.version}-*.whl"))
            if found:  # a wheel built earlier (the release workflow's artifact): verify that very file
                self._wheels[cache_key] = found[0]
        if cache_key not in self._wheels:
            out = self.workdir / "wheels" / f"{pkg.dist}-{key}"
            out.mkdir(parents=True, exist_ok=True)
            assert self.uv is not None
            self._run([self.uv, "build", "--quiet", "--wheel", "--out-dir", str(out), str(source or pkg.path)])
            wheels = sorted(out.glob("*.whl"))
            if len(wheels) != 1:
                raise _StepError(f"expected one wheel in {out}, found {[w.name for w in wheels]}")
            self._wheels[cache_key] = wheels[0]
        return self._wheels[cache_key]

    def models_wheel(self, pkg: Package, *, lowest: bool) -> tuple[Path, str]:
        """The infra-models wheel to install beside `pkg` and its version."""
        models = self.ws.get(SHARED)
        if not lowest or pkg.dist == SHARED:
            return self.build_wheel(models), models.version
        with self._lock:
            return self._lowest_models_wheel(pkg, models)

    def _lowest_models_wheel(self, pkg: Package, models: Package) -> tuple[Path, str]:
        version = lowest_claimed(self.ws.root, pkg, models)
        release = commit_for_version(self.ws.root, models, version)
        key = f"{version}-{release.commit[:12]}"
        if release.source.startswith("__about__"):
            self._unreleased_lowest[pkg.dist] = (
                f"{SHARED} {version} is not released yet, so --lowest built it from {release.commit[:12]}, the "
                f"commit that first set {version}; {pkg.dist} needs something added later. Release {SHARED} "
                f"(`python tools/release.py bump {SHARED} current` records {version} as released) or raise its "
                f"version and {pkg.dist}'s lower bound."
            )
        if (SHARED, key) not in self._wheels:
            self.log(f"  infra-models {version} from {release.commit[:12]} ({release.source})")
            folder = models.path.relative_to(self.ws.root).as_posix()
            src = extract(self.ws.root, release.commit, folder, self.workdir / "src" / key)
            self.build_wheel(load_package(src), src, key)
        return self._wheels[(SHARED, key)], version

    def _workspace_deps(self, pkg: Package) -> list[str]:
        """Members `pkg` needs at runtime, transitively, in dependency order (infra-models first)."""
        needed: set[str] = set()
        todo = [pkg.dist]
        while todo:
            for dep in self.ws.dependencies(todo.pop()):
                if dep not in needed and dep != pkg.dist:
                    needed.add(dep)
                    todo.append(dep)
        return self.ws.order(needed) if needed else []

    @contextmanager
    def _step(self, outcome: Outcome, name: str) -> Iterator[list[str]]:
        start = time.perf_counter()
        note: list[str] = []
        try:
            yield note
        except _StepError as exc:
            outcome.steps.append(Step(name, False, time.perf_counter() - start, str(exc)))
            self.log(f"  FAIL {name}")
            raise
        outcome.steps.append(Step(name, True, time.perf_counter() - start, " ".join(note)))
        self.log(f"  ok   {name} ({time.perf_counter() - start:.1f}s){': ' + ' '.join(note) if note else ''}")

    def verify(self, pkg: Package, *, lowest: bool = False, integration: bool = False) -> Outcome:
        """Run every step for `pkg`; stop at the first failed step that later ones depend on."""
        models = self.ws.get(SHARED)
        outcome = Outcome(pkg.dist, models.version, python=self.python_version())
        with suppress(_StepError):
            self._verify(pkg, outcome, lowest=lowest, integration=integration)
        if not outcome.ok and self._unreleased_lowest.get(pkg.dist):
            outcome.hint = self._unreleased_lowest[pkg.dist]
        return outcome

    def _verify(self, pkg: Package, outcome: Outcome, *, lowest: bool, integration: bool) -> None:
        assert self.uv is not None
        uv = self.uv
        box = Path(tempfile.mkdtemp(prefix=f"{pkg.dist}-", dir=self.workdir))
        with self._step(outcome, "declared sibling imports"):
            problems = declared_import_problems(self.ws, pkg)
            if problems:
                raise _StepError("\n".join(problems))
        with self._step(outcome, "build wheels"):
            if self.wheel_dir is not None and not any(self.wheel_dir.glob(f"{pkg.import_name}-{pkg.version}-*.whl")):
                raise _StepError(f"--wheel-dir {self.wheel_dir}: no {pkg.import_name}-{pkg.version}-*.whl there")
            wheels = [self.build_wheel(pkg)]
            # every workspace member it depends on comes from this repository, never from the index
            for dep in reversed(self._workspace_deps(pkg)):
                if dep == SHARED:
                    models_wheel, outcome.models_version = self.models_wheel(pkg, lowest=lowest)
                    wheels.insert(0, models_wheel)
                else:
                    wheels.insert(0, self.build_wheel(self.ws.get(dep)))
        py = box / "venv" / "bin" / "python"
        with self._step(outcome, f"fresh venv with only {' + '.join(w.name for w in wheels)}"):
            self._run([uv, "venv", "--quiet", "--no-python-downloads", "--python", self.python, str(box / "venv")])
            self._run([uv, "pip", "install", "--quiet", "--python", str(py), *map(str, wheels)])
        with self._step(outcome, f"import {pkg.import_name} from site-packages"):
            where = self._run([str(py), "-c", f"import {pkg.import_name} as m; print(m.__file__)"]).strip()
            where = where.splitlines()[-1] if where else ""
            if not Path(where).is_relative_to(box / "venv"):
                raise _StepError(f"{pkg.import_name} imported from {where}, not from the fresh venv")
        for script in pkg.scripts:
            with self._step(outcome, f"{script} --help / --version"):
                exe = str(box / "venv" / "bin" / script)
                self._run([exe, "--help"])
                shown = self._run([exe, "--version"])
                if pkg.version not in shown:
                    raise _StepError(f"`{script} --version` printed {shown.strip()!r}, expected {pkg.version}")
        with self._step(outcome, "uv pip check"):
            self._run([uv, "pip", "check", "--python", str(py)])
        extras = sorted(pkg.extras)
        if extras:
            with self._step(outcome, f"extras [{','.join(extras)}]"):
                spec = f"{pkg.dist}[{','.join(extras)}] @ {wheels[-1].as_uri()}"
                self._run([uv, "pip", "install", "--quiet", "--python", str(py), *map(str, wheels[:-1]), spec])
                self._run([uv, "pip", "check", "--python", str(py)])
        with self._step(outcome, "every module imports (with pytest present, for testing helpers)"):
            self._run([uv, "pip", "install", "--quiet", "--python", str(py), *map(str, wheels), *TEST_TOOLS])
            self._run([str(py), "-c", _IMPORT_ALL, pkg.import_name])
        with self._step(outcome, "test requirements") as note:
            reqs, source = test_requirements(self.ws.root, pkg)
            note.append(f"{len(reqs)} from {source}")
            if reqs:
                self._run([uv, "pip", "install", "--quiet", "--python", str(py), *map(str, wheels), *reqs])
        self._run_tests(pkg, outcome, py, box, integration=integration)

    def _run_tests(self, pkg: Package, outcome: Outcome, py: Path, box: Path, *, integration: bool) -> None:
        tests = pkg.path / "tests"
        if not tests.is_dir():
            outcome.steps.append(Step("tests", True, 0.0, "no tests/ folder"))
            return
        # The copy keeps the repository layout (root files, docs/, tools/, packages/<dist>/) so tests that read
        # the workspace config or guides, or drive the services launcher, still work, while no source of any
        # package is importable from it.
        mirror = box / "repo"
        mirror.mkdir()
        for item in self.ws.root.iterdir():
            if item.is_file() and not item.name.startswith(".git"):
                shutil.copy2(item, mirror / item.name)
        for folder in ("docs", "tools"):  # guides and repository scripts (the services launcher), no package code
            if (self.ws.root / folder).is_dir():
                litter = shutil.ignore_patterns("__pycache__", ".pytest_cache", "tests")
                shutil.copytree(self.ws.root / folder, mirror / folder, ignore=litter)
        copy = mirror / pkg.path.relative_to(self.ws.root)
        shutil.copytree(pkg.path, copy, ignore=_without_source(pkg.path))
        (copy / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
        if integration:
            target, label = ["tests"], "tests (unit + integration)"
        elif (copy / "tests" / "unit").is_dir():
            target, label = ["tests/unit"], "unit tests"
        else:
            target, label = ["tests", "-m", "not integration"], "tests (not integration)"
        with self._step(outcome, f"{label} against the installed wheel") as note:
            proc = subprocess.run(
                [str(py), "-m", "pytest", *target],
                cwd=copy,
                env=_clean_env(),
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode not in {0, 5}:  # 5: no tests collected
                raise _StepError(_tail(proc.stdout + proc.stderr, 40))
            note.append(_tail(proc.stdout, 1) if proc.returncode == 0 else "no tests collected")
