"""Transit envelope encryption against the real OpenBao: data keys per message and per batch, rotation, rewrap."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import hvac
import pytest

from infra_security import DecryptionError, EncryptionError, PayloadEncryption, TransitError
from infra_security.crypto._transit import TransitEnvelope

pytestmark = pytest.mark.integration


@pytest.fixture
def transit(vault_addr: str, vault_token: str) -> Iterator[tuple[hvac.Client, str]]:
    """A Transit mount of this test only, enabled with hvac, with one aes256-gcm96 key."""
    client = hvac.Client(url=vault_addr, token=vault_token)
    mount = f"transit-{uuid.uuid4().hex[:12]}"
    client.sys.enable_secrets_engine("transit", path=mount)
    client.secrets.transit.create_key(name="orders", key_type="aes256-gcm96", mount_point=mount)
    try:
        yield client, mount
    finally:
        client.sys.disable_secrets_engine(path=mount)


def encryptor(transit: tuple[hvac.Client, str], **options: object) -> PayloadEncryption:
    client, mount = transit
    return PayloadEncryption("orders", backend=TransitEnvelope("orders", client, mount_point=mount, **options))


def test_round_trip_per_message(transit: tuple[hvac.Client, str]) -> None:
    enc = encryptor(transit)
    a = enc.encrypt_payload({"order": 1}, {"tenant": "acme"})
    b = enc.encrypt_payload(b"\x00raw", {"tenant": "acme"})
    assert a.key_id == "transit:orders:v1" and a.format_version == 2
    assert enc.decrypt_payload(a) == {"order": 1} and enc.decrypt_payload(b) == b"\x00raw"
    assert enc.backend.data_keys_issued == 2  # type: ignore[attr-defined]
    # Another process (no cache) decrypts with one Transit call.
    assert encryptor(transit).decrypt_payload(a) == {"order": 1}


def test_data_key_per_batch(transit: tuple[hvac.Client, str]) -> None:
    enc = encryptor(transit, messages_per_data_key=3)
    blobs = [enc.encrypt(i) for i in range(7)]
    headers = [blob[: 3 + int.from_bytes(blob[1:3], "big")] for blob in blobs]
    assert headers[0] == headers[1] == headers[2] != headers[3]
    assert enc.backend.data_keys_issued == 3  # type: ignore[attr-defined]
    assert [enc.decrypt(b) for b in blobs] == list(range(7))
    enc.backend.new_data_key()  # type: ignore[attr-defined]
    enc.encrypt("x")
    assert enc.backend.data_keys_issued == 4  # type: ignore[attr-defined]


def test_context_binding_and_tampering(transit: tuple[hvac.Client, str]) -> None:
    enc = encryptor(transit)
    blob = enc.encrypt({"a": 1}, {"tenant": "acme"})
    with pytest.raises(DecryptionError):
        enc.decrypt(blob, {"tenant": "other"})
    wrapped_end = 3 + int.from_bytes(blob[1:3], "big")
    for index in [0, 1, 2, 10, wrapped_end - 1, wrapped_end, wrapped_end + 12, len(blob) - 1]:
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(EncryptionError):  # DecryptionError, or TransitError for a broken wrapped key
            encryptor(transit).decrypt(bytes(tampered), {"tenant": "acme"})
    with pytest.raises(DecryptionError, match="truncated"):
        enc.decrypt(blob[:20], {"tenant": "acme"})


def test_rotation_rewrap_and_min_decryption_version(transit: tuple[hvac.Client, str]) -> None:
    client, mount = transit
    enc = encryptor(transit)
    old = enc.encrypt_payload({"v": 1})
    keep = enc.encrypt_text({"v": "kept"})
    client.secrets.transit.rotate_key(name="orders", mount_point=mount)
    new = enc.encrypt_payload({"v": 2})
    assert (old.key_id, new.key_id) == ("transit:orders:v1", "transit:orders:v2")
    moved = enc.rewrap(old)
    assert enc.key_of(moved) == "transit:orders:v2"
    client.secrets.transit.update_key_configuration(name="orders", min_decryption_version=2, mount_point=mount)
    fresh = encryptor(transit)  # no cached data keys
    assert fresh.decrypt_payload(moved) == {"v": 1}
    with pytest.raises(TransitError, match="Transit decrypt with key 'orders'"):
        fresh.decrypt_payload(keep)


def test_bad_token_is_a_clear_error(vault_addr: str, transit: tuple[hvac.Client, str]) -> None:
    _, mount = transit
    envelope = TransitEnvelope("orders", hvac.Client(url=vault_addr, token="wrong"), mount_point=mount)
    with pytest.raises(TransitError, match="token's policy"):
        PayloadEncryption("orders", backend=envelope).encrypt("x")


def test_local_keyring_ciphertext_is_not_a_transit_envelope(transit: tuple[hvac.Client, str]) -> None:
    from infra_security import Keyring

    local = PayloadEncryption("orders", keyring=Keyring.generate("orders")).encrypt("x")
    with pytest.raises(DecryptionError, match="not a Transit envelope"):
        encryptor(transit).decrypt(local)


def test_raised_min_decryption_version_stops_a_running_process(transit: tuple[hvac.Client, str]) -> None:
    """Issue 14 defect 6a: the data-key cache kept decrypting retired versions after the server retired them."""
    client, mount = transit
    enc = encryptor(transit, policy_ttl=0.5)
    old = enc.encrypt({"v": 1})
    assert enc.decrypt(old) == {"v": 1}  # its data key is now cached in this process
    client.secrets.transit.rotate_key(name="orders", mount_point=mount)
    new = enc.encrypt({"v": 2})
    client.secrets.transit.update_key_configuration(name="orders", min_decryption_version=2, mount_point=mount)
    time.sleep(0.6)  # the policy is re-read at most policy_ttl seconds later
    with pytest.raises(TransitError, match=r"too old|min_decryption_version 2"):
        enc.decrypt(old)
    with pytest.raises(TransitError):  # and not served from the cache on a second try either
        enc.decrypt(old)
    assert enc.decrypt(new) == {"v": 2}
    enc.backend.refresh_key_policy()  # type: ignore[attr-defined]
    assert enc.decrypt(new) == {"v": 2}


@pytest.mark.parametrize("garbage", [b"\xff", b"\x80\x81", "é".encode(), b":"])
def test_tampered_wrapped_key_is_a_typed_error(transit: tuple[hvac.Client, str], garbage: bytes) -> None:
    """Issue 14 defect 6b: a tampered wrapped key raised UnicodeDecodeError."""
    enc = encryptor(transit)
    blob = bytearray(enc.encrypt({"a": 1}))
    blob[12 : 12 + len(garbage)] = garbage  # inside "vault:v1:<base64>"
    with pytest.raises(DecryptionError, match="malformed"):
        encryptor(transit).decrypt(bytes(blob))


@pytest.mark.timeout(60)
def test_hung_openbao_fails_within_the_timeout(own_openbao: Any) -> None:
    """Issue 14 defect 1 for Transit: a SIGSTOPped OpenBao answers nothing; the call fails typed, within timeout."""
    root = hvac.Client(url=own_openbao.url, token=own_openbao.token)
    root.sys.enable_secrets_engine("transit", path="transit")
    root.secrets.transit.create_key(name="orders", mount_point="transit")
    envelope = TransitEnvelope("orders", url=own_openbao.url, token=own_openbao.token, timeout=1.0)
    enc = PayloadEncryption("orders", backend=envelope)
    blob = enc.encrypt({"a": 1})
    os.kill(own_openbao.process.pid, signal.SIGSTOP)  # this test's own server, never the shared one
    try:
        start = time.monotonic()
        with pytest.raises(TransitError):
            enc.encrypt({"b": 2})  # a new data key: one Transit call
        with pytest.raises(TransitError):
            PayloadEncryption("orders", backend=TransitEnvelope(
                "orders", url=own_openbao.url, token=own_openbao.token, timeout=1.0)).decrypt(blob)  # fmt: skip
        assert time.monotonic() - start < 2 * 1.0 + 2.0
    finally:
        os.kill(own_openbao.process.pid, signal.SIGCONT)
