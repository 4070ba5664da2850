"""`verify-install`: real wheels in a real fresh venv, from a tiny fake workspace."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from releasing.verify import declared_import_problems
from workspace import discover

UNIT_TEST = """\
import {pkg}


def test_runs_from_the_installed_wheel():
    assert "site-packages" in {pkg}.__file__
    assert {pkg}.hello("x") == "x"
"""


def _with_tests_and_cli(repo):
    for dist in ("infra-models", "infra-gen", "infra-security"):
        pkg = dist.replace("-", "_")
        repo.add_package(dist, () if dist == "infra-models" else ("infra-models>=0.1,<0.2",), script=True)
        repo.write(f"packages/{dist}/tests/unit/test_{pkg}.py", UNIT_TEST.format(pkg=pkg))
    # infra-security reaches for a sibling it does not declare, hidden from the static scan
    repo.write(
        "packages/infra-security/src/infra_security/bridge.py",
        'import importlib\n\ngen = importlib.import_module("infra_" + "gen")\n',
    )
    repo.commit("fake packages with tests and CLIs")


class TestDeclaredImports:
    def test_static_scan_names_file_line_and_missing_dependency(self, repo):
        repo.write("packages/infra-gen/src/infra_gen/x.py", '"""x."""\n\nfrom infra_security import hello\n')
        ws = discover(repo.root)
        problems = declared_import_problems(ws, ws.get("infra-gen"))
        assert problems == [
            "packages/infra-gen/src/infra_gen/x.py:3: imports infra_security, but infra-gen does not declare "
            "infra-security in its dependencies"
        ]
        assert declared_import_problems(ws, ws.get("infra-readiness")) == []  # declares infra-gen

    def test_needs_package_or_all(self, repo, run):
        code, _, err = run(repo, "verify-install")
        assert code == 2
        assert "name one PACKAGE or pass --all" in err


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is needed to build and install wheels")
class TestVerifyInstall:
    def test_good_package_passes_and_undeclared_sibling_fails(self, repo, run):
        _with_tests_and_cli(repo)
        code, out, err = run(repo, "verify-install", "--all", "--jobs", "2", "--format", "json")
        assert code == 1, out + err
        results = {r["package"]: r for r in json.loads(out)["results"]}
        assert next(iter(results)) == "infra-models"  # dependency order
        assert results["infra-gen"]["ok"] and results["infra-models"]["ok"]
        steps = {s["name"]: s for s in results["infra-gen"]["steps"]}
        assert steps["infra-gen --help / --version"]["ok"]
        assert "1 passed" in steps["unit tests against the installed wheel"]["detail"]

        # infra-readiness declares infra-gen: it is built from the repository, not looked up on the index
        install = next(s for s in results["infra-readiness"]["steps"] if s["name"].startswith("fresh venv"))
        assert "infra_gen-0.1.0-py3-none-any.whl" in install["name"]
        assert results["infra-readiness"]["ok"], results["infra-readiness"]

        failed = [s for s in results["infra-security"]["steps"] if not s["ok"]]
        assert len(failed) == 1
        assert failed[0]["name"].startswith("every module imports")
        assert "import infra_security.bridge: ModuleNotFoundError: No module named 'infra_gen'" in failed[0]["detail"]

    def test_lowest_builds_infra_models_from_its_first_commit_or_tag(self, repo, run):
        _with_tests_and_cli(repo)
        models_init = repo.read("packages/infra-models/src/infra_models/__init__.py")
        repo.write(
            "packages/infra-models/src/infra_models/__init__.py",
            models_init.replace('__all__ = ["hello"]', '__all__ = ["added", "hello"]')
            + "\n\ndef added() -> int:\n    return 1\n",
        )
        gen_init = repo.read("packages/infra-gen/src/infra_gen/__init__.py")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", gen_init + "\nfrom infra_models import added\n")
        repo.commit("infra-models grows while still 0.1.0; infra-gen uses it")

        code, out, err = run(repo, "verify-install", "infra-gen", "--lowest")
        assert code == 1, out + err
        assert "infra-models 0.1.0 from" in out
        assert "(__about__.py (unreleased))" in out
        assert "cannot import name 'added' from 'infra_models'" in out

        repo.git("tag", "infra-models-v0.1.0")  # the release holds `added`: the claim is now true
        code, out, err = run(repo, "verify-install", "infra-gen", "--lowest")
        assert code == 0, out + err
        assert "(tag infra-models-v0.1.0)" in out

    def test_lowest_proves_the_lower_bound_with_releases_recorded_by_headings(self, repo, run):
        """No tags (a CI clone): 0.1.0 and 0.1.1 are committed CHANGELOG headings; `>=0.1` fails, `>=0.1.1` holds."""
        _with_tests_and_cli(repo)
        assert run(repo, "bump", "infra-models", "current", "--date", "2026-01-01")[0] == 0
        repo.commit("infra-models 0.1.0")
        models_init = repo.read("packages/infra-models/src/infra_models/__init__.py")
        repo.write(
            "packages/infra-models/src/infra_models/__init__.py",
            models_init.replace('__all__ = ["hello"]', '__all__ = ["added", "hello"]')
            + "\n\ndef added() -> int:\n    return 1\n",
        )
        changelog = repo.read("packages/infra-models/CHANGELOG.md")
        repo.write(
            "packages/infra-models/CHANGELOG.md", changelog.replace("## Unreleased\n", "## Unreleased\n\n- added\n")
        )
        assert run(repo, "bump", "infra-models", "patch", "--date", "2026-01-02")[0] == 0
        gen_init = repo.read("packages/infra-gen/src/infra_gen/__init__.py")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", gen_init + "\nfrom infra_models import added\n")
        repo.commit("infra-models 0.1.1 adds `added`; infra-gen uses it but still claims >=0.1")

        code, out, err = run(repo, "verify-install", "infra-gen", "--lowest")
        assert code == 1, out + err
        assert "infra-models 0.1.0 from" in out
        assert "(changelog heading)" in out
        assert "cannot import name 'added' from 'infra_models'" in out

        pyproject = repo.read("packages/infra-gen/pyproject.toml")
        repo.write(
            "packages/infra-gen/pyproject.toml", pyproject.replace("infra-models>=0.1,<0.2", "infra-models>=0.1.1,<0.2")
        )
        repo.commit("infra-gen claims what it uses")
        code, out, err = run(repo, "verify-install", "infra-gen", "--lowest")
        assert code == 0, out + err
        assert "infra-gen: ok with infra-models 0.1.1" in out


def _fake_python(path, version: str, *, broken: bool = False):
    """An executable that answers the version probe as Python `version` would (or fails like a pyenv shim)."""
    body = (
        f"#!/bin/sh\necho 'pyenv: python{version}: command not found' >&2\nexit 127\n"
        if broken
        else f"#!/bin/sh\necho {version}\necho {path}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    path.chmod(0o755)
    return path


class TestPythonVersions:
    def test_a_pyenv_shim_that_refuses_to_run_is_not_taken(self, tmp_path, monkeypatch):
        from releasing.interpreters import find_python

        shim = _fake_python(tmp_path / "shims" / "python3.97", "3.97", broken=True)
        real = _fake_python(tmp_path / "pyenv" / "versions" / "3.97.2" / "bin" / "python3.97", "3.97")
        monkeypatch.setenv("PATH", f"{shim.parent}:{os.environ['PATH']}")
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
        assert find_python("3.97") == str(real)

    def test_an_interpreter_of_another_version_is_not_taken(self, tmp_path, monkeypatch):
        from releasing.interpreters import find_python

        liar = _fake_python(tmp_path / "bin" / "python3.97", "3.96")  # named 3.97, says 3.96
        monkeypatch.setenv("PATH", f"{liar.parent}:{os.environ['PATH']}")
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
        assert find_python("3.97") is None

    @pytest.mark.parametrize("bad", ["3", "3.12.1", "python3.12", "three"])
    def test_a_version_that_is_not_major_minor_is_a_usage_error(self, repo, run, bad):
        code, _, err = run(repo, "verify-install", "infra-gen", "--python", bad)
        assert code == 2
        assert f"--python {bad!r}: give a minor version such as 3.12" in err

    def test_missing_interpreter_is_skipped_with_a_note_outside_ci(self, repo, run, monkeypatch, tmp_path):
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
        code, out, err = run(repo, "verify-install", "infra-gen", "--python", "3.97")
        assert code == 0, out + err
        assert "note: no Python 3.97 found" in err
        assert "skipped outside CI" in err

    @pytest.mark.parametrize("ci", ["true", "1"])
    def test_missing_interpreter_fails_every_package_in_ci(self, repo, run, monkeypatch, tmp_path, ci):
        monkeypatch.setenv("CI", ci)
        monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
        code, out, err = run(repo, "verify-install", "--all", "--python", "3.97", "--format", "json")
        assert code == 1, out + err
        results = json.loads(out)["results"]
        assert {r["package"] for r in results} == {"infra-models", "infra-gen", "infra-security", "infra-readiness"}
        for result in results:
            assert not result["ok"] and result["python"] == "3.97"
            assert result["steps"][0]["name"] == "find Python 3.97"
            assert "CI is set, so a missing interpreter fails" in result["steps"][0]["detail"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is needed to build and install wheels")
def test_python_option_makes_the_venv_from_that_interpreter(repo, run):
    """The package's own tests run on the asked-for Python, one outcome per package and version."""
    import sys

    from releasing.interpreters import find_python, running_in_ci

    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    other = next((v for v in ("3.12", "3.13") if v != mine and find_python(v)), None)
    if other is None:
        if running_in_ci():
            pytest.fail("no Python 3.12 or 3.13 found; CI is set, so the interpreter matrix cannot be tested")
        pytest.skip("no Python 3.12 or 3.13 found beside this interpreter")
    _with_tests_and_cli(repo)
    repo.write(
        "packages/infra-gen/tests/unit/test_version.py",
        "import sys\n\n\ndef test_runs_on_the_asked_python():\n"
        f"    assert sys.version_info[:2] == {tuple(map(int, other.split('.')))!r}\n",
    )
    repo.commit("infra-gen checks which Python runs its tests")
    code, out, err = run(repo, "verify-install", "infra-gen", "--python", other, "--python", mine, "--format", "json")
    results = json.loads(out)["results"]
    by_python = {r["python"]: r for r in results}
    assert set(by_python) == {other, mine}, out + err
    assert by_python[other]["ok"], by_python[other]
    steps = {s["name"]: s for s in by_python[other]["steps"]}
    assert "2 passed" in steps["unit tests against the installed wheel"]["detail"]
    assert not by_python[mine]["ok"]  # the same test fails on the other interpreter: the venv really differs
    assert code == 1
