"""tools/check_dists.py finds what a PyPI user would hit: dead relative links, a missing LICENSE, thin metadata."""

from __future__ import annotations

import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from check_dists import Result, check_archives, main, relative_links

GOOD_META = """\
Metadata-Version: 2.4
Name: demo
Version: 0.1.0
Project-URL: Repository, https://example.invalid/demo
Classifier: Development Status :: 4 - Beta
Classifier: Operating System :: OS Independent
Classifier: Programming Language :: Python :: 3.11
Classifier: Programming Language :: Python :: 3.12
Classifier: Programming Language :: Python :: 3.13

# demo

Read [the guide](https://example.invalid/docs/demo.md) and [below](#usage).
"""


def make_dists(tmp_path: Path, metadata: str, *, wheel_license: bool = True, sdist_license: bool = True):
    wheel = tmp_path / "demo-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/__init__.py", "")
        zf.writestr("demo-0.1.0.dist-info/METADATA", metadata)
        if wheel_license:
            zf.writestr("demo-0.1.0.dist-info/licenses/LICENSE", "MIT")
    sdist = tmp_path / "demo-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        names = ["demo-0.1.0/PKG-INFO"] + (["demo-0.1.0/LICENSE"] if sdist_license else [])
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = 3
            tf.addfile(info, io.BytesIO(b"MIT"))
    return sdist, wheel


class TestRelativeLinks:
    @pytest.mark.parametrize(
        "text",
        [
            "[guide](../../docs/x.md)",
            "[guide](docs/x.md#part)",
            "![graph](img/graph.png)",
            '[guide](docs/x.md "title")',
        ],
    )
    def test_relative_targets_are_found(self, text):
        assert relative_links(text) != []

    @pytest.mark.parametrize(
        "text",
        ["[guide](https://example.invalid/x.md)", "[below](#usage)", "[mail](mailto:a@b.invalid)", "plain (text)"],
    )
    def test_absolute_anchors_and_mail_pass(self, text):
        assert relative_links(text) == []


class TestArchives:
    def test_complete_dists_pass(self, tmp_path):
        result = Result("demo")
        check_archives(*make_dists(tmp_path, GOOD_META), result)
        assert result.problems == []

    def test_missing_licenses_are_named(self, tmp_path):
        result = Result("demo")
        check_archives(*make_dists(tmp_path, GOOD_META, wheel_license=False, sdist_license=False), result)
        assert len(result.problems) == 2
        assert "licenses/LICENSE" in result.problems[0]
        assert "LICENSE at the top of the sdist" in result.problems[1]

    def test_thin_metadata_and_dead_links_are_named(self, tmp_path):
        meta = GOOD_META.replace("Classifier: Programming Language :: Python :: 3.13\n", "")
        meta = meta.replace("Classifier: Development Status :: 4 - Beta\n", "")
        meta = meta.replace("Project-URL: Repository, https://example.invalid/demo\n", "")
        meta = meta.replace("(https://example.invalid/docs/demo.md)", "(../../docs/demo.md)")
        result = Result("demo")
        check_archives(*make_dists(tmp_path, meta), result)
        text = "\n".join(result.problems)
        assert "no Repository" in text
        assert "Development Status" in text
        assert "3.13" in text
        assert "../../docs/demo.md" in text


def test_an_unknown_package_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["infra-nope"])
    assert exc.value.code == 2
    assert "infra-nope" in capsys.readouterr().err
