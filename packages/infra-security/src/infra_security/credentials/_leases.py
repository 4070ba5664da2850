"""Keeps a Vault token and leases alive: renewal at a fraction of the TTL, re-auth at max TTL, revocation.

:meth:`LeaseKeeper.tick` does whatever is due at the injected clock's "now" and returns the seconds until the
next due item, so tests drive it without sleeping; :meth:`LeaseKeeper.start` runs the same loop in a daemon
thread. When a renewal is capped by the max TTL (Vault returns a shorter TTL than asked, with a warning), a
token is re-issued by logging in again (AppRole, Kubernetes) and a lease's secret is handed to ``on_expiring``
so its owner fetches a new one before the old one dies.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from infra_security.credentials._vault_provider import TokenStatus
from infra_security.errors import CredentialError

__all__ = ["Lease", "LeaseKeeper", "LeaseProvider"]

_log = logging.getLogger("infra_security.credentials")


class LeaseProvider(Protocol):
    """What the keeper needs from a provider (:class:`~infra_security.credentials._vault_provider.VaultProvider`)."""

    def login(self) -> TokenStatus:
        """Log in again."""
        ...

    def renew_token(self, increment: int | None = None) -> TokenStatus:
        """Renew the current token."""
        ...

    def renew_lease(self, lease_id: str, increment: int | None = None) -> tuple[float, tuple[str, ...]]:
        """Renew a lease."""
        ...

    def revoke_lease(self, lease_id: str) -> None:
        """Revoke a lease."""
        ...


@dataclass
class Lease:
    """A tracked lease (or the token, under the key ``"<token>"``)."""

    key: str
    lease_id: str | None
    increment: float
    expires_at: float
    renew_at: float
    renewable: bool
    at_max: bool = False
    renewals: int = 0


def _capped(wanted: float, got: float, warnings: tuple[str, ...]) -> bool:
    """True when Vault gave less than ``wanted`` seconds or said the max TTL capped the renewal."""
    return got < wanted or any("max" in w.lower() and "ttl" in w.lower() for w in warnings)


class LeaseKeeper:
    """Renew the token and leases of one provider at ``fraction`` of their TTL."""

    TOKEN = "<token>"  # noqa: S105 - a key name, not a secret

    def __init__(
        self,
        provider: LeaseProvider,
        *,
        can_reauth: bool,
        fraction: float = 2 / 3,
        clock: Callable[[], float] = time.monotonic,
        on_renewed: Callable[[str, float, float], None] | None = None,
        on_expiring: Callable[[str], None] | None = None,
        retry_after: float = 5.0,
    ) -> None:
        if not 0 < fraction < 1:
            raise ValueError("fraction must be between 0 and 1")
        self._provider = provider
        self._can_reauth = can_reauth
        self.fraction = fraction
        self._clock = clock
        self._on_renewed = on_renewed
        self._on_expiring = on_expiring
        self._retry_after = retry_after
        self._items: dict[str, Lease] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        #: Counters for tests and metrics.
        self.reauths = 0

    def leases(self) -> list[Lease]:
        """Tracked items (token included)."""
        with self._lock:
            return list(self._items.values())

    def track_token(self, status: TokenStatus) -> None:
        """Track the current token (a TTL of 0 means it never expires: nothing to do)."""
        with self._lock:
            if status.ttl <= 0:
                self._items.pop(self.TOKEN, None)
                return
            now = self._clock()
            # Renewals restore the TTL the token was issued with, not what was left of it at lookup time.
            increment = status.creation_ttl or status.ttl
            self._items[self.TOKEN] = Lease(
                self.TOKEN, None, increment, now + status.ttl, now + status.ttl * self.fraction, status.renewable
            )
        self._wake.set()

    def track(self, key: str, lease_id: str, duration: float, renewable: bool) -> None:
        """Track a leased secret cached under ``key``."""
        now = self._clock()
        with self._lock:
            self._items[key] = Lease(key, lease_id, duration, now + duration, now + duration * self.fraction, renewable)
        self._wake.set()

    def untrack(self, key: str) -> Lease | None:
        """Stop tracking ``key``; returns what was tracked."""
        with self._lock:
            return self._items.pop(key, None)

    def tick(self) -> float:
        """Do what is due now; return seconds until the next due item (``inf`` when nothing is tracked)."""
        now = self._clock()
        with self._lock:
            due = [item for item in self._items.values() if item.renew_at <= now]
        for item in due:
            try:
                if item.key == self.TOKEN:
                    self._token_due(item, now)
                else:
                    self._lease_due(item, now)
            except CredentialError as exc:
                item.renew_at = now + min(self._retry_after, max(0.0, item.expires_at - now) / 2 or self._retry_after)
                _log.warning("renewal of %s failed (retry in %.1fs): %s", item.key, item.renew_at - now, exc.message)
        with self._lock:
            return min((i.renew_at for i in self._items.values()), default=math.inf) - self._clock()

    def _token_due(self, item: Lease, now: float) -> None:
        if item.at_max or not item.renewable:
            if self._can_reauth:
                status = self._provider.login()
                self.reauths += 1
                _log.info("re-authenticated: new token with TTL %.0fs", status.ttl)
                self.track_token(status)
            else:
                _log.warning(
                    "the Vault token expires in %.0fs and cannot be re-issued (token auth)", item.expires_at - now
                )
                item.renew_at = math.inf
            return
        # Ask one second beyond the creation TTL: Vault then caps the answer (with a warning) as soon as the max
        # TTL binds, so the cap is seen at the first renewal it affects, whatever Vault's whole-second rounding.
        status = self._provider.renew_token(increment=math.ceil(item.increment) + 1)
        item.renewals += 1
        item.expires_at = now + status.ttl
        item.at_max = _capped(item.increment, status.ttl, status.warnings)
        item.renew_at = now + status.ttl * self.fraction

    def _lease_due(self, item: Lease, now: float) -> None:
        if item.at_max or not item.renewable:
            self.untrack(item.key)
            if self._on_expiring is not None:
                self._on_expiring(item.key)
            return
        assert item.lease_id is not None
        duration, warnings = self._provider.renew_lease(item.lease_id, increment=math.ceil(item.increment) + 1)
        item.renewals += 1
        item.expires_at = now + duration
        item.at_max = _capped(item.increment, duration, warnings)
        item.renew_at = now + duration * self.fraction
        if self._on_renewed is not None:
            self._on_renewed(item.key, now, item.expires_at)

    def revoke_all(self) -> list[str]:
        """Revoke every tracked lease (not the token); returns the lease ids revoked."""
        with self._lock:
            items = [i for i in self._items.values() if i.lease_id is not None]
            for item in items:
                self._items.pop(item.key, None)
        revoked = []
        for item in items:
            assert item.lease_id is not None
            try:
                self._provider.revoke_lease(item.lease_id)
                revoked.append(item.lease_id)
            except CredentialError as exc:
                _log.warning("could not revoke lease %s: %s", item.lease_id, exc.message)
        return revoked

    def start(self) -> None:
        """Run :meth:`tick` in a daemon thread until :meth:`stop` (one thread, however many callers race here)."""
        with self._start_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="infra-security-leases", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            # Clear before the tick, not after: a lease tracked while tick() runs sets the event again, so the
            # wait below returns at once instead of sleeping through it (a lost wake-up of up to 60 s).
            self._wake.clear()
            wait = self.tick()
            self._wake.wait(timeout=min(max(wait, 0.05), 60.0))
