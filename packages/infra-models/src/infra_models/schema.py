"""JSON Schemas of every public model, written to a folder and compared with the committed copies."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from infra_models.kafka import KafkaProducerConfig
from infra_models.node import NodeContract
from infra_models.onex import OnexContract
from infra_models.outbox import OutboxEvent
from infra_models.readiness import CheckResult, Finding, ReadinessReport, ReadinessSummary, Waiver
from infra_models.security import (
    AuditEvent,
    CredentialCacheEntry,
    EncryptedPayload,
    RateLimitPolicy,
    SecurityEventData,
    SecurityPolicy,
    TlsConfig,
)

__all__ = ["PUBLIC_MODELS", "render_schemas", "write_schemas"]

PUBLIC_MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
        AuditEvent,
        CheckResult,
        CredentialCacheEntry,
        EncryptedPayload,
        Finding,
        KafkaProducerConfig,
        NodeContract,
        OnexContract,
        OutboxEvent,
        RateLimitPolicy,
        ReadinessReport,
        ReadinessSummary,
        SecurityEventData,
        SecurityPolicy,
        TlsConfig,
        Waiver,
    )
}


def render_schemas() -> dict[str, str]:
    """Return ``{file name: JSON text}`` for the schema of every public model."""
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in sorted(PUBLIC_MODELS.items())
    }


def write_schemas(out_dir: str | Path) -> list[Path]:
    """Write every schema into ``out_dir`` (created when missing) and return the paths written."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_schemas().items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
