"""infra-readiness: production-readiness checks that rate a node or package NOT_READY to PRODUCTION.

Example:
    >>> from infra_readiness import ProductionReadinessCheck
    >>> report = ProductionReadinessCheck(node_path="path/to/node").check_readiness_sync()  # doctest: +SKIP
    >>> report.level, report.blockers                                                      # doctest: +SKIP
    (<ReadinessLevel.STAGING: 'STAGING'>, ('PERF-001',))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra_readiness.__about__ import __version__

if TYPE_CHECKING:
    from infra_readiness.api import ProductionReadinessCheck, check_path, check_tree
    from infra_readiness.context import NodeContext, NodeOptions
    from infra_readiness.errors import CheckRegistryError, ReadinessError, ReadinessInputError
    from infra_readiness.plugin import Check, Outcome, check
    from infra_readiness.registry import load_checks

__all__ = [
    "Check",
    "CheckRegistryError",
    "NodeContext",
    "NodeOptions",
    "Outcome",
    "ProductionReadinessCheck",
    "ReadinessError",
    "ReadinessInputError",
    "__version__",
    "check",
    "check_path",
    "check_tree",
    "load_checks",
]

_WHERE = {
    "ProductionReadinessCheck": "api",
    "check_path": "api",
    "check_tree": "api",
    "NodeContext": "context",
    "NodeOptions": "context",
    "CheckRegistryError": "errors",
    "ReadinessError": "errors",
    "ReadinessInputError": "errors",
    "Check": "plugin",
    "Outcome": "plugin",
    "check": "plugin",
    "load_checks": "registry",
}


def __getattr__(name: str) -> Any:
    # Lazy: `import infra_readiness` and `infra-readiness --help` stay light.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'infra_readiness' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"infra_readiness.{module}"), name)
