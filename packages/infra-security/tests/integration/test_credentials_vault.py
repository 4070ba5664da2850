"""CredentialManager against the launcher's OpenBao (and one of its own for the outage test).

Time is injected: renewals and TTLs are driven with a fake clock and LeaseKeeper.tick(), never by sleeping.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from infra_models.security import TlsConfig
from infra_security.credentials._manager import CredentialManager
from infra_security.credentials._providers import Secret
from infra_security.credentials._vault_auth import AppRoleAuth
from infra_security.errors import (
    CredentialBackendError,
    CredentialConfigError,
    CredentialNotFoundError,
    CredentialStaleError,
    TlsPolicyError,
)
from infra_security.tls._check import check_endpoint
from infra_security.tls._settings import hvac_tls_kwargs

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root(vault_addr: str, vault_token: str) -> hvac.Client:
    return hvac.Client(url=vault_addr, token=vault_token)


@pytest.fixture
def service(root: hvac.Client) -> Iterator[str]:
    name = f"svc-{uuid.uuid4().hex[:10]}"
    root.secrets.kv.v2.create_or_update_secret(path=name, secret={"api_key": "k1", "password": "p@ss:/?#"})
    yield name
    root.secrets.kv.v2.delete_metadata_and_all_versions(path=name)


@pytest.fixture
def approle(root: hvac.Client, service: str) -> Iterator[tuple[str, str, str]]:
    """An AppRole mount of this test: 30 s tokens that cannot outlive 30 s, allowed to read the service."""
    mount = f"approle-{uuid.uuid4().hex[:8]}"
    policy = f"read-{service}"
    root.sys.create_or_update_policy(policy, f'path "secret/data/{service}" {{ capabilities = ["read"] }}')
    root.sys.enable_auth_method("approle", path=mount)
    root.auth.approle.create_or_update_approle(
        "app", token_policies=[policy], token_ttl="30s", token_max_ttl="30s", mount_point=mount
    )
    role_id = root.auth.approle.read_role_id("app", mount_point=mount)["data"]["role_id"]
    secret_id = root.auth.approle.generate_secret_id("app", mount_point=mount)["data"]["secret_id"]
    yield mount, role_id, secret_id
    root.sys.disable_auth_method(mount)
    root.sys.delete_policy(policy)


class TestKv:
    def test_documented_usage(self, vault_addr: str, vault_token: str, service: str) -> None:
        manager = CredentialManager(vault_url=vault_addr, token=vault_token)
        assert asyncio.run(manager.get_credential("api_key", service)) == "k1"
        assert manager.get_credential_sync("password", service) == "p@ss:/?#"
        assert manager.cache.fetches == 1  # one Vault read for both fields
        manager.close()

    def test_new_version_fires_rotation_callback(
        self, vault_addr: str, vault_token: str, service: str, root: hvac.Client
    ) -> None:
        clock = Clock()
        manager = CredentialManager(vault_url=vault_addr, token=vault_token, ttl=60, jitter=0, clock=clock)
        seen: list[tuple[int | None, int | None]] = []

        def rebuild_pool(key: str, old: Secret | None, new: Secret) -> None:
            seen.append((old.version if old else None, new.version))

        manager.on_rotation(rebuild_pool)
        assert manager.get_credential_sync("api_key", service) == "k1"
        root.secrets.kv.v2.create_or_update_secret(path=service, secret={"api_key": "k2", "password": "x"})
        assert manager.get_credential_sync("api_key", service) == "k1"  # cached until the TTL
        clock.now += 61
        assert manager.get_credential_sync("api_key", service) == "k2"
        assert seen == [(None, 1), (1, 2)]
        manager.close()

    def test_single_flight_fifty_concurrent_callers(self, vault_addr: str, vault_token: str, service: str) -> None:
        manager = CredentialManager(vault_url=vault_addr, token=vault_token)
        reads = []
        original = manager.provider.read

        def counting_read(path: str) -> Secret:
            reads.append(path)
            return original(path)

        manager.provider.read = counting_read  # type: ignore[method-assign]

        async def fifty() -> list[str]:
            return await asyncio.gather(*(manager.get_credential("api_key", service) for _ in range(50)))

        assert asyncio.run(fifty()) == ["k1"] * 50
        assert reads == [service]
        manager.close()


class TestBadInput:
    def test_wrong_token(self, vault_addr: str, service: str) -> None:
        manager = CredentialManager(vault_url=vault_addr, token="not-a-token", retries=0)
        with pytest.raises(CredentialBackendError, match="refused the token"):
            manager.get_credential_sync("api_key", service)

    def test_wrong_url(self) -> None:
        with pytest.raises(CredentialConfigError, match="Vault URL 'vault:8200' is not valid"):
            CredentialManager(vault_url="vault:8200", token="t")

    def test_unreachable_url(self, service: str) -> None:
        manager = CredentialManager(vault_url="http://127.0.0.1:9", token="t", retries=0, timeout=2)
        with pytest.raises(CredentialBackendError, match=r"cannot reach Vault at http://127\.0\.0\.1:9"):
            manager.get_credential_sync("api_key", service)

    def test_missing_path_and_field(self, vault_addr: str, vault_token: str, service: str) -> None:
        manager = CredentialManager(vault_url=vault_addr, token=vault_token)
        with pytest.raises(CredentialNotFoundError, match="nothing at that path"):
            manager.get_credential_sync("api_key", f"missing-{uuid.uuid4().hex}")
        with pytest.raises(CredentialNotFoundError, match="no field `nope`"):
            manager.get_credential_sync("nope", service)


class TestAppRoleAndToken:
    def test_approle_login_renew_and_reissue_at_max_ttl(
        self, vault_addr: str, service: str, approle: tuple[str, str, str]
    ) -> None:
        mount, role_id, secret_id = approle
        clock = Clock()
        manager = CredentialManager(
            vault_url=vault_addr, auth=AppRoleAuth(role_id, secret_id, mount_point=mount), background=False, clock=clock
        )
        assert manager.get_credential_sync("api_key", service) == "k1"
        token = next(i for i in manager.keeper.leases() if i.key == "<token>")
        first_accessor = manager.provider.token_status().accessor
        assert token.increment == 30
        clock.now += 21  # past 2/3 of 30 s: renew; Vault caps it at the 30 s max TTL
        manager.keeper.tick()
        assert token.renewals == 1 and token.at_max
        clock.now = token.renew_at
        manager.keeper.tick()  # at max TTL: log in again for a fresh token
        assert manager.keeper.reauths == 1
        assert manager.provider.token_status().accessor != first_accessor
        manager.cache.invalidate()
        assert manager.get_credential_sync("api_key", service) == "k1"  # the new token reads
        manager.close()

    def test_revoked_token_triggers_one_login(
        self, vault_addr: str, service: str, approle: tuple[str, str, str], root: hvac.Client
    ) -> None:
        mount, role_id, secret_id = approle
        manager = CredentialManager(
            vault_url=vault_addr, auth=AppRoleAuth(role_id, secret_id, mount_point=mount), background=False
        )
        assert manager.get_credential_sync("api_key", service) == "k1"
        root.auth.token.revoke_accessor(manager.provider.token_status().accessor)
        manager.cache.invalidate()
        assert manager.get_credential_sync("api_key", service) == "k1"
        assert manager.keeper.reauths == 1
        manager.close()

    def test_short_ttl_token_renewed(self, vault_addr: str, root: hvac.Client, service: str) -> None:
        child = root.auth.token.create(ttl="60s", renewable=True, policies=["default"])["auth"]["client_token"]
        clock = Clock()
        manager = CredentialManager(vault_url=vault_addr, token=child, background=False, clock=clock)
        status = manager.provider.login()
        manager.keeper.track_token(status)
        clock.now += 41
        assert manager.keeper.tick() > 0
        token = next(i for i in manager.keeper.leases() if i.key == "<token>")
        assert token.renewals == 1 and not token.at_max
        assert root.auth.token.lookup(child)["data"]["ttl"] >= 55
        root.auth.token.revoke(child)


def _pg_dsn(postgres_url: str) -> str:
    return postgres_url.replace("postgresql+psycopg://", "postgresql://")


def _role_exists(postgres_url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(_pg_dsn(postgres_url)) as conn:
        return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


@pytest.fixture
def database_engine(root: hvac.Client, postgres_url: str) -> Iterator[str]:
    """A database secrets engine of this test, issuing PostgreSQL roles on the launcher's server."""
    from urllib.parse import urlparse

    pg = urlparse(_pg_dsn(postgres_url))
    mount = f"db-{uuid.uuid4().hex[:8]}"
    root.sys.enable_secrets_engine("database", path=mount)
    root.write(
        f"{mount}/config/pg",
        plugin_name="postgresql-database-plugin",
        connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.hostname}:{pg.port}{pg.path}?sslmode=disable",
        username=pg.username or "infra",
        password="trust-auth",
        allowed_roles=["app", "short"],
        verify_connection=True,
    )
    creation = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
    root.write(f"{mount}/roles/app", db_name="pg", creation_statements=creation, default_ttl="60s", max_ttl="600s")
    root.write(f"{mount}/roles/short", db_name="pg", creation_statements=creation, default_ttl="30s", max_ttl="30s")
    yield mount
    root.sys.disable_secrets_engine(mount)


class TestDynamicSecrets:
    def test_lease_renewed_then_revoked_on_close(
        self, vault_addr: str, vault_token: str, database_engine: str, postgres_url: str, root: hvac.Client
    ) -> None:
        clock = Clock()
        manager = CredentialManager(vault_url=vault_addr, token=vault_token, background=False, clock=clock)
        creds = manager.get_dynamic_sync(f"{database_engine}/creds/app")
        username = creds.field("username").get_secret_value()
        assert creds.lease_id and creds.renewable and creds.lease_duration == 60
        (entry,) = manager.snapshot()
        assert entry.lease_id == creds.lease_id and entry.expires_at is not None and entry.renewable
        assert _role_exists(postgres_url, username)
        clock.now += 41  # 2/3 of the 60 s lease
        manager.keeper.tick()
        lease = next(i for i in manager.keeper.leases() if i.lease_id == creds.lease_id)
        assert lease.renewals == 1 and not lease.at_max
        assert root.sys.read_lease(creds.lease_id)["data"]["ttl"] >= 55
        assert manager.get_dynamic_sync(f"{database_engine}/creds/app").lease_id == creds.lease_id  # still cached
        manager.close()
        assert not _role_exists(postgres_url, username)  # revoked: Vault dropped the role

    def test_lease_at_max_ttl_replaced_with_rotation_callback(
        self, vault_addr: str, vault_token: str, database_engine: str, postgres_url: str
    ) -> None:
        clock = Clock()
        manager = CredentialManager(vault_url=vault_addr, token=vault_token, background=False, clock=clock)
        rotated: list[tuple[str, str]] = []
        manager.on_rotation(
            lambda key, old, new: rotated.append((old.values()["username"] if old else "", new.values()["username"]))
        )
        first = manager.get_dynamic_sync(f"{database_engine}/creds/short")
        old_user = first.field("username").get_secret_value()
        clock.now += 21
        manager.keeper.tick()  # renewal capped by max_ttl=30s
        clock.now += 20
        manager.keeper.tick()  # at max: fetch new credentials, revoke the old lease
        assert len(rotated) == 2 and rotated[1][0] == old_user and rotated[1][1] != old_user
        assert not _role_exists(postgres_url, old_user)
        manager.close()
        assert not _role_exists(postgres_url, rotated[1][1])


class TestVaultDown:
    def test_stale_within_bound_then_clear_error(self, own_openbao: Any) -> None:
        client = hvac.Client(url=own_openbao.url, token=own_openbao.token)
        client.secrets.kv.v2.create_or_update_secret(path="svc", secret={"api_key": "k1"})
        clock = Clock()
        manager = CredentialManager(
            vault_url=own_openbao.url,
            token=own_openbao.token,
            ttl=10,
            jitter=0,
            stale_if_error=30,
            retries=0,
            timeout=2,
            clock=clock,
            background=False,
        )
        assert manager.get_credential_sync("api_key", "svc") == "k1"
        own_openbao.stop()  # by PID: this test's own server, not the shared one
        clock.now += 11
        assert manager.get_credential_sync("api_key", "svc") == "k1"  # stale, within 30 s
        clock.now += 25
        assert asyncio.run(manager.get_credential("api_key", "svc")) == "k1"
        clock.now += 10
        with pytest.raises(CredentialStaleError, match="stale_if_error=30s"):
            manager.get_credential_sync("api_key", "svc")
        manager.close()


class TestVaultHung:
    """Issue 14 defect 1: a SIGSTOPped OpenBao (connections accepted, never answered) is bounded by ``timeout``."""

    @pytest.mark.timeout(60)
    def test_stale_value_within_the_timeout_with_retries_on(self, own_openbao: Any) -> None:
        client = hvac.Client(url=own_openbao.url, token=own_openbao.token)
        client.secrets.kv.v2.create_or_update_secret(path="svc", secret={"api_key": "k1"})
        clock = Clock()
        manager = CredentialManager(
            vault_url=own_openbao.url,
            token=own_openbao.token,
            ttl=10,
            jitter=0,
            stale_if_error=30,
            retries=2,  # the default: before the fix each try waited the full timeout (3 x 2 s + backoff)
            timeout=2,
            clock=clock,
            background=False,
        )
        assert manager.get_credential_sync("api_key", "svc") == "k1"
        os.kill(own_openbao.process.pid, signal.SIGSTOP)  # this test's own server, never the shared one
        try:
            clock.now += 11
            start = time.monotonic()
            assert manager.get_credential_sync("api_key", "svc") == "k1"  # stale, after one timeout
            assert time.monotonic() - start < 2 + 1.5
        finally:
            os.kill(own_openbao.process.pid, signal.SIGCONT)
        manager.close()

    @pytest.mark.timeout(60)
    def test_no_value_yet_raises_backend_error_within_the_timeout(self, own_openbao: Any) -> None:
        manager = CredentialManager(vault_url=own_openbao.url, token=own_openbao.token, timeout=1, background=False)
        os.kill(own_openbao.process.pid, signal.SIGSTOP)
        try:
            start = time.monotonic()
            with pytest.raises(CredentialBackendError):
                manager.get_credential_sync("api_key", "svc")
            assert time.monotonic() - start < 1 + 1.5
        finally:
            os.kill(own_openbao.process.pid, signal.SIGCONT)
        manager.close()


class TestVaultOverTls:
    def test_reads_with_the_servers_ca_and_refuses_without(self, own_openbao_tls: Any, tmp_path: Path) -> None:
        ca = str(tmp_path / "tls" / "vault-ca.pem")
        root = hvac.Client(url=own_openbao_tls.url, token=own_openbao_tls.token, verify=ca)
        root.secrets.kv.v2.create_or_update_secret(path="svc", secret={"api_key": "over-tls"})
        manager = CredentialManager(
            vault_url=own_openbao_tls.url, token=own_openbao_tls.token, tls=TlsConfig(ca_file=ca), retries=0
        )
        assert manager.get_credential_sync("api_key", "svc") == "over-tls"
        unverified = CredentialManager(vault_url=own_openbao_tls.url, token=own_openbao_tls.token, retries=0)
        with pytest.raises(CredentialBackendError, match="cannot reach Vault"):
            unverified.get_credential_sync("api_key", "svc")
        with pytest.raises(TlsPolicyError, match="production"):
            hvac_tls_kwargs(TlsConfig(verify=False, check_hostname=False), environment="production")

    def test_tls_check_against_the_server(self, own_openbao_tls: Any, tmp_path: Path) -> None:
        ca = str(tmp_path / "tls" / "vault-ca.pem")
        report = check_endpoint("127.0.0.1", own_openbao_tls.port, ca_file=ca)
        assert report.handshake_ok and report.protocol in ("TLSv1.2", "TLSv1.3")
        assert report.certificate is not None and "IP:127.0.0.1" in report.certificate.certificates[0].sans
