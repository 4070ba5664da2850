"""Property tests (hypothesis) for the formats: payload round trips, context encoding, text form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra_security import DecryptionError, EncryptionError, Keyring, PayloadEncryption
from infra_security.crypto import _aead
from infra_security.crypto._aead import _encode_context, encode_context, from_text, to_text

ENC = PayloadEncryption("p", keyring=Keyring.generate("p"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)  # fmt: skip
contexts = st.dictionaries(st.text(max_size=6), st.text(max_size=6), max_size=3)


@settings(max_examples=150, deadline=None)
@given(value=json_values, context=contexts)
def test_json_round_trip_in_every_form(value: object, context: dict[str, str]) -> None:
    assert ENC.decrypt(ENC.encrypt(value, context), context) == value
    assert ENC.decrypt_payload(ENC.encrypt_payload(value, context)) == value
    assert ENC.decrypt_payload(ENC.encrypt_text(value, context), context) == value


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=2048))
def test_bytes_round_trip_and_text_form(data: bytes) -> None:
    blob = ENC.encrypt(data)
    assert ENC.decrypt(blob) == data
    assert from_text(to_text(blob)) == blob


@settings(max_examples=200, deadline=None)
@given(a=contexts, b=contexts)
def test_context_encoding_is_injective(a: dict[str, str], b: dict[str, str]) -> None:
    assert (encode_context(a) == encode_context(b)) == (a == b)


@settings(max_examples=200, deadline=None)
@given(a=contexts)
def test_remembered_context_encodings_equal_fresh_ones(a: dict[str, str]) -> None:
    fresh = _encode_context(a) if a else b""
    assert encode_context(a) == fresh
    assert encode_context(dict(reversed(list(a.items())))) == fresh  # another order, same canonical bytes
    assert encode_context(a) == fresh  # remembered now


@pytest.mark.parametrize("bad", [{"a": 1}, {"a": True}, {"a": b"1"}, {"a": ["1"]}, {1: "a"}, {"a": None}])
def test_non_string_context_is_refused_even_beside_a_remembered_lookalike(bad: dict[object, object]) -> None:
    encode_context({"a": "1", "1": "a", "a ": "True"})
    encode_context({"a": "1"})
    encode_context({"a": "True"})
    with pytest.raises(EncryptionError, match="must be strings"):
        encode_context(bad)  # type: ignore[arg-type]


def test_context_memo_stays_bounded() -> None:
    for i in range(3 * _aead._CONTEXT_MEMO_SIZE):
        assert encode_context({"tenant": str(i)}) == _encode_context({"tenant": str(i)})
        assert len(_aead._context_memo) <= _aead._CONTEXT_MEMO_SIZE
    big = {"blob": "x" * 100_000}
    assert encode_context(big) == _encode_context(big)
    assert all(len(encoded) <= _aead._CONTEXT_MEMO_MAX_BYTES for encoded in _aead._context_memo.values())
    assert tuple(big.items()) not in _aead._context_memo


@settings(max_examples=100, deadline=None)
@given(a=contexts, b=contexts)
def test_other_context_never_decrypts(a: dict[str, str], b: dict[str, str]) -> None:
    blob = ENC.encrypt("x", a)
    if a == b:
        assert ENC.decrypt(blob, b) == "x"
    else:
        with pytest.raises(DecryptionError):
            ENC.decrypt(blob, b)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_from_text_accepts_only_canonical_base64url(text: str) -> None:
    try:
        blob = from_text(text)
    except DecryptionError:
        return
    assert to_text(blob) == text.rstrip("=")
