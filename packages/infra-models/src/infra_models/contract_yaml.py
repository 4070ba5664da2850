"""Read a node's ``contract.yaml`` into a :class:`NodeContract`, with errors that name the line and field."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from infra_models.errors import ContractError
from infra_models.node import NodeContract

__all__ = ["load_contract", "parse_contract"]

_MAX_BYTES = 1_000_000
# libyaml's parser when PyYAML was built with it (the wheels are), else the pure-Python one.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_contract(path: str | Path) -> NodeContract:
    """Read and validate the contract file at ``path``.

    Raises:
        ContractError: the file is missing, unreadable, not YAML, or not a valid contract; the message names
            the file, the line and the field.
    """
    file = Path(path)
    try:
        if file.stat().st_size > _MAX_BYTES:
            raise ContractError(f"{file}: contract is larger than {_MAX_BYTES} bytes", code="contract.too_large")
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ContractError(f"{file}: no such contract file", code="contract.not_found") from exc
    except UnicodeDecodeError as exc:
        raise ContractError(f"{file}: contract is not UTF-8 text", code="contract.not_text") from exc
    except OSError as exc:
        raise ContractError(f"{file}: cannot read contract ({exc.strerror})", code="contract.unreadable") from exc
    return parse_contract(text, filename=str(file))


def parse_contract(text: str, *, filename: str = "<contract>") -> NodeContract:
    """Validate contract YAML text; ``filename`` is used in messages."""
    try:
        root, data = _compose_and_construct(text)
    except RecursionError as exc:
        raise ContractError(f"{filename}: YAML is nested too deeply to be a contract", code="contract.yaml") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark is not None:
            problem += f" ({context} started at line {context_mark.line + 1})"
        raise ContractError(f"{filename}{where}: not valid YAML: {problem}", code="contract.yaml") from exc
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ContractError(
            f"{filename}: a contract is a YAML mapping with `name`, `kind`, `version`, ...; got {type(data).__name__}",
            code="contract.not_mapping",
        )
    duplicate = _first_duplicate_key(root)
    if duplicate is not None:
        key, line = duplicate
        raise ContractError(f"{filename}:{line}: key `{key}` appears twice", code="contract.duplicate_key")
    try:
        return NodeContract.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = _line_of(root, loc)
            field = ".".join(str(part) for part in loc) or "(contract)"
            message = error["msg"].removeprefix("Value error, ")
            problems.append({"line": line, "field": field, "message": message})
        first = problems[0]
        summary = f"{filename}:{first['line']}: field `{first['field']}`: {first['message']}"
        if len(problems) > 1:
            summary += f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        raise ContractError(summary, details={"file": filename, "problems": problems}) from exc


def _compose_and_construct(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse once: the node tree (for line numbers) and the plain data built from it (safe tags only)."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def _line_of(root: yaml.Node, loc: Sequence[int | str]) -> int:
    """1-based line of the deepest node along ``loc`` that exists in the YAML tree."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _first_duplicate_key(node: yaml.Node) -> tuple[str, int] | None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    return key.value, int(key.start_mark.line) + 1
                seen.add(key.value)
            found = _first_duplicate_key(value)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found = _first_duplicate_key(item)
            if found:
                return found
    return None
