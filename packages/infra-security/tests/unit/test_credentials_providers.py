"""Providers chosen by configuration, manager configuration errors, settings helpers, the lease keeper, the CLI."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from infra_models.security import TlsConfig
from infra_security.cli._app import app
from infra_security.credentials._leases import LeaseKeeper
from infra_security.credentials._manager import CredentialManager
from infra_security.credentials._providers import EnvProvider, FileProvider, Secret
from infra_security.credentials._settings import kafka_sasl_config, sqlalchemy_url
from infra_security.credentials._vault_auth import AppRoleAuth, TokenAuth
from infra_security.credentials._vault_provider import TokenStatus
from infra_security.errors import (
    CredentialBackendError,
    CredentialConfigError,
    CredentialNotFoundError,
    TlsPolicyError,
)


class TestProviders:
    def test_env_provider(self) -> None:
        env = {"INFRA_SECRET_MY_SERVICE_API_KEY": "k", "INFRA_SECRET_MY_SERVICE_PASSWORD": "p", "OTHER": "x"}
        secret = EnvProvider(environ=env).read("my_service")
        assert secret.values() == {"api_key": "k", "password": "p"}
        with pytest.raises(CredentialNotFoundError, match="INFRA_SECRET_NOPE_"):
            EnvProvider(environ=env).read("nope")

    def test_file_provider_directory_and_json(self, tmp_path: Path) -> None:
        (tmp_path / "db").mkdir()
        (tmp_path / "db" / "password").write_text("s3cret\n")
        (tmp_path / "db" / "username").write_text("app")
        (tmp_path / "api.json").write_text(json.dumps({"api_key": "k"}))
        provider = FileProvider(tmp_path)
        assert provider.read("db").values() == {"password": "s3cret", "username": "app"}
        assert provider.read("api").field("api_key").get_secret_value() == "k"
        with pytest.raises(CredentialNotFoundError, match="not found"):
            provider.read("missing")

    @pytest.mark.parametrize("path", ["../etc/passwd", "/abs", "a/../b", "", "a b"])
    def test_paths_cannot_escape(self, tmp_path: Path, path: str) -> None:
        with pytest.raises(CredentialConfigError, match="not valid"):
            FileProvider(tmp_path).read(path)


class TestManagerConfiguration:
    def test_nothing_configured_is_an_error_not_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("INFRA_SECRET_SVC_API_KEY", "from-env")
        with pytest.raises(CredentialConfigError, match="no credential provider configured"):
            CredentialManager()

    def test_both_is_an_error(self) -> None:
        with pytest.raises(CredentialConfigError, match="either vault_url or provider"):
            CredentialManager("http://vault:8200", token="t", provider=EnvProvider())

    def test_missing_token(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("VAULT_TOKEN", raising=False)
        with pytest.raises(CredentialConfigError, match="no Vault token"):
            CredentialManager(vault_url="http://vault:8200")

    def test_empty_role_refused_like_approle(self) -> None:
        from infra_security.credentials._vault_auth import KubernetesAuth

        with pytest.raises(CredentialConfigError, match="KubernetesAuth needs a role"):
            KubernetesAuth("")

    def test_repr_names_its_settings(self, tmp_path: Path) -> None:
        from infra_security.credentials._vault_auth import KubernetesAuth

        text = repr(KubernetesAuth("orders", jwt_path=tmp_path / "t", mount_point="k8s"))
        assert text == f"KubernetesAuth(role='orders', jwt_path={str(tmp_path / 't')!r}, mount_point='k8s')"

    def test_from_env_selects_the_kubernetes_login(self) -> None:
        from infra_security.credentials._vault_auth import KubernetesAuth

        manager = CredentialManager.from_env(
            {
                "INFRA_CREDENTIALS_PROVIDER": "vault",
                "VAULT_ADDR": "http://127.0.0.1:1",
                "VAULT_KUBERNETES_ROLE": "orders",
                "VAULT_KUBERNETES_JWT_PATH": "/tmp/jwt",
                "VAULT_KUBERNETES_MOUNT": "k8s",
            },
            background=False,
        )
        assert manager.vault is not None
        auth = manager.vault.auth
        assert isinstance(auth, KubernetesAuth)
        assert (auth.role, str(auth.jwt_path), auth.mount_point) == ("orders", "/tmp/jwt", "k8s")

    def test_from_env_refuses_two_logins(self) -> None:
        env = {
            "INFRA_CREDENTIALS_PROVIDER": "vault",
            "VAULT_ADDR": "http://127.0.0.1:1",
            "VAULT_ROLE_ID": "r",
            "VAULT_KUBERNETES_ROLE": "orders",
        }
        with pytest.raises(CredentialConfigError, match="takes one login, got VAULT_ROLE_ID and VAULT_KUBERNETES_ROLE"):
            CredentialManager.from_env(env)

    @pytest.mark.parametrize("url", ["vault:8200", "ftp://vault", "http://", "http://vault:99999"])
    def test_bad_urls(self, url: str) -> None:
        with pytest.raises(CredentialConfigError, match="Vault URL"):
            CredentialManager(vault_url=url, token="t")

    def test_from_env_requires_explicit_choice(self) -> None:
        with pytest.raises(CredentialConfigError, match="must be vault, env or file"):
            CredentialManager.from_env({})
        manager = CredentialManager.from_env({"INFRA_CREDENTIALS_PROVIDER": "env", "INFRA_SECRET_S_API_KEY": "k"})
        assert manager.get_credential_sync("api_key", "s") == "k"
        with pytest.raises(CredentialConfigError, match="needs VAULT_ADDR"):
            CredentialManager.from_env({"INFRA_CREDENTIALS_PROVIDER": "vault"})

    def test_async_and_sync_twins_on_env(self) -> None:
        manager = CredentialManager(provider=EnvProvider(environ={"INFRA_SECRET_MY_SERVICE_API_KEY": "k"}))
        assert asyncio.run(manager.get_credential("api_key", "my_service")) == "k"
        assert manager.get_credential_sync("api_key", "my_service") == "k"

    def test_snapshot_as_model_values(self) -> None:
        manager = CredentialManager(provider=EnvProvider(environ={"INFRA_SECRET_SVC_API_KEY": "hunter2"}))
        manager.get_credential_sync("api_key", "svc")
        (entry,) = manager.snapshot()
        assert entry.name == "kv:svc" and entry.source == "env"
        assert "hunter2" not in repr(entry) and "hunter2" in entry.value.get_secret_value()
        assert entry.expires_at is None

    def test_secrets_never_in_repr(self) -> None:
        assert "hunter2" not in repr(TokenAuth("hunter2"))
        assert "hunter2" not in repr(AppRoleAuth("role", "hunter2"))


class TestSettingsHelpers:
    creds: ClassVar[dict[str, str]] = {"username": "app@corp", "password": "p@ss:w/rd?#%"}

    def test_sqlalchemy_url_escapes(self) -> None:
        make_url = pytest.importorskip("sqlalchemy.engine").make_url

        url = sqlalchemy_url(self.creds, host="db.internal", port=5432, database="orders")
        parsed = make_url(url)
        assert (parsed.username, parsed.password, parsed.host, parsed.port, parsed.database) == (
            "app@corp",
            "p@ss:w/rd?#%",
            "db.internal",
            5432,
            "orders",
        )

    def test_sqlalchemy_url_with_tls(self) -> None:
        make_url = pytest.importorskip("sqlalchemy.engine").make_url

        url = sqlalchemy_url(self.creds, host="db", database="d", tls=TlsConfig(ca_file="/ca.pem"))
        query = make_url(url).query
        assert query["sslmode"] == "verify-full" and query["sslrootcert"] == "/ca.pem"

    def test_from_secret(self) -> None:
        secret = Secret("db", {"username": SecretStr("u"), "password": SecretStr("p")}, "test")
        assert sqlalchemy_url(secret, host="::1", database="d") == "postgresql+psycopg://u:p@[::1]/d"
        with pytest.raises(CredentialNotFoundError, match="no field `password`"):
            sqlalchemy_url(Secret("db", {"username": SecretStr("u")}, "test"), host="h", database="d")

    def test_kafka_sasl(self) -> None:
        config = kafka_sasl_config(self.creds, tls=TlsConfig(ca_file="/ca.pem"))
        assert config["security.protocol"] == "SASL_SSL"
        assert config["sasl.mechanism"] == "SCRAM-SHA-512"
        assert config["sasl.username"] == "app@corp" and config["sasl.password"] == "p@ss:w/rd?#%"
        assert config["ssl.ca.location"] == "/ca.pem"

    def test_kafka_plaintext_only_outside_production(self) -> None:
        assert kafka_sasl_config(self.creds, plaintext=True)["security.protocol"] == "SASL_PLAINTEXT"
        with pytest.raises(TlsPolicyError, match="not allowed in production"):
            kafka_sasl_config(self.creds, plaintext=True, environment="production")


class FakeVault:
    def __init__(self) -> None:
        self.renewals: list[tuple[str | None, int | None]] = []
        self.logins = 0
        self.max_left = 1000.0
        self.fail = False

    def login(self) -> TokenStatus:
        self.logins += 1
        return TokenStatus(30, True, f"acc-{self.logins}")

    def renew_token(self, increment: int | None = None) -> TokenStatus:
        self.renewals.append((None, increment))
        if self.fail:
            raise CredentialBackendError("down")
        got = min(float(increment or 30), self.max_left)
        return TokenStatus(got, True, "acc", ("TTL capped by max_ttl",) if got < (increment or 0) else ())

    def renew_lease(self, lease_id: str, increment: int | None = None) -> tuple[float, tuple[str, ...]]:
        self.renewals.append((lease_id, increment))
        return min(float(increment or 60), self.max_left), ()

    def revoke_lease(self, lease_id: str) -> None:
        self.renewals.append((f"revoke:{lease_id}", None))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestLeaseKeeper:
    def test_token_renewed_at_two_thirds_then_reauth_at_max(self) -> None:
        clock, vault = Clock(), FakeVault()
        keeper = LeaseKeeper(vault, can_reauth=True, clock=clock)
        keeper.track_token(vault.login())
        assert keeper.tick() == pytest.approx(20.0)
        clock.now = 20.0
        keeper.tick()
        assert vault.renewals == [(None, 31)]
        vault.max_left = 12.0
        clock.now = 40.7
        keeper.tick()  # capped: schedule re-auth
        assert keeper.reauths == 0
        clock.now = 48.7
        keeper.tick()
        assert keeper.reauths == 1 and vault.logins == 2

    def test_token_auth_cannot_reauth(self, caplog: pytest.LogCaptureFixture) -> None:
        clock, vault = Clock(), FakeVault()
        vault.max_left = 5
        keeper = LeaseKeeper(vault, can_reauth=False, clock=clock)
        keeper.track_token(TokenStatus(30, True, "a"))
        clock.now = 20
        keeper.tick()
        clock.now = 30
        assert keeper.tick() == math.inf
        assert "cannot be re-issued" in caplog.text

    def test_failed_renewal_retries_soon(self) -> None:
        clock, vault = Clock(), FakeVault()
        vault.fail = True
        keeper = LeaseKeeper(vault, can_reauth=False, clock=clock, retry_after=5)
        keeper.track_token(TokenStatus(30, True, "a"))
        clock.now = 20
        assert keeper.tick() == pytest.approx(5.0)

    def test_lease_renewed_and_revoked(self) -> None:
        clock, vault = Clock(), FakeVault()
        renewed: list[tuple[str, float, float]] = []
        keeper = LeaseKeeper(vault, can_reauth=False, clock=clock, on_renewed=lambda *a: renewed.append(a))
        keeper.track("dyn:db", "lease-1", 60, True)
        clock.now = 40
        keeper.tick()
        assert vault.renewals == [("lease-1", 61)]
        assert renewed == [("dyn:db", 40.0, 101.0)]
        assert keeper.revoke_all() == ["lease-1"]
        assert keeper.leases() == []

    def test_non_renewable_lease_handed_back_before_expiry(self) -> None:
        clock, vault = Clock(), FakeVault()
        expiring: list[str] = []
        keeper = LeaseKeeper(vault, can_reauth=False, clock=clock, on_expiring=expiring.append)
        keeper.track("dyn:pki", "lease-2", 90, False)
        clock.now = 60
        keeper.tick()
        assert expiring == ["dyn:pki"] and vault.renewals == []

    def test_background_thread_starts_and_stops(self) -> None:
        keeper = LeaseKeeper(FakeVault(), can_reauth=False)
        keeper.start()
        keeper.stop()
        assert keeper._thread is None


class TestCli:
    def test_get_from_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("INFRA_SECRET_MY_SERVICE_API_KEY", "abcdef")
        result = CliRunner().invoke(app, ["credentials", "get", "api_key", "my_service", "--provider", "env"])
        assert result.exit_code == 0
        assert "abcdef" not in result.output and "******" in result.output
        shown = CliRunner().invoke(
            app, ["credentials", "get", "api_key", "my_service", "--provider", "env", "--reveal", "--format", "json"]
        )
        assert json.loads(shown.output)["value"] == "abcdef"

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["credentials", "get", "api_key", "s", "--vault-url", "vault:8200", "--token", "t"], "not valid"),
            (["credentials", "get", "api_key", "missing", "--provider", "env"], "no environment variable"),
            (["credentials", "get", "api_key", "s", "--provider", "file"], "--directory"),
            (["credentials", "check", "--vault-url", "http://127.0.0.1:9", "--token", "t"], "cannot reach Vault"),
            (["ratelimit", "try", "--limit", "0", "--period", "1"], "`limit`"),
            (["ratelimit", "try", "--limit", "5", "--period", "-1"], "--period"),
            (["ratelimit", "try", "--limit", "5", "--period", "1", "--weight", "9"], "weight 9"),
        ],
    )
    def test_bad_input_exit_2(self, args: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("VAULT_ADDR", raising=False)
        if message == "cannot reach Vault":
            pytest.importorskip("hvac")
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert "Traceback" not in result.output

    def test_ratelimit_try_json(self) -> None:
        args = ["ratelimit", "try", "--limit", "3", "--period", "10", "--requests", "5", "--format", "json"]
        data = json.loads(CliRunner().invoke(app, args).output)
        assert data["admitted"] == 3
        assert [d["allowed"] for d in data["decisions"]] == [True, True, True, False, False]


class TestMissingExtras:
    def test_clear_error_without_hvac(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import sys

        monkeypatch.setitem(sys.modules, "hvac", None)  # as if not installed
        with pytest.raises(CredentialConfigError, match=r"pip install 'infra-security\[vault\]'"):
            CredentialManager(vault_url="http://vault:8200", token="t")


class TestImports:
    def test_public_api_is_light(self) -> None:
        import subprocess
        import sys

        code = (
            "import sys; from infra_security import CredentialManager, RateLimiter, RateLimitMiddleware, "
            "build_client_context; heavy = ('hvac', 'redis', 'requests', 'limits', 'starlette'); "
            "print(','.join(m for m in heavy if m in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert out.strip() == ""


class FakeKubernetesClient:
    def __init__(self) -> None:
        self.calls: list[dict[str, str]] = []

        class _Kubernetes:
            def login(inner, **kwargs: str) -> None:  # noqa: N805
                self.calls.append(kwargs)

        class _Auth:
            kubernetes = _Kubernetes()

        self.auth = _Auth()


class TestKubernetesAuth:
    def test_logs_in_with_the_service_account_token(self, tmp_path: Path) -> None:
        from infra_security.credentials._vault_auth import KubernetesAuth

        jwt = tmp_path / "token"
        jwt.write_text("eyJhbGciOi.fake.jwt\n")
        client = FakeKubernetesClient()
        auth = KubernetesAuth("orders", jwt_path=jwt, mount_point="k8s")
        auth.login(client)
        assert client.calls == [{"role": "orders", "jwt": "eyJhbGciOi.fake.jwt", "mount_point": "k8s"}]
        assert auth.can_reauth

    def test_missing_token_file(self, tmp_path: Path) -> None:
        from infra_security.credentials._vault_auth import KubernetesAuth

        with pytest.raises(CredentialConfigError, match="cannot read the service-account token"):
            KubernetesAuth("orders", jwt_path=tmp_path / "none").login(FakeKubernetesClient())
