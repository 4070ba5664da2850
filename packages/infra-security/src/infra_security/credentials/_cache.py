"""An in-process credential cache: TTL with jitter, single flight, bounded stale-if-error, rotation callbacks.

One cache serves sync and async callers alike. A missing or expired key is fetched once however many callers
ask at the same moment (the others wait on the same future). When the provider fails, the last value is served
for at most ``stale_if_error`` seconds past its freshness (never past a lease's end), with retries spaced by a
capped exponential backoff in seconds; after that the failure is raised as :class:`CredentialStaleError`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from infra_security.credentials._providers import Secret
from infra_security.errors import CredentialBackendError, CredentialStaleError

__all__ = ["CacheEntry", "CredentialCache", "RotationCallback"]

_log = logging.getLogger("infra_security.credentials")

#: ``callback(key, old, new)``: called after a key's value changed (``old`` is None on first load).
RotationCallback = Callable[[str, Secret | None, Secret], None]


@dataclass
class CacheEntry:
    """A cached secret and its deadlines (clock seconds)."""

    secret: Secret
    fetched_at: float
    fresh_until: float
    hard_until: float
    """Never served after this instant, even when stale (a lease's end)."""
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None


class CredentialCache:
    """Cache ``fetch(key) -> Secret`` results.

    ``ttl`` seconds of freshness, shortened by up to ``jitter`` (a fraction) so many processes do not refresh
    together; ``stale_if_error`` seconds of grace when the provider fails; ``clock`` and ``rng`` injectable.

    Example:
        >>> from pydantic import SecretStr
        >>> calls = []
        >>> cache = CredentialCache(lambda k: calls.append(k) or Secret(k, {"v": SecretStr("1")}, "test"), ttl=60)
        >>> cache.get_sync("a").path, cache.get_sync("a").path, calls
        ('a', 'a', ['a'])
    """

    def __init__(
        self,
        fetch: Callable[[str], Secret],
        *,
        ttl: float = 300.0,
        jitter: float = 0.1,
        stale_if_error: float = 60.0,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if ttl <= 0 or not 0 <= jitter < 1 or stale_if_error < 0:
            raise ValueError("ttl must be > 0, jitter in [0, 1), stale_if_error >= 0")
        self._fetch = fetch
        self.ttl = ttl
        self.jitter = jitter
        self.stale_if_error = stale_if_error
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._entries: dict[str, CacheEntry] = {}
        self._flights: dict[str, Future[Secret]] = {}
        self._lock = threading.Lock()
        self._callbacks: list[RotationCallback] = []
        #: Provider calls made (for tests and metrics).
        self.fetches = 0

    def on_rotation(self, callback: RotationCallback) -> None:
        """Call ``callback(key, old, new)`` whenever a key's value changes (including the first load)."""
        self._callbacks.append(callback)

    def peek(self, key: str) -> CacheEntry | None:
        """The cached entry, fresh or not, without fetching."""
        return self._entries.get(key)

    def items(self) -> list[tuple[str, CacheEntry]]:
        """A copy of the cached keys and entries."""
        with self._lock:
            return list(self._entries.items())

    def invalidate(self, key: str | None = None) -> None:
        """Drop one key (or all): the next get fetches."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    def extend(self, key: str, fresh_until: float, hard_until: float) -> None:
        """Move a key's deadlines (a lease was renewed)."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.fresh_until = fresh_until
            entry.hard_until = hard_until

    def get_sync(self, key: str) -> Secret:
        """Return a fresh secret, fetching at most once across concurrent callers."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.fresh_until:
            return entry.secret
        flight, leader = self._join(key)
        if leader:
            self._run(key, flight)
        return flight.result()

    async def get(self, key: str) -> Secret:
        """Async twin of :meth:`get_sync`: the provider call runs in a worker thread."""
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.fresh_until:
            return entry.secret
        flight, leader = self._join(key)
        if leader:
            await asyncio.to_thread(self._run, key, flight)
        return await asyncio.wrap_future(flight)

    def refresh(self, key: str) -> Secret:
        """Fetch now regardless of freshness (single flight still applies)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.fresh_until = min(entry.fresh_until, self._clock())
        return self.get_sync(key)

    # -- internals ---------------------------------------------------------------------------------------------

    def _join(self, key: str) -> tuple[Future[Secret], bool]:
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            entry = self._entries.get(key)
            now = self._clock()
            if entry is not None and now < entry.fresh_until:
                done: Future[Secret] = Future()
                done.set_result(entry.secret)
                return done, False
            if entry is not None and entry.failures and now < entry.retry_at:
                # Backing off after a failure: answer from the stale value (or fail) without calling out.
                done = Future()
                try:
                    done.set_result(self._stale_or_raise(key, entry, now, None))
                except CredentialStaleError as exc:
                    done.set_exception(exc)
                return done, False
            flight = Future()
            self._flights[key] = flight
            return flight, True

    def _run(self, key: str, flight: Future[Secret]) -> None:
        old = self._entries.get(key)
        try:
            self.fetches += 1
            secret = self._fetch(key)
        except CredentialBackendError as exc:
            with self._lock:
                self._flights.pop(key, None)
                entry = self._entries.get(key)
                if entry is None:
                    flight.set_exception(exc)
                    return
                now = self._clock()
                entry.failures += 1
                entry.last_error = exc.message
                entry.retry_at = now + min(self.max_backoff, self.backoff * 2 ** (entry.failures - 1))
                try:
                    flight.set_result(self._stale_or_raise(key, entry, now, exc))
                except CredentialStaleError as stale:
                    flight.set_exception(stale)
            return
        except BaseException as exc:
            with self._lock:
                self._flights.pop(key, None)
                # Not found / misconfigured: the old value must not be served as if nothing happened.
                self._entries.pop(key, None)
            flight.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        now = self._clock()
        fresh_for = self.ttl * (1.0 - self.jitter * self._rng.random())
        hard_until = float("inf")
        if secret.lease_duration:
            # A leased secret stays fresh for 9/10 of its lease: the lease keeper renews it at 2/3 and extends the
            # entry, so a new secret is fetched only when renewal failed. It is dead at the lease's end.
            fresh_for = min(fresh_for, secret.lease_duration * 0.9)
            hard_until = now + secret.lease_duration
        with self._lock:
            self._entries[key] = CacheEntry(secret, now, now + fresh_for, hard_until)
            self._flights.pop(key, None)
        flight.set_result(secret)
        if old is None or not secret.same_value(old.secret):
            for callback in list(self._callbacks):
                try:
                    callback(key, None if old is None else old.secret, secret)
                except Exception:
                    _log.exception("rotation callback failed for %s", key)

    def _stale_or_raise(self, key: str, entry: CacheEntry, now: float, exc: CredentialBackendError | None) -> Secret:
        limit = min(entry.fresh_until + self.stale_if_error, entry.hard_until)
        if now < limit:
            _log.warning(
                "serving stale credential %s (%.1fs past fresh, bound %.0fs): %s",
                key,
                now - entry.fresh_until,
                self.stale_if_error,
                entry.last_error,
            )
            return entry.secret
        error = CredentialStaleError(
            f"credential `{key}` unavailable: the provider keeps failing ({entry.last_error}) and the last value "
            f"is {now - entry.fresh_until:.0f}s past fresh, beyond stale_if_error={self.stale_if_error:g}s",
            details={"key": key, "failures": entry.failures},
        )
        if exc is not None:
            error.__cause__ = exc
        raise error
