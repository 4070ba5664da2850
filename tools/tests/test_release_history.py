"""`pending`, `bump`, `release-notes` and `check-tag` in a temporary git repository."""

from __future__ import annotations

import json

import pytest
from releasing.bump import next_version
from releasing.errors import UsageError
from releasing.history import parse_tag


def _pending(run, repo, *names):
    code, out, err = run(repo, "pending", "--format", "json", *names)
    assert code == 0, err
    return {row["package"]: row for row in json.loads(out)}


class TestPending:
    def test_without_release_everything_is_pending(self, repo, run):
        rows = _pending(run, repo)
        assert all(r["pending"] and r["last_release"] is None for r in rows.values())
        assert rows["infra-gen"]["unreleased_entries"] == 1

    def test_changelog_heading_marks_the_release(self, repo, run):
        assert run(repo, "bump", "infra-gen", "minor", "--date", "2026-01-02")[0] == 0
        release_commit = repo.commit("release infra-gen 0.2.0")
        row = _pending(run, repo, "infra-gen")["infra-gen"]
        assert row["last_release"] == {"version": "0.2.0", "commit": release_commit, "source": "changelog heading"}
        assert row["pending"] is False
        repo.write("packages/infra-gen/src/infra_gen/x.py", "X = 1\n")
        repo.commit("after release")
        row = _pending(run, repo, "infra-gen")["infra-gen"]
        assert row["pending"] is True
        assert row["commits_since"] == 1
        assert row["files_changed"] == ["packages/infra-gen/src/infra_gen/x.py"]

    def test_tags_win_over_changelog(self, repo, run):
        repo.git("tag", "infra-security-v0.1.0")
        assert _pending(run, repo, "infra-security")["infra-security"]["pending"] is False
        repo.write("packages/infra-security/src/infra_security/x.py", "X = 1\n")
        repo.commit("security change")
        repo.write("packages/infra-gen/src/infra_gen/x.py", "X = 1\n")
        repo.commit("gen change")
        row = _pending(run, repo, "infra-security")["infra-security"]
        assert row["last_release"]["source"] == "tag infra-security-v0.1.0"
        assert (row["pending"], row["commits_since"]) == (True, 1)

    def test_text_output(self, repo, run):
        code, out, _ = run(repo, "pending")
        assert code == 0
        assert "never released" in out
        assert out.index("infra-models") < out.index("infra-readiness")


class TestBump:
    def test_rewrites_about_and_changelog(self, repo, run):
        code, out, _ = run(repo, "bump", "infra-gen", "minor", "--date", "2026-03-04")
        assert code == 0
        assert "0.1.0 -> 0.2.0" in out
        assert repo.read("packages/infra-gen/src/infra_gen/__about__.py") == '__version__ = "0.2.0"\n'
        assert repo.read("packages/infra-gen/CHANGELOG.md") == (
            "# Changelog of infra-gen\n\n## Unreleased\n\n## 0.2.0 - 2026-03-04\n\n- First version.\n"
        )
        code, out, _ = run(repo, "release-notes", "infra-gen")
        assert (code, out) == (0, "- First version.\n")

    def test_empty_unreleased_writes_nothing(self, repo, run):
        run(repo, "bump", "infra-gen", "patch", "--date", "2026-03-04")
        before = repo.read("packages/infra-gen/src/infra_gen/__about__.py")
        code, _, err = run(repo, "bump", "infra-gen", "patch")
        assert code == 1
        assert "Unreleased` section is empty" in err
        assert repo.read("packages/infra-gen/src/infra_gen/__about__.py") == before

    def test_missing_unreleased_section(self, repo, run):
        repo.write("packages/infra-gen/CHANGELOG.md", "# Changelog\n")
        code, _, err = run(repo, "bump", "infra-gen", "major")
        assert code == 2
        assert "no `## Unreleased` section" in err

    def test_bad_segment_and_package(self, repo, run):
        assert run(repo, "bump", "infra-gen", "huge")[0] == 2
        code, _, err = run(repo, "bump", "infra-nope", "patch")
        assert code == 2
        assert "unknown package 'infra-nope'" in err

    def test_refuses_an_existing_tag(self, repo, run):
        repo.git("tag", "infra-gen-v0.1.1")
        code, _, err = run(repo, "bump", "infra-gen", "patch")
        assert code == 2
        assert "__about__.py says 0.1.0, older than the last release 0.1.1" in err

    @pytest.mark.parametrize(
        ("current", "segment", "expected"),
        [
            ("0.1.0", "patch", "0.1.1"),
            ("0.1.3", "minor", "0.2.0"),
            ("0.9.1", "major", "1.0.0"),
            ("2.4", "patch", "2.4.1"),
        ],
    )
    def test_next_version(self, current, segment, expected):
        assert next_version(current, segment) == expected

    def test_release_notes_need_a_release_section(self, repo, run):
        code, _, err = run(repo, "release-notes", "infra-gen")
        assert code == 1
        assert "no `## 0.1.0 - YYYY-MM-DD` section" in err


class TestCheckTag:
    def test_matching_tag(self, repo, run):
        code, out, _ = run(repo, "check-tag", "refs/tags/infra-gen-v0.1.0", "--format", "github")
        assert code == 0
        assert "package=infra-gen" in out.splitlines()
        assert "version=0.1.0" in out.splitlines()

    def test_mismatched_tag(self, repo, run):
        code, _, err = run(repo, "check-tag", "infra-gen-v0.2.0")
        assert code == 1
        assert "says 0.2.0, but packages/infra-gen/src/infra_gen/__about__.py says 0.1.0" in err

    def test_parse_tag(self):
        assert parse_tag("infra-readiness-v1.2.3") == ("infra-readiness", "1.2.3")
        with pytest.raises(UsageError, match="not of the form"):
            parse_tag("infra-gen==1.0")


class TestFirstRelease:
    def test_current_releases_the_version_as_is_once(self, repo, run):
        code, out, _ = run(repo, "bump", "infra-models", "current", "--date", "2026-05-06")
        assert code == 0
        assert "0.1.0 -> 0.1.0" in out
        assert "## 0.1.0 - 2026-05-06" in repo.read("packages/infra-models/CHANGELOG.md")
        assert repo.read("packages/infra-models/src/infra_models/__about__.py") == '__version__ = "0.1.0"\n'
        repo.commit("release infra-models 0.1.0")
        repo.write("packages/infra-models/CHANGELOG.md", repo.read("packages/infra-models/CHANGELOG.md") + "- more\n")
        code, _, err = run(repo, "bump", "infra-models", "current")
        assert code == 2
        assert "infra-models 0.1.0 was released before (changelog heading)" in err

    def test_current_releases_a_version_raised_by_hand(self, repo, run):
        assert run(repo, "bump", "infra-gen", "current", "--date", "2026-05-06")[0] == 0
        repo.commit("infra-gen 0.1.0")
        _add_entry(repo, "infra-gen", "Something new.")
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "0.3.0"\n')
        code, out, err = run(repo, "bump", "infra-gen", "current", "--date", "2026-05-07")
        assert code == 0, err
        assert "0.3.0 -> 0.3.0" in out
        assert "## 0.3.0 - 2026-05-07" in repo.read("packages/infra-gen/CHANGELOG.md")


def _add_entry(repo, dist, line):
    path = f"packages/{dist}/CHANGELOG.md"
    repo.write(path, repo.read(path).replace("## Unreleased\n", f"## Unreleased\n\n- {line}\n", 1))


class TestBumpFromTheLastRelease:
    """Segments move from the last release, so a version raised by hand is not raised twice."""

    @pytest.fixture
    def released(self, repo, run):
        assert run(repo, "bump", "infra-gen", "current", "--date", "2026-05-06")[0] == 0
        repo.commit("infra-gen 0.1.0")
        _add_entry(repo, "infra-gen", "Something new.")
        return repo

    def test_minor_after_a_hand_raise_to_the_same_minor(self, released, run):
        released.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "0.2.0"\n')
        code, out, _ = run(released, "bump", "infra-gen", "minor", "--date", "2026-05-07")
        assert code == 0
        assert "0.2.0 -> 0.2.0" in out
        assert "set by hand: minor bump of the last release 0.1.0" in out
        assert released.read("packages/infra-gen/src/infra_gen/__about__.py") == '__version__ = "0.2.0"\n'

    def test_patch_after_a_hand_raise_keeps_the_higher_version(self, released, run):
        released.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "0.2.0"\n')
        code, out, _ = run(released, "bump", "infra-gen", "patch", "--dry-run")
        assert code == 0
        assert "0.2.0 -> 0.2.0" in out
        assert "above the patch bump 0.1.1 of 0.1.0: kept" in out

    def test_major_after_a_hand_raise_moves_from_the_release(self, released, run):
        released.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "0.1.1"\n')
        code, out, _ = run(released, "bump", "infra-gen", "major", "--dry-run")
        assert (code, "0.1.1 -> 1.0.0" in out) == (0, True)

    def test_declared_break_refuses_a_small_bump(self, released, run):
        _add_entry(released, "infra-gen", "Breaking: `greet` takes a keyword.")
        before = released.read("packages/infra-gen/CHANGELOG.md")
        code, _, err = run(released, "bump", "infra-gen", "patch")
        assert code == 2
        assert "declares a break (- Breaking: `greet` takes a keyword.); 0.1.0 -> 0.1.1 is too small" in err
        assert released.read("packages/infra-gen/CHANGELOG.md") == before
        assert run(released, "bump", "infra-gen", "minor")[0] == 0

    def test_version_below_the_release_is_refused(self, released, run):
        released.git("tag", "infra-gen-v0.4.0")
        code, _, err = run(released, "bump", "infra-gen", "patch")
        assert code == 2
        assert "older than the last release 0.4.0" in err
