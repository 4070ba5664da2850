"""PayloadEncryption: round trips, forms, context binding, fail closed, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from infra_models.security import EncryptedPayload
from infra_security import (
    DecryptionError,
    EncryptionError,
    KeyNotConfiguredError,
    Keyring,
    KeysetError,
    PayloadEncryption,
)
from infra_security.crypto._aead import from_text, to_text


@pytest.fixture
def enc() -> PayloadEncryption:
    return PayloadEncryption(key_id="encryption_key_1", keyring=Keyring.generate("encryption_key_1"))


class Order(BaseModel):
    id: int
    items: list[str]


PAYLOADS = [
    {"user": "u1", "amount": 12.5, "tags": ["a", "b"], "nested": {"ok": True, "none": None}},
    [1, 2, 3],
    "plain string",
    '{"looks": "like json"}',
    "",
    0,
    -(2**63),
    3.25,
    True,
    None,
    b"\x00\x01binary\xff",
    b"",
    {"unicode": "snowman \u2603 and \U0001f600"},
]


class TestRoundTrip:
    @pytest.mark.parametrize("payload", PAYLOADS, ids=[type(p).__name__ + str(i) for i, p in enumerate(PAYLOADS)])
    def test_every_payload_type(self, enc: PayloadEncryption, payload: object) -> None:
        encrypted = enc.encrypt_payload(payload)
        assert isinstance(encrypted, EncryptedPayload)
        assert enc.decrypt_payload(encrypted) == payload
        assert type(enc.decrypt_payload(encrypted)) is type(payload)

    def test_documented_usage(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = tmp_path / "keyset.json"
        Keyring.generate("encryption_key_1").save(path)
        monkeypatch.setenv("INFRA_SECURITY_KEYSET_FILE", str(path))
        monkeypatch.delenv("INFRA_SECURITY_KEYSET", raising=False)
        encryptor = PayloadEncryption(key_id="encryption_key_1")
        encrypted = encryptor.encrypt_payload({"card": "4111 1111 1111 1111"})
        assert encryptor.decrypt_payload(encrypted) == {"card": "4111 1111 1111 1111"}
        assert "4111" not in encrypted.model_dump_json()

    @pytest.mark.parametrize("size", [65_535, 65_536, 1 << 20])
    def test_large_payloads(self, enc: PayloadEncryption, size: int) -> None:
        data = bytes(size)
        assert enc.decrypt(enc.encrypt(data)) == data
        assert enc.decrypt_payload(enc.encrypt_payload(data)) == data
        big_json = {"rows": ["x" * 100] * (size // 100)}
        assert enc.decrypt_payload(enc.encrypt_payload(big_json)) == big_json

    def test_pydantic_model_becomes_its_json(self, enc: PayloadEncryption) -> None:
        order = Order(id=7, items=["x"])
        assert Order.model_validate(enc.decrypt_payload(enc.encrypt_payload(order))) == order

    def test_model_fields(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1}, context={"tenant": "acme"})
        assert encrypted.algorithm == "AES-256-GCM"
        assert encrypted.format_version == 1
        assert encrypted.key_id == "encryption_key_1:v1"
        assert encrypted.context == {"tenant": "acme"}
        # A validated copy (as after transport) decrypts too.
        again = EncryptedPayload.model_validate_json(encrypted.model_dump_json())
        assert enc.decrypt_payload(again) == {"a": 1}
        assert enc.decrypt_payload(json.loads(encrypted.model_dump_json())) == {"a": 1}

    def test_model_holds_the_compact_bytes_and_validates(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1}, context={"tenant": "acme"})
        # Built with EncryptedPayload.from_sealed in the hot path: it must still be a valid model, field for field.
        assert EncryptedPayload.model_validate(encrypted.model_dump()) == encrypted
        assert type(encrypted.ciphertext) is bytes
        assert enc.decrypt(encrypted.ciphertext, {"tenant": "acme"}) == {"a": 1}
        wire = json.loads(encrypted.model_dump_json())
        assert wire["ciphertext"] == to_text(encrypted.ciphertext)

    @pytest.mark.parametrize("size", [10, 65_536, 1 << 20])
    def test_built_model_equals_a_validated_one(self, enc: PayloadEncryption, size: int) -> None:
        encrypted = enc.encrypt_payload(bytes(size), context={"t": "a"})
        fields = encrypted.model_dump()
        assert type(fields["ciphertext"]) is bytes
        del fields["algorithm"]
        validated = EncryptedPayload(**fields)
        assert validated == encrypted and validated.model_fields_set == encrypted.model_fields_set
        assert validated.model_dump_json() == encrypted.model_dump_json()
        assert EncryptedPayload.model_validate(fields) == encrypted
        again = EncryptedPayload.model_validate_json(encrypted.model_dump_json())
        assert again == encrypted
        assert enc.decrypt_payload(again) == bytes(size)
        with pytest.raises(DecryptionError, match="context"):
            enc.decrypt_payload(encrypted, {"t": "b"})

    def test_model_naming_another_key_is_refused(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1})
        assert enc.decrypt_payload(encrypted) == {"a": 1}  # the fast path has seen this key now
        for change in ({"key_id": "encryption_key_1:v9"}, {"format_version": 2}):
            with pytest.raises(DecryptionError, match="EncryptedPayload"):
                enc.decrypt_payload(encrypted.model_copy(update=change))

    def test_every_form_of_one_ciphertext(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1}, context={"tenant": "acme"})
        forms: list[object] = [
            encrypted,
            encrypted.model_dump_json(),
            encrypted.model_dump_json().encode().decode(),
            json.loads(encrypted.model_dump_json()),
            encrypted.model_dump(),
        ]
        for form in forms:
            assert enc.decrypt_payload(form) == {"a": 1}  # type: ignore[arg-type]
        for bare in (to_text(encrypted.ciphertext), encrypted.ciphertext):
            assert enc.decrypt_payload(bare, {"tenant": "acme"}) == {"a": 1}
            with pytest.raises(DecryptionError):
                enc.decrypt_payload(bare)  # the bare forms do not carry the context

    def test_bad_json_text_names_the_field(self, enc: PayloadEncryption) -> None:
        text = enc.encrypt_payload({"a": 1}).model_dump_json().replace('"ciphertext":"', '"ciphertext":"+')
        with pytest.raises(DecryptionError, match=r"ciphertext: .*base64url"):
            enc.decrypt_payload(text)
        with pytest.raises(DecryptionError, match="not an EncryptedPayload JSON text"):
            enc.decrypt_payload("{not json")

    def test_rewrap_keeps_the_json_text_form(self, enc: PayloadEncryption) -> None:
        text = enc.encrypt_payload({"a": 1}, context={"tenant": "acme"}).model_dump_json()
        enc.backend.keyring.rotate()  # type: ignore[attr-defined]
        new = enc.rewrap(text)
        assert isinstance(new, str) and new.startswith("{")
        assert EncryptedPayload.model_validate_json(new).key_id == "encryption_key_1:v2"
        assert enc.decrypt_payload(new) == {"a": 1}

    def test_text_and_binary_forms(self, enc: PayloadEncryption) -> None:
        text = enc.encrypt_text({"a": 1}, {"topic": "orders"})
        assert enc.decrypt_payload(text, {"topic": "orders"}) == {"a": 1}
        blob = from_text(text)
        assert enc.decrypt_payload(blob, {"topic": "orders"}) == {"a": 1}
        assert enc.decrypt(enc.encrypt("x")) == "x"
        # Compact: 1 version + 4 key id + 1 type + 12 nonce + payload + 16 tag.
        assert len(enc.encrypt(b"hello")) == 1 + 4 + 12 + 1 + 5 + 16

    def test_nonces_are_fresh(self, enc: PayloadEncryption) -> None:
        nonces = {bytes(enc.encrypt(b"same")[6:18]) for _ in range(200)}
        assert len(nonces) == 200


class TestContext:
    def test_wrong_context_rejected(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1}, context={"tenant": "acme"})
        with pytest.raises(DecryptionError, match="context"):
            enc.decrypt_payload(encrypted, context={"tenant": "evil"})
        with pytest.raises(DecryptionError):
            enc.decrypt_payload(encrypted, context={})

    def test_moved_to_another_tenant_detected(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1}, context={"tenant": "acme"})
        moved = encrypted.model_copy(update={"context": {"tenant": "other"}})
        with pytest.raises(DecryptionError):
            enc.decrypt_payload(moved)

    def test_context_encoding_is_unambiguous(self, enc: PayloadEncryption) -> None:
        blob = enc.encrypt("x", {"ab": "c"})
        with pytest.raises(DecryptionError):
            enc.decrypt(blob, {"a": "bc"})

    def test_context_values_must_be_strings(self, enc: PayloadEncryption) -> None:
        with pytest.raises(EncryptionError, match="context entry 'n'"):
            enc.encrypt("x", {"n": 1})  # type: ignore[dict-item]


class TestFailClosed:
    def test_no_key_configured(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("INFRA_SECURITY_KEYSET_FILE", raising=False)
        monkeypatch.delenv("INFRA_SECURITY_KEYSET", raising=False)
        with pytest.raises(KeyNotConfiguredError, match=r"INFRA_SECURITY_KEYSET_FILE.*INFRA_SECURITY_KEYSET"):
            PayloadEncryption(key_id="encryption_key_1")

    def test_env_inline_keyset(self) -> None:
        ring = Keyring.generate("dev")
        enc = PayloadEncryption("dev", environ={"INFRA_SECURITY_KEYSET": ring.to_json().decode()})
        assert PayloadEncryption("dev", keyring=ring).decrypt(enc.encrypt("x")) == "x"

    def test_bad_inline_keyset_named(self) -> None:
        with pytest.raises(KeysetError, match=r"\$INFRA_SECURITY_KEYSET: not a JSON keyset"):
            PayloadEncryption("k", environ={"INFRA_SECURITY_KEYSET": "{oops"})

    def test_both_variables_is_ambiguous(self, tmp_path: Path) -> None:
        with pytest.raises(KeysetError, match="set only one"):
            PayloadEncryption("k", environ={"INFRA_SECURITY_KEYSET": "{}", "INFRA_SECURITY_KEYSET_FILE": "x"})

    def test_name_mismatch(self) -> None:
        ring = Keyring.generate("other")
        with pytest.raises(KeysetError, match="named 'other'"):
            PayloadEncryption("k", environ={"INFRA_SECURITY_KEYSET": ring.to_json().decode()})
        with pytest.raises(EncryptionError, match="does not match"):
            PayloadEncryption("k", keyring=ring)


class TestBadInput:
    def test_truncated(self, enc: PayloadEncryption) -> None:
        blob = enc.encrypt({"a": 1})
        for n in range(len(blob)):
            with pytest.raises(DecryptionError):
                enc.decrypt(blob[:n])

    def test_garbage_text(self, enc: PayloadEncryption) -> None:
        for text in ["not base64!", "AQ", "\u2603", "A" * 7]:
            with pytest.raises(DecryptionError):
                enc.decrypt_payload(text)

    def test_non_canonical_base64(self, enc: PayloadEncryption) -> None:
        text = enc.encrypt_text(b"abc")
        blob = from_text(text)
        assert to_text(blob) == text
        # Flip the unused low bits of the last character: same bytes, different text.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        if len(blob) % 3:
            last = alphabet.index(text[-1])
            tweaked = text[:-1] + alphabet[last | 1 if last % 2 == 0 else last & ~1]
            with pytest.raises(DecryptionError):
                enc.decrypt_payload(tweaked)

    def test_wrong_key(self, enc: PayloadEncryption) -> None:
        other = PayloadEncryption("encryption_key_1", keyring=Keyring.generate("encryption_key_1"))
        with pytest.raises(DecryptionError, match="authentication failed"):
            other.decrypt_payload(enc.encrypt_payload({"a": 1}))

    def test_not_json_serialisable(self, enc: PayloadEncryption) -> None:
        with pytest.raises(EncryptionError, match="not JSON-serialisable"):
            enc.encrypt_payload({"a": object()})

    def test_key_id_field_must_match(self, enc: PayloadEncryption) -> None:
        encrypted = enc.encrypt_payload({"a": 1})
        with pytest.raises(DecryptionError, match="key_id"):
            enc.decrypt_payload(encrypted.model_copy(update={"key_id": "encryption_key_1:v9"}))

    def test_not_a_payload(self, enc: PayloadEncryption) -> None:
        with pytest.raises(DecryptionError, match="EncryptedPayload"):
            enc.decrypt_payload({"ciphertext": 5})
        with pytest.raises(DecryptionError, match="cannot decrypt"):
            enc.decrypt_payload(12)  # type: ignore[arg-type]


def test_no_random_key_is_ever_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = os.urandom
    monkeypatch.setattr(os, "urandom", lambda n: calls.append(n) or real(n))
    monkeypatch.delenv("INFRA_SECURITY_KEYSET_FILE", raising=False)
    monkeypatch.delenv("INFRA_SECURITY_KEYSET", raising=False)
    with pytest.raises(KeyNotConfiguredError):
        PayloadEncryption("encryption_key_1")
    assert 32 not in calls


class TestNonces:
    def test_fork_never_shares_buffered_nonces(self) -> None:
        from infra_security.crypto._aead import fresh_nonce

        fresh_nonce()  # the parent's buffer is filled
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.write(write, fresh_nonce())
            os._exit(0)
        os.close(write)
        child = os.read(read, 12)
        os.close(read)
        os.waitpid(pid, 0)
        parent = fresh_nonce()
        assert len(child) == len(parent) == 12 and child != parent

    def test_threads_get_distinct_nonces(self) -> None:
        import threading

        from infra_security.crypto._aead import fresh_nonce

        seen: list[bytes] = []
        barrier = threading.Barrier(4)

        def work() -> None:
            barrier.wait()
            seen.extend(fresh_nonce() for _ in range(5000))

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(set(seen)) == 20000


class TestTransitWrappedKeyShape:
    """Issue 14 defect 6b without a server: a non-ASCII wrapped key is a DecryptionError before any call."""

    @pytest.mark.parametrize("garbage", [b"\xff", "é".encode(), b"\x00", b" "])
    def test_typed_error(self, garbage: bytes) -> None:
        from infra_security.crypto._transit import TransitEnvelope

        class NoServer:
            def __getattr__(self, name: str) -> object:
                raise AssertionError("no Transit call may happen for a malformed ciphertext")

        wrapped = b"vault:v1:" + b"QUJD" * 11 + garbage
        blob = bytes([2]) + len(wrapped).to_bytes(2, "big") + wrapped + b"\x01" + bytes(28)
        with pytest.raises(DecryptionError, match="malformed"):
            TransitEnvelope("orders", NoServer(), policy_ttl=float("inf")).open(blob, b"")
