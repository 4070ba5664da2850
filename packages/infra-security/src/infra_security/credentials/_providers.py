"""Where credentials come from: the provider protocol, the secret value type, and the env/file providers.

Providers are chosen by configuration, never by fallback: a Vault that cannot be reached is an error (or a
bounded stale value), never a quiet switch to environment variables. The env and file providers exist for
development and for platforms that mount secrets as files (Kubernetes secret volumes, Docker secrets).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import SecretStr

from infra_security.errors import CredentialConfigError, CredentialNotFoundError

__all__ = ["CredentialProvider", "EnvProvider", "FileProvider", "Secret", "check_path"]

_PATH = re.compile(r"^[A-Za-z0-9_.@+=,-]+(/[A-Za-z0-9_.@+=,-]+)*$")


def check_path(path: str) -> str:
    """Return ``path`` if it is a plain relative secret path (``service`` or ``team/service``), else raise."""
    if not path or not _PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
        raise CredentialConfigError(
            f"secret path {path!r} is not valid: use letters, digits and _.@+=,- separated by '/', no '..'",
            details={"path": path},
        )
    return path


@dataclass(frozen=True)
class Secret:
    """One secret as read from a provider: its fields (never shown in ``repr``) and lease/version metadata."""

    path: str
    data: Mapping[str, SecretStr]
    source: str
    version: int | None = None
    lease_id: str | None = None
    lease_duration: float | None = None
    renewable: bool = False
    warnings: tuple[str, ...] = field(default=())

    def field(self, name: str) -> SecretStr:
        """The value of field ``name``; a missing field is a :class:`CredentialNotFoundError` naming the fields."""
        try:
            return self.data[name]
        except KeyError:
            raise CredentialNotFoundError(
                f"secret `{self.path}` from {self.source} has no field `{name}` "
                f"(fields: {', '.join(sorted(self.data)) or 'none'})",
                details={"path": self.path, "field": name},
            ) from None

    def values(self) -> dict[str, str]:
        """Plain field values; use only where the value is handed to a driver."""
        return {k: v.get_secret_value() for k, v in self.data.items()}

    def same_value(self, other: Secret | None) -> bool:
        """True when ``other`` holds the same fields and values (rotation detection)."""
        return other is not None and self.values() == other.values()


@runtime_checkable
class CredentialProvider(Protocol):
    """Reads secrets by path; providers with leases also renew and revoke them."""

    name: str

    def read(self, path: str) -> Secret:
        """Read the secret at ``path``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _secret(path: str, values: Mapping[str, object], source: str) -> Secret:
    return Secret(path=path, data={k: SecretStr(str(v)) for k, v in values.items()}, source=source)


class EnvProvider:
    """Secrets from environment variables: path ``my_service`` field ``api_key`` is ``<PREFIX>MY_SERVICE_API_KEY``.

    Example:
        >>> EnvProvider(environ={"INFRA_SECRET_SVC_API_KEY": "k"}).read("svc").field("api_key").get_secret_value()
        'k'
    """

    name = "env"

    def __init__(self, prefix: str = "INFRA_SECRET_", *, environ: Mapping[str, str] | None = None) -> None:
        self._prefix = prefix
        self._environ = environ

    def read(self, path: str) -> Secret:
        """Collect every ``<PREFIX><PATH>_<FIELD>`` variable; none at all is a :class:`CredentialNotFoundError`."""
        check_path(path)
        env = os.environ if self._environ is None else self._environ
        stem = self._prefix + re.sub(r"[^A-Za-z0-9]", "_", path).upper() + "_"
        values = {k[len(stem) :].lower(): v for k, v in env.items() if k.startswith(stem) and len(k) > len(stem)}
        if not values:
            raise CredentialNotFoundError(
                f"no environment variable starts with {stem} (secret `{path}` from the env provider)",
                details={"path": path, "prefix": stem},
            )
        return _secret(path, values, "env")

    def close(self) -> None:
        """Nothing to release."""


class FileProvider:
    """Secrets from files under ``directory``: ``<path>/<field>`` files (Kubernetes secret volume) or ``<path>.json``.

    Example:
        >>> FileProvider("/nonexistent")
        Traceback (most recent call last):
        ...
        infra_security.errors.CredentialConfigError: file provider directory '/nonexistent' does not exist
    """

    name = "file"

    def __init__(self, directory: str | Path) -> None:
        self._root = Path(directory)
        if not self._root.is_dir():
            raise CredentialConfigError(
                f"file provider directory {str(directory)!r} does not exist", details={"directory": str(directory)}
            )

    def read(self, path: str) -> Secret:
        """Read ``<dir>/<path>/`` (one file per field) or ``<dir>/<path>.json`` (an object of fields)."""
        check_path(path)
        folder = self._root / path
        if folder.is_dir():
            values = {
                p.name: p.read_text(encoding="utf-8").rstrip("\n")
                for p in sorted(folder.iterdir())
                if p.is_file() and not p.name.startswith(".")
            }
            if values:
                return _secret(path, values, f"file:{folder}")
        document = self._root / f"{path}.json"
        if document.is_file():
            try:
                loaded = json.loads(document.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise CredentialConfigError(f"{document} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
            if not isinstance(loaded, dict):
                raise CredentialConfigError(f"{document} must hold a JSON object of field: value")
            return _secret(path, loaded, f"file:{document}")
        raise CredentialNotFoundError(
            f"secret `{path}` not found: neither {folder}/ nor {document} exists", details={"path": path}
        )

    def close(self) -> None:
        """Nothing to release."""
