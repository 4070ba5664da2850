"""The node's contract: ``contract.yaml``, shipped inside the package and validated when loaded."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from infra_models import NodeContract, parse_contract

__all__ = ["load_node_contract"]


@cache
def load_node_contract() -> NodeContract:
    """Read and validate this node's ``contract.yaml`` (once per process)."""
    text = files("order_saga").joinpath("contract.yaml").read_text(encoding="utf-8")
    return parse_contract(text, filename="order_saga/contract.yaml")
