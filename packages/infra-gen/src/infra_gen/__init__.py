"""infra-gen: scaffolds ONEX nodes (EFFECT, COMPUTE, REDUCER, ORCHESTRATOR) from cookiecutter templates."""

from __future__ import annotations

from infra_gen.__about__ import __version__
from infra_gen.errors import GenError

__all__ = ["GenError", "__version__"]
