"""Kafka audit sink (``pip install infra-security[kafka]``): one record per line, keyed by log name.

With ``wait=True`` (the default) each ``write`` waits for the broker's acknowledgement (``acks=all``,
idempotent producer), so the fail-closed policy holds: a line the broker did not confirm raises. With
``wait=False`` lines are batched and a delivery failure is raised by the next ``write``/``flush``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra_security.errors import AuditConfigError, AuditWriteError

__all__ = ["KafkaSink"]


class KafkaSink:
    """Produces audit lines to a Kafka topic with confluent-kafka."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        *,
        key: str = "audit",
        wait: bool = True,
        timeout: float = 10.0,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            from confluent_kafka import Producer
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise AuditConfigError("the Kafka sink needs confluent-kafka: pip install 'infra-security[kafka]'") from exc
        settings: dict[str, Any] = {
            "bootstrap.servers": bootstrap_servers,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": int(timeout * 1000),
        }
        settings.update(config or {})
        self._producer = Producer(settings)
        self.topic = topic
        self.name = f"kafka:{topic}"
        self._key = key.encode()
        self._wait = wait
        self._timeout = timeout
        self._errors: list[str] = []

    def _delivered(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def _raise_pending(self) -> None:
        if self._errors:
            errors, self._errors = self._errors, []
            raise AuditWriteError(f"Kafka topic {self.topic!r} did not accept {len(errors)} line(s): {errors[0]}")

    def write(self, line: bytes) -> None:
        """Produce one line; with ``wait`` block until the broker acknowledged it."""
        self._raise_pending()
        try:
            self._producer.produce(self.topic, value=line.rstrip(b"\n"), key=self._key, on_delivery=self._delivered)
        except BufferError as exc:
            raise AuditWriteError(f"Kafka producer queue for {self.topic!r} is full") from exc
        except Exception as exc:
            raise AuditWriteError(f"Kafka topic {self.topic!r}: {exc}") from exc
        if self._wait:
            self.flush()
        else:
            self._producer.poll(0)

    def flush(self) -> None:
        """Wait for outstanding lines; raise if any was not delivered."""
        remaining = self._producer.flush(self._timeout)
        if remaining:
            raise AuditWriteError(
                f"Kafka topic {self.topic!r}: {remaining} line(s) not acknowledged within {self._timeout} s"
            )
        self._raise_pending()

    def close(self) -> None:
        """Flush outstanding lines."""
        self.flush()
