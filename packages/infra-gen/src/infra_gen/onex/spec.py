"""The answers of an ONEX node: name, kind, service, description, version; the contract and template context.

The contract follows the shape of the contracts ``OmniNode-ai/omnibase_infra`` ships (the ground truth, not
omnibase-core's own pydantic contract models): ``name``, ``node_type`` (``EFFECT_GENERIC`` ...),
``contract_version`` as ``{major, minor, patch}``, ``node_version``, ``input_model``/``output_model`` as
``{name, module, description}``, ``event_bus`` topics named ``onex.<cmd|evt>.<service>.<name>.v1``, and
``handler_routing`` naming the handler class and module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from infra_gen.__about__ import __version__
from infra_gen.answers import check_text, doc_line
from infra_gen.errors import InvalidAnswerError
from infra_gen.names import NodeName
from infra_gen.onex.service import OnexService
from infra_models import NodeKind

__all__ = ["ARCHETYPES", "OnexNodeSpec", "onex_context"]

ARCHETYPES: dict[NodeKind, tuple[str, str]] = {
    NodeKind.EFFECT: ("NodeEffect", "omnibase_core.nodes.node_effect"),
    NodeKind.COMPUTE: ("NodeCompute", "omnibase_core.nodes.node_compute"),
    NodeKind.REDUCER: ("NodeReducer", "omnibase_core.nodes.node_reducer"),
    NodeKind.ORCHESTRATOR: ("NodeOrchestrator", "omnibase_core.nodes.node_orchestrator"),
}
"""The omnibase_core archetype each kind's node class extends: (class, module)."""

_VERBS = {NodeKind.EFFECT: "execute", NodeKind.COMPUTE: "compute", NodeKind.REDUCER: "reduce"}
_VERBS[NodeKind.ORCHESTRATOR] = "orchestrate"
_SEMVER = re.compile(r"^(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})\.(0|[1-9]\d{0,8})$")


@dataclass(frozen=True, slots=True)
class OnexNodeSpec:
    """What an ONEX node is generated from."""

    name: NodeName
    kind: NodeKind
    service: OnexService
    description: str
    version: str = "0.1.0"
    external_system: str = ""
    subscribe_topics: tuple[str, ...] = ()
    """Topics from a given contract; empty: ``onex.cmd.<service>.<name>.v1``."""
    publish_topics: tuple[str, ...] = ()
    """Topics from a given contract; empty: ``onex.evt.<service>.<name>.v1``."""
    kept: dict[str, Any] = field(default_factory=dict)
    """Sections of a given contract kept as they were (``metadata``, ``error_handling``, ``dependencies``...)."""

    def __post_init__(self) -> None:
        check_text("description", self.description)
        if not _SEMVER.match(self.version):
            raise InvalidAnswerError(
                f"version {self.version!r} is not MAJOR.MINOR.PATCH (such as 0.1.0)", code="gen.answer.version"
            )

    @property
    def node_dir(self) -> str:
        """``node_<name>_<kind>``: the node's folder, also its tests' folder."""
        return f"node_{self.name.snake}_{self.kind.value.lower()}"

    @property
    def class_name(self) -> str:
        """``Node<Name><Kind>``: the declarative node class."""
        return f"Node{self.name.pascal}{self.kind.value.title()}"

    @property
    def module(self) -> str:
        """Import path of the node package."""
        return f"{self.service.nodes_package}.{self.node_dir}"

    def models(self) -> dict[str, str]:
        """Model class names by role (``input``, ``output``; REDUCER adds ``event``, ``state``)."""
        pascal = self.name.pascal
        found = {"input": f"Model{pascal}Input", "output": f"Model{pascal}Output"}
        if self.kind is NodeKind.REDUCER:
            found |= {"event": f"Model{pascal}Event", "output": f"Model{pascal}State", "state": f"Model{pascal}State"}
        return found

    def topics(self) -> tuple[str, str]:
        """(command topic subscribed, event topic published), in the ONEX convention."""
        return (
            f"onex.cmd.{self.service.service}.{self.name.kebab}.v1",
            f"onex.evt.{self.service.service}.{self.name.kebab}.v1",
        )

    def topic_lists(self) -> tuple[list[str], list[str]]:
        """(subscribe_topics, publish_topics): the given contract's, or the convention's."""
        command, event = self.topics()
        return list(self.subscribe_topics) or [command], list(self.publish_topics) or [event]

    def contract(self) -> dict[str, Any]:
        """The ``contract.yaml`` content as data, in the real ONEX schema."""
        major, minor, patch = (int(p) for p in self.version.split("."))
        models = self.models()
        model_module = f"{self.module}.models.model_{self.name.snake}"
        handler = f"Handler{self.name.pascal}"
        subscribe, publish = self.topic_lists()
        input_doc = {
            NodeKind.EFFECT: "What to ask the external system.",
            NodeKind.COMPUTE: "Values to normalise.",
            NodeKind.REDUCER: "The state so far and the events to fold into it.",
            NodeKind.ORCHESTRATOR: "The request the workflow runs for.",
        }[self.kind]
        output_doc = {
            NodeKind.EFFECT: "What the external system answered.",
            NodeKind.COMPUTE: "The normalised values, their count and digest.",
            NodeKind.REDUCER: "The new state.",
            NodeKind.ORCHESTRATOR: "The steps to run, in an order their dependencies allow.",
        }[self.kind]
        output_file = "state" if self.kind is NodeKind.REDUCER else "output"
        data: dict[str, Any] = {
            "name": self.node_dir,
            "node_type": f"{self.kind.value}_GENERIC",
            "contract_version": {"major": major, "minor": minor, "patch": patch},
            "node_version": self.version,
            "description": self.description,
            "input_model": {"name": models["input"], "module": f"{model_module}_input", "description": input_doc},
            "output_model": {
                "name": models["output"],
                "module": f"{model_module}_{output_file}",
                "description": output_doc,
            },
            "event_bus": {
                "version": {"major": 1, "minor": 0, "patch": 0},
                "subscribe_topics": subscribe,
                "publish_topics": publish,
            },
            "handler_routing": {
                "routing_strategy": "operation_match",
                "handlers": [
                    {
                        "operation": f"{self.name.snake}.{_VERBS[self.kind]}",
                        "handler": {"name": handler, "module": f"{self.module}.handlers.handler_{self.name.snake}"},
                    }
                ],
            },
        }
        pure = self.kind in (NodeKind.COMPUTE, NodeKind.REDUCER)
        # Execution semantics as omnibase-core's own `onex new node` declares them: pure archetypes are idempotent.
        data["descriptor"] = {
            "node_archetype": self.kind.value.lower(),
            "purity": "pure" if pure else "impure",
            "idempotent": pure,
            "timeout_ms": 30000,
        }
        if self.kind is NodeKind.EFFECT:
            data["error_handling"] = {
                "retry_policy": {
                    "max_retries": 3,
                    "initial_delay_ms": 200,
                    "max_delay_ms": 5000,
                    "exponential_base": 2,
                    "retry_on": ["ConnectionError", "TimeoutError"],
                },
                "circuit_breaker": {"enabled": True, "failure_threshold": 5, "reset_timeout_ms": 30000},
            }
        if self.kind is NodeKind.ORCHESTRATOR:
            data["workflow_coordination"] = {
                "workflow_definition": {
                    "workflow_metadata": {
                        "workflow_name": f"{self.name.snake}_workflow",
                        "workflow_version": {"major": major, "minor": minor, "patch": patch},
                        "description": self.description,
                    },
                    "execution_graph": {
                        "nodes": [
                            {"node_id": "prepare", "node_type": "EFFECT_GENERIC", "description": "Check the request."},
                            {
                                "node_id": "execute",
                                "node_type": "EFFECT_GENERIC",
                                "description": "Do the work.",
                                "depends_on": ["prepare"],
                            },
                            {
                                "node_id": "confirm",
                                "node_type": "COMPUTE_GENERIC",
                                "description": "Confirm the outcome.",
                                "depends_on": ["execute"],
                            },
                        ]
                    },
                }
            }
        for key, value in self.kept.items():
            data[key] = value  # a given contract's own sections win over the generated defaults (error_handling)
        metadata = self.kept.get("metadata")
        data["metadata"] = dict(metadata) if isinstance(metadata, dict) else {}
        data["metadata"].setdefault("description", self.description)
        data["metadata"]["generator"] = f"infra-gen {__version__}"
        data["metadata"].setdefault("tags", [self.kind.value.lower(), self.service.service])
        if self.external_system:
            data["metadata"]["external_system"] = self.external_system
        return data


def contract_yaml(spec: OnexNodeSpec) -> str:
    """``contract.yaml`` text: a header comment, then the contract in field order."""
    header = (
        f"# ONEX node contract: {spec.node_dir} ({spec.kind.value}_GENERIC)\n"
        "# The node class holds no logic: behaviour is this contract plus the handler it routes to.\n"
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump(spec.contract(), Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + body


def onex_context(spec: OnexNodeSpec) -> dict[str, Any]:
    """Everything the ONEX templates see as ``cookiecutter`` (JSON-ready, like the stand-alone context)."""
    archetype, archetype_module = ARCHETYPES[spec.kind]
    subscribe, publish = spec.topic_lists()
    command, event = subscribe[0], publish[0]
    models = spec.models()
    contract = spec.contract()
    base, imports = archetype, ""
    if spec.kind in (NodeKind.COMPUTE, NodeKind.REDUCER):  # generic archetypes: parametrised by the node's models
        base = f"{archetype}[{models['input']}, {models['output']}]"
        imports = f"\n\nfrom {spec.module}.models import {', '.join(sorted((models['input'], models['output'])))}"
    return {
        "project_dir": "service",
        "archetype_base": base,
        "node_imports": imports,
        "node_dir": spec.node_dir,
        "node_name": spec.name.snake,
        "node_pascal": spec.name.pascal,
        "node_kebab": spec.name.kebab,
        "kind": spec.kind.value,
        "kind_lower": spec.kind.value.lower(),
        "node_type": contract["node_type"],
        "class_name": spec.class_name,
        "archetype": archetype,
        "archetype_module": archetype_module,
        "module": spec.module,
        "nodes_package": spec.service.nodes_package,
        "service": spec.service.service,
        "handler_class": f"Handler{spec.name.pascal}",
        "operation": contract["handler_routing"]["handlers"][0]["operation"],
        "input_model": models["input"],
        "output_model": models["output"],
        "event_model": models.get("event", ""),
        "command_topic": command,
        "topics_given": bool(spec.subscribe_topics or spec.publish_topics),
        "event_topic": event,
        "description_doc": doc_line(spec.description),
        "external_system_doc": doc_line(spec.external_system or "the external system"),
        "external_system_json": json.dumps(spec.external_system),
        "contract_yaml": contract_yaml(spec),
        "generator_version": __version__,
    }
