"""Testing, performance, API-docs and tracing checks of issue 12: what each rejects and what it accepts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from infra_models import CheckStatus, NodeKind
from infra_readiness.checks._test_scan import test_functions as scan_tests
from infra_readiness.checks.api_docs import api_documented
from infra_readiness.checks.observability import tracing_present
from infra_readiness.checks.performance import benchmark_present, budgets_declared, budgets_met
from infra_readiness.checks.testing import (
    coverage_for_production,
    coverage_for_staging,
    integration_tests_present,
    tests_exist,
    tests_pass,
    tests_were_run,
)
from infra_readiness.context import NodeContext, NodeOptions
from infra_readiness.testing import write_node

SERVING = {"pyproject.toml": '[project]\nname = "svc"\n[tool.infra-readiness]\nserves = true\n'}


def node(tmp_path: Path, files: dict[str, str], **options: object) -> NodeContext:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return NodeContext(tmp_path, options=NodeOptions(**options))  # type: ignore[arg-type]


class TestAssertingTests:
    def test_assert_true_and_assertion_free_tests_do_not_count(self, tmp_path):
        text = (
            "def test_nothing():\n    run()\n\ndef test_true():\n    assert True\n\n"
            "class TestX:\n    def test_m(self):\n        pass\n"
        )
        outcome = tests_exist(node(tmp_path, {"tests/test_a.py": text}))
        assert outcome.status is CheckStatus.FAIL
        assert "3 test(s), none asserts anything" in outcome.message

    @pytest.mark.parametrize(
        "body",
        [
            "    assert run() == 2\n",
            "    with pytest.raises(ValueError):\n        run()\n",
            "    self.assertEqual(run(), 2)\n",
            "    mock.assert_called_once_with(1)\n",
            "    check_roundtrip(1)\n",  # a helper of the file that asserts
            "    assert (\n        run()\n        == 2\n    )\n",
        ],
    )
    def test_real_assertions_count(self, tmp_path, body):
        text = f"def check_roundtrip(x):\n    assert x\n\n\ndef test_it(self=None):\n{body}"
        assert tests_exist(node(tmp_path, {"tests/test_a.py": text})).status is CheckStatus.PASS

    def test_scan_reads_312_syntax_and_signatures_over_lines(self):
        text = "type T = int\n\ndef test_generic[T](\n    x: T = 1,\n) -> None:\n    assert x == 1\n"
        assert [(t.name, t.line, t.asserts) for t in scan_tests(text)] == [("test_generic", 3, True)]


class TestRunAndCoverage:
    def test_without_run_tests_production_is_blocked_and_coverage_skipped(self, tmp_path):
        ctx = node(tmp_path, {"tests/test_a.py": "def test_a():\n    assert 1 + 1 == 2\n"})
        assert tests_were_run(ctx).status is CheckStatus.FAIL
        assert coverage_for_staging(ctx).status is CheckStatus.SKIP

    def test_coverage_below_threshold_fails_production_and_thresholds_are_configurable(self, tmp_path):
        files = {
            "pyproject.toml": '[project]\nname = "cov"\n[tool.infra-readiness.coverage]\nstaging = 40\n',
            "src/cov/__init__.py": "def used():\n    return 1\n\n\ndef unused(x):\n    if x:\n        return 2\n"
            "    return 3\n",
            "tests/test_cov.py": "from cov import used\n\n\ndef test_used():\n    assert used() == 1\n",
        }
        ctx = node(tmp_path, files, run_tests=True)
        assert tests_pass(ctx).status is CheckStatus.PASS
        staging = coverage_for_staging(ctx)
        production = coverage_for_production(ctx)
        assert staging.status is CheckStatus.PASS, staging.message  # 4 of 7 lines >= 40%
        assert production.status is CheckStatus.FAIL
        assert "PRODUCTION needs 80%" in production.message

    def test_relative_python_runs_the_tests(self, tmp_path, monkeypatch):
        files = {"tests/test_a.py": "def test_a():\n    assert 1 + 1 == 2\n"}
        monkeypatch.chdir(tmp_path)
        relative = os.path.relpath(sys.executable, tmp_path)  # this venv's interpreter, as a relative path
        assert not os.path.isabs(relative)
        ctx = node(tmp_path / "n", files, run_tests=True, python=relative)
        outcome = tests_pass(ctx)
        assert outcome.status is CheckStatus.PASS, outcome.message


class TestIntegrationTests:
    def test_serving_node_without_integration_tests_fails(self, tmp_path):
        files = {**SERVING, "tests/test_unit.py": "def test_a():\n    assert 1 == 1\n"}
        assert integration_tests_present(node(tmp_path, files)).status is CheckStatus.FAIL

    @pytest.mark.parametrize(
        "files",
        [
            {"tests/integration/test_db.py": "def test_a():\n    assert 1 == 1\n"},
            {"tests/test_db.py": "import pytest\n\n@pytest.mark.integration\ndef test_a():\n    assert 1 == 1\n"},
        ],
    )
    def test_folder_or_marker_counts(self, tmp_path, files):
        assert integration_tests_present(node(tmp_path, {**SERVING, **files})).status is CheckStatus.PASS


class TestBenchmarks:
    def test_empty_benchmark_fails(self, tmp_path):
        ctx = node(
            tmp_path,
            {
                "bench/bench_node.py": '"""Bench."""\n\ndef main():\n    pass\n\n'
                'if __name__ == "__main__":\n    main()\n'
            },
        )
        outcome = benchmark_present(ctx)
        assert outcome.status is CheckStatus.FAIL
        assert "empty" in outcome.message

    def test_test_named_benchmark_does_not_count_but_fixture_and_perf_suite_do(self, tmp_path):
        named = {"tests/test_x.py": "def test_benchmark(x):\n    assert run_benchmark(x)\n"}
        assert benchmark_present(node(tmp_path / "a", named)).status is CheckStatus.FAIL
        fixture = {"tests/test_x.py": "def test_speed(benchmark):\n    benchmark(sorted, [3, 1])\n"}
        assert benchmark_present(node(tmp_path / "b", fixture)).status is CheckStatus.PASS
        suite = {"tests/performance/test_load.py": "def test_load():\n    assert handle_many() < 5\n"}
        assert benchmark_present(node(tmp_path / "c", suite)).status is CheckStatus.PASS

    def test_budgets_from_pyproject_or_onex_contract(self, tmp_path):
        assert budgets_declared(node(tmp_path / "a", {"pyproject.toml": '[project]\nname = "a"\n'})).status is (
            CheckStatus.FAIL
        )
        onex = "name: n\nperformance:\n  thresholds:\n    reduce_ms:\n      default: 300.0\n"
        outcome = budgets_declared(node(tmp_path / "b", {"contract.yaml": onex}))
        assert outcome.status is CheckStatus.PASS
        assert "reduce 300 ms" in outcome.message

    BENCH = (
        "import json\nprint('warming up')\n"
        'print(json.dumps({{"benchmark": "read", "samples": {samples}, "p99_ms": {p99}}}))\n'
    )

    @pytest.mark.parametrize(
        ("samples", "p99", "status", "needle"),
        [
            (500, 3.5, CheckStatus.PASS, "read p99 3.5 ms"),
            (500, 80.0, CheckStatus.FAIL, "p99 80 ms > budget 50 ms"),
            (0, 1.0, CheckStatus.FAIL, "0 samples"),
        ],
    )
    def test_run_benchmarks_compares_with_budgets(self, tmp_path, samples, p99, status, needle):
        files = {
            "pyproject.toml": '[project]\nname = "b"\n[tool.infra-readiness.budgets]\np99-ms = 50\n'
            "peak-memory-mb = 4096\n",
            "bench/bench_read.py": self.BENCH.format(samples=samples, p99=p99),
        }
        outcome = budgets_met(node(tmp_path, files, run_benchmarks=True))
        assert outcome.status is status, outcome.findings
        assert needle in (outcome.message + " ".join(f.message for f in outcome.findings))

    def test_script_without_result_line_or_over_memory_fails(self, tmp_path):
        files = {
            "pyproject.toml": '[project]\nname = "b"\n[tool.infra-readiness.budgets]\npeak-memory-mb = 1\n',
            "bench/bench_a.py": "print('fast!')\n",
            "bench/bench_b.py": 'import json\nprint(json.dumps({"benchmark": "b", "samples": 9, "p99_ms": 1}))\n',
        }
        outcome = budgets_met(node(tmp_path, files, run_benchmarks=True))
        messages = " ".join(f.message for f in outcome.findings)
        assert outcome.status is CheckStatus.FAIL
        assert "printed no result line" in messages and "peak memory" in messages

    def test_without_the_flag_it_is_a_skip(self, tmp_path):
        assert budgets_met(node(tmp_path, {"bench/b.py": "print(1)\n"})).status is CheckStatus.SKIP

    def test_sample_node_benchmark_meets_its_budgets(self, tmp_path):
        root = write_node(tmp_path, "timed", NodeKind.COMPUTE)
        outcome = budgets_met(NodeContext(root, options=NodeOptions(run_benchmarks=True)))
        assert outcome.status is CheckStatus.PASS, outcome.findings


class TestApiDocs:
    def test_undocumented_public_api_fails_and_private_names_do_not_count(self, tmp_path):
        code = (
            '"""Module."""\n__all__ = ["run", "Thing"]\n\ndef run():\n    pass\n\nclass Thing:\n    def go(self):\n'
            "        pass\n\ndef helper():\n    pass\n\ndef _private():\n    pass\n"
        )
        outcome = api_documented(node(tmp_path, {"src/pkg/__init__.py": code, "src/pkg/_impl.py": "def x(): pass\n"}))
        assert outcome.status is CheckStatus.FAIL
        assert "1 of 4 public object(s) documented" in outcome.message
        assert {f.message for f in outcome.findings} == {
            "`pkg.run` has no docstring",
            "`pkg.Thing` has no docstring",
            "`pkg.Thing.go` has no docstring",
        }

    def test_documented_api_passes(self, tmp_path):
        code = '"""Module."""\n\ndef run():\n    """Run."""\n'
        assert api_documented(node(tmp_path, {"src/pkg/__init__.py": code})).status is CheckStatus.PASS

    def test_a_setter_with_a_trailing_comment_is_not_counted_twice(self, tmp_path):
        # as packaging's `@prereleases.setter` with a trailing lint comment (an undocumented setter of a property)
        code = (
            '"""Module."""\n\nclass Spec:\n    """Spec."""\n\n    @property\n    def pre(self) -> bool:\n'
            '        """Pre."""\n        return True\n\n    @pre.setter  # pragma: no cover\n'
            "    def pre(self, value: bool) -> None:\n        pass\n"
        )
        outcome = api_documented(node(tmp_path, {"src/pkg/__init__.py": code}))
        assert outcome.status is CheckStatus.PASS, outcome.message
        assert "3 of 3 public object(s) documented" in outcome.message


class TestTracing:
    def test_serving_node_without_tracing_fails(self, tmp_path):
        files = {**SERVING, "src/svc/h.py": "import logging\ndef handle(e):\n    return e\n"}
        assert tracing_present(node(tmp_path, files)).status is CheckStatus.FAIL

    @pytest.mark.parametrize(
        "code",
        [
            "from opentelemetry import trace\ntracer = trace.get_tracer(__name__)\n"
            "def handle(e):\n    with tracer.start_as_current_span('handle'):\n        return e\n",
            "from opentelemetry.propagate import inject\ndef send(p, m):\n    headers = {}\n    inject(headers)\n"
            "    p.produce('t', m, headers=list(headers.items()))\n",
            "def send(p, m, ctx):\n    p.produce('t', m, headers=[('traceparent', ctx.encode())])\n",
        ],
    )
    def test_spans_or_propagated_context_pass(self, tmp_path, code):
        assert tracing_present(node(tmp_path, {**SERVING, "src/svc/h.py": code})).status is CheckStatus.PASS

    def test_opentelemetry_import_alone_is_not_tracing(self, tmp_path):
        code = "import opentelemetry\nVERSION = opentelemetry.__name__\n"
        assert tracing_present(node(tmp_path, {**SERVING, "src/svc/h.py": code})).status is CheckStatus.FAIL


def test_text_reading_of_the_api_agrees_with_the_syntax_tree_on_real_code(real_sources):
    import ast

    from infra_readiness.checks.api_docs import public_objects, public_objects_text

    assert len(real_sources) > 100
    for path in real_sources:
        text = path.read_text(encoding="utf-8")
        assert public_objects_text(text, "m") == public_objects(ast.parse(text), "m"), path
