"""The body of ``infra-outbox relay``: validate, wait for the database and the broker, then relay."""

from __future__ import annotations

import logging
import signal
import time
from typing import TYPE_CHECKING, Any

from infra_outbox._cli_common import abort, guarded
from infra_outbox.errors import BrokerError, DatabaseError, OutboxError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from infra_outbox.relay import Relay

__all__ = ["run_relay", "wait_for_database"]

log = logging.getLogger("infra_outbox.relay")

_UNREACHABLE = ("outbox.database_unreachable",)


def wait_for_database(url: str, *, wait: bool) -> Engine:
    """Connect and check the schema; while the database is unreachable, log and retry (unless ``wait`` is False)."""
    from infra_outbox._cli_common import open_db

    pause = 1.0
    while True:
        try:
            return open_db(url)
        except DatabaseError as exc:
            if exc.code not in _UNREACHABLE or not wait:
                raise
            log.warning("waiting for the database: %s; retrying in %.0f s", exc.message, pause)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def _wait_for_broker(worker: Relay, *, timeout: float, wait: bool) -> None:
    pause = 1.0
    while True:
        try:
            worker.check_broker(timeout=timeout)
            return
        except BrokerError as exc:
            if not wait:
                raise
            log.warning("waiting for Kafka: %s; retrying in %.0f s", exc.message, pause)
            time.sleep(pause)
            pause = min(pause * 2, 30.0)


def _serve_metrics(port: int, addr: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` (Prometheus) and ``/healthz`` (200 while the relay process runs) on ``addr:port``."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    from infra_outbox.metrics import RelayMetrics

    metrics = RelayMetrics()
    prometheus = make_wsgi_app()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n"]
        return prometheus(environ, start_response)

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not logged (one line per scrape would drown the relay's own log)."""

    try:
        server = make_server(addr, port, app, server_class=WSGIServer, handler_class=_Quiet)
    except (OSError, ValueError) as exc:
        raise OutboxError(
            f"cannot serve metrics on {addr}:{port}: {getattr(exc, 'strerror', None) or exc}; "
            "pick a free --metrics-port and an address of this host for --metrics-addr",
            code="outbox.metrics_port",
        ) from exc
    threading.Thread(target=server.serve_forever, name="infra-outbox-metrics", daemon=True).start()
    return metrics


def _freeze_start_up_objects() -> None:
    """Keep what start-up built (modules, SQLAlchemy metadata) out of the garbage collector's full collections.

    The relay command owns its process. Each full collection walked all ~90,000 start-up objects (~60 ms of a
    400 ms drain of 20,000 events); frozen, it walks only what the relay allocates since.
    """
    import gc

    gc.collect()
    gc.freeze()


def run_relay(
    *,
    db: str,
    bootstrap_servers: str,
    once: bool,
    batch_size: int,
    lease: float,
    max_attempts: int,
    dead_letter_topic: str | None,
    retention: float,
    notify: bool,
    metrics_port: int | None,
    broker_timeout: float,
    metrics_addr: str = "127.0.0.1",
) -> dict[str, int] | None:
    """Run the relay command; return the summary of ``--once`` (None after a served run)."""
    import typer

    from infra_models.kafka import KafkaProducerConfig
    from infra_outbox.backoff import Backoff
    from infra_outbox.relay import Relay, RelaySettings

    # Bad input first (exit 2), before anything waits for a server.
    try:
        kafka = KafkaProducerConfig(
            bootstrap_servers=bootstrap_servers, message_timeout_ms=int(min(30.0, lease / 2 - 0.5) * 1000)
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc).splitlines()[-1], param_hint="--bootstrap-servers") from None
    with guarded():
        settings = RelaySettings(
            batch_size=batch_size,
            lease_seconds=lease,
            backoff=Backoff(max_attempts=max_attempts),
            dead_letter_topic=dead_letter_topic,
            retention_seconds=retention,
            notify=notify,
        )
        metrics = _serve_metrics(metrics_port, metrics_addr) if metrics_port is not None else None
    wait = not once
    with guarded(when=lambda exc: 1 if exc.code in (*_UNREACHABLE, "outbox.broker_unreachable") else 2):
        engine = wait_for_database(db, wait=wait)
        worker = Relay(engine, kafka, settings=settings, metrics=metrics)
        _wait_for_broker(worker, timeout=broker_timeout, wait=wait)
        if dead_letter_topic is not None and dead_letter_topic not in worker.topics_on_broker(broker_timeout):
            abort(
                f"dead-letter topic {dead_letter_topic!r} does not exist on the broker at {bootstrap_servers!r}; "
                "create it (dead events would otherwise be copied nowhere)"
            )
    _freeze_start_up_objects()
    if once:
        report = worker.drain()
        worker.close()
        return {
            "read": report.read,
            "published": report.published,
            "retried": report.retried,
            "dead": report.dead,
            "held": report.held,
        }
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: worker.stop())
    worker.run()
    worker.close()
    return None
