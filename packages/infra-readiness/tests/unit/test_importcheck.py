"""The import worker: fresh imports per node, errors with file and line, timeouts, and the no-fork path."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from infra_models import ReadinessLevel, ReadinessSummary, Waiver
from infra_readiness import importcheck
from infra_readiness.importcheck import ImportProbe, ImportRequest


def package(tmp_path, name: str, code: str, folder: str | None = None) -> ImportRequest:
    root = tmp_path / (folder or name)
    (root / "src" / name).mkdir(parents=True)
    (root / "src" / name / "__init__.py").write_text(code)
    return ImportRequest(module=name, paths=(str(root / "src"),), root=str(root))


class TestImportProbe:
    def test_many_nodes_share_one_worker_but_import_fresh(self, tmp_path):
        # Two nodes with one import name: a worker that kept the first module would pass the broken second.
        first = package(tmp_path, "svc", "import json\nVALUE = 1\n", folder="one")
        second = package(tmp_path, "svc", "import json\nimport svc_missing_dep\n", folder="two")
        results = [f.result() for f in ImportProbe().submit_all([first, second], preload=["json"])]
        assert results[0].ok
        assert not results[1].ok
        assert "svc_missing_dep" in results[1].error
        assert results[1].line == 2

    def test_a_hanging_import_times_out(self, tmp_path):
        request = package(tmp_path, "slow", "import time\ntime.sleep(30)\n")
        result = ImportProbe(timeout=1).submit_all([request])[0].result()
        assert not result.ok
        assert result.timed_out

    def test_an_interpreter_crash_is_reported(self, tmp_path):
        request = package(tmp_path, "dies", "import os\nos._exit(7)\n")
        result = ImportProbe().submit_all([request])[0].result()
        assert not result.ok
        assert result.crashed

    def test_without_fork_each_node_gets_its_own_interpreter(self, tmp_path, monkeypatch):
        monkeypatch.setattr(importcheck, "_FORKING", False)
        good = package(tmp_path, "good", "X = 1\n")
        bad = package(tmp_path, "bad", "raise ValueError('no')\n")
        results = [f.result() for f in ImportProbe().submit_all([good, bad])]
        assert [r.ok for r in results] == [True, False]
        assert "ValueError: no" in results[1].error


class TestModels:
    def test_waiver_expiry(self):
        waiver = Waiver(check_id="PERF-001", reason="r", owner="o", expires=date(2026, 12, 31))
        assert not waiver.expired(date(2026, 12, 31))
        assert waiver.expired(date(2027, 1, 1))

    @pytest.mark.parametrize("field", [{"check_id": "perf"}, {"reason": ""}, {"owner": ""}, {"expires": "soon"}])
    def test_waiver_refuses_bad_fields(self, field):
        data = {"check_id": "PERF-001", "reason": "r", "owner": "o", "expires": "2026-12-31", **field}
        with pytest.raises(ValidationError):
            Waiver.model_validate(data)

    def test_summary_level_must_be_the_lowest(self, fixture_node):
        from infra_readiness import check_tree

        fixture_node("production")
        fixture_node("development")
        reports = check_tree(".", recursive=True, today=date(2026, 11, 28))
        with pytest.raises(ValidationError, match="lowest"):
            ReadinessSummary(path=".", level=ReadinessLevel.PRODUCTION, reports=tuple(reports))
