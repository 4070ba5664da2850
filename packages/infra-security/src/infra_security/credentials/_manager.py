"""``CredentialManager``: credentials from Vault/OpenBao (or an explicit env/file provider), cached and renewed.

Example:
    >>> import asyncio
    >>> from infra_security.credentials._providers import EnvProvider
    >>> manager = CredentialManager(provider=EnvProvider(environ={"INFRA_SECRET_MY_SERVICE_API_KEY": "k1"}))
    >>> asyncio.run(manager.get_credential("api_key", "my_service"))
    'k1'
    >>> manager.get_credential_sync("api_key", "my_service")
    'k1'

With Vault (token from ``token=`` or ``VAULT_TOKEN``; the secret lives at KV v2 ``secret/my_service``)::

    cred_manager = CredentialManager(vault_url="http://vault:8200")
    api_key = await cred_manager.get_credential("api_key", "my_service")
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

from pydantic import SecretStr

from infra_models.enums import CredentialType
from infra_models.security import CredentialCacheEntry, TlsConfig
from infra_security.credentials._cache import CredentialCache, RotationCallback
from infra_security.credentials._leases import LeaseKeeper
from infra_security.credentials._providers import CredentialProvider, EnvProvider, FileProvider, Secret
from infra_security.credentials._vault_auth import VaultAuth
from infra_security.credentials._vault_provider import VaultProvider
from infra_security.errors import CredentialBackendError, CredentialConfigError

__all__ = ["CredentialManager"]

_log = logging.getLogger("infra_security.credentials")

_KV = "kv:"
_DYN = "dyn:"


class CredentialManager:
    """Get credentials by name and service; values are cached, leases and tokens renewed in the background.

    Exactly one source: ``vault_url`` (Vault/OpenBao through hvac; ``token=`` or ``auth=AppRoleAuth(...)``) or
    ``provider=`` (for example :class:`EnvProvider`, :class:`FileProvider`). Nothing configured is an error,
    not a silent switch to environment variables. ``path_template`` maps (name, service) to a KV path; the
    name is the field read from it. ``ttl``/``jitter``/``stale_if_error`` are seconds/fraction/seconds.
    """

    def __init__(
        self,
        vault_url: str | None = None,
        *,
        token: str | SecretStr | None = None,
        auth: VaultAuth | None = None,
        provider: CredentialProvider | None = None,
        mount_point: str = "secret",
        namespace: str | None = None,
        tls: TlsConfig | None = None,
        path_template: str = "{service}",
        ttl: float = 300.0,
        jitter: float = 0.1,
        stale_if_error: float = 60.0,
        renew_fraction: float = 2 / 3,
        background: bool = True,
        timeout: float = 5.0,
        retries: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if provider is not None and vault_url is not None:
            raise CredentialConfigError("give either vault_url or provider, not both")
        if provider is None:
            if vault_url is None:
                raise CredentialConfigError(
                    "no credential provider configured: pass vault_url='http://vault:8200' (Vault/OpenBao), "
                    "provider=EnvProvider()/FileProvider(dir) for development, or use CredentialManager.from_env()",
                    details={"field": "vault_url"},
                )
            provider = VaultProvider(
                vault_url,
                auth=auth,
                token=token,
                mount_point=mount_point,
                namespace=namespace,
                tls=tls,
                timeout=timeout,
                retries=retries,
            )
        if "{service}" not in path_template:
            raise CredentialConfigError(f"path_template {path_template!r} must contain {{service}}")
        self.provider = provider
        self.path_template = path_template
        self._clock = clock
        self._background = background
        self.cache = CredentialCache(self._fetch, ttl=ttl, jitter=jitter, stale_if_error=stale_if_error, clock=clock)
        self._session_lock = threading.Lock()
        self._session_ready = False
        #: The Vault provider when that is the source (leases, tokens, dynamic secrets), else None.
        self.vault: VaultProvider | None = provider if isinstance(provider, VaultProvider) else None
        self.keeper: LeaseKeeper | None = None
        if self.vault is not None:
            self.keeper = LeaseKeeper(
                self.vault,
                can_reauth=self.vault.auth.can_reauth,
                fraction=renew_fraction,
                clock=clock,
                on_renewed=self._lease_renewed,
                on_expiring=self._lease_expiring,
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> CredentialManager:
        """Build from ``INFRA_CREDENTIALS_PROVIDER`` = ``vault`` | ``env`` | ``file`` (required, no default).

        vault: ``VAULT_ADDR`` and one login: ``VAULT_ROLE_ID`` + ``VAULT_SECRET_ID`` (AppRole),
        ``VAULT_KUBERNETES_ROLE`` (+ optional ``VAULT_KUBERNETES_JWT_PATH``, ``VAULT_KUBERNETES_MOUNT``), or
        ``VAULT_TOKEN``; two logins named at once are refused. env:
        ``INFRA_CREDENTIALS_ENV_PREFIX`` (default ``INFRA_SECRET_``); file: ``INFRA_CREDENTIALS_DIR``.
        """
        env = os.environ if environ is None else environ
        kind = env.get("INFRA_CREDENTIALS_PROVIDER", "").strip().lower()
        if kind == "vault":
            url = env.get("VAULT_ADDR", "")
            if not url:
                raise CredentialConfigError("INFRA_CREDENTIALS_PROVIDER=vault needs VAULT_ADDR")
            named = [n for n in ("VAULT_ROLE_ID", "VAULT_KUBERNETES_ROLE") if env.get(n)]
            if len(named) > 1:
                raise CredentialConfigError(
                    f"INFRA_CREDENTIALS_PROVIDER=vault takes one login, got {' and '.join(named)}",
                    details={"field": named[1]},
                )
            if env.get("VAULT_ROLE_ID"):
                from infra_security.credentials._vault_auth import AppRoleAuth

                kwargs.setdefault("auth", AppRoleAuth(env["VAULT_ROLE_ID"], env.get("VAULT_SECRET_ID", "")))
            elif env.get("VAULT_KUBERNETES_ROLE"):
                from infra_security.credentials._vault_auth import KubernetesAuth

                options: dict[str, str] = {}
                if env.get("VAULT_KUBERNETES_JWT_PATH"):
                    options["jwt_path"] = env["VAULT_KUBERNETES_JWT_PATH"]
                if env.get("VAULT_KUBERNETES_MOUNT"):
                    options["mount_point"] = env["VAULT_KUBERNETES_MOUNT"]
                kwargs.setdefault("auth", KubernetesAuth(env["VAULT_KUBERNETES_ROLE"], **options))
            else:
                kwargs.setdefault("token", env.get("VAULT_TOKEN") or None)
            return cls(url, **kwargs)
        if kind == "env":
            return cls(
                provider=EnvProvider(env.get("INFRA_CREDENTIALS_ENV_PREFIX", "INFRA_SECRET_"), environ=env), **kwargs
            )
        if kind == "file":
            directory = env.get("INFRA_CREDENTIALS_DIR", "")
            if not directory:
                raise CredentialConfigError("INFRA_CREDENTIALS_PROVIDER=file needs INFRA_CREDENTIALS_DIR")
            return cls(provider=FileProvider(directory), **kwargs)
        raise CredentialConfigError(
            f"INFRA_CREDENTIALS_PROVIDER must be vault, env or file, got {kind or 'nothing'!r}",
            details={"field": "INFRA_CREDENTIALS_PROVIDER"},
        )

    # -- the original API --------------------------------------------------------------------------------------

    async def get_credential(self, name: str, service: str) -> str:
        """The value of field ``name`` of ``service``'s secret (``secret/<service>`` in Vault by default)."""
        secret = await self.cache.get(_KV + self._path(service, name))
        return secret.field(name).get_secret_value()

    def get_credential_sync(self, name: str, service: str) -> str:
        """Sync twin of :meth:`get_credential`."""
        return self.cache.get_sync(_KV + self._path(service, name)).field(name).get_secret_value()

    # -- more ----------------------------------------------------------------------------------------------------

    async def get_secret(self, service: str, name: str = "") -> Secret:
        """The whole secret (all fields, as SecretStr) of ``service``."""
        return await self.cache.get(_KV + self._path(service, name))

    def get_secret_sync(self, service: str, name: str = "") -> Secret:
        """Sync twin of :meth:`get_secret`."""
        return self.cache.get_sync(_KV + self._path(service, name))

    async def get_dynamic(self, path: str) -> Secret:
        """A leased secret (for example ``database/creds/app``), renewed in the background, revoked on close."""
        return await self.cache.get(_DYN + path)

    def get_dynamic_sync(self, path: str) -> Secret:
        """Sync twin of :meth:`get_dynamic`."""
        return self.cache.get_sync(_DYN + path)

    def on_rotation(self, callback: RotationCallback) -> None:
        """``callback(key, old, new)`` when a value changes (new KV version, new dynamic credentials)."""
        self.cache.on_rotation(callback)

    def snapshot(self) -> list[CredentialCacheEntry]:
        """What the cache holds, as :class:`infra_models.security.CredentialCacheEntry` values (for status pages
        and readiness checks); each value stays a ``SecretStr`` (the secret's fields as a JSON object)."""
        now_mono, now_wall = self._clock(), datetime.now(UTC)
        out = []
        for key, entry in sorted(self.cache.items()):
            secret = entry.secret
            fetched = now_wall - timedelta(seconds=max(0.0, now_mono - entry.fetched_at))
            expires = None
            if entry.hard_until != float("inf"):
                expires = now_wall + timedelta(seconds=entry.hard_until - now_mono)
            out.append(
                CredentialCacheEntry(
                    name=key,
                    credential_type=CredentialType.DATABASE if key.startswith(_DYN) else CredentialType.GENERIC,
                    value=SecretStr(json.dumps(secret.values(), sort_keys=True)),
                    source=secret.source,
                    fetched_at=fetched,
                    expires_at=max(expires, fetched) if expires is not None else None,
                    lease_id=secret.lease_id,
                    lease_duration_seconds=int(secret.lease_duration) if secret.lease_duration else None,
                    renewable=secret.renewable,
                    version=secret.version,
                )
            )
        return out

    def start(self) -> None:
        """Start background renewal (done on first use when ``background=True``)."""
        if self.keeper is not None:
            self.keeper.start()

    def close(self) -> None:
        """Stop renewing, revoke the leases this manager obtained, close the provider."""
        if self.keeper is not None:
            self.keeper.stop()
            revoked = self.keeper.revoke_all()
            if revoked:
                _log.info("revoked %d lease(s) on close", len(revoked))
        self.provider.close()

    def __enter__(self) -> CredentialManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> CredentialManager:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------------------------

    def _path(self, service: str, name: str) -> str:
        if not service:
            raise CredentialConfigError("service must be a non-empty name", details={"field": "service"})
        return self.path_template.format(service=service, name=name)

    def _fetch(self, key: str) -> Secret:
        self._ensure_session()
        try:
            return self._read(key)
        except CredentialBackendError as exc:
            # A token Vault no longer knows (revoked, expired while the process slept, server restarted):
            # log in again once when the auth method can, instead of serving stale values until the bound.
            if exc.code != "security.credential_denied" or not self._can_reauth():
                raise
            _log.warning("Vault refused the token; logging in again (%s)", exc.message)
            assert self.vault is not None and self.keeper is not None
            with self._session_lock:
                status = self.vault.login()
                self.keeper.track_token(status)
                self.keeper.reauths += 1
            return self._read(key)

    def _can_reauth(self) -> bool:
        return self.vault is not None and self.keeper is not None and self.vault.auth.can_reauth

    def _read(self, key: str) -> Secret:
        if key.startswith(_DYN):
            if self.vault is None:
                raise CredentialConfigError(f"provider {self.provider.name} has no dynamic secrets (needs Vault)")
            secret = self.vault.read_dynamic(key[len(_DYN) :])
            if self.keeper is not None and secret.lease_id and secret.lease_duration:
                replaced = self.keeper.untrack(key)
                self.keeper.track(key, secret.lease_id, secret.lease_duration, secret.renewable)
                if replaced is not None and replaced.lease_id and replaced.lease_id != secret.lease_id:
                    self._revoke_quietly(replaced.lease_id)
                if self._background:
                    self.keeper.start()
            return secret
        return self.provider.read(key[len(_KV) :])

    def _ensure_session(self) -> None:
        if self._session_ready or self.keeper is None:
            return
        with self._session_lock:
            if self._session_ready:
                return
            assert self.vault is not None
            status = self.vault.login()
            self.keeper.track_token(status)
            self._session_ready = True
            if self._background and status.ttl > 0:
                self.keeper.start()

    def _lease_renewed(self, key: str, renewed_at: float, expires_at: float) -> None:
        self.cache.extend(key, renewed_at + 0.9 * (expires_at - renewed_at), expires_at)

    def _lease_expiring(self, key: str) -> None:
        """A lease reached its max TTL: fetch new credentials (rotation callbacks fire), revoke the old lease."""
        old = self.cache.peek(key)
        try:
            self.cache.refresh(key)
        except Exception:
            _log.exception("could not replace expiring credential %s", key)
            return
        if old is not None and old.secret.lease_id:
            self._revoke_quietly(old.secret.lease_id)

    def _revoke_quietly(self, lease_id: str) -> None:
        """Revoke a lease that was replaced by a newer one; a failure is logged (the lease expires anyway)."""
        try:
            if self.vault is not None:
                self.vault.revoke_lease(lease_id)
        except Exception:
            _log.warning("could not revoke replaced lease %s", lease_id)
