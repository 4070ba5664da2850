"""Lazy top-level exports for a package ``__init__`` (PEP 562), written once for every infra package.

A package maps each public name to the module that defines it; the module is imported the first time the name is
read, so ``import package`` and a CLI's ``--help`` stay fast. Type checkers still see the names through an
``if TYPE_CHECKING:`` block of plain imports.

Example (a package ``__init__.py``):
    >>> # __all__ = ["Relay"]
    >>> # __getattr__, __dir__ = lazy_exports(__name__, {"Relay": "my_pkg.relay"}, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports", "unresolved_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], public: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return the ``__getattr__`` and ``__dir__`` of ``package`` that load each name from its module on first use."""
    table = dict(names)

    def __getattr__(name: str) -> Any:  # noqa: N807 - the PEP 562 hook's own name
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value  # later reads skip this hook
        return value

    listed = sorted(set(public) | set(table))

    def __dir__() -> list[str]:  # noqa: N807 - the PEP 562 hook's own name
        return sorted(set(vars(sys.modules[package])) | set(listed))

    return __getattr__, __dir__


def unresolved_exports(package: str) -> list[str]:
    """The names in ``package.__all__`` that cannot be read (a test asserts this is empty for each package)."""
    module = importlib.import_module(package)
    missing = []
    for name in getattr(module, "__all__", ()):
        try:
            getattr(module, name)
        except (AttributeError, ImportError):
            missing.append(name)
    return missing
