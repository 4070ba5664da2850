"""Real ONEX contracts, as the omnibase repositories write them, read tolerantly with every section kept.

The ground truth is the ``contract.yaml`` files that ``omnibase_infra`` and ``omnibase_core`` ship: ``node_type``
(``EFFECT_GENERIC`` ... or lowercase ``effect``), ``contract_version``/``node_version`` as ``{major, minor,
patch}`` or ``"1.0.0"``, model references as ``{name, module, description}`` or a dotted path, ``event_bus``
topics, ``handler_routing``, ``dependencies``, and many node-specific sections. The sections read here are typed;
every other one is kept as it was written (``OnexContract.model_extra``), never dropped or refused.

Example:
    >>> contract = parse_onex_contract(
    ...     "name: node_vault_effect\\nnode_type: EFFECT_GENERIC\\n"
    ...     "contract_version: {major: 1, minor: 0, patch: 1}\\n"
    ...     "event_bus: {subscribe_topics: [onex.cmd.vault.read.v1]}\\nruntime_profiles: [default]\\n"
    ... )
    >>> contract.kind, str(contract.contract_version), contract.subscribe_topics, contract.model_extra
    (<NodeKind.EFFECT: 'EFFECT'>, '1.0.1', ('onex.cmd.vault.read.v1',), {'runtime_profiles': ['default']})
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from infra_models._validation import validate_with_lines
from infra_models.errors import ContractError
from infra_models.node import NodeContract, NodeKind
from infra_models.yaml_limits import load_yaml_mapping, read_yaml_text

__all__ = [
    "OnexContract",
    "OnexDependency",
    "OnexEventBus",
    "OnexHandlerRoute",
    "OnexHandlerRouting",
    "OnexModelRef",
    "OnexVersion",
    "contract_format",
    "load_any_contract",
    "load_onex_contract",
    "parse_any_contract",
    "parse_onex_contract",
]

# node_type -> kind. The four archetypes (and their bare names, any case) have a kind; every other value of
# omnibase_core's EnumNodeType (RUNTIME_HOST_GENERIC, GATEWAY, VALIDATOR, TRANSFORMER, AGGREGATOR, FUNCTION, TOOL,
# AGENT, MODEL, PLUGIN, SCHEMA, NODE, WORKFLOW, SERVICE, UNKNOWN) and any unknown text is "other" (None).
_KINDS: dict[str, NodeKind] = {}
for _kind in NodeKind:
    _KINDS[_kind.value] = _kind
    _KINDS[f"{_kind.value}_GENERIC"] = _kind

# Keys that only the ONEX format has; the infra format has `kind` and `version` instead.
_ONEX_MARKERS = ("node_type", "contract_version", "contract_name", "node_name", "node_version")
_VERSION_TEXT = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def _or_text(pattern: str | None = None) -> Any:
    """A ``json_schema_extra`` that lets the model's JSON Schema also take the text form its validator reads."""

    def extend(schema: dict[str, Any], _: type) -> None:
        text: dict[str, Any] = {"type": "string", "minLength": 1}
        if pattern is not None:
            text["pattern"] = pattern
        as_object = dict(schema)
        schema.clear()
        schema.update({"title": as_object.pop("title"), "description": as_object.pop("description", "")})
        schema["anyOf"] = [as_object, text]

    return extend


class _Section(BaseModel):
    """A part of an ONEX contract: typed where it is read, every other key kept as written."""

    model_config = ConfigDict(extra="allow", frozen=True)


class OnexVersion(BaseModel):
    """A ``{major, minor, patch}`` version; the contract may also write it as ``"1.0.1"``."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_or_text(_VERSION_TEXT.pattern))

    major: int = Field(ge=0)
    minor: int = Field(ge=0)
    patch: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _VERSION_TEXT.match(value.strip())
            if match is None:
                raise ValueError(f"version {value!r} is not `MAJOR.MINOR.PATCH` text such as `1.0.0`")
            major, minor, patch = match.groups()
            return {"major": int(major), "minor": int(minor), "patch": int(patch or 0)}
        if not isinstance(value, Mapping):
            raise ValueError(
                f"a version is `{{major: 1, minor: 0, patch: 0}}` or text such as `1.0.0`, not {type(value).__name__}"
            )
        return value

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


class OnexModelRef(_Section):
    """A model a contract names (``input_model``, ``output_model``, ``config``, a handler): class name and module.

    Text is accepted too: ``"pkg.models.ModelX"`` or ``"pkg.models:ModelX"`` gives ``name="ModelX"``,
    ``module="pkg.models"``; a bare ``"ModelX"`` gives only the name.
    """

    model_config = ConfigDict(json_schema_extra=_or_text())

    name: str = Field(min_length=1)
    module: str | None = None
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("a model reference is `{name, module}` or a dotted path, not empty text")
            module, sep, name = text.rpartition(":") if ":" in text else text.rpartition(".")
            return {"name": name, "module": module} if sep and module else {"name": text}
        if isinstance(value, Mapping) and value.get("description") is None and "description" in value:
            return {**value, "description": ""}
        return value


class OnexHandlerRoute(_Section):
    """One entry of ``handler_routing.handlers``: the operation it serves and the handler class that serves it."""

    operation: str | None = None
    handler_type: str | None = None
    handler: OnexModelRef | None = None
    supported_operations: tuple[str, ...] = ()


class OnexHandlerRouting(_Section):
    """``handler_routing``: how operations are routed to handlers (``operation_match``, ``payload_type_match``...)."""

    routing_strategy: str | None = None
    handlers: tuple[OnexHandlerRoute, ...] = ()
    default_handler: str | None = None


def _topic_names(value: Any) -> Iterator[str]:
    """Topic names from a list of names or of ``{topic: ...}`` mappings; other shapes give nothing."""
    if isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                yield item
            elif isinstance(item, Mapping) and isinstance(item.get("topic"), str):
                yield item["topic"]


class OnexEventBus(_Section):
    """``event_bus``: the topics a node subscribes to and publishes (names, or ``{topic: ...}`` entries)."""

    subscribe_topics: tuple[str, ...] = ()
    publish_topics: tuple[str, ...] = ()

    @field_validator("subscribe_topics", "publish_topics", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(i, str | Mapping) for i in value):
            names = list(_topic_names(value))
            if len(names) == len(value):
                return tuple(names)
        return value  # let validation name what is wrong


class OnexDependency(_Section):
    """One entry of ``dependencies``: a protocol, service, library or environment variable the node needs."""

    name: str = Field(min_length=1)
    type: str | None = None
    module: str | None = None
    class_name: str | None = None
    description: str = ""
    required: bool | None = None


def _config_schema(schema: dict[str, Any]) -> None:
    """``config`` may also hold settings: any mapping."""
    schema["anyOf"].insert(1, {"type": "object"})


def _dependencies_schema(schema: dict[str, Any]) -> None:
    """``dependencies`` entries may be names, and the list may be a ``{required: [...], optional: [...]}`` mapping."""
    listed = {"type": "array", "items": {"anyOf": [schema.pop("items"), {"type": "string"}]}}
    names = {"type": "array", "items": {"type": "string"}}
    grouped = {"type": "object", "properties": {"required": names, "optional": names}}
    schema.pop("type")
    schema["anyOf"] = [listed, grouped, {"type": "null"}]


class OnexContract(_Section):
    """A real ONEX node contract: the typed sections infra tools read, and every other section kept as written.

    Example:
        >>> c = OnexContract(name="node_sum_compute", node_type="compute", input_model="pkg.models.ModelSumInput")
        >>> c.kind, c.input_model.module, c.display_name
        (<NodeKind.COMPUTE: 'COMPUTE'>, 'pkg.models', 'node_sum_compute')
    """

    name: str | None = None
    contract_name: str | None = None
    node_name: str | None = None
    node_type: str = Field(min_length=1, description="As written: EFFECT_GENERIC, COMPUTE_GENERIC, effect, ...")
    contract_version: OnexVersion | None = None
    node_version: OnexVersion | None = None
    description: str = ""
    input_model: OnexModelRef | None = None
    output_model: OnexModelRef | None = None
    config: OnexModelRef | None = Field(default=None, json_schema_extra=_config_schema)
    config_values: dict[str, Any] = Field(
        default_factory=dict, description="A `config` section holding settings rather than naming a model."
    )
    event_bus: OnexEventBus | None = None
    handler_routing: OnexHandlerRouting | None = None
    dependencies: tuple[OnexDependency, ...] = Field(default=(), json_schema_extra=_dependencies_schema)

    @model_validator(mode="before")
    @classmethod
    def _tolerate(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        data = dict(value)
        if data.get("description") is None:
            data.pop("description", None)
        config = data.get("config")
        if isinstance(config, Mapping) and not _names_a_model(config):
            data["config"] = None
            data["config_values"] = dict(config)
        deps = data.get("dependencies")
        if deps is None:
            data.pop("dependencies", None)
        elif isinstance(deps, Mapping) and set(deps) <= {"required", "optional"}:  # {required: [names], ...}
            groups = {group: [v] if isinstance(v, str) else v for group, v in deps.items()}
            if all(isinstance(v, list) for v in groups.values()):
                data["dependencies"] = [
                    {"name": item, "required": group == "required"} if isinstance(item, str) else item
                    for group in ("required", "optional")
                    for item in groups.get(group) or []
                ]
        elif isinstance(deps, list):
            data["dependencies"] = [{"name": item} if isinstance(item, str) else item for item in deps]
        return data

    @model_validator(mode="after")
    def _named(self) -> OnexContract:
        if not (self.name or self.contract_name or self.node_name):
            raise ValueError("an ONEX contract needs `name`, `contract_name` or `node_name`")
        return self

    @property
    def kind(self) -> NodeKind | None:
        """The archetype from ``node_type`` (EFFECT_GENERIC -> EFFECT, ``effect`` -> EFFECT); None for other types."""
        return _KINDS.get(self.node_type.strip().upper())

    @property
    def display_name(self) -> str:
        """``node_name``, else ``name``, else ``contract_name``."""
        return self.node_name or self.name or self.contract_name or ""

    @property
    def subscribe_topics(self) -> tuple[str, ...]:
        """Every topic the contract subscribes to, in order, once each, from all the shapes real contracts use."""
        extra = self.model_extra or {}
        bus_extra = (self.event_bus.model_extra or {}) if self.event_bus else {}
        sources = (
            self.event_bus.subscribe_topics if self.event_bus else (),
            bus_extra.get("subscribe"),
            extra.get("subscribe_topics"),
            extra.get("consumed_events"),
            _get(extra.get("topics"), "consumes"),
            extra.get("input_subscriptions"),
            _get(extra.get("subscriptions"), "topics"),
        )
        return _unique(sources)

    @property
    def publish_topics(self) -> tuple[str, ...]:
        """Every topic the contract publishes to, in order, once each, from all the shapes real contracts use."""
        extra = self.model_extra or {}
        bus_extra = (self.event_bus.model_extra or {}) if self.event_bus else {}
        sources = (
            self.event_bus.publish_topics if self.event_bus else (),
            bus_extra.get("publish"),
            extra.get("publish_topics"),
            extra.get("published_events"),
            _get(extra.get("topics"), "produces"),
            _get(extra.get("events"), "emits"),
        )
        return _unique(sources)


def _names_a_model(config: Mapping[str, Any]) -> bool:
    """A ``config`` mapping names a model when it has a text ``name`` and a ``module``, or nothing but a description."""
    if not isinstance(config.get("name"), str):
        return False
    return isinstance(config.get("module"), str) or set(config) <= {"name", "description"}


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def _unique(sources: tuple[Any, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for source in sources:
        for name in _topic_names(source):
            seen.setdefault(name, None)
    return tuple(seen)


def contract_format(data: Mapping[str, Any]) -> Literal["onex", "infra"]:
    """``"onex"`` when the mapping has an ONEX key (``node_type``, ``contract_version``, ...), else ``"infra"``."""
    if "kind" in data and "node_type" not in data:
        return "infra"
    return "onex" if any(key in data for key in _ONEX_MARKERS) else "infra"


def parse_onex_contract(text: str, *, filename: str = "<contract>") -> OnexContract:
    """Validate ONEX contract YAML text; errors are ContractError naming ``filename:line`` and the field."""
    root, data = load_yaml_mapping(text, filename=filename)
    return validate_with_lines(OnexContract, root, data, filename=filename)


def load_onex_contract(path: str | Path) -> OnexContract:
    """Read and validate the ONEX contract file at ``path``."""
    return parse_onex_contract(read_yaml_text(path), filename=str(Path(path)))


def parse_any_contract(text: str, *, filename: str = "<contract>") -> NodeContract | OnexContract:
    """Detect the format of contract YAML text (:func:`contract_format`) and validate it as that format."""
    root, data = load_yaml_mapping(text, filename=filename)
    if contract_format(data) == "onex":
        return validate_with_lines(OnexContract, root, data, filename=filename)
    if "kind" not in data and "version" not in data:
        raise ContractError(
            f"{filename}: not a node contract: it has neither `node_type` (an ONEX contract) nor `kind` and "
            "`version` (the infra format)",
            code="contract.invalid",
        )
    return validate_with_lines(NodeContract, root, data, filename=filename)


def load_any_contract(path: str | Path) -> NodeContract | OnexContract:
    """Read the contract file at ``path`` in either format: an :class:`OnexContract` or a :class:`NodeContract`."""
    return parse_any_contract(read_yaml_text(path), filename=str(Path(path)))
