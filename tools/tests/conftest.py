"""Fixtures: a minimal fake workspace in a temporary git repository, and the release CLI run in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1]
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from releasing.cli import main as release_main  # noqa: E402

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.26"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
dynamic = ["version"]
requires-python = ">=3.11"
dependencies = [{deps}]
{scripts}
[tool.hatch.version]
path = "src/{pkg}/__about__.py"

[tool.hatch.build.targets.wheel]
packages = ["src/{pkg}"]
"""

CLI = '''\
"""Tiny CLI."""

import argparse

from {pkg}.__about__ import __version__


def main() -> None:
    parser = argparse.ArgumentParser(prog="{dist}")
    parser.add_argument("--version", action="version", version=__version__)
    parser.parse_args()
'''


@dataclass
class Repo:
    """A fake monorepo under git."""

    root: Path

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        proc = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout

    def write(self, path: str, text: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text), encoding="utf-8")
        return target

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def commit(self, message: str = "change") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD").strip()

    def add_package(
        self,
        dist: str,
        deps: tuple[str, ...] = (),
        *,
        version: str = "0.1.0",
        init: str | None = None,
        script: bool = False,
    ) -> None:
        pkg = dist.replace("-", "_")
        scripts = f'\n[project.scripts]\n{dist} = "{pkg}.cli:main"\n' if script else ""
        self.write(
            f"packages/{dist}/pyproject.toml",
            PYPROJECT.format(dist=dist, pkg=pkg, deps=", ".join(f'"{d}"' for d in deps), scripts=scripts),
        )
        self.write(f"packages/{dist}/src/{pkg}/__about__.py", f'__version__ = "{version}"\n')
        self.write(
            f"packages/{dist}/src/{pkg}/__init__.py",
            init or f'"""{dist}."""\n\n__all__ = ["hello"]\n\n\ndef hello(name: str) -> str:\n    return name\n',
        )
        if script:
            self.write(f"packages/{dist}/src/{pkg}/cli.py", CLI.format(pkg=pkg, dist=dist))
        self.write(f"packages/{dist}/CHANGELOG.md", f"# Changelog of {dist}\n\n## Unreleased\n\n- First version.\n")
        self.write(f"packages/{dist}/README.md", f"# {dist}\n")

    def register(self, *dists: str) -> None:
        members = ",\n".join(f'  {{ path = "packages/{d}" }}' for d in dists)
        self.write("hatch.toml", f"[envs.default]\nworkspace.members = [\n{members},\n]\n")


MODELS_DEP = "infra-models>=0.1,<0.2"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """infra-models; infra-gen and infra-security on it; infra-readiness on infra-models and infra-gen."""
    r = Repo(tmp_path / "repo")
    r.root.mkdir()
    r.git("init", "-q", "-b", "main")
    r.add_package("infra-models")
    r.add_package("infra-gen", (MODELS_DEP,))
    r.add_package("infra-security", (MODELS_DEP,))
    r.add_package("infra-readiness", (MODELS_DEP, "infra-gen>=0.1,<1"))
    r.register("infra-models", "infra-gen", "infra-security", "infra-readiness")
    r.write("docs/index.md", "# docs\n")
    r.write("tools/x.py", "X = 1\n")
    r.commit("initial")
    return r


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run `release.py` in-process against a repo: `run(repo, "affected", ...) -> (code, out, err)`."""

    def _run(r: Repo, *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            code = release_main(["--root", str(r.root), *args])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run
