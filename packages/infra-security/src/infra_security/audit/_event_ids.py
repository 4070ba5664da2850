"""Random (version 4) UUID strings for audit event ids, formatted 256 at a time per thread.

An id per event is on the logging path: ``str(uuid.uuid4())`` costs a system call and a ``UUID`` object each
time. Here one ``os.urandom`` read makes 256 ids in one list comprehension; each thread has its own batch, and a
forked child drops every batch, so parent and child never hand out the same id.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

__all__ = ["new_event_id"]

_BATCH = 256
# The variant nibble (RFC 9562 §4.1): 10xx in binary, so 8, 9, a or b, chosen by two random bits.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_TLS = [threading.local()]  # replaced (not mutated) in a forked child


def _refill() -> str:
    h = os.urandom(16 * _BATCH).hex()
    ids: Iterator[str] = iter(
        [
            f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-"
            f"{h[i + 20 : i + 32]}"
            for i in range(0, 32 * _BATCH, 32)
        ]
    )
    _TLS[0].ids = ids
    return next(ids)


def _after_fork_in_child() -> None:
    _TLS[0] = threading.local()


os.register_at_fork(after_in_child=_after_fork_in_child)


def new_event_id() -> str:
    """A random version-4 UUID in its canonical text form (``xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx``)."""
    try:
        event_id: str = next(_TLS[0].ids)
    except (AttributeError, StopIteration):
        event_id = _refill()
    return event_id
