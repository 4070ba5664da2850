"""ONEX service packages: detect one from its ``nodes/`` folder and generate nodes in the real declarative layout.

Example:
    >>> from infra_gen import NodeGenerator
    >>> NodeGenerator(output_dir="src/my_service/nodes").generate_node("effect", "vault_reader")  # doctest: +SKIP
"""

from __future__ import annotations

from infra_gen.onex.layout import plan_onex_node, render_onex_node
from infra_gen.onex.service import OnexService, find_onex_service
from infra_gen.onex.spec import ARCHETYPES, OnexNodeSpec, onex_context

__all__ = [
    "ARCHETYPES",
    "OnexNodeSpec",
    "OnexService",
    "find_onex_service",
    "onex_context",
    "plan_onex_node",
    "render_onex_node",
]
