"""Audit log throughput: events/s written with the HMAC chain, against structlog's JSON renderer; verify records/s.

Run: ``hatch run bench infra-security`` (or ``python packages/infra-security/bench/bench_audit.py``).
Both loggers write JSON lines to a file in a temporary directory; rounds are interleaved and the best kept.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from infra_security.audit._keys import AuditKeys
from infra_security.audit._logger import AuditLogger
from infra_security.audit._verify import verify_log


def structlog_rate(path: Path, n: int) -> float | None:
    try:
        import structlog
    except ImportError:
        return None
    with path.open("a") as fh:
        log = structlog.wrap_logger(
            structlog.WriteLogger(fh),
            processors=[structlog.processors.TimeStamper(fmt="iso", utc=True), structlog.processors.JSONRenderer()],
            cache_logger_on_first_use=True,
        )
        start = time.perf_counter()
        for _ in range(n):
            log.info("login", event_type="authentication", actor="user123", action="login", outcome="success")
        return n / (time.perf_counter() - start)


def ours_rate(logger: AuditLogger, n: int, details: dict[str, object] | None) -> float:
    start = time.perf_counter()
    for _ in range(n):
        logger.log_security_event(
            event_type="authentication", user_id="user123", action="login", outcome="success", details=details
        )
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="Events per variant (split into rounds).")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    per_round = max(1000, args.events // args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        keys = AuditKeys.generate()
        plain = AuditLogger(directory=root / "plain", keys=keys)
        redacted = AuditLogger(directory=root / "redacted", keys=keys)
        secret = {"password": "hunter2", "source": "web"}
        best = {"structlog": 0.0, "ours": 0.0, "ours+redaction": 0.0}
        for _ in range(args.rounds):
            rate = structlog_rate(root / "structlog.jsonl", per_round)
            best["structlog"] = max(best["structlog"], rate or 0.0)
            best["ours"] = max(best["ours"], ours_rate(plain, per_round, None))
            best["ours+redaction"] = max(best["ours+redaction"], ours_rate(redacted, per_round, secret))
        plain.close()
        redacted.close()
        log = root / "plain" / "audit.jsonl"
        records = sum(1 for _ in log.open("rb"))
        verify_best = 0.0
        for _ in range(3):
            start = time.perf_counter()
            result = verify_log([log], keys, checkpoints=root / "plain" / "checkpoints.jsonl")
            verify_best = max(verify_best, records / (time.perf_counter() - start))
            assert result.ok, result.finding
    anchor = best["structlog"]
    print(f"events per variant: {per_round * args.rounds:,} in {args.rounds} rounds (best round shown)")
    if anchor:
        print(f"  structlog TimeStamper+JSONRenderer  {anchor:>10,.0f} events/s  1.00")
    else:
        print("  structlog not installed: pip install -r packages/infra-security/bench/requirements.txt")
    for name in ("ours", "ours+redaction"):
        ratio = f"{best[name] / anchor:.2f}" if anchor else "n/a"
        label = "AuditLogger, HMAC chain" + (" + redaction" if name != "ours" else "")
        print(f"  {label:<35} {best[name]:>10,.0f} events/s  {ratio}   (target >= 120,000)")
    print(f"  audit verify (chain + checkpoints)  {verify_best:>10,.0f} records/s        (target >= 200,000)")


if __name__ == "__main__":
    main()
