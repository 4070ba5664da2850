"""ONEX service packages: detect one from its ``nodes/`` folder and generate nodes in the real declarative layout.

Example:
    >>> from infra_gen import NodeGenerator
    >>> NodeGenerator(output_dir="src/my_service/nodes").generate_node("effect", "vault_reader")  # doctest: +SKIP

Names are imported on first use: detecting a service (``service``) stays light for stand-alone generations.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra_gen.onex.answers import onex_answers
    from infra_gen.onex.layout import plan_onex_node, render_onex_node
    from infra_gen.onex.service import OnexService, find_onex_service
    from infra_gen.onex.spec import ARCHETYPES, OnexNodeSpec, onex_context

__all__ = [
    "ARCHETYPES",
    "OnexNodeSpec",
    "OnexService",
    "find_onex_service",
    "onex_answers",
    "onex_context",
    "plan_onex_node",
    "render_onex_node",
]

_WHERE = {
    "ARCHETYPES": "spec",
    "OnexNodeSpec": "spec",
    "OnexService": "service",
    "find_onex_service": "service",
    "onex_answers": "answers",
    "onex_context": "spec",
    "plan_onex_node": "layout",
    "render_onex_node": "layout",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"infra_gen.onex.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'infra_gen.onex' has no attribute {name!r}")
