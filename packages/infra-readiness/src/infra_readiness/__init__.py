"""infra-readiness: production-readiness checks that rate a node or package NOT_READY to PRODUCTION."""

from __future__ import annotations

from infra_readiness.__about__ import __version__
from infra_readiness.errors import ReadinessError

__all__ = ["ReadinessError", "__version__"]
