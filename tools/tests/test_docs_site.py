"""The documentation site (mkdocs.yml): every package has an API page in the nav, and --strict fails on a bad link."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").is_file())


@pytest.mark.parametrize("dist", PACKAGES)
def test_every_package_has_an_api_page_in_the_nav(dist):
    page = ROOT / "docs" / "api" / f"{dist}.md"
    assert page.is_file(), f"docs/api/{dist}.md is missing"
    assert f"::: {dist.replace('-', '_')}\n" in page.read_text(encoding="utf-8")
    assert f"api/{dist}.md" in CONFIG
    assert f"packages/{dist}/src" in CONFIG, "mkdocstrings must find the package's sources"


def test_the_build_is_strict_and_validates_links_and_anchors():
    assert re.search(r"^strict: true$", CONFIG, flags=re.M)
    for check in ("omitted_files", "unrecognized_links", "anchors"):
        assert re.search(rf"^  {check}: warn$", CONFIG, flags=re.M), check


@pytest.mark.slow
@pytest.mark.parametrize(
    ("page", "finding"),
    [
        ("See [the guide](infra-nope.md).\n", "infra-nope.md"),
        ("See [the ladder](infra-readiness.md#no-such-heading).\n", "no-such-heading"),
    ],
)
def test_a_broken_link_fails_the_build(tmp_path, page, finding):
    pytest.importorskip("mkdocs")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    (tmp_path / "docs" / "index.md").write_text("# infra\n\n" + page, encoding="utf-8")
    config = CONFIG.replace("- packages/", f"- {ROOT}/packages/").replace('base_path: ["."]', f'base_path: ["{ROOT}"]')
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode != 0
    assert finding in proc.stderr + proc.stdout
