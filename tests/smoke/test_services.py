"""Smoke tests of the services started by tools/services.py: each answers a real client the way the packages use it.

Run after `python tools/services.py up` and `eval "$(python tools/services.py env)"`; without the settings these
tests skip, and with CI set they fail.
"""

import time
import uuid

import pytest

pytestmark = pytest.mark.integration


def test_postgres_answers_a_query(postgres_url):
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.execute(text("SELECT current_database()")).scalar_one() == "infra"
    finally:
        engine.dispose()


def test_kafka_idempotent_produce_then_consume_the_same_record(kafka_bootstrap):
    from confluent_kafka import Consumer, Producer, TopicPartition

    topic = f"smoke-{uuid.uuid4().hex}"
    key, value = b"k-" + uuid.uuid4().bytes, b"v-" + uuid.uuid4().bytes
    reports = []
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.produce(topic, value=value, key=key, on_delivery=lambda err, msg: reports.append((err, msg)))
    assert producer.flush(30) == 0
    assert len(reports) == 1
    error, delivered = reports[0]
    assert error is None, error
    assert delivered.offset() >= 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"smoke-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, delivered.partition(), delivered.offset())])
        deadline = time.monotonic() + 30
        received = None
        while received is None and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None:
                assert msg.error() is None, msg.error()
                received = msg
    finally:
        consumer.close()
    assert received is not None, "the produced record was not consumed within 30 s"
    assert (received.key(), received.value(), received.offset()) == (key, value, delivered.offset())


def test_openbao_kv_v2_write_then_read(vault_addr, vault_token):
    import hvac

    client = hvac.Client(url=vault_addr, token=vault_token)
    assert client.is_authenticated()
    path = f"smoke/{uuid.uuid4().hex}"
    client.secrets.kv.v2.create_or_update_secret(path=path, secret={"password": "s3cret"}, mount_point="secret")
    read = client.secrets.kv.v2.read_secret_version(path=path, mount_point="secret", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"password": "s3cret"}


def test_redis_ping(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
    finally:
        client.close()
