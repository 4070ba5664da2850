"""Read a node's ``contract.yaml`` in either format (ONEX or infra) through infra-models' bounded YAML reader.

Hostile YAML (alias bombs, deep nesting, huge scalars, duplicate keys through aliases) is refused by
:mod:`infra_models.yaml_limits` within fixed bounds of time and memory; the refusal becomes the contract error that
check CON-001 reports, never a hang or a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra_models.errors import ContractError
from infra_models.node import NodeContract, NodeKind
from infra_models.onex import OnexContract, load_any_contract
from infra_models.yaml_limits import load_yaml_mapping, read_yaml_text

__all__ = ["kind_of", "read_contract", "read_raw_mapping"]


def read_contract(path: Path) -> tuple[NodeContract | OnexContract | None, ContractError | None]:
    """The validated contract at ``path`` and ``None``, or ``None`` and why it does not validate."""
    try:
        return load_any_contract(path), None
    except ContractError as exc:
        return None, exc
    except (RecursionError, MemoryError) as exc:  # belt and braces: the bounded reader refuses these first
        error = ContractError(f"{path}: nested too deeply to read", code="contract.too_deep")
        error.__cause__ = exc
        return None, error


def read_raw_mapping(path: Path) -> dict[str, Any]:
    """The contract's top-level mapping even when it does not validate; empty when it is not readable YAML."""
    try:
        _, data = load_yaml_mapping(read_yaml_text(path), filename=str(path))
    except (ContractError, RecursionError, MemoryError):
        return {}
    return data


def kind_of(raw: dict[str, Any]) -> NodeKind | None:
    """Best-effort kind of a contract that does not validate: ``kind`` (infra) or ``node_type`` (ONEX)."""
    for key in ("kind", "node_type"):
        value = raw.get(key)
        if isinstance(value, str):
            text = value.strip().upper().removesuffix("_GENERIC")
            try:
                return NodeKind(text)
            except ValueError:
                continue
    return None
