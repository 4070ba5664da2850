"""Shared fixtures of the infra-gen tests; the golden trees are data, never collected as tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

collect_ignore = ["golden"]


@pytest.fixture(scope="session", autouse=True)
def _code_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled templates go to a temporary folder, never to the user's ~/.cache, during the tests."""
    old = os.environ.get("INFRA_GEN_CACHE_DIR")
    os.environ["INFRA_GEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("codecache"))
    yield
    if old is None:
        os.environ.pop("INFRA_GEN_CACHE_DIR", None)
    else:
        os.environ["INFRA_GEN_CACHE_DIR"] = old
