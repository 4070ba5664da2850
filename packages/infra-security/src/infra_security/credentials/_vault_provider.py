"""Vault/OpenBao provider on hvac: KV v2 reads, dynamic secrets, lease and token renewal, revocation.

hvac is imported when a provider is built, not when ``infra_security`` is imported. Requests are retried on
412 (eventual consistency) and 5xx through urllib3's ``Retry`` with a capped backoff in seconds.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any
from urllib.parse import urlparse

from pydantic import SecretStr

from infra_models.security import TlsConfig
from infra_security.credentials._providers import Secret, check_path
from infra_security.credentials._vault_auth import TokenAuth, VaultAuth
from infra_security.errors import (
    CredentialBackendError,
    CredentialConfigError,
    CredentialError,
    CredentialNotFoundError,
)

__all__ = ["TokenStatus", "VaultProvider", "check_vault_url"]

_log = logging.getLogger("infra_security.credentials")


def check_vault_url(url: str) -> str:
    """Return ``url`` without a trailing slash if it is ``http(s)://host[:port]``, else raise."""
    try:
        parsed = urlparse(url or "")
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: http://[::1
        raise CredentialConfigError(
            f"Vault URL {url!r} is not valid ({exc}): expected http(s)://host:port, for example http://vault:8200",
            details={"field": "vault_url", "value": url},
        ) from exc
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise CredentialConfigError(
            f"Vault URL {url!r} is not valid: expected http(s)://host:port, for example http://vault:8200",
            details={"field": "vault_url", "value": url},
        )
    try:
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise CredentialConfigError(f"Vault URL {url!r} has a bad port", details={"field": "vault_url"}) from exc
    return url.rstrip("/")


class TokenStatus:
    """What Vault says of the current token: seconds to live and whether it can be renewed."""

    __slots__ = ("accessor", "creation_ttl", "renewable", "ttl", "warnings")

    def __init__(
        self,
        ttl: float,
        renewable: bool,
        accessor: str | None,
        warnings: tuple[str, ...] = (),
        creation_ttl: float | None = None,
    ) -> None:
        self.ttl = ttl
        self.renewable = renewable
        self.accessor = accessor
        self.warnings = warnings
        #: The TTL the token was issued with (what a renewal restores), when known.
        self.creation_ttl = creation_ttl

    def __repr__(self) -> str:
        return f"TokenStatus(ttl={self.ttl}, renewable={self.renewable}, accessor={self.accessor!r})"


class VaultProvider:
    """Reads secrets from Vault or OpenBao.

    ``auth`` defaults to :class:`TokenAuth` (``token=`` or ``VAULT_TOKEN``). ``mount_point`` is the KV v2 mount.
    ``tls`` gives the CA and client certificate (see :func:`~infra_security.tls._settings.hvac_tls_kwargs`).

    Example:
        >>> VaultProvider("vault:8200", token="t")
        Traceback (most recent call last):
        ...
        infra_security.errors.CredentialConfigError: Vault URL 'vault:8200' is not valid: ...
    """

    name = "vault"

    def __init__(
        self,
        url: str,
        *,
        auth: VaultAuth | None = None,
        token: str | SecretStr | None = None,
        mount_point: str = "secret",
        namespace: str | None = None,
        tls: TlsConfig | None = None,
        timeout: float = 5.0,
        retries: int = 2,
        client: Any = None,
    ) -> None:
        self.url = check_vault_url(url)
        self.auth: VaultAuth = auth if auth is not None else TokenAuth(token)
        self.mount_point = mount_point
        _require("hvac", "vault")
        if client is None:
            client = _make_client(self.url, namespace=namespace, tls=tls, timeout=timeout, retries=retries)
        self.client = client
        self._logged_in = False
        import requests

        # Through importlib: hvac ships no type information, and its stubs are optional.
        self._hvac_exc: Any = importlib.import_module("hvac.exceptions")
        self._net_errors: tuple[type[BaseException], ...] = (requests.exceptions.RequestException, OSError)

    # -- authentication ----------------------------------------------------------------------------------------

    def login(self) -> TokenStatus:
        """Authenticate with :attr:`auth` and return the new token's status."""
        try:
            self.auth.login(self.client)
        except CredentialError:
            raise
        except Exception as exc:
            raise self._translate(exc, f"{self.auth.method} login") from exc
        self._logged_in = True
        return self.token_status()

    def token_status(self) -> TokenStatus:
        """``auth/token/lookup-self``: the token's remaining TTL and renewability (a bad token raises)."""
        self._ensure_login()
        try:
            data = self.client.auth.token.lookup_self()["data"]
        except Exception as exc:
            raise self._translate(exc, "token lookup") from exc
        creation = data.get("creation_ttl")
        return TokenStatus(
            float(data.get("ttl") or 0),
            bool(data.get("renewable")),
            data.get("accessor"),
            creation_ttl=float(creation) if creation else None,
        )

    def renew_token(self, increment: int | None = None) -> TokenStatus:
        """``auth/token/renew-self``; Vault caps the TTL at the token's max TTL and says so in ``warnings``."""
        self._ensure_login()
        try:
            reply = self.client.auth.token.renew_self(increment=increment)
        except Exception as exc:
            raise self._translate(exc, "token renewal") from exc
        auth = reply.get("auth") or {}
        return TokenStatus(
            float(auth.get("lease_duration") or 0),
            bool(auth.get("renewable")),
            auth.get("accessor"),
            tuple(reply.get("warnings") or ()),
        )

    def revoke_token(self) -> None:
        """``auth/token/revoke-self`` (only for tokens this provider logged in for)."""
        try:
            self.client.auth.token.revoke_self()
        except Exception as exc:
            raise self._translate(exc, "token revocation") from exc

    # -- secrets -----------------------------------------------------------------------------------------------

    def read(self, path: str) -> Secret:
        """Read the latest version of KV v2 secret ``path`` under :attr:`mount_point`."""
        check_path(path)
        self._ensure_login()
        try:
            reply = self.client.secrets.kv.v2.read_secret_version(
                path=path, mount_point=self.mount_point, raise_on_deleted_version=True
            )
        except Exception as exc:
            raise self._translate(exc, f"read of {self.mount_point}/{path}") from exc
        body = reply["data"]
        version = (body.get("metadata") or {}).get("version")
        return Secret(
            path=path,
            data={k: SecretStr(str(v)) for k, v in (body.get("data") or {}).items()},
            source=f"vault:kv2:{self.mount_point}",
            version=int(version) if version is not None else None,
        )

    def read_dynamic(self, path: str) -> Secret:
        """Read a leased secret (for example ``database/creds/app``) with its lease id and duration."""
        check_path(path)
        self._ensure_login()
        try:
            reply = self.client.read(path)
        except Exception as exc:
            raise self._translate(exc, f"read of {path}") from exc
        if reply is None:
            raise CredentialNotFoundError(f"no secret at {path} in Vault {self.url}", details={"path": path})
        return Secret(
            path=path,
            data={k: SecretStr(str(v)) for k, v in (reply.get("data") or {}).items()},
            source="vault:dynamic",
            lease_id=reply.get("lease_id") or None,
            lease_duration=float(reply.get("lease_duration") or 0) or None,
            renewable=bool(reply.get("renewable")),
            warnings=tuple(reply.get("warnings") or ()),
        )

    def renew_lease(self, lease_id: str, increment: int | None = None) -> tuple[float, tuple[str, ...]]:
        """``sys/leases/renew``: the new lease duration in seconds and Vault's warnings (capped at max TTL)."""
        try:
            reply = self.client.sys.renew_lease(lease_id=lease_id, increment=increment)
        except Exception as exc:
            raise self._translate(exc, f"renewal of lease {lease_id}") from exc
        return float(reply.get("lease_duration") or 0), tuple(reply.get("warnings") or ())

    def revoke_lease(self, lease_id: str) -> None:
        """``sys/leases/revoke``."""
        try:
            self.client.sys.revoke_lease(lease_id=lease_id)
        except Exception as exc:
            raise self._translate(exc, f"revocation of lease {lease_id}") from exc

    def close(self) -> None:
        """Close the HTTP session."""
        adapter = getattr(self.client, "adapter", None)
        if adapter is not None and hasattr(adapter, "close"):
            adapter.close()

    # -- internals ---------------------------------------------------------------------------------------------

    def _ensure_login(self) -> None:
        if not self._logged_in:
            self.login()

    def _translate(self, exc: Exception, what: str) -> CredentialError:
        errors = self._hvac_exc
        if isinstance(exc, errors.InvalidPath):
            return CredentialNotFoundError(
                f"{what}: nothing at that path in Vault {self.url} "
                f"(check the path and mount_point={self.mount_point!r})",
                details={"what": what},
            )
        if isinstance(exc, (errors.Forbidden, errors.Unauthorized)):
            return CredentialBackendError(
                f"{what}: Vault {self.url} refused the token (permission denied): check the token or its policies",
                code="security.credential_denied",
                details={"what": what},
            )
        if isinstance(exc, errors.InvalidRequest):
            return CredentialBackendError(
                f"{what}: Vault {self.url} rejected the request: {exc}", details={"what": what}
            )
        if isinstance(exc, self._net_errors):
            return CredentialBackendError(
                f"{what}: cannot reach Vault at {self.url}: {type(exc).__name__}",
                code="security.credential_unreachable",
                details={"what": what},
            )
        if isinstance(exc, errors.VaultError):
            return CredentialBackendError(f"{what}: Vault {self.url} failed: {exc}", details={"what": what})
        return CredentialBackendError(
            f"{what}: unexpected error from Vault {self.url}: {exc!r}", details={"what": what}
        )


def _require(module: str, extra: str) -> None:
    """Raise a clear error when an optional dependency is missing."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise CredentialConfigError(
            f"{module} is not installed: pip install 'infra-security[{extra}]'", details={"module": module}
        ) from exc


def _make_client(url: str, *, namespace: str | None, tls: TlsConfig | None, timeout: float, retries: int) -> Any:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    from infra_security.tls._settings import hvac_tls_kwargs

    session = requests.Session()
    # A read timeout is not retried: the server took the request and did not answer (hung, SIGSTOPped,
    # overloaded); retrying would multiply the wait by ``retries + 1`` before the caller can fall back to a stale
    # value. ``timeout`` therefore bounds one call against a hung server; refused connections and 5xx retry.
    retry = Retry(
        total=retries,
        connect=min(retries, 1),
        read=0,
        status_forcelist=(412, 500, 502, 503),
        allowed_methods=None,
        backoff_factor=0.2,  # seconds: 0.2, 0.4, 0.8 ... capped below
        backoff_max=2.0,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    kwargs: dict[str, Any] = hvac_tls_kwargs(tls) if tls is not None else {}
    # hvac takes verify/cert from a session it is given and ignores its own arguments then (hvac#991 fix):
    # set them on the session, or a private CA would silently be replaced by the system roots.
    if "verify" in kwargs:
        session.verify = kwargs["verify"]
    if "cert" in kwargs:
        session.cert = kwargs["cert"]
    hvac: Any = importlib.import_module("hvac")
    return hvac.Client(url=url, namespace=namespace, timeout=timeout, session=session, **kwargs)
