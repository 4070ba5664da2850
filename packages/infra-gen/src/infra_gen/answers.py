"""Answers: the node contract a generation renders from, the fields each kind needs, and the template context.

The answers of a generation are a complete :class:`~infra_models.NodeContract`. ``infra-gen node`` builds one
from the kind's defaults; ``infra-gen from-contract`` completes a hand-written one with the fields the kind's
code relies on (``items`` for COMPUTE, ``event_id`` for REDUCER, ...). Extra fields of a contract are rendered
too, as optional model fields, so the generated tests can still build every model.
"""

from __future__ import annotations

import ast
import json
import keyword
import re
import unicodedata
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from infra_gen.__about__ import __version__
from infra_gen.errors import InvalidAnswerError
from infra_gen.names import NodeName, parse_name
from infra_models import (
    CircuitBreakerPolicy,
    ExternalSystem,
    ModelField,
    ModelSpec,
    NodeContract,
    NodeKind,
    OrchestratorStep,
    RetryPolicy,
    TimeoutPolicy,
    TopicSet,
)

__all__ = [
    "CORE_FIELDS",
    "build_contract",
    "complete_contract",
    "parse_kind",
    "check_text",
    "doc_line",
    "template_context",
    "toml_string",
]


def _f(name: str, type_: str, description: str, *, required: bool = True) -> ModelField:
    return ModelField(name=name, type=type_, description=description, required=required)


CORE_FIELDS: dict[NodeKind, dict[str, tuple[ModelField, ...]]] = {
    NodeKind.EFFECT: {
        "input": (
            _f("operation", "str", "What to ask the external system, such as `read` or `write`."),
            _f("resource", "str", "What the operation is about, such as a secret path or a key."),
            _f("payload", "dict[str, str]", "Data sent with the request.", required=False),
        ),
        "output": (
            _f("resource", "str", "The resource the call was about."),
            _f("status", "str", "`ok`, or the status the external system answered."),
            _f("data", "dict[str, str]", "Data the external system returned.", required=False),
            _f("attempts", "int", "Calls made, retries included."),
        ),
        "config": (
            _f("service_name", "str", "Service whose credential the client uses.", required=False),
            _f("credential_name", "str", "Name of that credential in the credential store.", required=False),
            _f("vault_url", "str", "Address of the credential store (Vault or OpenBao).", required=False),
            _f("event_topic", "str", "Topic of the event written to the outbox after a call.", required=False),
        ),
    },
    NodeKind.COMPUTE: {
        "input": (_f("items", "list[str]", "Values to normalise."),),
        "output": (
            _f(
                "items",
                "list[str]",
                "The values trimmed, case-folded (unless case-sensitive), de-duplicated and sorted.",
            ),
            _f("count", "int", "Number of values in `items`."),
            _f("digest", "str", "SHA-256 of the normalised values: equal inputs give equal digests."),
        ),
        "config": (_f("case_sensitive", "bool", "Keep the case of values instead of folding it.", required=False),),
    },
    NodeKind.REDUCER: {
        "input": (
            _f("event_id", "str", "Unique id of the event: an event seen twice is applied once."),
            _f("key", "str", "What the event counts towards."),
            _f("amount", "int", "How much it adds (negative to subtract)."),
        ),
        "output": (
            _f("totals", "dict[str, int]", "Running total per key.", required=False),
            _f("applied", "int", "Number of distinct events folded in.", required=False),
            _f("seen_event_ids", "list[str]", "Ids already applied, kept for idempotency.", required=False),
        ),
        "config": (_f("snapshot_version", "int", "Version written into and required from snapshots.", required=False),),
    },
    NodeKind.ORCHESTRATOR: {
        "input": (
            _f("request_id", "str", "Id of the request the saga runs for."),
            _f("payload", "dict[str, str]", "Data handed to every step.", required=False),
        ),
        "output": (
            _f("request_id", "str", "Id of the request."),
            _f("status", "str", "`completed`, `compensated` or `compensation_failed`."),
            _f("completed_steps", "list[str]", "Steps that finished, in order.", required=False),
            _f("compensated_steps", "list[str]", "Steps undone after a failure, in undo order.", required=False),
            _f("failed_step", "str | None", "The step that failed, if any.", required=False),
            _f("error", "str | None", "Why it failed, if it did.", required=False),
        ),
        "config": (
            _f(
                "max_step_timeout_seconds",
                "float",
                "Cap on every step's timeout (each step's own is in the contract).",
                required=False,
            ),
        ),
    },
}

DEFAULT_STEPS = (
    OrchestratorStep(name="prepare", description="Check and reserve what the request needs.", timeout_seconds=5.0),
    OrchestratorStep(name="execute", description="Do the work.", timeout_seconds=30.0),
    OrchestratorStep(
        name="confirm", description="Confirm the outcome; nothing to undo.", timeout_seconds=10.0, compensate=False
    ),
)

_SAMPLE_SAFE_NAMES = frozenset(
    {"str", "int", "float", "bool", "bytes", "list", "dict", "set", "frozenset", "tuple", "None", "Any", "datetime"}
)


def parse_kind(value: str | NodeKind) -> NodeKind:
    """Read a node kind in any case (``effect``, ``EFFECT``)."""
    try:
        return NodeKind(value)
    except ValueError as exc:
        kinds = ", ".join(k.value.lower() for k in NodeKind)
        raise InvalidAnswerError(
            f"unknown node kind {value!r}: use one of {kinds}", code="gen.kind.unknown", details={"kind": str(value)}
        ) from exc


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(contract)"
    return f"`{where}`: {first['msg'].removeprefix('Value error, ')}"


def build_contract(
    kind: str | NodeKind,
    name: str,
    *,
    domain: str = "infrastructure",
    description: str = "",
    external_system: str | None = None,
    version: str = "0.1.0",
) -> NodeContract:
    """The default contract of a new node of ``kind`` named ``name``."""
    node_kind = parse_kind(kind)
    node = parse_name(name)
    check_text("the description", description)
    check_text("the external system", external_system or "")
    if node_kind is not NodeKind.EFFECT and external_system:
        raise InvalidAnswerError(
            f"--external-system is for EFFECT nodes; a {node_kind.value} node talks to no external system",
            code="gen.answer.external_system",
        )
    data: dict[str, Any] = {
        "name": node.snake,
        "kind": node_kind,
        "version": version,
        "description": description or f"{node.pascal} {node_kind.value.lower()} node.",
        "domain": domain,
        "input_model": ModelSpec(name=f"{node.pascal}Input"),
        "output_model": ModelSpec(name=f"{node.pascal}Output"),
        "config_model": ModelSpec(name=f"{node.pascal}Config"),
    }
    if node_kind is NodeKind.EFFECT:
        system = (external_system or "").strip() or "External Service"
        data |= {
            "external_systems": (ExternalSystem(name=system, kind="service", description=f"Reached by {node.snake}."),),
            "timeouts": TimeoutPolicy(),
            "retry_policy": RetryPolicy(),
            "circuit_breaker": CircuitBreakerPolicy(),
        }
    if node_kind is NodeKind.ORCHESTRATOR:
        data["steps"] = DEFAULT_STEPS
    try:
        contract = NodeContract.model_validate(data)
        topics = TopicSet(
            consumed=(f"onex.cmd.{contract.domain}.{node.kebab}-requested.v1",),
            produced=(f"onex.evt.{contract.domain}.{node.kebab}-completed.v1",),
        )
        contract = contract.model_copy(update={"topics": topics})
    except ValidationError as exc:
        raise InvalidAnswerError(f"invalid answer: {_validation_message(exc)}") from exc
    return complete_contract(contract)


_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_BASEMODEL_NAMES = frozenset(dir(BaseModel))
_NEEDS_IMPORT = {"Any": "from typing import Any", "datetime": "from datetime import datetime"}


def _check_field_name(owner: str, name: str) -> None:
    """Refuse field names the generated model could not declare (syntax, pydantic's own names, shadowed types)."""
    problem = None
    if not _FIELD_NAME.match(name):
        problem = "field names are snake_case: a lowercase letter, then lowercase letters, digits or `_`"
        if name.startswith("_"):
            problem = "pydantic does not allow a leading underscore (it marks private attributes)"
    elif keyword.iskeyword(name):
        problem = "it is a Python keyword, so `" + name + ": ...` is a syntax error"
    elif name.startswith("model_") or name in _BASEMODEL_NAMES:
        problem = "pydantic reserves it (`model_*` and the names of BaseModel's own attributes)"
    elif name in _SAMPLE_SAFE_NAMES or name in {"annotations", "field"}:
        problem = "it would shadow the type or helper of that name inside the generated model"
    if problem is not None:
        raise InvalidAnswerError(
            f"field `{name}` of `{owner}` cannot be generated: {problem}; rename it",
            code="gen.answer.field_name",
            details={"model": owner, "field": name},
        )


def _check_type(owner: str, field: ModelField) -> None:
    if field.type.replace(" ", "") in {"None", "None|None"}:
        raise InvalidAnswerError(
            f"field `{field.name}` of `{owner}` has type {field.type!r}: a field that can only be None carries "
            "nothing; give it a type such as `str | None`",
            code="gen.answer.field_type",
        )
    try:
        tree = ast.parse(field.type, mode="eval")
    except SyntaxError as exc:
        raise InvalidAnswerError(
            f"field `{field.name}` of `{owner}` has type {field.type!r}, which is not a Python type expression",
            code="gen.answer.field_type",
        ) from exc
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.Name, ast.Subscript, ast.Tuple, ast.BinOp, ast.BitOr, ast.Load, ast.Constant)
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant) and node.value is not None):
            raise InvalidAnswerError(
                f"field `{field.name}` of `{owner}` has type {field.type!r}: only names, `X[Y]` and `X | None` "
                "are allowed, such as `list[str]`",
                code="gen.answer.field_type",
            )
        if isinstance(node, ast.Name) and node.id not in _SAMPLE_SAFE_NAMES:
            raise InvalidAnswerError(
                f"field `{field.name}` of `{owner}` has type {field.type!r}: `{node.id}` is not a builtin type; "
                f"use one of {', '.join(sorted(_SAMPLE_SAFE_NAMES))} and refine it after generation",
                code="gen.answer.field_type",
            )


def _merge(role: str, spec: ModelSpec, core: tuple[ModelField, ...]) -> ModelSpec:
    for declared_field in spec.fields:
        _check_field_name(spec.name, declared_field.name)
    declared = {f.name: f for f in spec.fields}
    merged: list[ModelField] = []
    for field in core:
        mine = declared.pop(field.name, None)
        if mine is not None and mine.type.replace(" ", "") != field.type.replace(" ", ""):
            raise InvalidAnswerError(
                f"field `{field.name}` of `{spec.name}` has type `{mine.type}`, but the generated {role} code "
                f"needs `{field.type}`: rename the field or change its type",
                code="gen.answer.field_type",
            )
        merged.append(
            field if mine is None else field.model_copy(update={"description": mine.description or field.description})
        )
    for field in declared.values():
        _check_type(spec.name, field)
        if field.required:
            raise InvalidAnswerError(
                f"field `{field.name}` of `{spec.name}` is required; infra-gen renders extra fields as optional "
                "(so the generated tests can build the model): set `required: false`, or add it after generation",
                code="gen.answer.field_required",
            )
        merged.append(field)
    return spec.model_copy(update={"fields": tuple(merged)})


def complete_contract(contract: NodeContract) -> NodeContract:
    """Add the fields the kind's generated code relies on; refuse fields it cannot render."""
    parse_name(contract.name)
    core = CORE_FIELDS[contract.kind]
    node = NodeName(tuple(contract.name.split("_")))
    config = contract.config_model or ModelSpec(name=f"{node.pascal}Config")
    update: dict[str, Any] = {
        "input_model": _merge("input", contract.input_model, core["input"]),
        "output_model": _merge("output", contract.output_model, core["output"]),
        "config_model": _merge("config", config, core["config"]),
    }
    names = {update[k].name for k in ("input_model", "output_model", "config_model")}
    if len(names) < 3:
        raise InvalidAnswerError(
            "input_model, output_model and config_model need three different names", code="gen.answer.model_names"
        )
    if contract.kind is NodeKind.ORCHESTRATOR and not contract.steps:
        update["steps"] = DEFAULT_STEPS
    return contract.model_copy(update=update)


def contract_yaml(contract: NodeContract) -> str:
    """The contract as YAML, in field order, without empty optional parts."""
    data = contract.model_dump(mode="json", exclude_none=True)
    for key in ("steps", "external_systems"):
        if not data.get(key):
            data.pop(key, None)
    header = "# ONEX node contract: validated as infra_models.NodeContract (`infra-models validate` checks it).\n"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present: same text, 5x faster
    return header + yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def check_text(label: str, text: str) -> None:
    """Refuse text that cannot be written as UTF-8 (lone surrogates: bytes that were not UTF-8 on the command line)."""
    bad = next((c for c in text if unicodedata.category(c) == "Cs"), None)
    if bad is not None:
        raise InvalidAnswerError(
            f"{label} holds {bad!r}, which is not a character (the input was not UTF-8); write it in UTF-8",
            code="gen.answer.encoding",
        )


def doc_line(text: str) -> str:
    """One line, safe inside a Python docstring or comment (control characters written as escapes)."""
    line = " ".join(text.split()).replace("\\", "\\\\").replace('"', '\\"')
    return "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c for c in line)


_TOML_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string: quotes, backslashes and control characters escaped; other characters,
    emoji included, written as themselves (a TOML file is UTF-8; JSON's surrogate-pair escapes are not TOML)."""
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif unicodedata.category(char) == "Cc":
            out.append(f"\\u{ord(char):04X}")
        elif unicodedata.category(char) == "Cs":  # a lone surrogate cannot be written as UTF-8
            out.append("\ufffd")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _fields(spec: ModelSpec, core: tuple[ModelField, ...]) -> list[dict[str, Any]]:
    core_names = {f.name for f in core}
    return [
        {"name": f.name, "type": f.type, "description": doc_line(f.description), "required": f.required}
        for f in spec.fields
        if f.name not in core_names
    ]


def _imports(fields: list[dict[str, Any]]) -> str:
    """Import lines the extra fields' types need (``Any``, ``datetime``), sorted, then a blank line; or nothing."""
    used: set[str] = set()
    for f in fields:
        used |= {n.id for n in ast.walk(ast.parse(f["type"], mode="eval")) if isinstance(n, ast.Name)}
    lines = sorted(_NEEDS_IMPORT[name] for name in used & set(_NEEDS_IMPORT))
    return "".join(f"{line}\n" for line in lines) + ("\n" if lines else "")


def template_context(contract: NodeContract) -> dict[str, Any]:
    """Everything the templates see as ``cookiecutter``: JSON-ready, so plain cookiecutter can render them too."""
    node = NodeName(tuple(contract.name.split("_")))
    kind = contract.kind
    core = CORE_FIELDS[kind]
    config = contract.config_model
    assert config is not None  # complete_contract always sets it
    external = contract.external_systems[0].name if contract.external_systems else ""
    extra = {
        "input_extra_fields": _fields(contract.input_model, core["input"]),
        "output_extra_fields": _fields(contract.output_model, core["output"]),
        "config_extra_fields": _fields(config, core["config"]),
    }
    produced = (
        contract.topics.produced[0] if contract.topics.produced else f"onex.evt.{contract.domain}.{node.kebab}.v1"
    )
    return {
        "node_name": node.snake,
        "node_pascal": node.pascal,
        "node_camel": node.camel,
        "node_kebab": node.kebab,
        "node_constant": node.constant,
        "kind": kind.value,
        "kind_lower": kind.value.lower(),
        "kind_pascal": kind.value.title(),
        "class_name": f"{node.pascal}{kind.value.title()}",
        "domain": contract.domain,
        "version": contract.version,
        "description": " ".join(contract.description.split()),
        "description_doc": doc_line(contract.description),
        "description_toml": toml_string(" ".join(contract.description.split())),
        "project_dir": node.kebab,
        "dist_name": node.kebab,
        "package_name": node.snake,
        "input_model": contract.input_model.name,
        "output_model": contract.output_model.name,
        "config_model": config.name,
        "external_system": external,
        "external_system_doc": doc_line(external),
        "external_system_json": json.dumps(external),
        "event_topic": produced,
        # Lists sit in one dict: plain cookiecutter would take a top-level list for a choice variable.
        "lists": {
            **extra,
            **{f"{role[: -len('_extra_fields')]}_imports": _imports(fields) for role, fields in extra.items()},
            "steps": [
                {
                    "name": s.name,
                    "description": doc_line(s.description or s.name.replace("_", " ").capitalize() + "."),
                    "compensate": s.compensate,
                }
                for s in contract.steps
            ],
        },
        "contract_yaml": contract_yaml(contract),
        "generator_version": __version__,
    }
