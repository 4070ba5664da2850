"""`changelog-check`: a change under `src/` needs a new CHANGELOG entry."""

from __future__ import annotations


class TestChangelogCheck:
    def test_src_change_without_entry_fails(self, repo, run):
        repo.git("checkout", "-q", "-b", "feature")
        repo.write("packages/infra-gen/src/infra_gen/x.py", "X = 1\n")
        repo.commit()
        code, _, err = run(repo, "changelog-check", "--base", "main")
        assert code == 1
        assert "infra-gen: packages/infra-gen/src/infra_gen/x.py changed but" in err
        assert "gained no entry" in err

    def test_new_entry_passes(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/x.py", "X = 1\n")
        changelog = repo.read("packages/infra-gen/CHANGELOG.md")
        repo.write("packages/infra-gen/CHANGELOG.md", changelog.replace("## Unreleased\n", "## Unreleased\n\n- X.\n"))
        code, out, _ = run(repo, "changelog-check", "--base", "main")
        assert code == 0
        assert "changelog ok (infra-gen)" in out

    def test_tests_only_change_needs_nothing(self, repo, run):
        repo.write("packages/infra-gen/tests/test_x.py", "def test_x():\n    pass\n")
        assert run(repo, "changelog-check", "--base", "main")[0] == 0

    def test_malformed_heading_is_reported(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/x.py", "X = 1\n")
        repo.write("packages/infra-gen/CHANGELOG.md", "# C\n\n## Unreleased\n\n- X.\n\n## next one\n")
        code, _, err = run(repo, "changelog-check", "--base", "main")
        assert code == 1
        assert "'## next one' is neither" in err
