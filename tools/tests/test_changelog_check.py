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

    def test_the_release_commit_of_bump_passes(self, repo, run):
        """The pull request `bump` produces moves entries under a heading and changes only __about__.py in src/."""
        repo.git("checkout", "-q", "-b", "release")
        assert run(repo, "bump", "infra-gen", "minor", "--date", "2026-02-03")[0] == 0
        repo.commit("infra-gen 0.2.0")
        code, out, err = run(repo, "changelog-check", "--base", "main")
        assert code == 0, err
        assert "changelog ok (infra-gen)" in out

    def test_version_changed_by_hand_without_heading_fails(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "0.2.0"\n')
        code, _, err = run(repo, "changelog-check", "--base", "main")
        assert code == 1
        assert "__about__.py changed but packages/infra-gen/CHANGELOG.md gained neither an entry nor the" in err

    def test_release_commit_with_other_src_changes_needs_their_entries(self, repo, run):
        repo.git("checkout", "-q", "-b", "release")
        assert run(repo, "bump", "infra-gen", "minor", "--date", "2026-02-03")[0] == 0
        repo.write("packages/infra-gen/src/infra_gen/sneaky.py", "X = 1\n")
        repo.commit("infra-gen 0.2.0 and a change")
        code, _, err = run(repo, "changelog-check", "--base", "main")
        assert code == 1
        assert "infra-gen: packages/infra-gen/src/infra_gen/sneaky.py changed but" in err
