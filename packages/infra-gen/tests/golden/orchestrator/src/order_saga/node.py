"""OrderSagaOrchestrator: the ORCHESTRATOR node, running the contract's steps as a saga."""

from __future__ import annotations

from functools import partial

from infra_models import NodeContract

from order_saga.contract import load_node_contract
from order_saga.handler import OrderSagaHandler
from order_saga.models import (
    OrderSagaConfig,
    OrderSagaInput,
    OrderSagaOutput,
)
from order_saga.saga import Step, run_saga

__all__ = ["OrderSagaOrchestrator"]


class OrderSagaOrchestrator:
    """Runs the contract's steps in order, each within its timeout; compensates finished steps when one fails."""

    def __init__(
        self,
        handler: OrderSagaHandler | None = None,
        *,
        config: OrderSagaConfig | None = None,
        contract: NodeContract | None = None,
    ) -> None:
        self.handler = handler or OrderSagaHandler()
        self.config = config or OrderSagaConfig()
        self.contract = contract or load_node_contract()
        for step in self.contract.steps:
            if not callable(getattr(self.handler, f"step_{step.name}", None)):
                raise TypeError(f"handler has no step_{step.name}() for contract step {step.name!r}")
            if step.compensate and not callable(getattr(self.handler, f"compensate_{step.name}", None)):
                raise TypeError(f"handler has no compensate_{step.name}() for contract step {step.name!r}")

    def steps(self, request: OrderSagaInput) -> list[Step]:
        """The saga's steps for ``request``, in contract order."""
        steps = []
        for spec in self.contract.steps:
            undo = getattr(self.handler, f"compensate_{spec.name}") if spec.compensate else None
            steps.append(
                Step(
                    name=spec.name,
                    action=partial(getattr(self.handler, f"step_{spec.name}"), request),
                    compensation=partial(undo, request) if undo is not None else None,
                    timeout_seconds=min(spec.timeout_seconds, self.config.max_step_timeout_seconds),
                )
            )
        return steps

    async def run(self, request: OrderSagaInput) -> OrderSagaOutput:
        """Run the saga for ``request``; the output says how it ended."""
        result = await run_saga(self.steps(request))
        return OrderSagaOutput(
            request_id=request.request_id,
            status=result.status,
            completed_steps=result.completed,
            compensated_steps=result.compensated,
            failed_step=result.failed_step,
            error=result.error,
        )
