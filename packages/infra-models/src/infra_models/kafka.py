"""Validated librdkafka producer settings that keep at-least-once delivery intact."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from infra_models._base import StrictModel
from infra_models.enums import SecurityProtocol

__all__ = ["KafkaProducerConfig"]

Scalar = str | int | float | bool

# Settings this model owns; `extra` may not override them behind its back.
_OWNED = frozenset(
    {
        "bootstrap.servers",
        "client.id",
        "acks",
        "request.required.acks",
        "enable.idempotence",
        "max.in.flight.requests.per.connection",
        "max.in.flight",
        "retries",
        "message.send.max.retries",
        "message.timeout.ms",
        "delivery.timeout.ms",
        "linger.ms",
        "queue.buffering.max.ms",
        "compression.type",
        "compression.codec",
        "batch.num.messages",
        "security.protocol",
        "sasl.mechanism",
        "sasl.mechanisms",
        "sasl.username",
        "sasl.password",
        "ssl.ca.location",
        "ssl.certificate.location",
        "ssl.key.location",
        "enable.ssl.certificate.verification",
        "ssl.endpoint.identification.algorithm",
    }
)


class KafkaProducerConfig(StrictModel):
    """Producer settings for confluent-kafka that refuse anything breaking at-least-once delivery.

    Example:
        >>> KafkaProducerConfig(bootstrap_servers="127.0.0.1:9092").to_librdkafka()["acks"]
        'all'
    """

    bootstrap_servers: str = Field(min_length=1, pattern=r"^[^\s,]+(,[^\s,]+)*$")
    client_id: str = "infra"
    acks: Literal["all", "-1", "0", "1"] = "all"
    enable_idempotence: bool = True
    max_in_flight: int = Field(default=5, ge=1, le=1_000_000)
    retries: int = Field(default=2_147_483_647, ge=0)
    message_timeout_ms: int = Field(default=30_000, gt=0)
    linger_ms: float = Field(default=5.0, ge=0)
    batch_num_messages: int = Field(default=10_000, ge=1)
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = "none"
    security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_verify: bool = True
    extra: dict[str, Scalar] = Field(default_factory=dict, description="Other librdkafka settings, passed as is.")

    @model_validator(mode="after")
    def _at_least_once(self) -> KafkaProducerConfig:
        if self.acks in ("0", "1"):
            raise ValueError(f"`acks={self.acks}` can lose acknowledged records; at-least-once delivery needs acks=all")
        if self.retries == 0:
            raise ValueError("`retries=0` drops a record on the first transient error; use retries > 0")
        if self.enable_idempotence and self.max_in_flight > 5:
            raise ValueError("an idempotent producer allows at most 5 in-flight requests (`max_in_flight` <= 5)")
        if not self.enable_idempotence and self.max_in_flight > 1:
            raise ValueError(
                "without idempotence, retries reorder records unless `max_in_flight` is 1: "
                "set enable_idempotence=true or max_in_flight=1"
            )
        sasl = self.security_protocol in (SecurityProtocol.SASL_PLAINTEXT, SecurityProtocol.SASL_SSL)
        if sasl and self.sasl_mechanism is None:
            raise ValueError(f"`security_protocol={self.security_protocol.value}` needs `sasl_mechanism`")
        clashes = sorted(_OWNED.intersection(self.extra))
        if clashes:
            raise ValueError(f"set {', '.join(clashes)} through the named fields, not `extra`")
        return self

    def to_librdkafka(self) -> dict[str, Scalar]:
        """Return the settings as the dict that ``confluent_kafka.Producer`` takes."""
        conf: dict[str, Scalar] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "acks": "all",
            "enable.idempotence": self.enable_idempotence,
            "max.in.flight.requests.per.connection": self.max_in_flight,
            "retries": self.retries,
            "message.timeout.ms": self.message_timeout_ms,
            "linger.ms": self.linger_ms,
            "batch.num.messages": self.batch_num_messages,
            "compression.type": self.compression_type,
            "security.protocol": self.security_protocol.value,
        }
        optional: dict[str, Scalar | None] = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password.get_secret_value() if self.sasl_password else None,
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
        }
        conf.update({k: v for k, v in optional.items() if v is not None})
        if self.security_protocol in (SecurityProtocol.SSL, SecurityProtocol.SASL_SSL):
            conf["enable.ssl.certificate.verification"] = self.ssl_verify
            conf["ssl.endpoint.identification.algorithm"] = "https" if self.ssl_verify else "none"
        conf.update(self.extra)
        return conf
