"""The guide documents every built-in check under its own heading (the checks' `url` points there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_readiness import load_checks

GUIDE = Path(__file__).resolve().parents[4] / "docs" / "infra-readiness.md"


@pytest.mark.skipif(not GUIDE.is_file(), reason="the guide lives in the repository's docs/, not in the sdist")
def test_every_check_has_a_section_in_the_guide():
    text = GUIDE.read_text(encoding="utf-8")
    missing = [c.id for c in load_checks() if c.source == "infra_readiness" and f"\n### {c.id}\n" not in text]
    assert missing == []


def test_check_urls_point_into_the_guide():
    for item in load_checks():
        if item.source == "infra_readiness":
            assert item.url == f"docs/infra-readiness.md#{item.id.lower()}"
