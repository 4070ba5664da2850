"""OrderSagaOrchestrator runs steps in order with per-step timeouts and compensates on failure (saga)."""

from __future__ import annotations

import asyncio

import pytest

from order_saga.contract import load_node_contract
from order_saga.handler import OrderSagaHandler
from order_saga.models import OrderSagaConfig, OrderSagaInput
from order_saga.node import OrderSagaOrchestrator

REQUEST = OrderSagaInput(request_id="r1")
STEPS = [step.name for step in load_node_contract().steps]


class FailingHandler(OrderSagaHandler):
    """Fails (or hangs) at one step."""

    def __init__(self, fail_at: str, *, hang: bool = False) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.hang = hang
        original = getattr(self, f"step_{fail_at}")

        async def broken(request: OrderSagaInput) -> None:
            await original(request)
            if self.hang:
                await asyncio.sleep(3600)
            raise RuntimeError(f"{fail_at} failed")

        setattr(self, f"step_{fail_at}", broken)


def expected_undo(done: list[str]) -> list[str]:
    compensated = {step.name for step in load_node_contract().steps if step.compensate}
    return [name for name in reversed(done) if name in compensated]


def test_contract_declares_steps() -> None:
    assert STEPS, "an ORCHESTRATOR contract lists its steps"


def test_runs_every_step_in_order() -> None:
    handler = OrderSagaHandler()
    output = asyncio.run(OrderSagaOrchestrator(handler).run(REQUEST))
    assert output.status == "completed"
    assert output.completed_steps == STEPS
    assert handler.journal == [f"{name}:r1" for name in STEPS]


@pytest.mark.parametrize("index", range(len(STEPS)))
def test_failure_compensates_finished_steps_in_reverse(index: int) -> None:
    handler = FailingHandler(STEPS[index])
    output = asyncio.run(OrderSagaOrchestrator(handler).run(REQUEST))
    done = STEPS[:index]
    assert output.status == "compensated"
    assert output.failed_step == STEPS[index]
    assert output.completed_steps == done
    assert output.compensated_steps == expected_undo(done)
    assert handler.journal[len(done) + 1 :] == [f"undo-{name}:r1" for name in expected_undo(done)]


def test_step_timeout_comes_from_the_contract() -> None:
    contract = load_node_contract()
    last = len(contract.steps) - 1
    steps = [*contract.steps[:last], contract.steps[last].model_copy(update={"timeout_seconds": 0.01})]
    fast = contract.model_copy(update={"steps": tuple(steps)})
    handler = FailingHandler(STEPS[last], hang=True)
    output = asyncio.run(OrderSagaOrchestrator(handler, contract=fast).run(REQUEST))
    assert output.failed_step == STEPS[last]
    assert output.error is not None and "Timeout" in output.error
    assert output.compensated_steps == expected_undo(STEPS[:last])


def test_config_caps_step_timeouts() -> None:
    node = OrderSagaOrchestrator(config=OrderSagaConfig(max_step_timeout_seconds=0.5))
    assert all(step.timeout_seconds <= 0.5 for step in node.steps(REQUEST))


def test_failed_compensation_is_reported() -> None:
    contract = load_node_contract()
    undoable = [s.name for s in contract.steps if s.compensate]
    if not undoable or undoable[0] == STEPS[-1]:
        pytest.skip("needs a compensated step before the last one")
    handler = FailingHandler(STEPS[-1])

    async def cannot_undo(request: OrderSagaInput) -> None:
        raise RuntimeError("cannot undo")

    setattr(handler, f"compensate_{undoable[0]}", cannot_undo)
    output = asyncio.run(OrderSagaOrchestrator(handler).run(REQUEST))
    assert output.status == "compensation_failed"
    assert undoable[0] not in output.compensated_steps


def test_handler_must_match_the_contract() -> None:
    class Incomplete:
        pass

    with pytest.raises(TypeError, match="step_"):
        OrderSagaOrchestrator(Incomplete())  # type: ignore[arg-type]
