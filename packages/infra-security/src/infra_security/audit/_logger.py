"""``AuditLogger``: redacted, HMAC-chained audit records written to sinks, with signed checkpoints and alerts.

Where ``AuditLogger()`` writes by default (all overridable by arguments):

- directory: ``$INFRA_AUDIT_DIR``, else ``$XDG_STATE_HOME/infra-security/audit``, else
  ``~/.local/state/infra-security/audit`` (created with mode 0700);
- records: ``<directory>/audit.jsonl``; signed checkpoints: ``<directory>/checkpoints.jsonl``;
- keys: ``$INFRA_AUDIT_KEYS_FILE``, else ``<directory>/audit-keys.json`` (mode 0600). A new, empty log gets
  fresh keys; a log that has records but no keys file is refused (fail closed).

Example:
    >>> import tempfile
    >>> with AuditLogger(directory=tempfile.mkdtemp()) as logger:
    ...     event = logger.log_security_event(
    ...         event_type="authentication", user_id="user123", action="login", outcome="success")
    >>> event.actor
    'user123'
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from infra_models.enums import ComplianceLevel, Severity
from infra_models.security import AuditEvent, AuditEventType, AuditOutcome, SecurityEventData
from infra_security.audit._alerts import AlertDispatcher, AlertHook
from infra_security.audit._chain import ChainHead, ChainMac, canonical, parse_record
from infra_security.audit._checkpoints import Checkpoint, Checkpointer, parse_checkpoint
from infra_security.audit._event_ids import new_event_id
from infra_security.audit._keys import AuditKeys
from infra_security.audit._redaction import DEFAULT_SENSITIVE_FIELDS, Redactor
from infra_security.audit._sinks import AuditSink, FsyncPolicy, JsonLinesFileSink, TornTail, read_last_line
from infra_security.errors import AuditConfigError, AuditError, AuditWriteError

__all__ = ["ENV_AUDIT_DIR", "ENV_AUDIT_KEYS_FILE", "AuditLogger", "default_audit_dir"]

ENV_AUDIT_DIR = "INFRA_AUDIT_DIR"
ENV_AUDIT_KEYS_FILE = "INFRA_AUDIT_KEYS_FILE"
LOG_NAME = "audit.jsonl"
CHECKPOINT_NAME = "checkpoints.jsonl"
KEYS_NAME = "audit-keys.json"

_log = logging.getLogger("infra_security.audit")
_HIGH, _INFO, _VIOLATION = Severity.HIGH, Severity.INFO, AuditEventType.SECURITY_VIOLATION
_validate_event = TypeAdapter(AuditEvent).validate_python  # public, and lighter than model_validate's wrapper
_MAX_DEPTH = 250  # orjson refuses deeper documents (254 levels, the record's own two included)


def check_json_tree(value: Any, where: str) -> None:
    """Refuse what JSON cannot carry exactly: non-str keys, bytes and other objects, NaN/Infinity, deep trees.

    orjson checks the tree in C first; only when it fails, or writes a ``null`` (which NaN and Infinity become),
    a walk without recursion finds the offending path, so a hostile tree gets an :class:`AuditError` naming it,
    never a ``TypeError`` or ``RecursionError``.
    """
    try:
        encoded = orjson.dumps(value)
    except TypeError as exc:  # orjson.JSONEncodeError is a TypeError
        _explain(value, where)
        raise AuditError(f"audit event `{where}` is not JSON: {exc}", code="security.audit_event_invalid") from exc
    if b"null" in encoded:
        _explain(value, where)


def _explain(value: Any, where: str) -> None:
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise AuditError(
                f"audit event `{where}` nests deeper than {_MAX_DEPTH} levels (at `{path[:200]}...`)",
                code="security.audit_event_invalid",
            )
        kind = type(item)
        if kind is dict:
            for key, sub in item.items():
                if type(key) is not str:
                    raise AuditError(
                        f"audit event `{path}` has a {type(key).__name__} key {key!r}; keys must be strings",
                        code="security.audit_event_invalid",
                    )
                stack.append((sub, f"{path}.{key}", depth + 1))
        elif kind is list or kind is tuple:
            stack.extend((sub, f"{path}[{i}]", depth + 1) for i, sub in enumerate(item))
        elif kind is float:
            if not math.isfinite(item):
                raise AuditError(
                    f"audit event `{path}` is {item!r}, which JSON cannot represent; send a finite number or a string",
                    code="security.audit_event_invalid",
                )
        elif item is not None and kind not in (str, int, bool):
            raise AuditError(
                f"audit event `{path}` is a {kind.__name__}; use JSON values (str, int, float, bool, None, list, "
                "dict): decode bytes or convert the object first",
                code="security.audit_event_invalid",
            )


def default_audit_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory ``AuditLogger()`` uses when none is given."""
    env = os.environ if environ is None else environ
    if env.get(ENV_AUDIT_DIR):
        return Path(env[ENV_AUDIT_DIR])
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "infra-security" / "audit"


class AuditLogger:
    """Writes :class:`infra_models.AuditEvent` records to one or more sinks as a keyed, tamper-evident chain.

    Fail closed by default: an event that the sinks did not take (none of them, or not all with
    ``require_all_sinks``) raises :class:`AuditWriteError`; ``fail_open=True`` logs the failure instead.
    """

    def __init__(
        self,
        *,
        directory: str | Path | None = None,
        keys: AuditKeys | None = None,
        sinks: Sequence[AuditSink] | None = None,
        checkpoint_sink: AuditSink | None = None,
        fail_open: bool = False,
        require_all_sinks: bool = False,
        redact_fields: Iterable[str] = DEFAULT_SENSITIVE_FIELDS,
        alert_severity: Severity = Severity.HIGH,
        alert_hooks: Iterable[AlertHook] = (),
        alert_queue_size: int = 1000,
        checkpoint_every: int = 10_000,
        checkpoint_seconds: float = 60.0,
        fsync: FsyncPolicy | str = FsyncPolicy.INTERVAL,
        clock: Callable[[], datetime] | None = None,
        environ: Mapping[str, str] | None = None,
        on_sink_error: Callable[[AuditSink, BaseException], None] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.directory = Path(directory) if directory is not None else default_audit_dir(env)
        default_log = self.directory / LOG_NAME
        self._owned: list[AuditSink] = []
        if sinks is None:
            self.keys = keys or self._load_or_create_keys(env, default_log)
            file_sink = JsonLinesFileSink(default_log, fsync=fsync)
            self._owned.append(file_sink)
            sinks = [file_sink]
        else:
            self.keys = keys or self._load_or_create_keys(env, None)
        if not sinks:
            raise AuditConfigError("AuditLogger needs at least one sink")
        if self.keys.signing_key is None:
            raise AuditConfigError("the audit keys have no `signing_key`; checkpoints cannot be signed")
        self.sinks = list(sinks)
        if checkpoint_sink is None:
            checkpoint_sink = JsonLinesFileSink(self.directory / CHECKPOINT_NAME, fsync=FsyncPolicy.ALWAYS)
            self._owned.append(checkpoint_sink)
        self.checkpoint_sink = checkpoint_sink
        self.fail_open = fail_open
        self.require_all_sinks = require_all_sinks
        self.alert_severity = alert_severity
        self.alert_hooks = list(alert_hooks)
        self._alerts = AlertDispatcher(self.alert_hooks, capacity=alert_queue_size)
        self.dropped = 0
        self._redactor = Redactor(self.keys.redaction_key, redact_fields)
        self._key, self._kid = self.keys.chain_key, self.keys.key_id
        self._next_record = ChainMac(self._key, self._kid).next_record
        self._on_sink_error = on_sink_error
        self._clock = clock
        self._lock = threading.Lock()
        kwargs: dict[str, Any] = {"every_events": checkpoint_every, "every_seconds": checkpoint_seconds}
        if clock is not None:
            kwargs["clock"] = clock
        self._checkpointer = Checkpointer(self.keys.signing_key, checkpoint_sink, self._kid, **kwargs)
        try:
            head, last_checkpoint = self._resume()
        except BaseException:
            for sink in self._owned:  # do not leak the files this constructor opened
                sink.close()
            raise
        self._tip = (head.seq, head.mac, head.mac.hex().encode())
        self._checkpointer.resume(last_checkpoint)
        self._closed = False
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if 0 < checkpoint_seconds < math.inf:
            # Checkpoints every checkpoint_seconds even when no further event comes (a crash then loses at most
            # that much of the tail's proof); writes check the count and the time too.
            self._ticker = threading.Thread(
                target=self._tick, args=(checkpoint_seconds,), name="infra-security-audit-checkpoints", daemon=True
            )
            self._ticker.start()
        for sink in self.sinks:
            torn = getattr(sink, "recovered", None)
            if isinstance(torn, TornTail):
                self._record_recovery(torn)

    # --- public API ---------------------------------------------------------------------------------

    @property
    def head(self) -> ChainHead:
        """The last record written: its sequence number and MAC."""
        seq, mac, _ = self._tip
        return ChainHead(seq, mac)

    def log_security_event(
        self,
        event_type: AuditEventType | str,
        user_id: str,
        action: str,
        outcome: AuditOutcome | str,
        *,
        resource: str | None = None,
        severity: Severity | str | None = None,
        details: Mapping[str, Any] | None = None,
        context: SecurityEventData | Mapping[str, Any] | None = None,
        compliance_level: ComplianceLevel | str = ComplianceLevel.NONE,
        correlation_id: str | None = None,
    ) -> AuditEvent:
        """Record a security event (the original API); returns the event as written (redacted).

        ``severity`` defaults to HIGH for ``security_violation`` and INFO otherwise.
        """
        if details:
            check_json_tree(details, "details")
        if context is not None and isinstance(context, Mapping) and context.get("attributes"):
            check_json_tree(context["attributes"], "context.attributes")
        if severity is None:
            severity = _HIGH if event_type == _VIOLATION else _INFO
        fields: dict[str, Any] = {
            "event_id": new_event_id(),
            "event_type": event_type,
            "severity": severity,
            "actor": user_id,
            "action": action,
            "outcome": outcome,
            "compliance_level": compliance_level,
            "details": self._redactor.redact(details) if details else {},
        }
        if self._clock is not None:
            fields["timestamp"] = self._clock()
        if resource is not None:
            fields["resource"] = resource
        if correlation_id is not None:
            fields["correlation_id"] = correlation_id
        if context is not None:
            if isinstance(context, SecurityEventData):
                context = self._redact_context(context)
            elif context.get("attributes"):
                context = {**context, "attributes": self._redactor.redact(context["attributes"])}
            fields["context"] = context
        try:
            event: AuditEvent = _validate_event(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise AuditError(
                f"audit event field `{where}`: {first['msg']}", code="security.audit_event_invalid"
            ) from exc
        return self._write(event)  # already redacted

    def log(self, event: AuditEvent) -> AuditEvent:
        """Redact, chain and write one event; returns it as written. Raises when the policy is not met."""
        if event.details:
            check_json_tree(event.details, "details")
        if event.context is not None and event.context.attributes:
            check_json_tree(event.context.attributes, "context.attributes")
        return self._write(self._redact(event))

    def _write(self, event: AuditEvent) -> AuditEvent:
        if self._closed:
            raise AuditWriteError("the audit logger is closed")
        # The model's own attributes (enums, datetime) serialise directly with orjson: cheaper than model_dump
        # (orjson reads the instance dict as it is; only a context model is replaced by its own dict, in a copy).
        data = event.__dict__
        if event.context is not None:
            data = {**data, "context": dict(event.context.__dict__)}
        try:
            event_bytes = canonical(data)
        except TypeError as exc:
            raise AuditWriteError(f"audit event {event.event_id} is not JSON-serialisable: {exc}") from exc
        failures: list[tuple[AuditSink, BaseException]] = []
        with self._lock:
            tip, line = self._next_record(self._tip, event_bytes)
            seq = tip[0]
            for sink in self.sinks:
                try:
                    sink.write(line)
                except Exception as exc:
                    failures.append((sink, exc))
            accepted = len(self.sinks) - len(failures)
            if accepted:
                # The head is one tuple, replaced whole (no ChainHead per event; `head` builds one when asked).
                self._tip = tip
                if self._checkpointer.due_at(seq):
                    self._write_checkpoint()
        if failures:
            self._report(failures, seq)
            if not self.fail_open and (accepted == 0 or self.require_all_sinks):
                first_sink, first_error = failures[0]
                raise AuditWriteError(
                    f"audit event seq {seq} was not written to {len(failures)} of {len(self.sinks)} sink(s) "
                    f"(first: {first_sink.name}: {first_error}); failing closed",
                    details={"seq": seq, "failed": [s.name for s, _ in failures]},
                ) from first_error
            if accepted == 0:
                self.dropped += 1
        if self.alert_hooks and event.severity >= self.alert_severity:
            self._alerts.submit(event)
        return event

    def checkpoint(self) -> Checkpoint | None:
        """Write a signed checkpoint of the current head now (None when nothing was written yet)."""
        with self._lock:
            return self._write_checkpoint()

    def flush(self) -> None:
        """Make everything written so far durable now (fsync the file sinks, wait for Kafka acknowledgements)."""
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.flush()
                except Exception as exc:
                    self._report([(sink, exc)], self._tip[0])
                    if not self.fail_open:
                        raise AuditWriteError(f"audit sink {sink.name} could not flush: {exc}") from exc

    @property
    def alerts_dropped(self) -> int:
        """Alerts not delivered because the alert queue was full."""
        return self._alerts.dropped

    def hash_value(self, value: Any) -> str:
        """The redacted form a value would have in this log (to search for a known secret)."""
        return self._redactor.hash_value(value)

    def close(self) -> None:
        """Flush the sinks, write a final checkpoint, close what this logger opened."""
        if self._closed:
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._alerts.close()
        with self._lock:
            self._closed = True
            for sink in self.sinks:
                try:
                    sink.flush()
                except Exception as exc:
                    self._report([(sink, exc)], self._tip[0])
            self._write_checkpoint(final=True)
            for sink in self._owned:
                sink.close()

    def __enter__(self) -> AuditLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------------

    def _redact(self, event: AuditEvent) -> AuditEvent:
        update: dict[str, Any] = {}
        if event.details:
            update["details"] = self._redactor.redact(event.details)
        if event.context is not None and event.context.attributes:
            update["context"] = self._redact_context(event.context)
        return event.model_copy(update=update) if update else event

    def _redact_context(self, context: SecurityEventData) -> SecurityEventData:
        if not context.attributes:
            return context
        return context.model_copy(update={"attributes": self._redactor.redact(context.attributes)})

    def _write_checkpoint(self, *, final: bool = False) -> Checkpoint | None:
        head = self.head
        if head.seq == 0 or (final and self._checkpointer.last_seq == head.seq):
            return None
        try:
            return self._checkpointer.write(head)
        except Exception as exc:
            # The record is already written; a missing checkpoint only weakens truncation detection.
            self._report([(self.checkpoint_sink, exc)], head.seq)
            return None

    def _report(self, failures: list[tuple[AuditSink, BaseException]], seq: int) -> None:
        for sink, exc in failures:
            _log.error("audit sink %s failed at seq %d: %s", sink.name, seq, exc)
            if self._on_sink_error is not None:
                self._on_sink_error(sink, exc)

    def _tick(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            with self._lock:
                if not self._closed and self._tip[0] != self._checkpointer.last_seq:
                    self._write_checkpoint()

    def _record_recovery(self, torn: TornTail) -> None:
        """Log (and audit) a torn tail the file sink cut off at open, so the repair itself is on the record."""
        _log.warning(
            "audit log %s ended with a torn record (%d bytes at byte %d); moved to %s",
            torn.path, torn.length, torn.offset, torn.quarantine,
        )  # fmt: skip
        self.log_security_event(
            AuditEventType.SYSTEM_ERROR,
            "infra-security",
            "audit.recover_torn_record",
            AuditOutcome.SUCCESS,
            resource=str(torn.path),
            severity=Severity.HIGH,
            details={"offset": torn.offset, "bytes": torn.length, "quarantine": str(torn.quarantine)},
        )

    def _load_or_create_keys(self, env: Mapping[str, str], log_path: Path | None) -> AuditKeys:
        path = Path(env[ENV_AUDIT_KEYS_FILE]) if env.get(ENV_AUDIT_KEYS_FILE) else self.directory / KEYS_NAME
        if path.exists():
            return AuditKeys.load(path)
        if log_path is not None and log_path.exists() and log_path.stat().st_size > 0:
            raise AuditConfigError(
                f"{log_path} has records but its keys file {path} is missing; restore the keys file "
                f"(or set {ENV_AUDIT_KEYS_FILE}), or start a new log in another directory"
            )
        keys = AuditKeys.generate()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            keys.save(path)
        except OSError as exc:
            raise AuditConfigError(f"{path}: cannot create the audit keys file ({exc.strerror})") from exc
        _log.info("created audit keys at %s", path)
        return keys

    def _resume(self) -> tuple[ChainHead, Checkpoint | None]:
        head = ChainHead()
        for sink in self.sinks:
            if isinstance(sink, JsonLinesFileSink):
                try:
                    last = read_last_line(sink.path)
                    record = parse_record(last) if last is not None else None
                except ValueError as exc:
                    raise AuditConfigError(
                        f"cannot continue the audit chain in {sink.path}: {exc}; run `infra-security audit "
                        "verify` on it and move it aside"
                    ) from exc
                if record is not None:
                    if record.kid != self._kid:
                        raise AuditConfigError(
                            f"{sink.path} was written with audit key {record.kid}, not {self._kid}; "
                            "use its keys file or start a new log"
                        )
                    if record.seq > head.seq:
                        head = ChainHead(record.seq, record.mac)
        checkpoint: Checkpoint | None = None
        if isinstance(self.checkpoint_sink, JsonLinesFileSink):
            try:
                last = read_last_line(self.checkpoint_sink.path)
                checkpoint = parse_checkpoint(last) if last is not None else None
            except ValueError as exc:
                raise AuditConfigError(
                    f"cannot read the last checkpoint in {self.checkpoint_sink.path}: {exc}"
                ) from exc
            if checkpoint is not None and checkpoint.seq > head.seq:
                # The log was rotated away: continue the chain from the last signed head.
                head = ChainHead(checkpoint.seq, checkpoint.head)
        return head, checkpoint
