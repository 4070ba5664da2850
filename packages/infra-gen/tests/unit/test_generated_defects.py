"""Defects found while trying the generated kinds (issue 11, part 6), each with the test that caught it.

The REDUCER's per-event cost grew with its state; the EFFECT circuit breaker let every concurrent call through
in half-open; an emoji in ``--description`` wrote invalid TOML; contract fields named ``class``, ``import``,
``model_config``, ``_hidden`` or typed ``None`` gave packages that did not compile (``Any``/``datetime`` had no
import); names that shadow tools once installed were accepted; a newline in a name got a message without it.
"""

from __future__ import annotations

import asyncio
import importlib
import re
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from infra_gen.cli import app
from infra_gen.errors import InvalidNameError
from infra_gen.generator import NodeGenerator
from infra_gen.names import parse_name

Importer = Callable[[Path, str], ModuleType]


@pytest.fixture
def import_generated() -> Iterator[Importer]:
    """``import_generated(project_dir, module)``: import a generated package in-process; forgotten afterwards."""
    paths: list[str] = []
    packages: list[str] = []

    def load(project: Path, module: str) -> ModuleType:
        src = str(project / "src")
        if src not in sys.path:
            sys.path.insert(0, src)
            paths.append(src)
        packages.append(module.split(".", maxsplit=1)[0])
        return importlib.import_module(module)

    yield load
    for src in paths:
        sys.path.remove(src)
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            del sys.modules[name]


class TestReducerCostPerEvent:
    def test_per_event_cost_does_not_grow_with_the_state(self, tmp_path: Path, import_generated: Importer) -> None:
        """Before the fix every event copied every id seen so far: ~28x slower per event at 40k events."""
        project = NodeGenerator(tmp_path).generate_node("reducer", "cost_ledger").project_dir
        node_module = import_generated(project, "cost_ledger.node")
        models = import_generated(project, "cost_ledger.models")
        event = models.CostLedgerInput
        total = 40_000
        window = 2_000
        stream = [event(event_id=f"e{i}", key=f"k{i % 50}", amount=1) for i in range(total)]

        def per_event(node: Any, chunk: list[Any]) -> float:
            started = time.perf_counter()
            for item in chunk:
                node.apply(item)
            return (time.perf_counter() - started) / len(chunk)

        ratios = []
        for _ in range(3):  # best of three: a busy machine slows a window, it never speeds one up
            node = node_module.CostLedgerReducer()
            early = per_event(node, stream[:window])
            for item in stream[window : total - window]:
                node.apply(item)
            late = per_event(node, stream[total - window :])
            ratios.append(late / early)
            assert node.state.applied == total and sum(node.state.totals.values()) == total
        assert min(ratios) < 3.0, f"per-event cost grows with the state: late/early = {sorted(ratios)}"

    def test_state_read_between_events_is_a_true_snapshot(self, tmp_path: Path, import_generated: Importer) -> None:
        project = NodeGenerator(tmp_path).generate_node("reducer", "snap_ledger").project_dir
        node_module = import_generated(project, "snap_ledger.node")
        models = import_generated(project, "snap_ledger.models")
        node = node_module.SnapLedgerReducer()
        node.apply(models.SnapLedgerInput(event_id="1", key="a", amount=2))
        before = node.state
        node.apply(models.SnapLedgerInput(event_id="2", key="a", amount=3))
        assert before.totals == {"a": 2} and before.seen_event_ids == ["1"] and before.applied == 1
        assert node.state.totals == {"a": 5} and node.state.applied == 2
        restored = node_module.SnapLedgerReducer.restore(node.snapshot())
        assert restored.apply(models.SnapLedgerInput(event_id="2", key="a", amount=3)) is False
        assert restored.state == node.state


class TestCircuitBreakerHalfOpen:
    @pytest.fixture
    def half_open(self, tmp_path: Path, import_generated: Importer) -> tuple[ModuleType, Any, Any]:
        """A generated EFFECT's resilience module, a breaker opened by failures and now due for its trial call, and
        a retry policy of one attempt."""
        project = NodeGenerator(tmp_path).generate_node("effect", "breaker_probe", external_system="X").project_dir
        resilience = import_generated(project, "breaker_probe.resilience")
        contract = import_generated(project, "breaker_probe.contract").load_node_contract()
        policy = contract.circuit_breaker
        now = [0.0]
        breaker = resilience.CircuitBreaker(policy, clock=lambda: now[0])
        for _ in range(policy.failure_threshold):
            breaker.record_failure()
        now[0] += policy.reset_timeout_seconds
        return resilience, breaker, contract.retry_policy.model_copy(update={"max_attempts": 1})

    def test_one_trial_call_among_concurrent_callers(self, half_open: tuple[ModuleType, Any, Any]) -> None:
        resilience, breaker, retry = half_open
        callers = 12
        start = threading.Barrier(callers)
        release = threading.Event()
        in_call = threading.Semaphore(0)
        outcomes: list[str] = []
        lock = threading.Lock()
        calls = [0]

        async def slow_call() -> str:
            with lock:
                calls[0] += 1
            in_call.release()
            while not release.is_set():  # the trial call is still running while the others arrive
                await asyncio.sleep(0.005)
            return "ok"

        def caller() -> None:
            start.wait()
            try:
                result, _ = asyncio.run(
                    resilience.call_with_retries(
                        slow_call, retry=retry, timeout=10.0, breaker=breaker, rand=lambda: 0.5
                    )
                )
            except resilience.CircuitOpenError:
                result = "refused"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=caller) for _ in range(callers)]
        for thread in threads:
            thread.start()
        assert in_call.acquire(timeout=10)
        deadline = time.monotonic() + 10
        while len(outcomes) < callers - 1 and time.monotonic() < deadline:
            time.sleep(0.01)  # every caller but the trial has been answered (refused) while the trial runs
        release.set()
        for thread in threads:
            thread.join(timeout=10)
        assert calls[0] == 1, f"{calls[0]} calls reached the external system in half-open"
        assert sorted(outcomes) == ["ok"] + ["refused"] * (callers - 1)
        assert breaker.state == "closed"

    def test_a_cancelled_trial_does_not_wedge_the_circuit(self, half_open: tuple[ModuleType, Any, Any]) -> None:
        resilience, breaker, retry = half_open

        async def broken() -> str:
            raise KeyError("not transient")

        with pytest.raises(KeyError):
            asyncio.run(
                resilience.call_with_retries(broken, retry=retry, timeout=1.0, breaker=breaker, rand=lambda: 0.5)
            )
        assert breaker.before_call() is True  # the trial is free again


class TestDescriptionsInToml:
    @pytest.mark.parametrize(
        "description",
        ["Reads secrets 🔐 with emoji 😀", 'quotes " and back\\slashes', "tab\tand\x7fdel", "Ünïcödé ✓ \U0001d518"],
    )
    def test_pyproject_is_valid_toml_holding_the_description(self, tmp_path: Path, description: str) -> None:
        project = NodeGenerator(tmp_path).generate_node("compute", "toml_probe", business_description=description)
        data = tomllib.loads((project.project_dir / "pyproject.toml").read_text(encoding="utf-8"))
        assert data["project"]["description"] == " ".join(description.split())

    def test_cli_emoji_description(self, tmp_path: Path) -> None:
        out = CliRunner().invoke(
            app, ["node", "compute", "emoji_node", "-o", str(tmp_path), "--description", "🚀 fast"]
        )
        assert out.exit_code == 0, out.output
        data = tomllib.loads((tmp_path / "emoji-node" / "pyproject.toml").read_text(encoding="utf-8"))
        assert data["project"]["description"] == "🚀 fast"


def _contract(tmp_path: Path, field: str, type_: str) -> Path:
    file = tmp_path / "contract.yaml"
    data = {
        "name": "field_probe",
        "kind": "COMPUTE",
        "version": "0.1.0",
        "description": "Probe.",
        "domain": "infrastructure",
        "input_model": {
            "name": "FieldProbeInput",
            "fields": [{"name": field, "type": type_, "description": "d", "required": False}],
        },
        "output_model": {"name": "FieldProbeOutput"},
    }
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return file


class TestHostileContractFields:
    @pytest.mark.parametrize(
        ("field", "type_", "reason"),
        [
            ("class", "str", "keyword"),
            ("import", "str", "keyword"),
            ("model_config", "str", "pydantic reserves"),
            ("model_dump", "str", "pydantic reserves"),
            ("json", "str", "pydantic reserves"),
            ("_hidden", "str", "leading underscore"),
            ("str", "int", "shadow"),
            ("nothing", "None", "only be None"),
            ("nothing", "None | None", "only be None"),
        ],
    )
    def test_refused_with_exit_2_and_nothing_written(self, tmp_path: Path, field: str, type_: str, reason: str) -> None:
        contract = _contract(tmp_path, field, type_)
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        result = CliRunner().invoke(app, ["from-contract", str(contract), "-o", str(out_dir)])
        assert result.exit_code == 2, result.output
        assert reason in result.output and f"`{field}`" in result.output
        assert "Traceback" not in result.output
        assert list(out_dir.iterdir()) == []

    @pytest.mark.parametrize(("type_", "value"), [("datetime", "2026-01-02T03:04:05"), ("Any", {"x": [1]})])
    def test_types_needing_an_import_compile(
        self, tmp_path: Path, import_generated: Importer, type_: str, value: object
    ) -> None:
        contract = _contract(tmp_path, "extra_value", type_)
        project = NodeGenerator(tmp_path / "out").generate_from_contract(contract).project_dir
        models = import_generated(project, "field_probe.models")
        built = models.FieldProbeInput(items=["a"], extra_value=value)
        assert built.extra_value is not None
        assert models.FieldProbeInput(items=["a"]).extra_value is None


class TestNames:
    @pytest.mark.parametrize(
        "name", ["pip", "sitecustomize", "usercustomize", "setuptools", "wheel", "pytest", "pkg_resources", "Pip"]
    )
    def test_names_that_shadow_tools_are_refused(self, tmp_path: Path, name: str) -> None:
        with pytest.raises(InvalidNameError, match=r"shadow|reserved"):
            parse_name(name)
        result = CliRunner().invoke(app, ["node", "compute", name, "-o", str(tmp_path)])
        assert result.exit_code == 2 and list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize(
        ("name", "named"),
        [("vault\nadapter", "a newline"), ("vault_adapter\n", "a newline"), ("a\rb", "a carriage return"),
         ("a\tb", "a tab"), ("a\x00b", "NUL"), ("a\x1bb", "U+001B")],
    )  # fmt: skip
    def test_control_characters_are_named(self, tmp_path: Path, name: str, named: str) -> None:
        with pytest.raises(InvalidNameError, match=re.escape(named)):
            parse_name(name)
        result = CliRunner().invoke(app, ["node", "compute", name, "-o", str(tmp_path)])
        assert result.exit_code == 2 and named in result.output
        assert list(tmp_path.iterdir()) == []


class TestDryRunConflicts:
    def test_node_dry_run_exits_1_when_its_plan_has_conflicts(self, tmp_path: Path) -> None:
        NodeGenerator(tmp_path).generate_node("compute", "dry_probe")
        readme = tmp_path / "dry-probe" / "README.md"
        readme.write_text("mine\n", encoding="utf-8")
        for fmt in ("text", "json"):
            result = CliRunner().invoke(
                app, ["node", "compute", "dry_probe", "-o", str(tmp_path), "--dry-run", "--format", fmt]
            )
            assert result.exit_code == 1, result.output
            assert readme.read_text(encoding="utf-8") == "mine\n"

    def test_node_dry_run_without_conflicts_exits_0(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(app, ["node", "compute", "dry_probe", "-o", str(tmp_path), "--dry-run"])
        assert result.exit_code == 0, result.output
        assert list(tmp_path.iterdir()) == []
