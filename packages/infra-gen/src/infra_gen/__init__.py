"""infra-gen: scaffolds ONEX nodes (EFFECT, COMPUTE, REDUCER, ORCHESTRATOR) from cookiecutter templates.

Example:
    >>> from infra_gen import NodeGenerator
    >>> NodeGenerator(output_dir=".").generate_node(  # doctest: +SKIP
    ...     node_type="effect", domain="infrastructure", microservice_name="vault_adapter",
    ...     business_description="HashiCorp Vault secret management", external_system="HashiCorp Vault")

Names are imported on first use, so ``import infra_gen`` and ``infra-gen --help`` stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra_gen.__about__ import __version__
from infra_models.lazy import lazy_exports

if TYPE_CHECKING:
    from infra_gen.errors import GenError
    from infra_gen.generator import GenerationResult, NodeGenerator
    from infra_gen.names import NodeName, parse_name
    from infra_gen.plan import Action, Plan, PlannedFile, apply_plan
    from infra_gen.update import CheckReport, UpdateResult, check_node, update_node

__all__ = [
    "Action",
    "CheckReport",
    "GenError",
    "GenerationResult",
    "NodeGenerator",
    "NodeName",
    "Plan",
    "PlannedFile",
    "UpdateResult",
    "__version__",
    "apply_plan",
    "check_node",
    "parse_name",
    "update_node",
]

_WHERE = {
    "Action": "plan",
    "CheckReport": "update",
    "GenError": "errors",
    "GenerationResult": "generator",
    "NodeGenerator": "generator",
    "NodeName": "names",
    "Plan": "plan",
    "PlannedFile": "plan",
    "UpdateResult": "update",
    "apply_plan": "plan",
    "check_node": "update",
    "parse_name": "names",
    "update_node": "update",
}


__getattr__, __dir__ = lazy_exports(__name__, {name: f"infra_gen.{module}" for name, module in _WHERE.items()}, __all__)
