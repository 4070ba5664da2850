"""Workspace discovery and the dependency graph."""

from __future__ import annotations

import json

import pytest
from workspace import ROOT, WorkspaceError, discover
from workspace import main as workspace_main


class TestDiscover:
    def test_reads_members_versions_and_graph(self, repo):
        ws = discover(repo.root)
        assert ws.names == ["infra-gen", "infra-models", "infra-readiness", "infra-security"]
        gen = ws.get("infra_gen")
        assert (gen.dist, gen.import_name, gen.version) == ("infra-gen", "infra_gen", "0.1.0")
        assert ws.graph()["infra-readiness"] == ["infra-gen", "infra-models"]
        assert ws.dependents(["infra-gen"]) == {"infra-gen", "infra-readiness"}
        assert ws.order()[0] == "infra-models"
        assert ws.order().index("infra-gen") < ws.order().index("infra-readiness")

    def test_unregistered_folder_fails_loudly(self, repo):
        repo.add_package("infra-new", ("infra-models>=0.1,<0.2",))
        with pytest.raises(WorkspaceError, match=r"packages/infra-new is not a workspace member: add it to hatch"):
            discover(repo.root)

    def test_name_must_match_folder(self, repo):
        text = repo.read("packages/infra-gen/pyproject.toml").replace('name = "infra-gen"', 'name = "infra-gen2"')
        repo.write("packages/infra-gen/pyproject.toml", text)
        with pytest.raises(WorkspaceError, match="does not match its folder 'infra-gen'"):
            discover(repo.root)

    def test_missing_version_line(self, repo):
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", "VERSION = 1\n")
        with pytest.raises(WorkspaceError, match=r"__about__\.py: no `__version__"):
            discover(repo.root)

    def test_unknown_package_name_lists_known(self, repo):
        with pytest.raises(WorkspaceError, match="unknown package 'infra-nope': expected one of infra-gen"):
            discover(repo.root).get("infra-nope")


class TestCli:
    def test_graph_json(self, repo, capsys):
        assert workspace_main(["graph", "--format", "json", "--root", str(repo.root)]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["dependents"]["infra-models"] == ["infra-gen", "infra-readiness", "infra-security"]

    def test_list_real_repo(self, capsys):
        assert workspace_main(["list", "--format", "json"]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert {r["dist"] for r in rows} >= {"infra-models", "infra-gen", "infra-outbox"}
        assert all(r["path"].startswith("packages/") for r in rows)
        assert ROOT.joinpath(rows[0]["path"], "pyproject.toml").is_file()

    def test_broken_workspace_exits_2(self, repo, capsys):
        repo.write("packages/stray/file.txt", "x")
        assert workspace_main(["list", "--root", str(repo.root)]) == 2
        assert "packages/stray is not a workspace member" in capsys.readouterr().err
