"""How a :class:`~infra_security.credentials._vault_provider.VaultProvider` logs in: token, AppRole or Kubernetes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from pydantic import SecretStr

from infra_security.errors import CredentialConfigError

__all__ = ["AppRoleAuth", "KubernetesAuth", "TokenAuth", "VaultAuth"]


class VaultAuth(Protocol):
    """A login method. ``can_reauth`` says whether a fresh token can be had when the old one reaches max TTL."""

    method: str
    can_reauth: bool

    def login(self, client: Any) -> None:
        """Authenticate ``client`` (an ``hvac.Client``), leaving the token set on it."""
        ...


class TokenAuth:
    """A token given directly (or from ``VAULT_TOKEN``). It can be renewed but not re-issued at max TTL."""

    method = "token"
    can_reauth = False

    def __init__(self, token: str | SecretStr | None = None) -> None:
        value = token.get_secret_value() if isinstance(token, SecretStr) else token
        value = value or os.environ.get("VAULT_TOKEN", "")
        if not value:
            raise CredentialConfigError(
                "no Vault token: pass token=..., use auth=AppRoleAuth(...)/KubernetesAuth(...), or set VAULT_TOKEN",
                details={"field": "token"},
            )
        self._token = SecretStr(value)

    def login(self, client: Any) -> None:
        """Set the token on the client."""
        client.token = self._token.get_secret_value()

    def __repr__(self) -> str:
        return "TokenAuth(token=SecretStr('**********'))"


class AppRoleAuth:
    """AppRole login with ``role_id`` and ``secret_id``; re-authenticates when the token reaches its max TTL."""

    method = "approle"
    can_reauth = True

    def __init__(self, role_id: str, secret_id: str | SecretStr, *, mount_point: str = "approle") -> None:
        if not role_id:
            raise CredentialConfigError("AppRoleAuth needs a role_id", details={"field": "role_id"})
        self.role_id = role_id
        self._secret_id = secret_id if isinstance(secret_id, SecretStr) else SecretStr(secret_id)
        self.mount_point = mount_point

    def login(self, client: Any) -> None:
        """POST ``auth/<mount>/login``."""
        client.auth.approle.login(
            role_id=self.role_id, secret_id=self._secret_id.get_secret_value(), mount_point=self.mount_point
        )

    def __repr__(self) -> str:
        masked = "SecretStr('**********')"
        return f"AppRoleAuth(role_id={self.role_id!r}, secret_id={masked}, mount_point={self.mount_point!r})"


class KubernetesAuth:
    """Kubernetes login with the pod's service-account JWT; re-authenticates at max TTL (reads the JWT again)."""

    method = "kubernetes"
    can_reauth = True

    def __init__(
        self,
        role: str,
        *,
        jwt_path: str | Path = "/var/run/secrets/kubernetes.io/serviceaccount/token",
        mount_point: str = "kubernetes",
    ) -> None:
        if not role:
            raise CredentialConfigError("KubernetesAuth needs a role", details={"field": "role"})
        self.role = role
        self.jwt_path = Path(jwt_path)
        self.mount_point = mount_point

    def login(self, client: Any) -> None:
        """POST ``auth/<mount>/login`` with the projected service-account token."""
        try:
            jwt = self.jwt_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialConfigError(
                f"cannot read the service-account token {str(self.jwt_path)!r}: {exc.strerror}",
                details={"field": "jwt_path"},
            ) from exc
        client.auth.kubernetes.login(role=self.role, jwt=jwt, mount_point=self.mount_point)

    def __repr__(self) -> str:
        return f"KubernetesAuth(role={self.role!r}, jwt_path={str(self.jwt_path)!r}, mount_point={self.mount_point!r})"
