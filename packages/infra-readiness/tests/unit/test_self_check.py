"""The repository's own packages: every check decides (no ERROR) and this package reaches STAGING.

PRODUCTION needs its tests run (TST-006) and performance budgets (PERF-002): nothing else may hold it back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_models import CheckStatus, ReadinessLevel
from infra_readiness import check_tree

PACKAGES = Path(__file__).resolve().parents[3]
# Against an installed wheel (tools/release.py verify-install) only this package's tests are copied.
IN_REPOSITORY = (PACKAGES / "infra-models" / "src" / "infra_models").is_dir()


@pytest.mark.skipif(not IN_REPOSITORY, reason="rates the repository's packages: needs its source tree")
def test_repository_packages_are_rated_without_errors():
    reports = check_tree(PACKAGES, recursive=True)
    assert len(reports) >= 5
    errors = [(r.name, c.check_id, c.message) for r in reports for c in r.checks if c.status is CheckStatus.ERROR]
    assert errors == []
    ours = next(r for r in reports if r.name == "infra-readiness")
    assert ours.level is ReadinessLevel.STAGING, ours.issues
    assert set(ours.blockers) <= {"PERF-002", "TST-006"}, ours.issues
