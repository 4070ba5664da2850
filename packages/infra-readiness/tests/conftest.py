"""Shared fixtures: fixture nodes copied into a temp dir, a fixed date and clock."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

# The fixture nodes hold tests of their own (some fail on purpose): the suite must not collect them.
collect_ignore = ["fixtures"]

FIXTURES = Path(__file__).parent / "fixtures" / "nodes"
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
