"""The tamper matrix: every manipulation is detected at the right sequence number, with the right reason."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from infra_security.audit._chain import GENESIS, canonical, encode_record, record_mac
from infra_security.audit._keys import AuditKeys
from infra_security.audit._logger import AuditLogger
from infra_security.audit._verify import verify_log


@pytest.fixture
def trail(tmp_path: Path) -> tuple[Path, Path, AuditKeys]:
    keys = AuditKeys.generate()
    with AuditLogger(directory=tmp_path, keys=keys, checkpoint_every=4) as logger:
        for i in range(1, 11):
            logger.log_security_event("data_access", f"user{i}", "read", "success", resource=f"doc/{i}")
    return tmp_path / "audit.jsonl", tmp_path / "checkpoints.jsonl", keys


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def verify(trail: tuple[Path, Path, AuditKeys], *, checkpoints: bool = True):  # type: ignore[no-untyped-def]
    log, cps, keys = trail
    return verify_log([log], keys, checkpoints=cps if checkpoints else None)


def test_intact_trail_verifies(trail: tuple[Path, Path, AuditKeys]) -> None:
    result = verify(trail)
    assert result.ok, result.finding
    assert (result.records, result.first_seq, result.last_seq) == (10, 1, 10)
    assert result.checkpoints == 3  # seq 4, 8 and the final one at 10


def rewrite(path: Path, new: list[bytes]) -> None:
    path.write_bytes(b"".join(new))


@pytest.mark.parametrize("seq", [1, 5, 10])
def test_modified_field(trail: tuple[Path, Path, AuditKeys], seq: int) -> None:
    log = trail[0]
    content = lines(log)
    content[seq - 1] = content[seq - 1].replace(f'"user{seq}"'.encode(), b'"mallory"')
    rewrite(log, content)
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("modified", seq)


def test_modified_seq_number(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    content = lines(log)
    content[6] = content[6].replace(b'{"seq":7,', b'{"seq":70,')
    rewrite(log, content)
    assert (verify(trail).finding.kind, verify(trail).finding.seq) == ("modified", 7)


@pytest.mark.parametrize("seq", [1, 5, 9])
def test_deleted(trail: tuple[Path, Path, AuditKeys], seq: int) -> None:
    log = trail[0]
    content = lines(log)
    del content[seq - 1]
    rewrite(log, content)
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("deleted", seq)


def test_inserted_forgery(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    content = lines(log)
    forged = content[4].replace(b'"read"', b'"delete"')
    content.insert(4, forged)
    rewrite(log, content)
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("inserted", 5)


def test_reordered(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    content = lines(log)
    content[3], content[4] = content[4], content[3]
    rewrite(log, content)
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("reordered", 4)


def test_truncated_tail_needs_and_uses_the_checkpoint(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    rewrite(log, lines(log)[:7])
    without = verify(trail, checkpoints=False)
    assert without.ok and "truncated tail cannot be detected" in without.notes[0]
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("truncated", 8)
    assert "seq 8..10 were removed" in result.finding.message


def test_replayed_old_segment_at_the_end(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    content = lines(log)
    rewrite(log, content + content[1:4])
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("replayed", 11)


def test_replayed_record_in_the_middle(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    content = lines(log)
    content.insert(6, content[2])
    rewrite(log, content)
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("replayed", 7)


def test_rekeyed_by_an_attacker(trail: tuple[Path, Path, AuditKeys]) -> None:
    """An attacker rewrites the whole chain under their own key: detected at seq 1 as the wrong key."""
    log = trail[0]
    theirs = AuditKeys.generate()
    prev, out = GENESIS, []
    for raw in lines(log):
        event = orjson.loads(raw)["event"]
        event["actor"] = "mallory"
        body = canonical(event)
        seq = len(out) + 1
        mac = record_mac(theirs.chain_key, seq, prev, theirs.key_id, body)
        out.append(encode_record(seq, prev.hex().encode(), theirs.key_id.encode(), mac.hex().encode(), body))
        prev = mac
    rewrite(log, out)
    result = verify(trail, checkpoints=False)
    assert (result.finding.kind, result.finding.seq) == ("wrong_key", 1)
    # Faking our key id does not help: the MACs do not match.
    rewrite(log, [line.replace(theirs.key_id.encode(), trail[2].key_id.encode()) for line in out])
    result = verify(trail, checkpoints=False)
    assert (result.finding.kind, result.finding.seq) == ("modified", 1)


def test_verifier_with_the_wrong_key(trail: tuple[Path, Path, AuditKeys]) -> None:
    result = verify_log([trail[0]], AuditKeys.generate())
    assert (result.finding.kind, result.finding.seq) == ("wrong_key", 1)


def test_broken_line(trail: tuple[Path, Path, AuditKeys]) -> None:
    log = trail[0]
    content = lines(log)
    content[5] = content[5][:40] + b"\n"
    rewrite(log, content)
    result = verify(trail)
    assert (result.finding.kind, result.finding.seq) == ("malformed", 6)
    assert f"{log}:6" == result.finding.where


class TestCheckpointTampering:
    def test_forged_checkpoint_signature(self, trail: tuple[Path, Path, AuditKeys]) -> None:
        cps = trail[1]
        content = lines(cps)
        content[-1] = content[-1].replace(b'"seq":10', b'"seq":12')
        rewrite(cps, content)
        result = verify(trail)
        assert result.finding.kind == "checkpoint" and "invalid signature" in result.finding.message

    def test_removed_checkpoint_breaks_their_chain(self, trail: tuple[Path, Path, AuditKeys]) -> None:
        cps = trail[1]
        content = lines(cps)
        del content[1]
        rewrite(cps, content)
        result = verify(trail)
        assert result.finding.kind == "checkpoint" and "does not follow" in result.finding.message

    def test_truncating_both_log_and_last_checkpoint_leaves_earlier_evidence(
        self, trail: tuple[Path, Path, AuditKeys]
    ) -> None:
        log, cps, _ = trail
        rewrite(log, lines(log)[:6])
        rewrite(cps, lines(cps)[:2])  # checkpoints at 4 and 8 remain
        result = verify(trail)
        assert (result.finding.kind, result.finding.seq) == ("truncated", 7)

    def test_log_fork_against_checkpoint_head(self, trail: tuple[Path, Path, AuditKeys]) -> None:
        """A chain recomputed from seq 4 with the stolen key still differs from the signed head at seq 4."""
        log, _, keys = trail
        content = lines(log)
        records = [orjson.loads(x) for x in content]
        prev = bytes.fromhex(records[2]["prev"])
        prev = bytes.fromhex(records[2]["mac"])
        out = content[:3]
        for i, rec in enumerate(records[3:], start=4):
            rec["event"]["action"] = "tampered"
            body = canonical(rec["event"])
            mac = record_mac(keys.chain_key, i, prev, keys.key_id, body)
            out.append(encode_record(i, prev.hex().encode(), keys.key_id.encode(), mac.hex().encode(), body))
            prev = mac
        rewrite(log, out)
        result = verify(trail)
        assert (result.finding.kind, result.finding.seq) == ("modified", 4)
        assert "signed checkpoint" in result.finding.message
