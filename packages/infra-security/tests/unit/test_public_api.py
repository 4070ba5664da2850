"""The documented names stay importable from ``infra_security``, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import infra_security

# Every name the package documented at the top level before the rooms existed, plus TlsConfig (issue 14).
DOCUMENTED = [
    "AlertHook",
    "AppRoleAuth",
    "AuditConfigError",
    "AuditError",
    "AuditKeys",
    "AuditLogFormatError",
    "AuditLogger",
    "AuditReport",
    "AuditSink",
    "AuditWriteError",
    "CertificateError",
    "CertificateReport",
    "CredentialBackendError",
    "CredentialCache",
    "CredentialConfigError",
    "CredentialError",
    "CredentialManager",
    "CredentialNotFoundError",
    "CredentialProvider",
    "CredentialStaleError",
    "DecryptionError",
    "EncryptionError",
    "EndpointReport",
    "EnvProvider",
    "EnvelopeBackend",
    "FieldEncryption",
    "FileProvider",
    "Finding",
    "FsyncPolicy",
    "GUIDELINE_VERSION",
    "JsonLinesFileSink",
    "KeyInfo",
    "KeyNotConfiguredError",
    "KeyState",
    "KeyStateError",
    "KeyUsageExceededError",
    "Keyring",
    "KeysetError",
    "KubernetesAuth",
    "LeaseKeeper",
    "MemoryBackend",
    "MemoryCounter",
    "MozillaProfile",
    "PROFILES",
    "PayloadEncryption",
    "PipelinedRedisBackend",
    "PipelinedRedisClusterBackend",
    "RateLimitBackendError",
    "RateLimitDecision",
    "RateLimitError",
    "RateLimitKeyError",
    "RateLimitMiddleware",
    "RateLimitPolicyError",
    "RateLimitRule",
    "RateLimiter",
    "Redactor",
    "RedisBackend",
    "RedisClusterBackend",
    "Secret",
    "SecurityError",
    "StdoutSink",
    "TlsConfig",
    "TlsConfigError",
    "TlsError",
    "TlsPolicyError",
    "TokenAuth",
    "TransitEnvelope",
    "TransitError",
    "UnknownKeyError",
    "UsageCounter",
    "VaultProvider",
    "VerifyResult",
    "WebhookAlert",
    "__version__",
    "audit_context",
    "build_client_context",
    "build_report",
    "build_server_context",
    "check_endpoint",
    "enforce_tls_policy",
    "get_profile",
    "hvac_tls_kwargs",
    "inspect_certificate_file",
    "inspect_certificates",
    "kafka_sasl_config",
    "kafka_ssl_config",
    "policy_for",
    "postgres_ssl_params",
    "sqlalchemy_url",
    "unsupported_settings",
    "verify_log",
]

ROOMS = ["crypto", "audit", "credentials", "ratelimit", "tls", "cli"]

# Heavy modules `import infra_security` must not load: they belong to the room that uses them.
HEAVY = [
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography",
    "hvac",
    "redis",
    "confluent_kafka",
    "pydantic",
    "typer",
    "orjson",
    "ssl",
    "infra_security.crypto",
    "infra_security.audit",
    "infra_security.credentials",
    "infra_security.ratelimit",
    "infra_security.tls",
    "infra_security.cli",
]


def test_all_lists_exactly_the_documented_names() -> None:
    assert sorted(infra_security.__all__) == sorted(DOCUMENTED)


def test_documented_names_import_in_a_fresh_interpreter() -> None:
    code = "import sys\nfor n in sys.argv[1:]:\n    exec(f'from infra_security import {n}')\nprint('ok')"
    result = subprocess.run([sys.executable, "-c", code, *DOCUMENTED], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_star_import_gives_every_documented_name() -> None:
    namespace: dict[str, object] = {}
    exec("from infra_security import *", namespace)
    assert set(DOCUMENTED) - {"__version__"} <= set(namespace)


def test_tls_config_is_the_shared_model() -> None:
    from infra_models.security import TlsConfig

    assert infra_security.TlsConfig is TlsConfig


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        infra_security.Nope  # noqa: B018


def test_dir_lists_the_lazy_names() -> None:
    assert set(DOCUMENTED) <= set(dir(infra_security))


@pytest.mark.parametrize("room", ROOMS)
def test_room_has_an_explicit_all_of_importable_names(room: str) -> None:
    module = __import__(f"infra_security.{room}", fromlist=["__all__"])
    assert module.__all__, room
    for name in module.__all__:
        assert not name.startswith("_")
        assert getattr(module, name) is not None


def test_room_names_are_the_top_level_names() -> None:
    for name in DOCUMENTED:
        if name == "__version__":
            continue
        value = getattr(infra_security, name)
        module = getattr(value, "__module__", "")
        if module.startswith("infra_security.") and not module.startswith("infra_security.errors"):
            room = __import__(".".join(module.split(".")[:2]), fromlist=["__all__"])
            assert name in room.__all__, (name, module)


def test_import_loads_no_heavy_module() -> None:
    code = "import sys, infra_security; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    assert "infra_security" in loaded
    assert [m for m in HEAVY if m in loaded] == []


def test_first_use_loads_only_its_room() -> None:
    code = "import sys, infra_security; infra_security.RateLimiter; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(result.stdout.split())
    assert "infra_security.ratelimit" in loaded
    for other in ("infra_security.crypto", "infra_security.audit", "infra_security.tls", "redis", "hvac"):
        assert other not in loaded, other
