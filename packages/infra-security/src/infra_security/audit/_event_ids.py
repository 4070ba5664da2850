"""Random (version 4) UUID strings for audit event ids, formatted 256 at a time per thread.

An id per event is on the logging path: ``str(uuid.uuid4())`` costs a system call and a ``UUID`` object each
time (about 2.5 us). Here one ``os.urandom`` read makes 256 ids, formatted column by column; each thread has its
own batch, and a forked child drops every batch, so parent and child never hand out the same id.
"""

from __future__ import annotations

import binascii
import os
import threading
from collections.abc import Iterator

__all__ = ["new_event_id"]

_BATCH = 256
_WIDTH = 36  # xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx
# Where each of the 32 hex digits of 16 random bytes goes in the 36-character text, and the fixed characters.
_DIGIT_AT = [*range(8), *range(9, 13), *range(14, 18), *range(19, 23), *range(24, 36)]
_DASHES_AT = (8, 13, 18, 23)
_VERSION_AT, _VARIANT_AT = 14, 19
# The variant digit (RFC 9562 §4.1) is 10xx in binary, so 8, 9, a or b: two of the random digit's bits choose.
_VARIANT = bytes.maketrans(b"0123456789abcdef", b"89ab" * 4)
_TLS = [threading.local()]  # replaced (not mutated) in a forked child


def _refill() -> str:
    """Format a batch column by column (a few strided copies in C), then cut it into ids."""
    digits = binascii.hexlify(os.urandom(16 * _BATCH))
    text = bytearray(_WIDTH * _BATCH)
    for digit, at in enumerate(_DIGIT_AT):
        text[at::_WIDTH] = digits[digit::32]
    for at in _DASHES_AT:
        text[at::_WIDTH] = b"-" * _BATCH
    text[_VERSION_AT::_WIDTH] = b"4" * _BATCH
    text[_VARIANT_AT::_WIDTH] = text[_VARIANT_AT::_WIDTH].translate(_VARIANT)
    batch = text.decode("ascii")
    ids: Iterator[str] = iter([batch[at : at + _WIDTH] for at in range(0, _WIDTH * _BATCH, _WIDTH)])
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
