"""Helpers for tests and benchmarks: write a small, complete node of any kind, shaped like infra-gen's output.

Example:
    >>> from pathlib import Path
    >>> from infra_models import NodeKind
    >>> root = write_node(Path(tmp), "order_total", NodeKind.COMPUTE)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from infra_models.node import NodeKind

__all__ = ["write_node"]

_EFFECT_CONTRACT = """external_systems:
  - name: upstream
    kind: http
timeouts:
  connect_seconds: 2
  request_seconds: 5
retry_policy:
  max_attempts: 3
"""

_SERVING_CODE = '''"""{name}: a {kind} node."""

from __future__ import annotations

import asyncio
import logging

import contextlib

try:
    from opentelemetry import trace
except ImportError:  # opentelemetry-api is optional: without it there are no spans
    trace = None

log = logging.getLogger(__name__)
_calls = {{"ok": 0}}


def _span(name: str):
    """An OpenTelemetry span around one request (a no-op without the API)."""
    return trace.get_tracer(__name__).start_as_current_span(name) if trace else contextlib.nullcontext()


def metrics() -> bytes:
    """Counters in Prometheus text format (prometheus-client is imported only when scraped)."""
    from prometheus_client import CollectorRegistry, Counter, generate_latest

    registry = CollectorRegistry()
    Counter("{name}_calls", "Calls handled", registry=registry).inc(_calls["ok"])
    return generate_latest(registry)


class {pascal}:
    """Handle one request with a timeout per attempt and retries from the contract's policy."""

    max_attempts = 3
    request_seconds = 5.0

    async def handle(self, value: int) -> int:
        """The value plus one, retried on timeouts, inside a trace span."""
        with _span("{name}.handle"):
            return await self._attempts(value)

    async def _attempts(self, value: int) -> int:
        for attempt in range(1, self.max_attempts + 1):
            try:
                result = await asyncio.wait_for(self._step(value), timeout=self.request_seconds)
            except TimeoutError:
                log.warning("attempt %d timed out", attempt)
                continue
            _calls["ok"] += 1
            return result
        raise TimeoutError("no attempt finished")

    async def _step(self, value: int) -> int:
        return value + 1


def health() -> dict[str, str]:
    """Liveness of the node."""
    return {{"status": "ok"}}
'''

_PURE_CODE = '''"""{name}: a {kind} node."""

from __future__ import annotations


class {pascal}:
    """A pure function of its input; applying the same event twice changes nothing (idempotent)."""

    def handle(self, state: dict[str, int], event: tuple[str, int]) -> dict[str, int]:
        """The state with the event's key set to its value."""
        key, value = event
        return {{**state, key: value}}
'''

_SERVING_TEST = """import asyncio

import pytest

from {name} import {pascal}, health, metrics


def test_handle():
    assert asyncio.run({pascal}().handle(1)) == 2


def test_health():
    assert health() == {{"status": "ok"}}


def test_metrics_count_calls():
    asyncio.run({pascal}().handle(1))
    assert b"{name}_calls_total" in metrics()


def test_gives_up_when_every_attempt_times_out():
    node = {pascal}()
    node.request_seconds = 0.01

    async def slow(value):
        await asyncio.sleep(1)
        return value

    node._step = slow
    with pytest.raises(TimeoutError, match="no attempt finished"):
        asyncio.run(node.handle(1))
"""

_SERVING_INTEGRATION_TEST = """import asyncio

import pytest

from {name} import {pascal}

pytestmark = pytest.mark.integration


def test_handles_many_requests_concurrently():
    async def many():
        return await asyncio.gather(*({pascal}().handle(i) for i in range(20)))

    assert asyncio.run(many()) == list(range(1, 21))
"""

_BENCH = """\"\"\"Benchmark of {name}: p99 latency of handle() over 200 calls, as the readiness result line.\"\"\"

import asyncio
import json
import time

from {name} import {pascal}


def main():
    node = {pascal}()
    samples = []
    for i in range(200):
        start = time.perf_counter()
        {call}
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    print(json.dumps({{"benchmark": "handle", "samples": len(samples), "p99_ms": samples[197]}}))


if __name__ == "__main__":
    main()
"""

_PURE_TEST = """from {name} import {pascal}


def test_handle_is_idempotent():
    node = {pascal}()
    once = node.handle({{}}, ("a", 1))
    assert node.handle(once, ("a", 1)) == once
"""


def write_node(parent: Path, name: str, kind: NodeKind | str, *, benchmark: bool = True) -> Path:
    """Write a complete node ``parent/name`` of ``kind`` (contract, src layout, tests, README, CHANGELOG, bench).

    With ``run_tests=True`` it reaches PRODUCTION: asserting tests (integration tests too for serving kinds), a
    benchmark printing the readiness result line, and budgets in ``[tool.infra-readiness.budgets]``. Without
    ``benchmark`` it lacks only the benchmark, so it stops at STAGING.
    """
    node_kind = NodeKind(kind)
    serving = node_kind in (NodeKind.EFFECT, NodeKind.ORCHESTRATOR)
    pascal = "".join(part.capitalize() for part in name.split("_"))
    fields = {"name": name, "kind": node_kind.value, "pascal": pascal}
    root = parent / name
    (root / "src" / name).mkdir(parents=True)
    (root / "tests").mkdir()
    contract = (
        f"name: {name}\nkind: {node_kind.value}\nversion: 0.1.0\ndescription: A sample {node_kind.value} node.\n"
        f"input_model:\n  name: {pascal}Input\noutput_model:\n  name: {pascal}Output\n"
    )
    (root / "contract.yaml").write_text(contract + (_EFFECT_CONTRACT if node_kind is NodeKind.EFFECT else ""))
    dist = name.replace("_", "-")
    deps = '["prometheus-client>=0.20,<1"]' if serving else "[]"
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "{dist}"\nversion = "0.1.0"\ndescription = "A sample {node_kind.value} node."\n'
        f'requires-python = ">=3.11"\ndependencies = {deps}\n\n'
        "[tool.infra-readiness.budgets]\np99-ms = 50\npeak-memory-mb = 512\n\n"
        '[tool.pytest.ini_options]\nmarkers = ["integration: talks to the systems the node uses"]\n'
    )
    (root / "README.md").write_text(
        f"# {name}\n\nA sample {node_kind.value} node.\n\n## Installation\n\n```bash\npip install {dist}\n```\n\n"
        f"## Usage\n\n```python\nfrom {name} import {pascal}\n```\n\n## Configuration\n\nNone needed.\n"
    )
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n\n- First version.\n")
    code = _SERVING_CODE if serving else _PURE_CODE
    (root / "src" / name / "__init__.py").write_text(code.format(**fields))
    test = _SERVING_TEST if serving else _PURE_TEST
    (root / "tests" / f"test_{name}.py").write_text(test.format(**fields))
    if serving:
        (root / "tests" / "integration").mkdir()
        (root / "tests" / "integration" / f"test_{name}_integration.py").write_text(
            _SERVING_INTEGRATION_TEST.format(**fields)
        )
    if benchmark:
        (root / "bench").mkdir()
        call = "asyncio.run(node.handle(i))" if serving else 'node.handle({}, ("a", i))'
        (root / "bench" / f"bench_{name}.py").write_text(_BENCH.format(call=call, **fields))
    return root
