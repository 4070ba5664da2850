"""Golden JSON and SARIF of the four fixture nodes; the SARIF validates against the SARIF 2.1.0 schema.

Regenerate after an intended change with ``INFRA_READINESS_UPDATE_GOLDEN=1 hatch run pytest <this file>``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from infra_models import ReadinessReport, ReadinessSummary
from infra_readiness import check_tree, load_checks
from infra_readiness.api import summarize
from infra_readiness.render.markdown import render_markdown
from infra_readiness.render.sarif import render_sarif

jsonschema = pytest.importorskip("jsonschema")  # in the dev env (hatch.toml); absent from the lean `alone` env

HERE = Path(__file__).parent.parent
GOLDEN = HERE / "golden"
SCHEMA = json.loads((HERE / "data" / "sarif-schema-2.1.0.json").read_text())
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LEVELS = ("not_ready", "development", "staging", "production")


def _stable(data: Any) -> Any:
    """Zero the timings: the only part of a report that changes from run to run."""
    if isinstance(data, dict):
        return {k: (0.0 if k == "duration_ms" else _stable(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_stable(v) for v in data]
    return data


def _compare(name: str, data: Any) -> None:
    text = json.dumps(_stable(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    path = GOLDEN / name
    if os.environ.get("INFRA_READINESS_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; see the module docstring to regenerate"


@pytest.fixture
def tree(fixture_node, workdir):
    for name in LEVELS:
        fixture_node(name)
    return check_tree(".", recursive=True, today=TODAY, now=NOW)


class TestGolden:
    def test_json(self, tree):
        summary = summarize(".", tree, now=NOW)
        data = json.loads(summary.model_dump_json())
        _compare("summary.json", data)
        assert ReadinessSummary.model_validate(data).level.value == "NOT_READY"
        for report in data["reports"]:
            ReadinessReport.model_validate(report)

    def test_sarif(self, tree):
        log = render_sarif(tree, load_checks())
        jsonschema.Draft4Validator(SCHEMA).validate(log)
        _compare("report.sarif", log)

    def test_sarif_marks_waivers_and_errors(self, tree):
        results = render_sarif(tree, load_checks())["runs"][0]["results"]
        waived = [r for r in results if r["properties"]["status"] == "WAIVED"]
        assert [r["ruleId"] for r in waived] == ["OBS-002"]
        assert waived[0]["suppressions"][0]["justification"].startswith("metrics come with the 1.1 exporter")
        located = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results}
        assert ("SEC-001", "not_ready/src/audit_sink/__init__.py") in located

    def test_markdown(self, tree):
        text = render_markdown(tree)
        path = GOLDEN / "report.md"
        if os.environ.get("INFRA_READINESS_UPDATE_GOLDEN"):
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8")
        assert "| `./not_ready` | EFFECT | **NOT_READY** | - | `CON-001`, `SEC-001` |" in text
        assert "| `./staging` | EFFECT | **STAGING** | PRODUCTION ❌ | `PERF-001`, `TST-006` |" in text
