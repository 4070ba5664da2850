"""`affected`: changed packages plus their dependents, from a temporary git repository."""

from __future__ import annotations

import json


def _affected(run, repo, *extra):
    code, out, err = run(repo, "affected", "--base", "main", "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out)


class TestAffected:
    def test_change_selects_package_and_dependents(self, repo, run):
        repo.git("checkout", "-q", "-b", "feature")
        repo.write("packages/infra-gen/src/infra_gen/new.py", "X = 1\n")
        repo.commit("gen change")
        data = _affected(run, repo)
        assert data["packages"] == ["infra-gen", "infra-readiness"]
        assert data["all"] is False
        assert [row["package"] for row in data["matrix"]["include"]] == ["infra-gen", "infra-readiness"]
        assert data["reasons"]["infra-readiness"] == ["depends on infra-gen"]

    def test_leaf_change_selects_only_it(self, repo, run):
        repo.write("packages/infra-security/src/infra_security/x.py", "X = 1\n")  # uncommitted work counts too
        assert _affected(run, repo)["packages"] == ["infra-security"]

    def test_models_change_selects_all(self, repo, run):
        repo.write("packages/infra-models/src/infra_models/x.py", "X = 1\n")
        data = _affected(run, repo)
        assert data["all"] is True
        assert sorted(data["packages"]) == ["infra-gen", "infra-models", "infra-readiness", "infra-security"]
        assert data["packages"][0] == "infra-models"

    def test_shared_tooling_selects_all(self, repo, run):
        repo.write("tools/x.py", "X = 2\n")
        assert len(_affected(run, repo)["packages"]) == 4

    def test_docs_only_selects_none(self, repo, run):
        repo.write("docs/index.md", "# more docs\n")
        data = _affected(run, repo)
        assert data["packages"] == []
        assert data["any"] is False

    def test_unknown_package_folder_fails_loudly(self, repo, run):
        repo.write("packages/infra-new/src/infra_new/__init__.py", "")
        code, out, err = run(repo, "affected", "--base", "main")
        assert code == 2
        assert out == ""
        assert "packages/infra-new is not a workspace member" in err

    def test_github_output_and_all(self, repo, run):
        code, out, _ = run(repo, "affected", "--all", "--format", "github")
        assert code == 0
        lines = dict(line.split("=", 1) for line in out.splitlines())
        assert lines["any"] == "true"
        assert lines["all"] == "true"
        assert len(json.loads(lines["matrix"])["include"]) == 4

    def test_missing_base_ref(self, repo, run):
        code, _, err = run(repo, "affected", "--base", "origin/nope")
        assert code == 2
        assert "git ref 'origin/nope' not found" in err

    def test_removed_package_selects_everything_left(self, repo, run):
        repo.git("rm", "-q", "-r", "packages/infra-security")
        repo.register("infra-models", "infra-gen", "infra-readiness")
        data = _affected(run, repo)
        assert data["all"] is True
        assert sorted(data["packages"]) == ["infra-gen", "infra-models", "infra-readiness"]
