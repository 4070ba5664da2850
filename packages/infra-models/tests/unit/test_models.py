"""Shared models refuse what they cannot represent and keep the promises other packages rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from infra_models import (
    AuditEvent,
    AuditOutcome,
    CheckResult,
    CheckStatus,
    ContractError,
    CredentialCacheEntry,
    EncryptedPayload,
    InfraError,
    KafkaProducerConfig,
    OutboxEvent,
    OutboxStatus,
    RateLimitPolicy,
    ReadinessLevel,
    ReadinessReport,
    SecurityPolicy,
    Severity,
    TlsConfig,
)


class TestErrors:
    def test_code_message_details_and_cause(self) -> None:
        try:
            try:
                raise KeyError("k")
            except KeyError as exc:
                raise ContractError("bad", details={"field": "kind"}) from exc
        except InfraError as err:
            data = err.to_dict()
        assert data["code"] == "contract.invalid"
        assert data["details"] == {"field": "kind"}
        assert data["cause"] == "KeyError: 'k'"

    def test_explicit_code_wins(self) -> None:
        assert InfraError("x", code="custom.code").code == "custom.code"


class TestOrderedEnums:
    def test_readiness_order(self) -> None:
        levels = list(ReadinessLevel)
        shuffled = [levels[2], levels[0], levels[3], levels[1]]
        assert sorted(shuffled) == levels
        assert ReadinessLevel.NOT_READY < ReadinessLevel.DEVELOPMENT < ReadinessLevel.STAGING
        assert max(levels) is ReadinessLevel.PRODUCTION

    def test_severity_order(self) -> None:
        assert Severity.INFO < Severity.CRITICAL
        assert Severity.HIGH >= Severity.HIGH

    def test_no_comparison_across_enums(self) -> None:
        with pytest.raises(TypeError):
            _ = Severity.LOW < ReadinessLevel.STAGING  # type: ignore[operator]


class TestKafkaProducerConfig:
    def test_defaults_are_at_least_once(self) -> None:
        conf = KafkaProducerConfig(bootstrap_servers="127.0.0.1:9092").to_librdkafka()
        assert conf["acks"] == "all"
        assert conf["enable.idempotence"] is True
        assert conf["max.in.flight.requests.per.connection"] == 5

    @pytest.mark.parametrize("acks", ["0", "1"])
    def test_weak_acks_refused(self, acks: str) -> None:
        with pytest.raises(ValidationError, match=f"acks={acks}"):
            KafkaProducerConfig(bootstrap_servers="b:1", acks=acks)  # type: ignore[arg-type]

    def test_idempotence_caps_in_flight(self) -> None:
        with pytest.raises(ValidationError, match="at most 5 in-flight"):
            KafkaProducerConfig(bootstrap_servers="b:1", max_in_flight=6)

    def test_no_retries_refused(self) -> None:
        with pytest.raises(ValidationError, match="retries=0"):
            KafkaProducerConfig(bootstrap_servers="b:1", retries=0)

    def test_extra_cannot_override_owned_settings(self) -> None:
        with pytest.raises(ValidationError, match="acks through the named fields"):
            KafkaProducerConfig(bootstrap_servers="b:1", extra={"acks": "0"})

    def test_sasl_needs_mechanism(self) -> None:
        with pytest.raises(ValidationError, match="needs `sasl_mechanism`"):
            KafkaProducerConfig(bootstrap_servers="b:1", security_protocol="SASL_SSL")  # type: ignore[arg-type]

    def test_password_is_secret(self) -> None:
        conf = KafkaProducerConfig(
            bootstrap_servers="b:1",
            security_protocol="SASL_SSL",  # type: ignore[arg-type]
            sasl_mechanism="PLAIN",
            sasl_username="u",
            sasl_password="hunter2",  # type: ignore[arg-type]
        )
        assert "hunter2" not in repr(conf)
        assert conf.to_librdkafka()["sasl.password"] == "hunter2"


class TestSecurityModels:
    def test_audit_event_from_strings(self) -> None:
        event = AuditEvent(event_type="authentication", actor="user123", action="login", outcome="success")  # type: ignore[arg-type]
        assert event.outcome is AuditOutcome.SUCCESS
        assert event.timestamp.tzinfo is not None

    def test_audit_event_is_frozen_and_strict(self) -> None:
        with pytest.raises(ValidationError, match="Extra inputs"):
            AuditEvent(event_type="authentication", actor="a", action="b", outcome="success", color=1)  # type: ignore[arg-type,call-arg]

    @pytest.mark.parametrize("field", ["limit", "period_seconds"])
    @pytest.mark.parametrize("value", [0, -1])
    def test_rate_limit_refuses_non_positive(self, field: str, value: int) -> None:
        args: dict[str, object] = {"name": "p", "limit": 10, "period_seconds": 1, field: value}
        with pytest.raises(ValidationError, match=field):
            RateLimitPolicy.model_validate(args)

    def test_tls_hostname_check_needs_verification(self) -> None:
        with pytest.raises(ValidationError, match="check_hostname"):
            TlsConfig(verify=False)
        assert TlsConfig(verify=False, check_hostname=False).verify is False

    def test_production_policy_cannot_drop_verification(self) -> None:
        with pytest.raises(ValidationError, match="PRODUCTION"):
            SecurityPolicy(environment="production", require_verification=False)  # type: ignore[arg-type]

    def test_credential_value_never_printed(self) -> None:
        now = datetime.now(UTC)
        entry = CredentialCacheEntry(name="db", value="s3cret", source="env", fetched_at=now)  # type: ignore[arg-type]
        assert "s3cret" not in repr(entry) and "s3cret" not in entry.model_dump_json()

    def test_encrypted_payload_holds_bytes_and_renders_base64url_text(self) -> None:
        payload = EncryptedPayload(format_version=1, key_id="k:v1", ciphertext=b"\x01\xff\xfe?>", context={"t": "a"})
        assert payload.ciphertext == b"\x01\xff\xfe?>"
        text = payload.model_dump_json()
        assert '"ciphertext":"Af_-Pz4"' in text  # unpadded base64url, no + / =
        assert EncryptedPayload.model_validate_json(text) == payload
        assert EncryptedPayload.model_validate(payload.model_dump(mode="json")) == payload
        assert payload.model_dump()["ciphertext"] == b"\x01\xff\xfe?>"

    @pytest.mark.parametrize("text", ["A", "Af/-Pz4", "Af_-Pz4=x", "AB", "Af_-Pé", ""])
    def test_encrypted_payload_refuses_non_canonical_text(self, text: str) -> None:
        with pytest.raises(ValidationError, match="ciphertext"):
            EncryptedPayload.model_validate({"format_version": 1, "key_id": "k:v1", "ciphertext": text})

    def test_credential_expiry_after_fetch(self) -> None:
        now = datetime.now(UTC)
        with pytest.raises(ValidationError, match="before `fetched_at`"):
            CredentialCacheEntry(
                name="db",
                value="x",  # type: ignore[arg-type]
                source="env",
                fetched_at=now,
                expires_at=now - timedelta(seconds=1),
            )


class TestOutboxAndReadiness:
    def test_outbox_event_defaults(self) -> None:
        event = OutboxEvent(event_type="user_created", topic="users", payload=b"{}")
        assert event.status is OutboxStatus.PENDING
        assert event.age_seconds(datetime.now(UTC)) is None

    def test_bad_topic_refused(self) -> None:
        with pytest.raises(ValidationError, match="topic"):
            OutboxEvent(event_type="t", topic="no spaces", payload=b"")

    def test_report_blockers_must_be_checks(self) -> None:
        check = CheckResult(
            check_id="SEC-001",
            title="t",
            category="security",
            status=CheckStatus.FAIL,
            gates="STAGING",  # type: ignore[arg-type]
        )
        report = ReadinessReport(path=".", name="n", level="DEVELOPMENT", checks=(check,), blockers=("SEC-001",))  # type: ignore[arg-type]
        assert not check.passed and report.level < ReadinessLevel.STAGING
        with pytest.raises(ValidationError, match="SEC-002"):
            ReadinessReport(path=".", name="n", level="DEVELOPMENT", blockers=("SEC-002",))  # type: ignore[arg-type]

    def test_meets_target(self) -> None:
        report = ReadinessReport(path=".", name="n", level="STAGING", target_level="PRODUCTION")  # type: ignore[arg-type]
        assert not report.meets_target
