"""Wycheproof AES-GCM vectors through the primitive layer (all 316 vendored, Apache-2.0, see tests/vectors/NOTICE)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from infra_security.crypto._aead import UnsupportedParameterError, gcm_open, gcm_seal
from infra_security.errors import DecryptionError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "aes_gcm_test.json"
CASES = [(group["ivSize"], test) for group in json.loads(VECTORS.read_text())["testGroups"] for test in group["tests"]]


def run(test: dict) -> str:
    """Return "pass", "rejected" or "unsupported" for one vector; raise AssertionError on a wrong answer."""
    key, iv, aad = (bytes.fromhex(test[k]) for k in ("key", "iv", "aad"))
    msg, ct, tag = (bytes.fromhex(test[k]) for k in ("msg", "ct", "tag"))
    try:
        if test["result"] == "valid":
            assert gcm_seal(key, iv, msg, aad) == ct + tag
            assert gcm_open(key, iv, ct + tag, aad) == msg
            return "pass"
        with pytest.raises(DecryptionError):
            gcm_open(key, iv, ct + tag, aad)
        return "rejected"
    except UnsupportedParameterError:
        return "unsupported"


@pytest.mark.parametrize(("iv_size", "test"), CASES, ids=[f"tc{t['tcId']}" for _, t in CASES])
def test_vector(iv_size: int, test: dict) -> None:
    outcome = run(test)
    if outcome == "unsupported":
        # Classified, not failed: only unusual nonce sizes may be refused, never the 96-bit nonces we use.
        assert iv_size != 96, f"tc{test['tcId']}: a 96-bit nonce must be supported"
    elif test["result"] == "invalid":
        assert outcome == "rejected"
    else:
        assert outcome == "pass", f"tc{test['tcId']}: a valid vector must decrypt to its message"


def test_classification_summary() -> None:
    outcomes = Counter((t["result"], run(t)) for _, t in CASES)
    assert len(CASES) == 316  # the whole testvectors_v1/aes_gcm_test.json
    assert outcomes[("invalid", "pass")] == 0
    # Every modified tag is rejected; the zero-length nonces are refused one way or the other.
    modified = [t for _, t in CASES if "ModifiedTag" in t["flags"]]
    assert all(run(t) == "rejected" for t in modified)
    assert all(run(t) in {"rejected", "unsupported"} for _, t in CASES if "ZeroLengthIv" in t["flags"])
    unsupported_sizes = {iv for iv, t in CASES if run(t) == "unsupported"}
    assert 96 not in unsupported_sizes
    assert outcomes[("valid", "pass")] == 202
    assert outcomes[("invalid", "rejected")] == 81
