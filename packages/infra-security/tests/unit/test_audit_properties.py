"""Property tests (hypothesis) for the audit record format and redaction."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from infra_security.audit._chain import GENESIS, ChainMac, canonical, encode_record, parse_record, record_mac
from infra_security.audit._redaction import Redactor

KEY = os.urandom(32)
events = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=8,
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(event=events, seq=st.integers(1, 2**40))
def test_record_line_round_trips_and_macs_agree(event: dict[str, object], seq: int) -> None:
    body = canonical(event)
    mac = record_mac(KEY, seq, GENESIS, "abcd", body)
    assert ChainMac(KEY, "abcd").mac(seq, GENESIS, body) == mac
    record = parse_record(encode_record(seq, GENESIS.hex().encode(), b"abcd", mac.hex().encode(), body))
    assert (record.seq, record.prev, record.kid, record.mac, record.event) == (seq, GENESIS, "abcd", mac, event)
    assert canonical(record.event) == body  # what the verifier recomputes is what was MACed


@settings(max_examples=150, deadline=None)
@given(tail=st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=0x2FFF), max_size=20), other=events)
def test_redacted_secret_never_appears(tail: str, other: dict[str, object]) -> None:
    secret = "S3CRET-" + tail  # uppercase and '-' cannot occur in the lowercase hex of a hash
    r = Redactor(KEY, ["password"])
    doc = {"password": secret, "nested": [{"Password": {"v": secret}}], "other": other}
    out = canonical(r.redact(doc))
    if secret not in canonical(other).decode():
        assert secret.encode() not in out
