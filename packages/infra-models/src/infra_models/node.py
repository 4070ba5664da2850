"""Node models: the four ONEX node kinds and the schema of a node's ``contract.yaml``."""

from __future__ import annotations

import keyword
import re
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from infra_models._base import ValueModel
from infra_models.topics import TopicName

__all__ = [
    "CircuitBreakerPolicy",
    "ExternalSystem",
    "ModelField",
    "ModelSpec",
    "NodeContract",
    "NodeKind",
    "OrchestratorStep",
    "RetryPolicy",
    "TimeoutPolicy",
    "TopicSet",
]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class NodeKind(StrEnum):
    """The four ONEX node kinds."""

    EFFECT = "EFFECT"
    COMPUTE = "COMPUTE"
    REDUCER = "REDUCER"
    ORCHESTRATOR = "ORCHESTRATOR"

    @classmethod
    def _missing_(cls, value: object) -> NodeKind | None:
        # Accept "effect" as well as "EFFECT": contracts and CLIs are written by hand.
        if isinstance(value, str):
            return cls.__members__.get(value.upper())
        return None


class ModelField(ValueModel):
    """One field of a node's input, output or config model."""

    name: str = Field(pattern=r"^[a-z_][a-z0-9_]*$", max_length=64)
    type: str = Field(min_length=1, max_length=128, description="A Python type expression, such as `str`.")
    description: str = ""
    required: bool = True


class ModelSpec(ValueModel):
    """A pydantic model a node takes or returns: its class name and fields."""

    name: str = Field(max_length=100, description="PascalCase class name.")
    fields: tuple[ModelField, ...] = ()

    @field_validator("name")
    @classmethod
    def _pascal(cls, value: str) -> str:
        if not _PASCAL.match(value):
            raise ValueError(f"model name {value!r} must be PascalCase, such as `VaultAdapterInput`")
        return value


class ExternalSystem(ValueModel):
    """A system outside the node that an EFFECT node talks to."""

    name: str = Field(min_length=1, max_length=128)
    kind: str = Field(default="service", max_length=64, description="database, queue, http, vault, ...")
    description: str = ""


class TopicSet(ValueModel):
    """Kafka topics a node consumes and produces."""

    consumed: tuple[TopicName, ...] = ()
    produced: tuple[TopicName, ...] = ()


class TimeoutPolicy(ValueModel):
    """How long an EFFECT node waits for its external system."""

    connect_seconds: float = Field(default=5.0, gt=0, le=600)
    request_seconds: float = Field(default=30.0, gt=0, le=3600)


class RetryPolicy(ValueModel):
    """Retries with exponential backoff and jitter."""

    max_attempts: int = Field(default=3, ge=1, le=100)
    initial_backoff_seconds: float = Field(default=0.1, ge=0, le=600)
    max_backoff_seconds: float = Field(default=10.0, ge=0, le=3600)
    multiplier: float = Field(default=2.0, ge=1, le=10)
    jitter: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> RetryPolicy:
        if self.max_backoff_seconds < self.initial_backoff_seconds:
            raise ValueError("`max_backoff_seconds` is below `initial_backoff_seconds`")
        return self


class CircuitBreakerPolicy(ValueModel):
    """Open the circuit after consecutive failures; try again after a reset timeout."""

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    reset_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)


class OrchestratorStep(ValueModel):
    """One step of an ORCHESTRATOR node's saga: run in order, each within its own timeout."""

    name: str = Field(max_length=64, description="snake_case step name; the handler method is `step_<name>`.")
    description: str = ""
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    compensate: bool = Field(default=True, description="Whether the step is undone (`compensate_<name>`) on failure.")

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        if not _SNAKE.match(value) or keyword.iskeyword(value):
            raise ValueError(f"step name {value!r} must be snake_case, such as `reserve_funds`")
        return value


class NodeContract(ValueModel):
    """The contract of an ONEX node, as written in its ``contract.yaml``.

    Example:
        >>> NodeContract(name="vault_adapter", kind="EFFECT", version="0.1.0",
        ...     input_model={"name": "VaultAdapterInput"}, output_model={"name": "VaultAdapterOutput"},
        ...     timeouts={}, retry_policy={}).kind
        <NodeKind.EFFECT: 'EFFECT'>
    """

    name: str = Field(max_length=64, description="snake_case node name, also the package's import name root.")
    kind: NodeKind
    version: str = Field(description="Semantic version of the contract, such as `1.2.0`.")
    description: str = Field(default="", max_length=2000)
    domain: str = Field(default="infrastructure", pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    input_model: ModelSpec
    output_model: ModelSpec
    config_model: ModelSpec | None = None
    external_systems: tuple[ExternalSystem, ...] = ()
    topics: TopicSet = Field(default_factory=TopicSet)
    timeouts: TimeoutPolicy | None = None
    retry_policy: RetryPolicy | None = None
    circuit_breaker: CircuitBreakerPolicy | None = None
    steps: tuple[OrchestratorStep, ...] = Field(
        default=(), description="ORCHESTRATOR only: the saga's steps, run in this order."
    )

    @field_validator("name")
    @classmethod
    def _snake(cls, value: str) -> str:
        if not _SNAKE.match(value) or keyword.iskeyword(value):
            raise ValueError(
                f"node name {value!r} must be snake_case (lowercase letters, digits, single underscores, "
                "starting with a letter), such as `vault_adapter`"
            )
        return value

    @field_validator("version")
    @classmethod
    def _semver(cls, value: str) -> str:
        if not _SEMVER.match(value):
            raise ValueError(f"version {value!r} is not a semantic version such as `1.0.0`")
        return value

    @model_validator(mode="after")
    def _effect_policies(self) -> NodeContract:
        if self.kind is NodeKind.EFFECT:
            missing = [f for f in ("timeouts", "retry_policy") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"an EFFECT node must declare {' and '.join(missing)}")
            if not self.external_systems:
                raise ValueError("an EFFECT node must name at least one entry in `external_systems`")
        if self.steps and self.kind is not NodeKind.ORCHESTRATOR:
            raise ValueError(f"only an ORCHESTRATOR node has `steps`; this node is {self.kind.value}")
        names = [step.name for step in self.steps]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"step names must be unique; repeated: {', '.join(duplicates)}")
        return self
