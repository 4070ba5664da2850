"""Issue 14 defect 10: the smaller items, each with the test that tries to break its fix."""

from __future__ import annotations

import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from infra_models.security import RateLimitPolicy
from infra_security.credentials._leases import LeaseKeeper
from infra_security.crypto._aead import from_text, to_text
from infra_security.crypto._encryption import PayloadEncryption
from infra_security.crypto._keyring import Keyring
from infra_security.crypto._keyset_file import write_private_file
from infra_security.errors import DecryptionError, EncryptionError, RateLimitPolicyError
from infra_security.ratelimit._core import compile_policy
from infra_security.ratelimit._limiter import RateLimiter


class TestPolicyNames:
    def test_colon_in_a_policy_name_is_refused(self) -> None:
        with pytest.raises(RateLimitPolicyError, match="contains `:`"):
            compile_policy(RateLimitPolicy(name="api:v1", limit=5, period_seconds=60))

    def test_limiter_refuses_it_at_construction(self) -> None:
        with pytest.raises(RateLimitPolicyError):
            RateLimiter(default=RateLimitPolicy(name="a:b", limit=5, period_seconds=60))


class TestWeights:
    @pytest.mark.parametrize("weight", [0.5, 1.5, 1.0, True, float("nan"), float("inf")])
    def test_non_integer_weight_is_refused(self, weight: Any) -> None:
        limiter = RateLimiter(default=RateLimitPolicy(name="p", limit=5, period_seconds=60))
        with pytest.raises(RateLimitPolicyError, match="whole number"):
            limiter.hit(client="c", endpoint="e", weight=weight)
        assert limiter.hit(client="c", endpoint="e").remaining == 4  # nothing was recorded by the refused call


class TestNonFinitePayloads:
    @pytest.mark.parametrize("payload", [{"x": math.nan}, [math.inf], {"a": [{"b": -math.inf}]}, math.nan])
    def test_refused_not_turned_into_null(self, payload: Any) -> None:
        enc = PayloadEncryption("k", keyring=Keyring.generate("k"))
        with pytest.raises(EncryptionError, match="JSON cannot represent"):
            enc.encrypt(payload)

    def test_null_and_the_string_null_still_work(self) -> None:
        enc = PayloadEncryption("k", keyring=Keyring.generate("k"))
        for value in ({"x": None}, ["null", None, 1.5], None):
            assert enc.decrypt(enc.encrypt(value)) == value


class TestKeysetWrites:
    def test_failed_write_leaves_no_tmp_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        import infra_security.crypto._keyset_file as keyset_file

        def full(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(keyset_file.os, "fsync", full)
        with pytest.raises(OSError, match="No space"):
            write_private_file(tmp_path / "keyset.json", b"{}")
        assert os.listdir(tmp_path) == []


class TestMasking:
    def test_mask_does_not_reveal_the_length(self, tmp_path: Path) -> None:
        from typer.testing import CliRunner

        from infra_security.cli import app

        (tmp_path / "svc").mkdir()
        outputs = []
        for value in ("ab", "a-much-longer-secret-value"):
            (tmp_path / "svc" / "api_key").write_text(value)
            args = ["credentials", "get", "api_key", "svc", "--provider", "file", "--directory", str(tmp_path)]
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0, result.output
            outputs.append(result.output.rsplit(":", 1)[1].strip())
        assert outputs == ["********", "********"]


class TestStrictText:
    def test_padding_is_refused(self) -> None:
        enc = PayloadEncryption("k", keyring=Keyring.generate("k"))
        text = enc.encrypt_text({"a": 1})
        padded = text + "=" * (-len(text) % 4 or 4)
        with pytest.raises(DecryptionError, match="unpadded"):
            enc.decrypt_payload(padded)
        assert from_text(to_text(b"abc")) == b"abc"


class TestLeaseKeeperRaces:
    def _keeper(self) -> LeaseKeeper:
        return LeaseKeeper(object(), can_reauth=False)  # type: ignore[arg-type]

    def test_lease_tracked_during_a_tick_is_not_slept_through(self) -> None:
        keeper = self._keeper()
        second = threading.Event()
        calls: list[float] = []

        def tick() -> float:
            calls.append(time.monotonic())
            if len(calls) == 1:
                keeper.track("k", "lease-1", 3600, True)  # arrives while the first tick runs
            else:
                second.set()
            return 60.0  # nothing due for a minute, as far as the first tick knew

        keeper.tick = tick  # type: ignore[method-assign]
        keeper.start()
        try:
            assert second.wait(3), "the lease added during tick() waited for the 60 s timeout (lost wake-up)"
        finally:
            keeper.stop()

    def test_concurrent_start_runs_one_thread(self) -> None:
        keeper = self._keeper()
        keeper.tick = lambda: 60.0  # type: ignore[method-assign]

        class SlowClear(threading.Event):
            def clear(self) -> None:
                time.sleep(0.05)  # widen the window between the check and the assignment
                super().clear()

        keeper._stop = SlowClear()
        barrier = threading.Barrier(6)

        def go() -> None:
            barrier.wait()
            keeper.start()

        starters = [threading.Thread(target=go) for _ in range(6)]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        try:
            running = [t for t in threading.enumerate() if t.name == "infra-security-leases" and t.is_alive()]
            assert len(running) == 1
        finally:
            keeper.stop()
            for t in threading.enumerate():
                if t.name == "infra-security-leases":
                    t.join(1)


class TestKeyringExhaustionRace:
    def test_racing_encryptions_at_the_limit_rotate_once(self) -> None:
        ring = Keyring.generate("k", usage_limit=2, auto_rotate=True)
        ring.seal(b"x", b"")
        ring.seal(b"x", b"")  # the primary has now used its two encryptions
        real_rotate = ring.rotate

        def slow_rotate() -> int:
            time.sleep(0.1)  # both threads are past the check before either rotates (without the fix)
            return real_rotate()

        ring.rotate = slow_rotate  # type: ignore[method-assign]
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def encrypt() -> None:
            barrier.wait()
            try:
                ring.seal(b"y", b"")
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=encrypt) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(ring.list_keys()) == 2, [k.to_dict() for k in ring.list_keys()]  # one rotation, not two
        assert errors == []  # the new key has room for both


def test_memory_counter_reads_its_count_without_deprecated_itertools_pickling() -> None:
    """Python 3.13 deprecates (3.14 removes) ``itertools.count.__reduce__``, which the counter used to read."""
    import warnings

    from infra_security.crypto import MemoryCounter

    counter = MemoryCounter({7: 41})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert counter.add(7) == 42 and counter.count(7) == 42 and counter.count(8) == 0
    threads = [threading.Thread(target=lambda: [counter.add(9) for _ in range(2000)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.count(9) == 16_000  # exact under threads
