"""Read a node's ``contract.yaml`` in the infra format into a :class:`NodeContract`, naming line and field on errors.

The YAML is read by :mod:`infra_models.yaml_limits`, so hostile documents (alias bombs, deep nesting, huge scalars,
duplicate keys) are refused within fixed bounds. Real ONEX contracts (``node_type: EFFECT_GENERIC``) are read by
:mod:`infra_models.onex`; :func:`infra_models.onex.load_any_contract` takes either.
"""

from __future__ import annotations

from pathlib import Path

from infra_models._validation import validate_with_lines
from infra_models.errors import ContractError
from infra_models.node import NodeContract
from infra_models.yaml_limits import load_yaml_mapping, read_yaml_text

__all__ = ["load_contract", "parse_contract"]

# Keys only a real ONEX contract has; seeing one in an infra-format read earns a pointer to the ONEX reader.
_ONEX_KEYS = ("node_type", "contract_version", "contract_name", "node_name", "node_version")


def load_contract(path: str | Path) -> NodeContract:
    """Read and validate the infra-format contract file at ``path``.

    Raises:
        ContractError: the file is missing, unreadable, too large, not YAML, hostile YAML, or not a valid contract;
            the message names the file, the line and the field.
    """
    return parse_contract(read_yaml_text(path), filename=str(Path(path)))


def parse_contract(text: str, *, filename: str = "<contract>") -> NodeContract:
    """Validate infra-format contract YAML text; ``filename`` is used in messages."""
    root, data = load_yaml_mapping(text, filename=filename)
    if "kind" not in data and any(key in data for key in _ONEX_KEYS):
        raise ContractError(
            f"{filename}: this is an ONEX contract (it has `node_type`/`contract_version`), not the infra format "
            "(`kind`, `version`); read it with `load_any_contract` or `load_onex_contract`",
            code="contract.invalid",
        )
    return validate_with_lines(NodeContract, root, data, filename=filename)
