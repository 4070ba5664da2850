"""Per-key encryption counting, so a key is retired before the random-nonce bound of NIST SP 800-38D.

With random 96-bit nonces a key may be used for at most 2^32 encryptions (SP 800-38D §8.3). A keyring asks
its counter before each encryption; when the count would pass the limit the keyring rotates (if allowed) or
refuses. Counters are injectable: tests start one near the limit, production persists reservations in the
keyset file (:class:`ReservingCounter`) so restarts and several processes never under-count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Protocol

__all__ = ["NIST_RANDOM_NONCE_LIMIT", "MemoryCounter", "ReservingCounter", "UsageCounter"]

NIST_RANDOM_NONCE_LIMIT = 2**32
"""Invocations allowed per key with random 96-bit nonces (NIST SP 800-38D §8.3)."""


class UsageCounter(Protocol):
    """Counts encryptions per key id."""

    def add(self, key_id: int) -> int:
        """Count one encryption with ``key_id`` and return the total including it."""
        ...

    def count(self, key_id: int) -> int:
        """Encryptions counted so far for ``key_id``."""
        ...


class MemoryCounter:
    """An in-process counter, optionally starting from known counts (tests, env-var keysets).

    One lock around a dict of integers: exact under threads (also without a GIL), readable without tricks.
    """

    def __init__(self, start: Mapping[int, int] | None = None) -> None:
        self._counts: dict[int, int] = dict(start or {})
        lock = threading.Lock()
        self._acquire, self._release = lock.acquire, lock.release  # bound once: this runs per encryption

    def add(self, key_id: int) -> int:
        """Count one encryption with ``key_id``."""
        self._acquire()
        try:
            total = self._counts[key_id] = self._counts.get(key_id, 0) + 1
        finally:
            self._release()
        return total

    def count(self, key_id: int) -> int:
        """Encryptions counted so far for ``key_id``."""
        return self._counts.get(key_id, 0)


class ReservingCounter:
    """Counts in memory and persists reservations of ``block`` encryptions at a time.

    ``reserve(key_id, block)`` atomically adds ``block`` to the stored count (for example in the keyset file,
    under a lock) and returns the new stored total; this process then owns the range
    ``(total - block, total]``. Another process reserving meanwhile gets the next range, so the stored figure
    is always an upper bound of the encryptions done by all processes, and a restart never re-uses a count.
    Blocks start at ``first_block`` and double up to ``block``, so short-lived processes (a CLI run) reserve
    little while busy ones touch the file rarely.
    """

    def __init__(
        self,
        start: Mapping[int, int],
        reserve: Callable[[int, int], int],
        *,
        block: int = 65_536,
        first_block: int = 256,
    ) -> None:
        if block < 1 or first_block < 1:
            raise ValueError("block sizes must be at least 1")
        self._next: dict[int, int] = {}
        self._first = min(first_block, block)
        self._counts: dict[int, int] = dict(start)
        self._ceilings: dict[int, int] = dict(start)
        self._reserve = reserve
        self._block = block
        self._lock = threading.Lock()

    def add(self, key_id: int) -> int:
        """Count one encryption, reserving the next block first when the current one is used up."""
        with self._lock:
            total = self._counts.get(key_id, 0) + 1
            if total > self._ceilings.get(key_id, 0):
                size = self._next.get(key_id, self._first)
                ceiling = self._reserve(key_id, size)
                total = ceiling - size + 1
                self._ceilings[key_id] = ceiling
                self._next[key_id] = min(size * 2, self._block)
            self._counts[key_id] = total
            return total

    def count(self, key_id: int) -> int:
        """Encryptions counted so far for ``key_id`` (this process's view)."""
        return self._counts.get(key_id, 0)
