"""Answers from a real ONEX ``contract.yaml`` (an :class:`infra_models.OnexContract`): kind, name, version, topics.

``infra-gen from-contract`` accepts the contracts the ONEX repositories ship. The node's name, kind, description,
version and topics are taken from the contract, and its other sections (``metadata``, ``error_handling``,
``dependencies``, ``capabilities``, ...) are kept in the generated contract as they were. What the generated code
owns is written by infra-gen: ``input_model``/``output_model`` (the generated models), ``handler_routing`` (the
generated handler), and an ORCHESTRATOR's ``workflow_coordination`` (the graph its handler plans).
"""

from __future__ import annotations

from typing import Any

from infra_gen.errors import InvalidAnswerError
from infra_models import NodeKind, OnexContract

__all__ = ["GENERATED_SECTIONS", "onex_answers"]

GENERATED_SECTIONS = frozenset(
    {
        "name", "contract_name", "node_name", "node_type", "contract_version", "node_version", "description",
        "input_model", "output_model", "config", "config_values", "event_bus", "handler_routing",
        "workflow_coordination",
    }
)  # fmt: skip
"""Sections infra-gen writes itself; every other section of a given contract is kept."""


def onex_answers(contract: OnexContract) -> dict[str, Any]:
    """``kind``, ``name``, ``description``, ``version``, ``subscribe_topics``, ``publish_topics``, ``kept``.

    Raises:
        InvalidAnswerError: the contract's ``node_type`` is not one of the four archetypes infra-gen generates.
    """
    kind = contract.kind
    if kind is None:
        kinds = ", ".join(f"{k.value}_GENERIC" for k in NodeKind)
        raise InvalidAnswerError(
            f"node_type {contract.node_type!r} is not an archetype infra-gen generates: use one of {kinds}",
            code="gen.onex.node_type",
            details={"node_type": contract.node_type},
        )
    raw = contract.node_name or contract.name or contract.contract_name or ""
    name = raw.removeprefix("node_")
    suffix = f"_{kind.value.lower()}"
    if name.endswith(suffix) and len(name) > len(suffix):
        name = name[: -len(suffix)]
    version = contract.node_version or contract.contract_version
    dumped = contract.model_dump(mode="json", exclude_none=True)
    kept = {
        key: value for key, value in dumped.items() if key not in GENERATED_SECTIONS and value not in ((), [], {}, None)
    }
    return {
        "kind": kind,
        "name": name,
        "description": contract.description,
        "version": str(version) if version is not None else "0.1.0",
        "subscribe_topics": tuple(contract.subscribe_topics),
        "publish_topics": tuple(contract.publish_topics),
        "kept": kept,
    }
