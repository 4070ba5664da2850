"""The GitHub workflows parse, reference real jobs and real tool options, and stay in step with `.ci/run`."""

from __future__ import annotations

import re
import shlex
import tomllib

import pytest
import yaml
from releasing.cli import _parser
from releasing.history import TAG_RE
from workspace import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
_EXPR = re.compile(r"\$\{\{.*?\}\}")


def _load(name):
    return yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))


def _runs(workflow):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield job_id, step["run"]


def _tool_calls(script, tool):
    """The argument lists of every `python tools/<tool>` call in a shell script (expressions made concrete)."""
    script = _EXPR.sub("infra-gen", script).replace("\\\n", " ")
    for raw in script.splitlines():
        line = raw.split(" #")[0]
        if f"tools/{tool}" not in line:
            continue
        words = shlex.split(line.split(f"tools/{tool}", 1)[1].split(">")[0].split("||")[0].split("|")[0])
        yield ["--all" if w == "$args" else w for w in words]


@pytest.fixture(scope="module", params=["ci.yml", "release.yml"])
def workflow(request):
    return _load(request.param)


class TestBothWorkflows:
    def test_needs_name_existing_jobs(self, workflow):
        jobs = workflow["jobs"]
        for job_id, job in jobs.items():
            needs = job.get("needs", [])
            for need in [needs] if isinstance(needs, str) else needs:
                assert need in jobs, f"{job_id} needs unknown job {need}"

    def test_release_tool_calls_parse(self, workflow):
        calls = [args for _, run in _runs(workflow) for args in _tool_calls(run, "release.py")]
        assert calls
        for args in calls:
            _parser().parse_args([a.replace('"', "") for a in args])  # SystemExit on an unknown option

    def test_top_level_permissions_are_read_only(self, workflow):
        assert workflow["permissions"] == {"contents": "read"}


class TestCi:
    def test_aggregate_job_needs_every_other_job(self):
        ci = _load("ci.yml")
        gate = ci["jobs"]["all-green"]
        assert gate["if"] == "always()"
        assert set(gate["needs"]) == set(ci["jobs"]) - {"all-green"}
        assert gate["steps"][0]["uses"].startswith("re-actors/alls-green@")
        skips = {s.strip() for s in gate["steps"][0]["with"]["allowed-skips"].split(",")}
        assert skips <= set(ci["jobs"])
        assert "lint" not in skips

    def test_matrix_jobs_use_the_affected_output(self):
        ci = _load("ci.yml")
        for job_id in ("tests", "install-alone", "lowest"):
            job = ci["jobs"][job_id]
            assert job["needs"] == "affected"
            assert job["strategy"]["matrix"] == "${{ fromJSON(needs.affected.outputs.matrix) }}"
        assert "--lowest" in " ".join(run for j, run in _runs(ci) if j == "lowest")
        assert "verify-install" in " ".join(run for j, run in _runs(ci) if j == "install-alone")

    def test_runs_what_ci_run_runs(self):
        ci_runs = "\n".join(run for _, run in _runs(_load("ci.yml")))
        test_sh = (ROOT / "tools" / "test.sh").read_text(encoding="utf-8")
        # `hatch run release X` and `hatch run python tools/release.py X` are the same command
        test_sh = re.sub(r"hatch run (python )?tools/release\.py|hatch run release", "tools/release.py", test_sh)
        test_sh = re.sub(r"hatch run (python )?tools/check_versions\.py", "hatch run lint", test_sh)
        assert "tools/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
        for script in re.findall(r"^\s*hatch run (\w[\w-]*)", test_sh, flags=re.M):
            if script != "test":  # the full suite is split into the per-package `tests` matrix and tools/tests
                assert f"hatch run {script}" in ci_runs, f"tools/test.sh runs `hatch run {script}`, ci.yml does not"
        for sub in re.findall(r"tools/release\.py ([a-z-]+)", test_sh):
            assert f"tools/release.py {sub}" in ci_runs
        for script in re.findall(r"hatch run (\w[\w-]*)", ci_runs):
            if script not in {"python", "pytest"}:
                hatch = tomllib.loads((ROOT / "hatch.toml").read_text(encoding="utf-8"))
                assert script in hatch["envs"]["default"]["scripts"]

    def test_integration_services_reach_the_tests(self):
        runs = "\n".join(run for j, run in _runs(_load("ci.yml")) if j == "tests")
        assert "python tools/services.py up" in runs
        assert "$GITHUB_ENV" in runs
        assert "hatch run pytest" in runs


class TestRelease:
    def test_triggers_on_package_tags(self):
        release = _load("release.yml")
        on = release[True] if True in release else release["on"]  # YAML 1.1 reads `on` as True
        (pattern,) = on["push"]["tags"]
        assert pattern == "infra-*-v*"
        assert TAG_RE.match("infra-readiness-v1.2.3")

    def test_only_publish_can_mint_a_token(self):
        jobs = _load("release.yml")["jobs"]
        with_token = [j for j, job in jobs.items() if job.get("permissions", {}).get("id-token") == "write"]
        assert with_token == ["publish"]
        publish = jobs["publish"]
        assert set(publish["needs"]) >= {"build", "verify"}
        assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])
        assert "environment" in publish

    def test_checks_the_tag_and_verifies_before_publishing(self):
        runs = "\n".join(run for _, run in _runs(_load("release.yml")))
        assert "tools/release.py check-tag" in runs
        assert "verify-install" in runs
        assert "release-notes" in runs
        assert "tools/check_versions.py" in runs
