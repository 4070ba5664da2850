"""infra_models.encoding: one strict base64url for every package."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra_models import Base64UrlError, EncryptedPayload, b64url_decode, b64url_encode

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class TestRoundTrip:
    @given(st.binary(max_size=300))
    def test_matches_the_standard_library_without_padding(self, data):
        text = b64url_encode(data)
        assert text == base64.urlsafe_b64encode(data).decode().rstrip("=")
        assert b64url_decode(text) == data
        assert b64url_decode(text.encode()) == data

    @given(st.binary(max_size=64))
    def test_correct_padding_is_accepted(self, data):
        assert b64url_decode(base64.urlsafe_b64encode(data).decode()) == data

    def test_standard_vectors(self):
        # RFC 4648 section 10, in the url alphabet
        for raw, text in [(b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg")]:
            assert b64url_encode(raw) == text
            assert b64url_decode(text) == raw
        assert b64url_encode(b"\xfb\xff\xbf") == "-_-_"


class TestStrict:
    @given(st.text(alphabet=ALPHABET + "=+/ .\n", max_size=12))
    def test_what_decodes_is_canonical(self, text):
        """Two different texts never decode to the same bytes: what is accepted re-encodes to itself."""
        try:
            data = b64url_decode(text)
        except Base64UrlError:
            return
        assert b64url_encode(data) == text.rstrip("=")

    @pytest.mark.parametrize(
        ("text", "why"),
        [
            ("Zm9v+", "only A-Z"),  # the standard alphabet's + is not base64url
            ("Zm9v/w", "only A-Z"),
            ("Zm 9v", "only A-Z"),
            ("Zm9v\n", "only A-Z"),
            ("Zé9v", "only A-Z"),
            ("Z", "cannot encode whole bytes"),
            ("Zm9vY", "cannot encode whole bytes"),
            ("Zh", "unused bits"),  # 'f' is Zg; Zh differs only in bits that must be zero
            ("Zm9=", "unused bits"),
            ("Zg=", "'=' where 2 belong"),
            ("Zg===", "'=' where 2 belong"),
            ("Zm9v=", "'=' where 0 belong"),
        ],
    )
    def test_non_canonical_text_is_refused_naming_the_field(self, text, why):
        with pytest.raises(Base64UrlError, match=why) as exc:
            b64url_decode(text, what="field `material`")
        assert "field `material`" in str(exc.value)

    def test_the_error_is_a_value_error(self):
        assert issubclass(Base64UrlError, ValueError)


def test_encrypted_payload_json_uses_the_same_encoding():
    payload = EncryptedPayload(format_version=1, key_id="k:v1", ciphertext=b"\xfb\xff\xbf" * 5)
    assert payload.model_dump(mode="json")["ciphertext"] == b64url_encode(b"\xfb\xff\xbf" * 5)
    padded = base64.urlsafe_b64encode(b"\x01\x02").decode()  # "AQI=": padding of the right length is accepted
    assert (
        EncryptedPayload.model_validate({"format_version": 1, "key_id": "k:v1", "ciphertext": padded}).ciphertext
        == b"\x01\x02"
    )
