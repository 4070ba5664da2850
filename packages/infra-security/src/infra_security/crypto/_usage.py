"""Per-key encryption counting, so a key is retired before the random-nonce bound of NIST SP 800-38D.

With random 96-bit nonces a key may be used for at most 2^32 encryptions (SP 800-38D §8.3). A keyring asks
its counter before each encryption; when the count would pass the limit the keyring rotates (if allowed) or
refuses. Counters are injectable: tests start one near the limit, production persists reservations in the
keyset file (:class:`ReservingCounter`) so restarts and several processes never under-count.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from operator import length_hint
from typing import Protocol

__all__ = ["NIST_RANDOM_NONCE_LIMIT", "MemoryCounter", "ReservingCounter", "UsageCounter"]

NIST_RANDOM_NONCE_LIMIT = 2**32
"""Invocations allowed per key with random 96-bit nonces (NIST SP 800-38D §8.3)."""


class UsageCounter(Protocol):
    """Counts encryptions per key id."""

    def add(self, key_id: int) -> int:
        """Count one encryption with ``key_id`` and return its number.

        Numbers are distinct per use and start after the counts already recorded, so refusing numbers above a
        limit never allows more uses than the limit. Used by one thread alone, the number is the running total.
        """
        ...

    def count(self, key_id: int) -> int:
        """Encryptions counted so far for ``key_id``."""
        ...


class MemoryCounter:
    """An in-process counter, optionally starting from known counts (tests, env-var keysets).

    Each thread takes numbers in blocks: once per block of encryptions it reserves the next numbers of a key
    under the lock, and between reservations it counts alone (no lock per encryption). Every use gets a distinct
    number, so a keyring that refuses numbers above its limit never exceeds it, with or without the GIL. A
    thread's blocks start at 1 number and double up to ``block``, so a key used a few times by many threads
    reserves little.

    :meth:`count` reports uses, not reservations: numbers a thread reserved but did not use (a rotation moved it
    to another key, or it ended) are left out. The one cost, on the safe side: a thread whose block runs past
    a keyring's limit finds the key exhausted while other threads may still hold unused numbers below it (at
    most one block each).
    """

    def __init__(self, start: Mapping[int, int] | None = None, *, block: int = 256) -> None:
        if block < 1:
            raise ValueError("block must be at least 1")
        self._reserved: dict[int, int] = dict(start or {})  # key id -> highest number handed out
        self._retired: dict[int, int] = {}  # key id -> numbers ended threads reserved and never used
        self._live: dict[int, _Blocks] = {}  # token of each thread that holds blocks -> its blocks
        self._block = block
        self._lock = threading.Lock()
        self._local = threading.local()

    def add(self, key_id: int) -> int:
        """Count one encryption with ``key_id``; returns its number (distinct per use; the total when alone)."""
        try:
            number: int = next(self._local.blocks[key_id])
        except (AttributeError, KeyError, StopIteration):
            number = self._take_block(key_id)
        return number

    def count(self, key_id: int) -> int:
        """Encryptions counted so far for ``key_id``: numbers handed out, less those reserved and not used."""
        with self._lock:
            unused = self._retired.get(key_id, 0)
            for blocks in self._live.values():
                block = blocks.get(key_id)
                if block is not None:
                    unused += length_hint(block)
            return self._reserved.get(key_id, 0) - unused

    def _take_block(self, key_id: int) -> int:
        """Reserve this thread's next block of numbers for ``key_id`` and return its first number."""
        local = self._local
        try:
            blocks: _Blocks = local.blocks
            sizes: dict[int, int] = local.sizes
        except AttributeError:
            blocks, sizes = {}, {}
            # When the thread ends its thread-local values go; the sentinel's finaliser then moves the numbers
            # its blocks still hold to `_retired`, so they are neither lost nor counted as used.
            sentinel = _ThreadEnd()
            token = id(sentinel)
            with self._lock:
                self._live[token] = blocks
            weakref.finalize(sentinel, _retire, self._lock, self._live, self._retired, token)
            local.blocks, local.sizes, local.sentinel = blocks, sizes, sentinel
        size = sizes.get(key_id, 1)
        with self._lock:
            first = self._reserved.get(key_id, 0) + 1
            self._reserved[key_id] = first + size - 1
            block = blocks[key_id] = iter(range(first, first + size))  # replaces a used-up block, or none
        sizes[key_id] = min(size * 2, self._block)
        return next(block)


_Blocks = dict[int, Iterator[int]]
"""One thread's current block of numbers per key id."""


class _ThreadEnd:
    """Lives exactly as long as one thread's thread-local values (its finaliser retires the thread's blocks)."""


def _retire(lock: threading.Lock, live: dict[int, _Blocks], retired: dict[int, int], token: int) -> None:
    with lock:
        for key_id, block in live.pop(token, {}).items():
            left = length_hint(block)
            if left:
                retired[key_id] = retired.get(key_id, 0) + left


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
