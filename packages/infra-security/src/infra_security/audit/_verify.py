"""Offline verification of an audit log (and its checkpoints): the first bad sequence number and why.

Kinds of finding: ``malformed`` (a line that is not a record), ``wrong_key`` (records MACed under another
key), ``modified`` (a record whose MAC does not match), ``inserted`` (a forged record between two good
ones), ``deleted`` (sequence numbers missing), ``reordered`` (a missing record appears later), ``replayed``
(an older record or segment appears again, or a record from another chain), ``truncated`` (the log ends
before the latest signed checkpoint), ``checkpoint`` (a checkpoint with a bad signature, a broken checkpoint
chain, or a head that does not match the log).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from infra_security.audit._chain import GENESIS, ChainMac, canonical, parse_record, record_mac
from infra_security.audit._checkpoints import Checkpoint, parse_checkpoint
from infra_security.audit._keys import AuditKeys
from infra_security.errors import AuditLogFormatError

__all__ = ["Finding", "VerifyResult", "read_checkpoints", "verify_lines", "verify_log"]

# The exact layout the writer produces; lines that match are checked without a JSON parse (MAC over the
# embedded canonical event bytes). Anything else, or any mismatch, goes through the explanatory slow path.
_LINE = re.compile(
    rb'\{"seq":([1-9][0-9]*),"prev":"([0-9a-f]{64})","kid":"([0-9a-f]{1,64})","mac":"([0-9a-f]{64})","event":(\{.*\})\}\r?\n?\Z',
    re.S,
)


@dataclass(frozen=True)
class Finding:
    """A problem found in the log: where (sequence number, file, line) and why."""

    kind: str
    seq: int
    message: str
    where: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return asdict(self)


@dataclass
class VerifyResult:
    """Outcome of a verification: records seen, the first finding (if any), notes."""

    records: int = 0
    first_seq: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    finding: Finding | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return self.finding is None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view."""
        return {
            "ok": self.ok,
            "records": self.records,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "checkpoints": self.checkpoints,
            "finding": None if self.finding is None else self.finding.to_dict(),
            "notes": self.notes,
        }


def read_checkpoints(path: Path) -> list[tuple[str, Checkpoint | str]]:
    """Checkpoints of a file as (location, checkpoint) pairs; an unparsable line gives (location, error)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AuditLogFormatError(f"{path}: cannot read the checkpoints ({exc.strerror})") from exc
    items: list[tuple[str, Checkpoint | str]] = []
    for number, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            try:
                items.append((f"{path}:{number}", parse_checkpoint(line)))
            except ValueError as exc:
                items.append((f"{path}:{number}", str(exc)))
    return items


def _lines(paths: Iterable[Path], on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise AuditLogFormatError(f"{path}: cannot read the audit log ({exc.strerror})") from exc
        with fh:
            for number, line in enumerate(fh, 1):
                if on_bytes is not None:
                    on_bytes(len(line))
                if line.strip():
                    yield f"{path}:{number}", line


def verify_log(
    paths: Iterable[Path],
    keys: AuditKeys,
    *,
    checkpoints: Path | None = None,
    partial: bool = False,
    on_bytes: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Verify log files (in order) and optionally their checkpoints file.

    ``on_bytes`` is called with the size of every line read, blank ones included (a progress bar's feed).
    """
    cps = read_checkpoints(checkpoints) if checkpoints is not None else None
    return verify_lines(_lines(paths, on_bytes), keys, checkpoints=cps, partial=partial)


def verify_lines(
    lines: Iterable[tuple[str, bytes]],
    keys: AuditKeys,
    *,
    checkpoints: list[tuple[str, Checkpoint | str]] | None = None,
    partial: bool = False,
) -> VerifyResult:
    """Verify records given as (location, line) pairs; see the module docstring for the kinds of finding."""
    result = VerifyResult()
    key, kid = keys.chain_key, keys.key_id
    wanted: dict[int, bytes | None] = {}
    if checkpoints is not None:
        for _where, cp in checkpoints:
            if isinstance(cp, Checkpoint):
                wanted[cp.seq] = None
    stream = iter(lines)
    pending: list[tuple[str, bytes]] = []

    def next_line() -> tuple[str, bytes] | None:
        if pending:
            return pending.pop()
        return next(stream, None)

    expected, prev = 1, GENESIS
    prev_hex, kid_b, chain_mac, match = prev.hex().encode(), kid.encode("ascii"), ChainMac(key, kid).mac, _LINE.match
    while (item := next_line()) is not None:
        where, line = item
        fast = match(line)
        if fast is not None and fast[2] == prev_hex and fast[3] == kid_b and int(fast[1]) == expected:
            mac = chain_mac(expected, prev, fast[5])
            if hmac.compare_digest(mac.hex().encode(), fast[4]):
                if expected in wanted:
                    wanted[expected] = mac
                result.records += 1
                result.first_seq = result.first_seq or expected
                result.last_seq = expected
                expected, prev, prev_hex = expected + 1, mac, fast[4]
                continue
        try:
            rec = parse_record(line)
        except ValueError as exc:
            result.finding = Finding("malformed", expected, f"line is not an audit record: {exc}", where)
            return result
        if rec.kid != kid:
            result.finding = Finding(
                "wrong_key", rec.seq, f"record is MACed with key {rec.kid}, the verifying key is {kid}", where
            )
            return result
        if result.records == 0 and partial and rec.seq != 1:
            expected, prev, prev_hex = rec.seq, rec.prev, rec.prev.hex().encode()
            result.notes.append(f"log starts at seq {rec.seq}: earlier records were not checked")
            if rec.seq - 1 in wanted:
                wanted[rec.seq - 1] = rec.prev
        mac_ok = hmac.compare_digest(record_mac(key, rec.seq, rec.prev, rec.kid, canonical(rec.event)), rec.mac)
        if not mac_ok:
            following = next_line()
            if following is not None:
                pending.append(following)
                try:
                    nxt = parse_record(following[1])
                    nxt_ok = (
                        nxt.seq == expected
                        and nxt.prev == prev
                        and hmac.compare_digest(
                            record_mac(key, nxt.seq, nxt.prev, nxt.kid, canonical(nxt.event)), nxt.mac
                        )
                    )
                except ValueError:
                    nxt_ok = False
                if nxt_ok:
                    result.finding = Finding(
                        "inserted", expected, f"a forged record was inserted before seq {expected}", where
                    )
                    return result
            result.finding = Finding(
                "modified", expected, f"record MAC does not match: seq {expected} was modified", where
            )
            return result
        if rec.seq == expected and hmac.compare_digest(rec.prev, prev):
            result.records += 1
            result.first_seq = result.first_seq or rec.seq
            result.last_seq = rec.seq
            if rec.seq in wanted:
                wanted[rec.seq] = rec.mac
            expected, prev, prev_hex = rec.seq + 1, rec.mac, rec.mac.hex().encode()
            continue
        if rec.seq == expected:
            result.finding = Finding(
                "replayed", expected, f"seq {expected} is a genuine record of another chain position or log", where
            )
        elif rec.seq > expected:
            later = {rec.seq}
            while (rest := next_line()) is not None:
                try:
                    later.add(parse_record(rest[1]).seq)
                except ValueError:
                    continue
            if expected in later:
                result.finding = Finding(
                    "reordered", expected, f"seq {expected} appears after seq {rec.seq}: records were reordered", where
                )
            else:
                gap = f"seq {expected}" if rec.seq == expected + 1 else f"seq {expected}..{rec.seq - 1}"
                result.finding = Finding("deleted", expected, f"{gap} missing: the log jumps to seq {rec.seq}", where)
        else:
            result.finding = Finding(
                "replayed", expected, f"seq {rec.seq} appears again after seq {expected - 1}: an old record "
                "or segment was replayed", where,
            )  # fmt: skip
        return result
    if checkpoints is None:
        result.notes.append("no checkpoints given: a truncated tail cannot be detected")
        return result
    _check_checkpoints(result, checkpoints, keys, wanted)
    return result


def _check_checkpoints(
    result: VerifyResult,
    checkpoints: list[tuple[str, Checkpoint | str]],
    keys: AuditKeys,
    macs: dict[int, bytes | None],
) -> None:
    prev_sig = b""
    latest: tuple[str, Checkpoint] | None = None
    for where, cp in checkpoints:
        if isinstance(cp, str):
            result.finding = Finding("checkpoint", result.last_seq, f"checkpoint line is malformed: {cp}", where)
            return
        result.checkpoints += 1
        if not cp.verify(keys.verify_key):
            result.finding = Finding(
                "checkpoint", cp.seq, f"checkpoint at seq {cp.seq} has an invalid signature", where
            )
            return
        if cp.prev_sig != prev_sig:
            result.finding = Finding(
                "checkpoint", cp.seq, f"checkpoint at seq {cp.seq} does not follow the previous one "
                "(a checkpoint was removed or altered)", where,
            )  # fmt: skip
            return
        prev_sig = cp.sig
        if latest is None or cp.seq >= latest[1].seq:
            latest = (where, cp)
        mac = macs.get(cp.seq)
        if mac is not None and mac != cp.head:
            result.finding = Finding(
                "modified", cp.seq, f"seq {cp.seq} differs from the signed checkpoint of {cp.time}", where
            )
            return
    if latest is not None and latest[1].seq > result.last_seq:
        where, cp = latest
        result.finding = Finding(
            "truncated", result.last_seq + 1,
            f"log ends at seq {result.last_seq} but the checkpoint of {cp.time} covers seq {cp.seq}: "
            f"seq {result.last_seq + 1}..{cp.seq} were removed", where,
        )  # fmt: skip
