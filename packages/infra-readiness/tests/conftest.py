"""Shared fixtures: fixture nodes copied into a temp dir, a fixed date and clock."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

# The fixture nodes hold tests of their own (some fail on purpose): the suite must not collect them.
collect_ignore = ["fixtures"]

FIXTURES = Path(__file__).parent / "fixtures" / "nodes"
# Real code that readers and scanners are compared on: the infra packages installed here (infra-models and this one
# always; all five in the workspace, editable) and three libraries infra-readiness depends on. Found by import, so the
# same tests run in the repository, from an unpacked sdist and against an installed wheel. Not typer: it documents
# parameters in strings inside signatures, which DOC-004's text reading does not follow (it disagrees with the syntax
# tree on 89 of 5,118 modules of the workspace's site-packages; equal on these).
REAL_CODE = ("infra_models", "infra_gen", "infra_security", "infra_outbox", "infra_readiness")
REAL_CODE_LIBRARIES = ("packaging", "yaml", "bandit")
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir that is also the current directory, so report paths are short and stable."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def fixture_node(workdir: Path) -> Callable[[str], Path]:
    """Copy a fixture node (not_ready, development, staging, production) into the temp dir."""

    def copy(name: str) -> Path:
        target = workdir / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


@pytest.fixture(scope="session")
def real_sources() -> list[Path]:
    """Every .py file of the importable REAL_CODE packages and libraries (infra-models and this one required)."""
    files: list[Path] = []
    for name in REAL_CODE + REAL_CODE_LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            assert name not in {"infra_models", "infra_readiness"}, f"{name} is not importable"
            continue
        for folder in spec.submodule_search_locations:
            files += Path(folder).rglob("*.py")
    return sorted(set(files))
