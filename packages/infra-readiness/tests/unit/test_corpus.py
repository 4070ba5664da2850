"""The labelled corpus: every seeded defect fails its check, no benign look-alike fails any, scores >= 0.95."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
sys.path.insert(0, str(CORPUS))

import corpus_build  # noqa: E402 - the corpus modules sit in tests/corpus


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory):
    return corpus_build.rate_corpus(tmp_path_factory.mktemp("corpus"))


def test_corpus_is_large_and_covers_every_category():
    cases = corpus_build.expected()
    assert len(cases) >= 40
    seeded = {corpus_build.CATEGORY[c] for case in cases.values() for c in case.fails}
    assert seeded == set(corpus_build.CATEGORY.values())
    assert sum(1 for case in cases.values() if not case.fails) >= 10  # clean nodes with benign look-alikes
    assert {c for case in cases.values() for c in case.fails} <= corpus_build.SCORED


def test_each_node_fails_exactly_its_seeded_checks(reports):
    cases = corpus_build.expected()
    wrong = {
        name: (sorted(corpus_build.failing(report)), sorted(cases[name].fails))
        for name, report in reports.items()
        if corpus_build.failing(report) != cases[name].fails
    }
    assert wrong == {}


def test_scores_meet_the_target(reports):
    for category, score in corpus_build.score(reports).items():
        assert score.precision >= 0.95 and score.recall >= 0.95, (category, score.misses)


def test_findings_of_seeded_defects_name_file_and_line(reports):
    found = {(c.check_id, f.file, f.line) for c in reports["sec_pickle"].checks for f in c.findings}
    assert ("SEC-003", "src/sec_pickle/codec.py", 8) in found
    delete = next(c for c in reports["sec_delete_unauthenticated"].checks if c.check_id == "SEC-004")
    assert delete.findings[0].message.startswith("DELETE /orders/{oid}")
