"""The Kafka audit sink against the real broker: every record arrives, in order, and the chain verifies."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic

from infra_security.audit._logger import AuditLogger
from infra_security.audit._sink_kafka import KafkaSink
from infra_security.audit._sinks import JsonLinesFileSink
from infra_security.audit._verify import verify_lines

pytestmark = pytest.mark.integration


def make_topic(bootstrap: str) -> str:
    topic = f"audit-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=30)
    return topic


def consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})  # fmt: skip
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        for _ in range(200):
            if len(values) >= count:
                break
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            values.append(msg.value())
    finally:
        consumer.close()
    return values


@pytest.mark.parametrize("wait", [True, False])
def test_records_reach_the_topic_and_verify(kafka_bootstrap: str, tmp_path: Path, wait: bool) -> None:
    topic = make_topic(kafka_bootstrap)
    kafka = KafkaSink(kafka_bootstrap, topic, wait=wait)
    file_sink = JsonLinesFileSink(tmp_path / "audit.jsonl")
    with AuditLogger(directory=tmp_path, sinks=[kafka, file_sink], require_all_sinks=True) as logger:
        for i in range(25):
            logger.log_security_event("credential_access", f"svc{i}", "read", "success",
                                      details={"password": "s3cr3t-value", "i": i})  # fmt: skip
    kafka.close()
    file_sink.close()
    values = consume(kafka_bootstrap, topic, 25)
    assert len(values) == 25
    file_lines = (tmp_path / "audit.jsonl").read_bytes().splitlines()
    assert values == file_lines
    assert all(b"s3cr3t-value" not in v for v in values)
    result = verify_lines(((f"{topic}@{n}", v + b"\n") for n, v in enumerate(values)), logger.keys)
    assert result.ok and result.last_seq == 25
