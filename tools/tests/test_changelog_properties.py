"""Property tests for the CHANGELOG and version arithmetic that `bump` relies on."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version
from releasing import changelog
from releasing.bump import next_version

versions = st.tuples(*(st.integers(0, 99),) * 3).map(lambda t: ".".join(map(str, t)))
entry = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=40)
entries = st.lists(entry.map(lambda t: f"- {t.strip() or 'x'}"), min_size=1, max_size=5)


@given(versions, st.sampled_from(["major", "minor", "patch"]))
def test_next_version_always_grows_and_resets_lower_segments(current, segment):
    new = Version(next_version(current, segment))
    old = Version(current)
    assert new > old
    index = ["major", "minor", "patch"].index(segment)
    assert new.release[:index] == old.release[:index]
    assert all(part == 0 for part in new.release[index + 1 :])


@given(entries, st.lists(versions, unique=True, max_size=3), versions)
def test_release_keeps_every_entry_and_leaves_an_empty_unreleased(lines, older, version):
    older_sections = "".join(f"## {v} - 2020-01-01\n\n- old {v}\n\n" for v in older if v != version)
    text = "# Changelog\n\n## Unreleased\n\n" + "\n".join(lines) + "\n\n" + older_sections
    out = changelog.turn_unreleased_into(text, version, "2026-01-02")
    parsed = changelog.sections(out)
    assert parsed[0].is_unreleased
    assert changelog.entries(parsed[0]) == []
    assert (parsed[1].title, parsed[1].date) == (version, "2026-01-02")
    assert changelog.entries(parsed[1]) == lines
    assert changelog.released_versions(out)[1:] == [v for v in older if v != version]
