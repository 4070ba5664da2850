"""infra-security: payload encryption, tamper-evident audit log, Vault/OpenBao credentials, rate limiting and TLS policy."""

from __future__ import annotations

from infra_security.__about__ import __version__
from infra_security.errors import SecurityError

__all__ = ["SecurityError", "__version__"]
