"""CredentialCache with a fake provider and an injected clock: TTL + jitter, single flight, stale-if-error."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest
from pydantic import SecretStr

from infra_security.credentials._cache import CredentialCache
from infra_security.credentials._providers import Secret
from infra_security.errors import CredentialBackendError, CredentialNotFoundError, CredentialStaleError


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeVault:
    def __init__(self, clock: Clock | None = None) -> None:
        self.value = "v1"
        self.calls = 0
        self.down = False
        self.missing = False
        self.delay = 0.0
        self.lease: float | None = None

    def __call__(self, key: str) -> Secret:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)  # a slow Vault, so concurrent callers overlap
        if self.down:
            raise CredentialBackendError("cannot reach Vault at http://127.0.0.1:1")
        if self.missing:
            raise CredentialNotFoundError(f"nothing at {key}")
        return Secret(key, {"password": SecretStr(self.value)}, "fake", lease_duration=self.lease)


def make(clock: Clock, vault: FakeVault, **kw: float) -> CredentialCache:
    options: dict[str, float] = {"ttl": 60.0, "jitter": 0.0, "stale_if_error": 30.0, "backoff": 1.0}
    options.update(kw)
    return CredentialCache(vault, clock=clock, rng=random.Random(1), **options)  # type: ignore[arg-type]


class TestFreshness:
    def test_hit_until_ttl_then_refetch(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault)
        cache.get_sync("k")
        clock.now += 59.9
        cache.get_sync("k")
        assert vault.calls == 1
        clock.now += 0.2
        cache.get_sync("k")
        assert vault.calls == 2

    def test_jitter_shortens_ttl_within_bound(self) -> None:
        clock, vault = Clock(), FakeVault()
        lifetimes = []
        for seed in range(20):
            cache = CredentialCache(vault, ttl=100, jitter=0.2, clock=clock, rng=random.Random(seed))
            cache.get_sync("k")
            entry = cache.peek("k")
            assert entry is not None
            lifetimes.append(entry.fresh_until - entry.fetched_at)
        assert all(80 <= x <= 100 for x in lifetimes)
        assert len(set(lifetimes)) > 10

    def test_leased_secret_fresh_for_nine_tenths_of_lease(self) -> None:
        clock, vault = Clock(), FakeVault()
        vault.lease = 30.0
        cache = make(clock, vault)
        cache.get_sync("k")
        entry = cache.peek("k")
        assert entry is not None and entry.fresh_until - entry.fetched_at == pytest.approx(27.0)


class TestSingleFlight:
    def test_fifty_threads_one_fetch(self) -> None:
        vault = FakeVault()
        vault.delay = 0.05
        cache = CredentialCache(vault, ttl=60)
        barrier = threading.Barrier(50)
        results: list[str] = []

        def worker() -> None:
            barrier.wait()
            results.append(cache.get_sync("k").field("password").get_secret_value())

        threads = [threading.Thread(target=worker) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert vault.calls == 1
        assert results == ["v1"] * 50

    def test_fifty_coroutines_one_fetch(self) -> None:
        vault = FakeVault()
        vault.delay = 0.05
        cache = CredentialCache(vault, ttl=60)

        async def main() -> list[Secret]:
            return await asyncio.gather(*(cache.get("k") for _ in range(50)))

        assert len(asyncio.run(main())) == 50
        assert vault.calls == 1

    def test_failure_reaches_every_waiter(self) -> None:
        vault = FakeVault()
        vault.down = True
        cache = CredentialCache(vault, ttl=60)

        async def main() -> list[object]:
            return await asyncio.gather(*(cache.get("k") for _ in range(10)), return_exceptions=True)

        outcomes = asyncio.run(main())
        assert all(isinstance(o, CredentialBackendError) for o in outcomes)


class TestStaleIfError:
    def test_serves_stale_within_bound_then_fails_clearly(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault)
        cache.get_sync("k")
        vault.down = True
        clock.now += 61  # expired, Vault down: stale value
        assert cache.get_sync("k").field("password").get_secret_value() == "v1"
        clock.now += 28  # 29 s past fresh: still within stale_if_error=30
        assert cache.get_sync("k").field("password").get_secret_value() == "v1"
        clock.now += 2
        with pytest.raises(CredentialStaleError, match="beyond stale_if_error=30s"):
            cache.get_sync("k")

    def test_backoff_in_seconds_limits_calls(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault, stale_if_error=1000, backoff=1.0, max_backoff=8.0)
        cache.get_sync("k")
        vault.down = True
        clock.now += 61
        calls = []
        for _ in range(40):  # 40 gets over 20 s
            cache.get_sync("k")
            calls.append(vault.calls)
            clock.now += 0.5
        # 1 initial + retries at +0, +1, +3, +7, +15 (backoff 1, 2, 4, 8, 8 s): 6 provider calls, not 40
        assert vault.calls == 6
        entry = cache.peek("k")
        assert entry is not None and entry.retry_at - clock.now <= 8.0

    def test_recovers_when_vault_returns(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault)
        cache.get_sync("k")
        vault.down = True
        clock.now += 61
        cache.get_sync("k")
        vault.down = False
        vault.value = "v2"
        clock.now += 1.0  # after the first backoff
        assert cache.get_sync("k").field("password").get_secret_value() == "v2"

    def test_never_served_past_lease_end(self) -> None:
        clock, vault = Clock(), FakeVault()
        vault.lease = 30.0
        cache = make(clock, vault, stale_if_error=1000)
        cache.get_sync("k")
        vault.down = True
        clock.now += 25
        cache.get_sync("k")
        clock.now += 6
        with pytest.raises(CredentialStaleError):
            cache.get_sync("k")

    def test_first_fetch_failure_is_raised(self) -> None:
        vault = FakeVault()
        vault.down = True
        with pytest.raises(CredentialBackendError, match="cannot reach Vault"):
            make(Clock(), vault).get_sync("k")

    def test_not_found_is_never_masked_by_stale(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault)
        cache.get_sync("k")
        vault.missing = True
        clock.now += 61
        with pytest.raises(CredentialNotFoundError):
            cache.get_sync("k")
        assert cache.peek("k") is None


class TestRotation:
    def test_callback_on_first_load_and_change_only(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault)
        seen: list[tuple[str | None, str]] = []

        def cb(key: str, old: Secret | None, new: Secret) -> None:
            seen.append((old.values()["password"] if old else None, new.values()["password"]))

        cache.on_rotation(cb)
        cache.get_sync("k")
        clock.now += 61
        cache.get_sync("k")  # same value: no callback
        vault.value = "v2"
        clock.now += 61
        cache.get_sync("k")
        assert seen == [(None, "v1"), ("v1", "v2")]

    def test_failing_callback_does_not_break_get(self) -> None:
        clock, vault = Clock(), FakeVault()
        cache = make(clock, vault)

        def boom(key: str, old: Secret | None, new: Secret) -> None:
            raise RuntimeError("pool rebuild failed")

        cache.on_rotation(boom)
        assert cache.get_sync("k").path == "k"


class TestSecretValue:
    def test_repr_hides_values(self) -> None:
        secret = Secret("p", {"password": SecretStr("hunter2")}, "fake")
        assert "hunter2" not in repr(secret)

    def test_missing_field_names_fields(self) -> None:
        with pytest.raises(CredentialNotFoundError, match=r"no field `api_key` \(fields: password\)"):
            Secret("p", {"password": SecretStr("x")}, "fake").field("api_key")
