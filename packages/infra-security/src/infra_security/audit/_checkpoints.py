"""Signed checkpoints: (sequence, head MAC, time) signed with Ed25519 and written to a separate sink.

A checkpoint line::

    {"type":"checkpoint","seq":S,"head":"<hex MAC of record S>","time":"<RFC 3339>","kid":"<chain key id>",
     "prev_sig":"<hex signature of the previous checkpoint, or empty>","sig":"<hex Ed25519 signature>"}

The signature covers the canonical JSON of every field but ``sig``; ``prev_sig`` chains checkpoints the way
CloudTrail chains its digest files. Kept outside the log (another file, host or topic), the latest
checkpoint reveals a truncated tail, which the HMAC chain alone cannot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infra_security.audit._chain import ChainHead
from infra_security.audit._sinks import AuditSink

__all__ = ["Checkpoint", "Checkpointer", "parse_checkpoint"]


@dataclass(frozen=True)
class Checkpoint:
    """One signed checkpoint."""

    seq: int
    head: bytes
    time: str
    kid: str
    prev_sig: bytes
    sig: bytes

    def signed_bytes(self) -> bytes:
        """The canonical bytes the signature covers."""
        return orjson.dumps(
            {
                "type": "checkpoint",
                "seq": self.seq,
                "head": self.head.hex(),
                "time": self.time,
                "kid": self.kid,
                "prev_sig": self.prev_sig.hex(),
            },
            option=orjson.OPT_SORT_KEYS,
        )

    def line(self) -> bytes:
        """The JSON line written to the checkpoint sink."""
        return self.signed_bytes()[:-1] + b',"sig":"' + self.sig.hex().encode() + b'"}\n'

    def verify(self, key: Ed25519PublicKey) -> bool:
        """Whether the signature is valid under ``key``."""
        try:
            key.verify(self.sig, self.signed_bytes())
        except InvalidSignature:
            return False
        return True


def parse_checkpoint(line: bytes) -> Checkpoint:
    """Parse a checkpoint line; raises ``ValueError`` naming what is wrong."""
    try:
        doc = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("type") != "checkpoint":
        raise ValueError('not a checkpoint (expected "type": "checkpoint")')
    try:
        seq = doc["seq"]
        if not isinstance(seq, int) or seq < 0:
            raise ValueError("field `seq` must be a non-negative integer")
        return Checkpoint(
            seq, bytes.fromhex(doc["head"]), str(doc["time"]), str(doc["kid"]),
            bytes.fromhex(doc["prev_sig"]), bytes.fromhex(doc["sig"]),
        )  # fmt: skip
    except KeyError as exc:
        raise ValueError(f"field `{exc.args[0]}` is missing") from exc
    except TypeError as exc:
        raise ValueError("fields `head`, `prev_sig` and `sig` must be hex strings") from exc


class Checkpointer:
    """Writes a signed checkpoint every ``every_events`` records or ``every_seconds`` seconds (and on close).

    Each checkpoint is fsync'ed (it is what proves the tail existed), so they are kept infrequent by default.
    """

    def __init__(
        self,
        signing_key: Ed25519PrivateKey,
        sink: AuditSink,
        kid: str,
        *,
        every_events: int = 10_000,
        every_seconds: float = 60.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        import time

        self._key = signing_key
        self.sink = sink
        self._kid = kid
        self._every_events = every_events
        self._every_seconds = every_seconds
        self._clock = clock
        self._monotonic = monotonic or time.monotonic
        self._prev_sig = b""
        self._mark(-1)

    def _mark(self, seq: int) -> None:
        """Note a checkpoint at ``seq`` now; precompute when the next is due (checked once per record)."""
        self._last_seq = seq
        self._due_seq = max(seq, 0) + self._every_events
        self._due_time = self._monotonic() + self._every_seconds

    @property
    def last_seq(self) -> int:
        """Sequence number of the last checkpoint written or resumed (-1 when none)."""
        return self._last_seq

    def due(self, head: ChainHead) -> bool:
        """Whether a checkpoint is due after ``head``."""
        return self.due_at(head.seq)

    def due_at(self, seq: int) -> bool:
        """Whether a checkpoint is due once record ``seq`` is the head (the per-record check of the writer)."""
        return seq != self._last_seq and (seq >= self._due_seq or self._monotonic() >= self._due_time)

    def write(self, head: ChainHead) -> Checkpoint:
        """Sign and write a checkpoint of ``head``; raises if the sink refuses it."""
        unsigned = Checkpoint(head.seq, head.mac, self._clock().isoformat(), self._kid, self._prev_sig, b"")
        checkpoint = Checkpoint(**{**unsigned.__dict__, "sig": self._key.sign(unsigned.signed_bytes())})
        self.sink.write(checkpoint.line())
        self.sink.flush()
        self._prev_sig = checkpoint.sig
        self._mark(head.seq)
        return checkpoint

    def resume(self, last: Checkpoint | None) -> None:
        """Continue the checkpoint chain after ``last`` (read back from the sink at start-up)."""
        if last is not None:
            self._prev_sig = last.sig
            self._last_seq = last.seq
            self._due_seq = max(last.seq, 0) + self._every_events  # the time keeps counting from start-up
