"""Audit sinks: where record lines go. A JSON-lines file (rotation-safe, fsync policy) and stdout.

The Kafka sink lives in :mod:`infra_security.audit._sink_kafka` so that confluent-kafka is imported only when used.
Sinks are called under the audit logger's lock, one line at a time; a sink raises when it could not take a
line, and the logger's failure policy decides what follows.

A file sink is the only writer of its file: it holds an exclusive ``fcntl.flock`` on ``<file>.lock`` for as long
as it is open, so a second writer (another worker process, ``infra-security audit log`` beside a running app)
gets :class:`~infra_security.errors.AuditConfigError` instead of silently forking the chain. Holding the lock
also makes two repairs safe: a torn last line found at open (a crash or a full disk mid-write) is moved to a
quarantine file and cut off, and a write that fails part-way is rolled back, so records never follow a fragment.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol

from infra_security.errors import AuditConfigError

__all__ = ["AuditSink", "FsyncPolicy", "JsonLinesFileSink", "StdoutSink", "TornTail", "read_last_line"]


class AuditSink(Protocol):
    """Something that durably takes audit lines."""

    name: str

    def write(self, line: bytes) -> None:
        """Take one line (ending in a newline); raise if it was not taken."""
        ...

    def flush(self) -> None:
        """Push buffered lines to durable storage."""
        ...

    def close(self) -> None:
        """Flush and release resources."""
        ...


class FsyncPolicy(StrEnum):
    """When the file sink calls ``fsync``: after every line, at most every interval, or never (OS decides)."""

    ALWAYS = "always"
    INTERVAL = "interval"
    NEVER = "never"


_ALWAYS, _INTERVAL = FsyncPolicy.ALWAYS, FsyncPolicy.INTERVAL


@dataclass(frozen=True)
class TornTail:
    """A partial last line found at open: where it was cut and where its bytes were kept."""

    path: Path
    offset: int
    length: int
    quarantine: Path


class JsonLinesFileSink:
    """Appends lines to a file opened with ``O_APPEND`` (mode 0600), one ``write`` per line.

    Rotation-safe: every ``reopen_check`` seconds the path is stat'ed and, if it was moved away (logrotate's
    ``create`` mode) or replaced, the sink reopens it, so new lines go to the new file. Each line reaches the
    OS before ``write`` returns (survives a process crash); ``fsync`` makes it survive power loss.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fsync: FsyncPolicy | str = FsyncPolicy.INTERVAL,
        fsync_interval: float = 1.0,
        reopen_check: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path}"
        try:
            self.fsync = FsyncPolicy(fsync)
        except ValueError as exc:
            raise AuditConfigError(f"fsync must be one of always, interval, never; got {fsync!r}") from exc
        self._fsync_interval = fsync_interval
        self._reopen_check = reopen_check
        self._clock = clock
        self._fd = -1
        self._lock_fd = -1
        #: The torn tail this sink cut off when it opened the file (None when the file ended cleanly).
        self.recovered: TornTail | None = None
        self._lock_writer()
        try:
            self._open()
        except BaseException:
            self._unlock_writer()
            raise
        self._last_check = self._last_sync = clock()
        self._dirty = False

    def _lock_writer(self) -> None:
        """Take the exclusive writer lock on ``<file>.lock``, or fail naming the process that holds it."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditConfigError(f"{lock_path}: cannot open the writer lock ({exc.strerror})") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise AuditConfigError(f"{lock_path}: cannot lock ({exc.strerror})") from exc
            raise AuditConfigError(
                f"{self.path} is being written by another writer (pid {holder}, lock {lock_path}); one writer per "
                "audit log: give each process its own directory (INFRA_AUDIT_DIR) or send events to the running one",
                code="security.audit_log_locked",
            ) from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _unlock_writer(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = -1

    def _open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditConfigError(f"{self.path}: cannot open the audit log for appending ({exc.strerror})") from exc
        st = os.fstat(self._fd)
        self._identity = (st.st_dev, st.st_ino)
        if st.st_size and os.pread(self._fd, 1, st.st_size - 1) != b"\n":
            self.recovered = self._cut_torn_tail(st.st_size)

    def _cut_torn_tail(self, size: int) -> TornTail:
        """Move the bytes after the last newline to ``<file>.torn-<time>`` (0600) and truncate them away."""
        start = max(0, size - (1 << 20))
        while True:
            chunk = os.pread(self._fd, size - start, start)
            cut = chunk.rfind(b"\n")
            if cut >= 0 or start == 0:
                offset = start + cut + 1
                break
            start = max(0, start - (1 << 20))
        fragment = os.pread(self._fd, size - offset, offset)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        quarantine = self.path.with_name(f"{self.path.name}.torn-{stamp}")
        try:
            qfd = os.open(quarantine, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(qfd, fragment)
                os.fsync(qfd)
            finally:
                os.close(qfd)
            os.ftruncate(self._fd, offset)
            os.fsync(self._fd)
        except OSError as exc:
            raise AuditConfigError(
                f"{self.path} ends with a torn record at byte {offset} that could not be moved aside ({exc.strerror})"
            ) from exc
        return TornTail(self.path, offset, size - offset, quarantine)

    def _rotated(self) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != self._identity

    def write(self, line: bytes) -> None:
        """Append one line; reopen first if the file was rotated."""
        now = self._clock()
        if now - self._last_check >= self._reopen_check:
            self._last_check = now
            if self._rotated():
                self._sync_and_close()
                self._open()
        written = os.write(self._fd, line)  # nothing written when this raises
        if written != len(line):
            self._write_rest(line, written)
        fsync = self.fsync
        if fsync is _INTERVAL:
            self._dirty = True
            if now - self._last_sync >= self._fsync_interval:
                os.fsync(self._fd)
                self._last_sync, self._dirty = now, False
        elif fsync is _ALWAYS:
            os.fsync(self._fd)

    def _write_rest(self, line: bytes, done: int) -> None:
        """Finish a short write; if that fails, cut the partial line off so no record follows a fragment."""
        view = memoryview(line)[done:]
        try:
            while view:
                written = os.write(self._fd, view)
                done += written
                view = view[written:]
        except BaseException:
            # A short write (full disk, quota, signal) left part of the line: cut it off, so the next record
            # does not follow a fragment. Safe because this sink is the only writer (the flock).
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, os.fstat(self._fd).st_size - done)
            raise

    def flush(self) -> None:
        """fsync pending lines (unless the policy is NEVER)."""
        if self._fd >= 0 and self._dirty and self.fsync is not FsyncPolicy.NEVER:
            os.fsync(self._fd)
            self._dirty = False

    def _sync_and_close(self) -> None:
        if self._fd >= 0:
            if self.fsync is not FsyncPolicy.NEVER:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1

    def close(self) -> None:
        """fsync, close and release the writer lock."""
        try:
            self._sync_and_close()
        finally:
            self._unlock_writer()


class StdoutSink:
    """Writes lines to standard output (for containers whose log collector ships stdout)."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self.name = "stdout"

    def write(self, line: bytes) -> None:
        """Write and flush one line."""
        self._stream.write(line)
        self._stream.flush()

    def flush(self) -> None:
        """Flush the stream."""
        self._stream.flush()

    def close(self) -> None:
        """Flush (standard output stays open)."""
        self._stream.flush()


def read_last_line(path: Path, *, limit: int = 1 << 20) -> bytes | None:
    """The last complete line of a file (without its newline), or None if the file is missing or empty.

    Raises ``ValueError`` when the file ends with an incomplete line (a torn write), so the caller can refuse
    to continue a chain from an unknown state.
    """
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return None
            start = max(0, size - limit)
            fh.seek(start)
            tail = fh.read()
    except FileNotFoundError:
        return None
    if not tail.endswith(b"\n"):
        raise ValueError(f"{path} ends with an incomplete line (torn write at byte {size})")
    body = tail[:-1]
    cut = body.rfind(b"\n")
    if cut < 0 and start > 0:
        raise ValueError(f"{path}: last line is longer than {limit} bytes")
    return body[cut + 1 :]
