"""Score infra-readiness on the labelled corpus: precision and recall per category, beside the run time.

The corpus (``tests/corpus``: 44 small nodes, seeded defects of every category and clean look-alikes, with the
expected failing checks in ``expected.toml``) is written to a temporary folder and rated in process with
``--run-benchmarks`` (the nodes' own benchmarks run) and without ``--run-tests``.

Anchor, measured in the same run on the same files: bandit alone over the corpus's Python sources (one of the
libraries the checks drive), so the ratio says what the other 25 checks cost on top of one well-known scanner.

Run: ``hatch run bench infra-readiness``, or ``python packages/infra-readiness/bench/bench_corpus.py``.
"""

from __future__ import annotations

import ast
import sys
import tempfile
import time
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
sys.path.insert(0, str(CORPUS))

import corpus_build  # noqa: E402 - the corpus modules sit in tests/corpus

from infra_readiness.checks.insecure_code import bandit_issues  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="readiness-corpus-") as scratch:
        parent = Path(scratch)
        start = time.perf_counter()
        reports = corpus_build.rate_corpus(parent)
        rated = time.perf_counter() - start
        sources = sorted(p for p in parent.glob("*/src/**/*.py"))
        start = time.perf_counter()
        trees = {}
        for path in sources:
            try:
                trees[path] = ast.parse(path.read_text(encoding="utf-8"))
            except SyntaxError:
                continue  # the 3.12-syntax case: bandit alone cannot read it on 3.11
        bandit_issues(trees)
        anchor = time.perf_counter() - start
    scores = corpus_build.score(reports)
    print(f"corpus: {len(reports)} nodes, {sum(len(c.fails) for c in corpus_build.expected().values())} seeded defects")
    print(f"{'category':15} {'precision':>9} {'recall':>7} {'TP':>4} {'FP':>4} {'FN':>4}")
    for category, score in scores.items():
        print(f"{category:15} {score.precision:9.3f} {score.recall:7.3f} {score.tp:4} {score.fp:4} {score.fn:4}")
        for miss in score.misses:
            print(f"    {miss}")
    total_tp = sum(s.tp for s in scores.values())
    total_fp = sum(s.fp for s in scores.values())
    total_fn = sum(s.fn for s in scores.values())
    precision = total_tp / (total_tp + total_fp) if total_tp + total_fp else 1.0
    recall = total_tp / (total_tp + total_fn) if total_tp + total_fn else 1.0
    print(f"{'all':15} {precision:9.3f} {recall:7.3f} {total_tp:4} {total_fp:4} {total_fn:4}")
    print(
        f"run time: {rated:.2f} s for {len(reports)} nodes "
        f"({rated / len(reports) * 1000:.0f} ms/node, their benchmarks run); "
        f"anchor bandit alone on the {len(sources)} source files: {anchor:.2f} s; ratio {rated / anchor:.1f}x"
    )


if __name__ == "__main__":
    main()
