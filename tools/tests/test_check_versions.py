"""`check_versions`: ranges on infra-models have both bounds, admit the local version, point at releases."""

from __future__ import annotations

import re

import pytest
from check_versions import main as check_main


def _set_dep(repo, dist, deps):
    path = f"packages/{dist}/pyproject.toml"
    text = re.sub(r"dependencies = \[.*\]", "dependencies = [" + deps + "]", repo.read(path))
    repo.write(path, text)


def _heading(repo, heading):
    path = "packages/infra-models/CHANGELOG.md"
    repo.write(path, repo.read(path).replace("## Unreleased\n", f"## Unreleased\n\n## {heading}\n"))


def _check(repo, capsys):
    code = check_main(["--root", str(repo.root)])
    out, err = capsys.readouterr()
    return code, out + err


class TestCheckVersions:
    def test_consistent_workspace_passes(self, repo, capsys):
        _set_dep(repo, "infra-readiness", '"infra-models>=0.1,<0.2"')
        code, out = _check(repo, capsys)
        assert code == 0, out
        assert "3 package(s) admit infra-models 0.1.0" in out

    def test_sibling_dependency_is_refused(self, repo, capsys):
        code, out = _check(repo, capsys)
        assert code == 1
        assert "infra-readiness: depends on the sibling infra-gen" in out

    def test_missing_bounds(self, repo, capsys):
        _set_dep(repo, "infra-gen", '"infra-models>=0.1"')
        _set_dep(repo, "infra-security", '"infra-models<0.2"')
        _set_dep(repo, "infra-readiness", '"infra-models==0.1.0"')
        code, out = _check(repo, capsys)
        assert code == 1
        assert "infra-gen: `infra-models>=0.1` has no upper bound" in out
        assert "infra-security: `infra-models<0.2` has no lower bound" in out
        assert "infra-readiness: `infra-models==0.1.0` pins infra-models" in out

    def test_range_must_admit_local_version(self, repo, capsys):
        _set_dep(repo, "infra-gen", '"infra-models>=0.2,<0.3"')
        code, out = _check(repo, capsys)
        assert "infra-gen: `infra-models<0.3,>=0.2` does not admit the local infra-models 0.1.0" in out
        assert code == 1

    def test_prerelease_specifier(self, repo, capsys):
        _set_dep(repo, "infra-gen", '"infra-models>=0.1,<0.2", "click>=8.2.0rc1"')
        code, out = _check(repo, capsys)
        assert code == 1
        assert "names the pre-release 8.2.0rc1" in out

    def test_lower_bound_must_be_released(self, repo, capsys):
        repo.git("tag", "infra-models-v0.1.0")
        repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "0.1.1"\n')
        _set_dep(repo, "infra-readiness", '"infra-models>=0.1,<0.2"')
        assert _check(repo, capsys)[0] == 0
        _set_dep(repo, "infra-gen", '"infra-models>=0.1.1,<0.2"')
        code, out = _check(repo, capsys)
        assert code == 1
        assert "lets in infra-models 0.1.1, which is not released (released: 0.1.0)" in out

    def test_a_committed_release_heading_counts_as_released(self, repo, capsys):
        """A clone without tags: the release commit (`bump` + the siblings' new ranges) passes once committed."""
        _heading(repo, "0.1.0 - 2025-01-01")
        _set_dep(repo, "infra-readiness", '"infra-models>=0.1,<0.2"')
        repo.commit("infra-models 0.1.0")
        repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "0.2.0"\n')
        _heading(repo, "0.2.0 - 2026-01-01")
        for dist in ("infra-gen", "infra-security", "infra-readiness"):
            _set_dep(repo, dist, '"infra-models>=0.2,<0.3"')
        code, out = _check(repo, capsys)
        assert code == 1  # not committed yet: the heading is not a release
        assert "lets in infra-models 0.2.0, which is not released" in out
        repo.commit("infra-models 0.2.0 and the siblings' ranges")
        code, out = _check(repo, capsys)
        assert code == 0, out

    @pytest.mark.parametrize(
        ("spec", "admitted", "fix"),
        [
            ("infra-models>=0.1,<1", "0.2.0", ">=0.1,<0.2"),
            ("infra-models>=0.1.3,<0.3", "0.2.0", ">=0.1,<0.2"),
            ("infra-models~=0.1", "0.2.0", ">=0.1,<0.2"),
            ("infra-models>=1.2,<3", "2.0.0", ">=1.2,<2"),
            ("infra-models>=1.2,<=2.0", "2.0.0", ">=1.2,<2"),
        ],
    )
    def test_range_admitting_a_breaking_release_fails(self, repo, capsys, spec, admitted, fix):
        if spec.startswith("infra-models>=1") or spec.startswith("infra-models~=1"):
            repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "1.2.0"\n')
        else:
            repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "0.1.3"\n')
        _set_dep(repo, "infra-readiness", '"infra-models>=0.1,<0.2"' if "0." in spec else '"infra-models>=1.2,<2"')
        _set_dep(repo, "infra-security", '"infra-models>=0.1,<0.2"' if "0." in spec else '"infra-models>=1.2,<2"')
        _set_dep(repo, "infra-gen", f'"{spec}"')
        code, out = _check(repo, capsys)
        assert code == 1
        assert f"admits infra-models {admitted}, which may break it" in out
        assert f"use `infra-models{fix}`" in out
        assert out.count("may break it") == 1, out

    @pytest.mark.parametrize(
        "spec",
        ["infra-models>=0.1,<0.2", "infra-models>=0.1.2,<0.2", "infra-models~=0.1.0", "infra-models>=0.1,<0.1.9"],
    )
    def test_ranges_inside_one_minor_pass_on_0x(self, repo, capsys, spec):
        repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "0.1.3"\n')
        _set_dep(repo, "infra-readiness", '"infra-models>=0.1,<0.2"')
        _set_dep(repo, "infra-gen", f'"{spec}"')
        code, out = _check(repo, capsys)
        assert code == 0, out

    def test_missing_dependency_on_models(self, repo, capsys):
        _set_dep(repo, "infra-security", "")
        code, out = _check(repo, capsys)
        assert code == 1
        assert "infra-security: does not depend on infra-models" in out

    def test_real_workspace_is_consistent(self, capsys):
        assert check_main([]) == 0, capsys.readouterr()
