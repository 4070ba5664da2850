"""Write the corpus nodes and score infra-readiness on them (used by the corpus test and bench/bench_corpus.py).

Each case starts from a complete sample node of its kind (``infra_readiness.testing.write_node``: every scored
check passes on it), then its files are written over it and ``remove`` deletes files. ``expected.toml`` beside
this module names, per case, the scored checks that must FAIL; every other scored check must not.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from infra_models import CheckStatus, ReadinessReport
from infra_readiness import check_path
from infra_readiness.testing import write_node

__all__ = ["CATEGORY", "SCORED", "Score", "expected", "materialize", "rate_corpus", "score"]

HERE = Path(__file__).parent
#: The checks the corpus scores, with their category; the ones that need --run-tests or the network are not here.
CATEGORY = {
    **dict.fromkeys(("SEC-001", "SEC-002", "SEC-003", "SEC-004", "SEC-005"), "security"),
    **dict.fromkeys(("TST-001", "TST-007"), "testing"),
    **dict.fromkeys(("DOC-001", "DOC-002", "DOC-003", "DOC-004"), "documentation"),
    **dict.fromkeys(("PERF-001", "PERF-002", "PERF-003"), "performance"),
    **dict.fromkeys(("OBS-001", "OBS-002", "OBS-003", "OBS-004"), "observability"),
}
SCORED = frozenset(CATEGORY)


@dataclass(frozen=True)
class Expectation:
    """One case: its kind, the checks that must fail, and why."""

    name: str
    kind: str
    fails: frozenset[str]
    why: str
    remove: tuple[str, ...] = ()


def expected() -> dict[str, Expectation]:
    """``expected.toml``: the labelled cases."""
    data = tomllib.loads((HERE / "expected.toml").read_text(encoding="utf-8"))
    return {
        name: Expectation(name, entry["kind"], frozenset(entry["fails"]), entry["why"], tuple(entry.get("remove", ())))
        for name, entry in data.items()
    }


def materialize(parent: Path) -> dict[str, Path]:
    """Write every case under ``parent``; ``{name: node root}``."""
    from corpus_cases import FILES, REPLACE  # the cases module sits beside this one

    roots: dict[str, Path] = {}
    for name, case in expected().items():
        root = write_node(parent, name, case.kind)
        for relative in case.remove:
            target = root / relative
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        for relative, old, new in REPLACE.get(name, []):
            path = root / relative.replace("{pkg}", name)
            text = path.read_text(encoding="utf-8")
            if old not in text:
                raise ValueError(f"corpus case {name}: {relative} does not contain {old!r}")
            path.write_text(text.replace(old, new), encoding="utf-8")
        for relative, text in FILES.get(name, {}).items():
            path = root / relative.replace("{pkg}", name)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.name.endswith(".append"):
                path = path.with_name(path.name.removesuffix(".append"))
                path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
            else:
                path.write_text(text.replace("{pkg}", name), encoding="utf-8")
        roots[name] = root
    return roots


def rate_corpus(parent: Path) -> dict[str, ReadinessReport]:
    """Write and rate every case (benchmarks run, tests not: the scored checks do not need them)."""
    return {name: check_path(root, run_benchmarks=True) for name, root in materialize(parent).items()}


@dataclass
class Score:
    """True and false positives and false negatives of one category."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of reported failures that were seeded."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of seeded defects that were reported."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def failing(report: ReadinessReport) -> set[str]:
    """The scored checks that did not pass (FAIL or ERROR)."""
    return {
        c.check_id for c in report.checks if c.check_id in SCORED and c.status in (CheckStatus.FAIL, CheckStatus.ERROR)
    }


def score(reports: dict[str, ReadinessReport]) -> dict[str, Score]:
    """Precision and recall per category over (case, check) pairs."""
    cases = expected()
    scores = {category: Score() for category in sorted(set(CATEGORY.values()))}
    for name, report in reports.items():
        got = failing(report)
        want = cases[name].fails
        for check_id in SCORED:
            entry = scores[CATEGORY[check_id]]
            if check_id in got and check_id in want:
                entry.tp += 1
            elif check_id in got:
                entry.fp += 1
                entry.misses.append(f"{name}: {check_id} reported but not seeded")
            elif check_id in want:
                entry.fn += 1
                entry.misses.append(f"{name}: {check_id} seeded but not reported")
    return scores
