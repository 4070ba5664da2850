"""Every single-byte change of a ciphertext is rejected: version, key id, nonce, body, tag."""

from __future__ import annotations

import pytest

from infra_security import DecryptionError, EncryptionError, Keyring, PayloadEncryption


@pytest.fixture
def enc() -> PayloadEncryption:
    ring = Keyring.generate("k")
    ring.rotate()  # key ids 1 (decrypt-only) and 2 (primary): a changed key id may name a real key
    return PayloadEncryption("k", keyring=ring)


def regions(blob: bytes) -> dict[int, str]:
    names = {0: "version", 1: "key id", 2: "key id", 3: "key id", 4: "key id", 5: "type"}
    names.update(dict.fromkeys(range(6, 18), "nonce"))
    names.update(dict.fromkeys(range(18, len(blob) - 16), "body"))
    names.update(dict.fromkeys(range(len(blob) - 16, len(blob)), "tag"))
    return names


def test_every_single_byte_change_rejected(enc: PayloadEncryption) -> None:
    blob = enc.encrypt({"amount": 100, "to": "alice"}, {"tenant": "acme"})
    seen = set()
    for index, region in regions(blob).items():
        for delta in (0x01, 0x80, 0xFF):
            tampered = bytearray(blob)
            tampered[index] ^= delta
            with pytest.raises(EncryptionError):  # DecryptionError, UnknownKeyError or KeyStateError
                enc.decrypt(bytes(tampered), {"tenant": "acme"})
        seen.add(region)
    assert seen == {"version", "key id", "type", "nonce", "body", "tag"}


def test_key_id_pointing_at_other_real_key_fails_authentication(enc: PayloadEncryption) -> None:
    blob = bytearray(enc.encrypt("x"))
    assert blob[4] == 2
    blob[4] = 1
    with pytest.raises(DecryptionError, match="authentication failed"):
        enc.decrypt(bytes(blob))


def test_appended_and_removed_bytes(enc: PayloadEncryption) -> None:
    blob = enc.encrypt("x")
    for bad in (blob + b"\x00", blob[:-1], blob[1:], b"\x01" + blob):
        with pytest.raises(EncryptionError):
            enc.decrypt(bad)


def test_swapped_between_tenants(enc: PayloadEncryption) -> None:
    a = enc.encrypt_payload({"v": 1}, {"tenant": "a"})
    b = enc.encrypt_payload({"v": 2}, {"tenant": "b"})
    swapped = a.model_copy(update={"ciphertext": b.ciphertext})
    with pytest.raises(DecryptionError):
        enc.decrypt_payload(swapped)


def test_unknown_version_named(enc: PayloadEncryption) -> None:
    blob = bytearray(enc.encrypt("x"))
    blob[0] = 9
    with pytest.raises(DecryptionError, match="format 9"):
        enc.decrypt(bytes(blob))


def test_large_ciphertext_written_in_place_is_checked_too(enc: PayloadEncryption) -> None:
    payload = bytes(range(256)) * 1024  # 256 KiB: the in-place path
    blob = enc.encrypt(payload, {"tenant": "acme"})
    assert enc.decrypt(blob, {"tenant": "acme"}) == payload
    for index in (0, 3, 5, 10, 20, 1000, len(blob) - 20, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[index] ^= 0x40
        with pytest.raises(EncryptionError):
            enc.decrypt(bytes(tampered), {"tenant": "acme"})
