"""Keyring: states, rotation, rewrap, keyset files (permissions, format), usage limit."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from infra_security import (
    DecryptionError,
    Keyring,
    KeysetError,
    KeyState,
    KeyStateError,
    KeyUsageExceededError,
    MemoryCounter,
    PayloadEncryption,
    UnknownKeyError,
)
from infra_security.crypto._usage import NIST_RANDOM_NONCE_LIMIT, ReservingCounter


@pytest.fixture
def keyset_path(tmp_path: Path) -> Path:
    path = tmp_path / "keyset.json"
    Keyring.generate("orders").save(path)
    return path


class TestRotation:
    def test_rotate_then_old_ciphertexts_still_open(self) -> None:
        ring = Keyring.generate("orders")
        enc = PayloadEncryption("orders", keyring=ring)
        old = enc.encrypt_payload({"n": 1})
        assert ring.rotate() == 2
        new = enc.encrypt_payload({"n": 2})
        assert (old.key_id, new.key_id) == ("orders:v1", "orders:v2")
        assert enc.decrypt_payload(old) == {"n": 1}
        assert [(k.key_id, k.state) for k in ring.list_keys()] == [(1, KeyState.DECRYPT_ONLY), (2, KeyState.PRIMARY)]

    def test_rewrap_moves_to_primary_and_keeps_form(self) -> None:
        ring = Keyring.generate("orders")
        enc = PayloadEncryption("orders", keyring=ring)
        model, text, blob = enc.encrypt_payload("m", {"t": "1"}), enc.encrypt_text("t"), enc.encrypt("b")
        ring.rotate()
        new_model = enc.rewrap(model)
        new_text, new_blob = enc.rewrap(text), enc.rewrap(blob)
        assert isinstance(new_text, str) and isinstance(new_blob, bytes)
        assert enc.key_of(new_model) == enc.key_of(new_text) == enc.key_of(new_blob) == "orders:v2"
        ring.set_state(1, KeyState.DISABLED)
        assert enc.decrypt_payload(new_model) == "m"
        assert (enc.decrypt_payload(new_text), enc.decrypt_payload(new_blob)) == ("t", "b")
        with pytest.raises(KeyStateError, match="disabled"):
            enc.decrypt_payload(model)

    def test_rewrap_refuses_wrong_context(self) -> None:
        ring = Keyring.generate("orders")
        enc = PayloadEncryption("orders", keyring=ring)
        blob = enc.encrypt("x", {"t": "a"})
        ring.rotate()
        with pytest.raises(DecryptionError):
            enc.rewrap(blob, {"t": "b"})


class TestStates:
    def test_disabled_key_cannot_decrypt_and_can_be_enabled(self) -> None:
        ring = Keyring.generate("k")
        enc = PayloadEncryption("k", keyring=ring)
        blob = enc.encrypt("x")
        ring.rotate()
        ring.set_state(1, KeyState.DISABLED)
        with pytest.raises(KeyStateError, match="keys enable"):
            enc.decrypt(blob)
        ring.set_state(1, KeyState.DECRYPT_ONLY)
        assert enc.decrypt(blob) == "x"

    def test_destroyed_key_is_gone_for_good(self) -> None:
        ring = Keyring.generate("k")
        enc = PayloadEncryption("k", keyring=ring)
        blob = enc.encrypt("x")
        ring.rotate()
        ring.set_state(1, KeyState.DESTROYED)
        assert b'"material": null' in ring.to_json() or b'"material":null' in ring.to_json()
        with pytest.raises(KeyStateError, match="destroyed"):
            enc.decrypt(blob)
        with pytest.raises(KeyStateError, match="destroyed"):
            ring.set_state(1, KeyState.DECRYPT_ONLY)

    def test_primary_cannot_be_disabled(self) -> None:
        ring = Keyring.generate("k")
        with pytest.raises(KeyStateError, match="primary"):
            ring.set_state(1, KeyState.DISABLED)

    def test_unknown_key(self) -> None:
        ring = Keyring.generate("k")
        enc = PayloadEncryption("k", keyring=ring)
        blob = bytearray(enc.encrypt("x"))
        blob[1:5] = (77).to_bytes(4, "big")
        with pytest.raises(UnknownKeyError, match="k:v77"):
            enc.decrypt(bytes(blob))
        with pytest.raises(UnknownKeyError):
            ring.set_state(77, KeyState.DISABLED)

    def test_promote_older_key(self) -> None:
        ring = Keyring.generate("k")
        ring.rotate()
        ring.set_state(1, KeyState.PRIMARY)
        assert ring.primary_id == 1
        assert [k.state for k in ring.list_keys()] == [KeyState.PRIMARY, KeyState.DECRYPT_ONLY]


class TestKeysetFile:
    def test_saved_with_0600_and_reloaded(self, keyset_path: Path) -> None:
        assert keyset_path.stat().st_mode & 0o777 == 0o600
        ring = Keyring.load(keyset_path)
        assert ring.name == "orders" and ring.primary_id == 1

    @pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o620])
    def test_group_or_world_access_refused(self, keyset_path: Path, mode: int) -> None:
        keyset_path.chmod(mode)
        with pytest.raises(KeysetError, match="chmod 600"):
            Keyring.load(keyset_path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(KeysetError, match="not found"):
            Keyring.load(tmp_path / "nope.json")

    @pytest.mark.parametrize(
        ("mutate", "message"),
        [
            (lambda d: "not json", "not a JSON keyset"),
            (lambda d: {**d, "type": "x"}, "not an infra-security keyset"),
            (lambda d: {**d, "version": 2}, "unsupported keyset version"),
            (lambda d: {k: v for k, v in d.items() if k != "name"}, "`name` is missing"),
            (lambda d: {**d, "keys": [{**d["keys"][0], "state": "weird"}]}, "`state` must be one of"),
            (lambda d: {**d, "keys": [{**d["keys"][0], "material": "AAAA"}]}, "must be 32 bytes"),
            (lambda d: {**d, "keys": [{**d["keys"][0], "material": "!!"}]}, "not base64url"),
            (lambda d: {**d, "keys": [{**d["keys"][0], "id": 0}]}, "`id` must be in"),
            (lambda d: {**d, "keys": [d["keys"][0], d["keys"][0]]}, "duplicate key ids"),
            (lambda d: {**d, "keys": [d["keys"][0], {**d["keys"][0], "id": 2}]}, "more than one primary"),
            (lambda d: {**d, "keys": [{**d["keys"][0], "encryptions": -1}]}, "non-negative"),
        ],
    )
    def test_bad_format_named(self, keyset_path: Path, mutate: object, message: str) -> None:
        doc = json.loads(keyset_path.read_text())
        new = mutate(doc)  # type: ignore[operator]
        keyset_path.write_text(new if isinstance(new, str) else json.dumps(new))
        with pytest.raises(KeysetError, match=message):
            Keyring.load(keyset_path)

    def test_file_changes_are_persisted(self, keyset_path: Path) -> None:
        ring = Keyring.load(keyset_path)
        ring.rotate()
        ring.set_state(1, KeyState.DISABLED)
        again = Keyring.load(keyset_path)
        assert [(k.key_id, k.state) for k in again.list_keys()] == [(1, KeyState.DISABLED), (2, KeyState.PRIMARY)]
        assert keyset_path.stat().st_mode & 0o777 == 0o600
        assert not [p for p in keyset_path.parent.iterdir() if p.name.endswith(".tmp")]


class TestUsageLimit:
    def test_limit_enforced_with_injected_counter(self) -> None:
        counter = MemoryCounter({1: NIST_RANDOM_NONCE_LIMIT - 2})
        enc = PayloadEncryption("k", keyring=Keyring.generate("k", counter=counter))
        enc.encrypt("one")
        enc.encrypt("two")  # the 2^32-th encryption is the last allowed
        with pytest.raises(KeyUsageExceededError, match="keys rotate"):
            enc.encrypt("three")
        assert counter.count(1) == NIST_RANDOM_NONCE_LIMIT + 1

    def test_auto_rotate_before_the_bound(self, keyset_path: Path) -> None:
        counter = MemoryCounter({1: 99})
        ring = Keyring.load(keyset_path, counter=counter, usage_limit=100, auto_rotate=True)
        enc = PayloadEncryption("orders", keyring=ring)
        first = enc.encrypt_payload("a")
        second = enc.encrypt_payload("b")
        assert (first.key_id, second.key_id) == ("orders:v1", "orders:v2")
        assert Keyring.load(keyset_path).primary_id == 2  # the rotation was saved
        assert enc.decrypt_payload(first) == "a"

    def test_counts_are_persisted_in_reservations(self, keyset_path: Path) -> None:
        ring = Keyring.load(keyset_path, reserve_block=10)
        enc = PayloadEncryption("orders", keyring=ring)
        for _ in range(25):
            enc.encrypt("x")
        stored = json.loads(keyset_path.read_text())["keys"][0]["encryptions"]
        assert stored == 30  # three blocks of 10 reserved: an upper bound of the 25 done
        # A restarted process continues after the reservation, never below it.
        again = Keyring.load(keyset_path, reserve_block=10)
        PayloadEncryption("orders", keyring=again).encrypt("x")
        assert again.list_keys()[0].encryptions == 31

    def test_two_processes_never_undercount(self, keyset_path: Path) -> None:
        a = Keyring.load(keyset_path, reserve_block=5)
        b = Keyring.load(keyset_path, reserve_block=5)
        for _ in range(7):
            PayloadEncryption("orders", keyring=a).encrypt("x")
            PayloadEncryption("orders", keyring=b).encrypt("x")
        stored = json.loads(keyset_path.read_text())["keys"][0]["encryptions"]
        assert stored >= 14

    def test_reserving_counter_threads(self) -> None:
        recorded = {"ceiling": 0}

        def reserve(key_id: int, block: int) -> int:
            recorded["ceiling"] += block
            return recorded["ceiling"]

        counter = ReservingCounter({}, reserve, block=7)
        threads = [threading.Thread(target=lambda: [counter.add(1) for _ in range(500)]) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert counter.count(1) == 2000
        assert recorded["ceiling"] >= 2000

    def test_limit_must_respect_nist_bound(self) -> None:
        with pytest.raises(ValueError, match="2\\^32"):
            Keyring.generate("k", usage_limit=NIST_RANDOM_NONCE_LIMIT + 1)


def test_keyset_json_never_in_repr() -> None:
    ring = Keyring.generate("k")
    material = json.loads(ring.to_json())["keys"][0]["material"]
    assert material not in repr(ring) and material not in str(ring.list_keys())
    assert os.urandom(1)  # sanity: the module does not patch urandom


def test_reservations_grow_from_small_blocks(keyset_path: Path) -> None:
    ring = Keyring.load(keyset_path, reserve_block=16, first_reserve_block=2)
    enc = PayloadEncryption("orders", keyring=ring)
    stored = set()
    for _ in range(20):
        enc.encrypt("x")
        stored.add(json.loads(keyset_path.read_text())["keys"][0]["encryptions"])
    assert sorted(stored) == [2, 6, 14, 30]  # blocks of 2, 4, 8, 16


def test_encrypting_threads_during_rotations() -> None:
    ring = Keyring.generate("k")
    enc = PayloadEncryption("k", keyring=ring)
    blobs: list[bytes] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait()
        try:
            blobs.extend(enc.encrypt(b"x") for _ in range(3000))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    barrier.wait()
    for _ in range(50):
        ring.rotate()
    for t in threads:
        t.join()
    assert not errors
    assert len(blobs) == 9000 and all(enc.decrypt(b) == b"x" for b in blobs)
    assert ring.primary_id == 51


def test_seal_labelled_names_the_key_that_sealed_even_during_rotations() -> None:
    ring = Keyring.generate("k")
    sealed: list[tuple[bytes, str]] = []
    barrier = threading.Barrier(3)

    def work() -> None:
        barrier.wait()
        sealed.extend(ring.seal_labelled(b"x", b"ctx", 1) for _ in range(3000))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    barrier.wait()
    for _ in range(30):
        ring.rotate()
    for t in threads:
        t.join()
    assert len(sealed) == 6000
    for blob, label in sealed:
        assert label == f"k:v{ring.key_id_of(blob)}" == ring.label_of(blob)
        assert ring.open(blob, b"ctx") == (1, b"x")
    assert ring.list_keys()[0].encryptions + sum(k.encryptions for k in ring.list_keys()[1:]) == 6000


def test_reload_sees_another_process_rotation(keyset_path: Path) -> None:
    ours, theirs = Keyring.load(keyset_path), Keyring.load(keyset_path)
    theirs.rotate()
    blob = PayloadEncryption("orders", keyring=theirs).encrypt("x")
    with pytest.raises(UnknownKeyError):
        PayloadEncryption("orders", keyring=ours).decrypt(blob)
    ours.reload()
    assert ours.primary_id == 2 and PayloadEncryption("orders", keyring=ours).decrypt(blob) == "x"
    with pytest.raises(KeysetError, match="nothing to reload"):
        Keyring.generate("k").reload()


class TestMemoryCounterThreadBlocks:
    """Threads count in blocks reserved under a lock; the limit must hold and the count must stay honest."""

    @staticmethod
    def _run(threads: int, target: Callable[[int], None]) -> None:
        start = threading.Barrier(threads)

        def run(index: int) -> None:
            start.wait()
            target(index)

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()

    def test_every_use_gets_a_distinct_number_and_the_count_is_exact(self) -> None:
        counter = MemoryCounter({1: 10}, block=64)
        numbers: list[list[int]] = [[] for _ in range(8)]
        self._run(8, lambda i: numbers[i].extend(counter.add(1) for _ in range(3001)))  # ends mid-block
        merged = [n for part in numbers for n in part]
        assert len(set(merged)) == len(merged) == 8 * 3001
        assert min(merged) == 11
        assert counter.count(1) == 10 + 8 * 3001  # the threads ended holding unused numbers: not counted
        assert counter.count(2) == 0

    def test_numbers_a_live_thread_holds_are_not_counted(self) -> None:
        counter = MemoryCounter()
        used, release = threading.Event(), threading.Event()

        def hold() -> None:
            for _ in range(4):  # blocks of 1, 2 and 4 numbers: 7 reserved, 4 used
                counter.add(1)
            used.set()
            release.wait(5)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert used.wait(5)
            assert counter.count(1) == 4
            assert counter.add(1) == 8  # this thread gets the next number after the reservation
            assert counter.count(1) == 5
        finally:
            release.set()
            holder.join()
        assert counter.count(1) == 5  # still exact once the holder ended with 3 unused numbers

    def test_a_keyring_never_exceeds_its_limit_under_threads(self) -> None:
        ring = Keyring.generate("k", usage_limit=5000, counter=MemoryCounter(block=256))
        sealed: list[list[bytes]] = [[] for _ in range(8)]
        refused = [0] * 8

        def encrypt(i: int) -> None:
            for _ in range(1000):
                try:
                    sealed[i].append(ring.seal(b"x", b""))
                except KeyUsageExceededError:
                    refused[i] += 1

        self._run(8, encrypt)
        done = sum(len(part) for part in sealed)
        assert done <= 5000
        assert done >= 5000 - 8 * 256  # other threads' unused numbers are the only shortfall
        assert done + sum(refused) == 8000
        assert ring.list_keys()[0].encryptions == 8000  # refused attempts took numbers too, as before

    def test_rotation_under_threads_keeps_every_key_under_its_limit(self) -> None:
        ring = Keyring.generate("k", usage_limit=1000, auto_rotate=True, counter=MemoryCounter(block=32))
        labels: list[list[str]] = [[] for _ in range(4)]
        blobs: list[bytes] = []

        def encrypt(i: int) -> None:
            for n in range(2000):
                blob, label = ring.seal_labelled(n.to_bytes(2, "big"), b"")
                labels[i].append(label)
                if n % 100 == 0:
                    blobs.append(blob)

        self._run(4, encrypt)
        per_key: dict[str, int] = {}
        for part in labels:
            for label in part:
                per_key[label] = per_key.get(label, 0) + 1
        assert sum(per_key.values()) == 8000
        assert max(per_key.values()) <= 1000 and len(per_key) >= 8
        counted = {f"k:v{k.key_id}": k.encryptions for k in ring.list_keys()}
        for label, uses in per_key.items():
            assert uses <= counted[label] <= 1000 + 4  # at most one refused number per thread on top
        for blob in blobs:
            assert ring.open(blob, b"")[1]
