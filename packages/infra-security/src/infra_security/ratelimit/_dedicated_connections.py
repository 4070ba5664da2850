"""Dedicated connections for rate-limit decisions: one command, one reply, no pool checkout.

redis-py's general command path takes a connection from the pool (a lock and a readiness poll of the socket),
wraps the call in its retry helper, records metrics and gives the connection back; on a loopback Redis that
costs about as much as the round trip itself (``bench/bench_ratelimit_redis.py`` shows it). A decision needs
none of it: it takes a connection no other caller is using, sends one pre-packed command through redis-py's
public ``Connection`` API (``pack_command``, ``send_packed_command``, ``read_response``) and reads exactly one
reply. A connection idle for a second or more is polled before use, as the pool does on every checkout, so
one the server or a proxy closed is reconnected instead of failing the decision.

Connections are built from the client pool's own ``connection_class`` and ``connection_kwargs`` (host, TLS,
auth, database, protocol, timeouts, no command retries) and kept on one free list per server: ``list.pop`` and
``list.append`` are atomic, so no lock is taken and no two callers ever share a connection. An exchange that
failed in any way but a complete error reply disconnects its connection before it goes back, so a reply still
on its way can never be read as the answer to a later decision; the next use reconnects. After ``fork`` the
child starts with empty lists (the parent's sockets stay the parent's).
"""

from __future__ import annotations

import contextlib
import os
import time
import weakref
from typing import Any

__all__ = ["IDLE_CHECK", "DedicatedConnections", "can_dedicate"]

#: Seconds a connection may sit idle before it is polled (closed by the server?) ahead of its next command.
IDLE_CHECK = 1.0

_EVERY: weakref.WeakSet[DedicatedConnections] = weakref.WeakSet()


def can_dedicate(pool: Any) -> bool:
    """Whether a connection can be built from ``pool``'s ``connection_class`` and ``connection_kwargs``.

    A redis-py ``ConnectionPool`` can; a test double, or a pool whose settings its connection class does not take
    alone, cannot (its client then keeps redis-py's general command path). Nothing is connected here.
    """
    kwargs = getattr(pool, "connection_kwargs", None)
    make = getattr(pool, "connection_class", None)
    if not isinstance(kwargs, dict) or not callable(make):
        return False
    try:
        make(**kwargs)
    except Exception:
        return False
    return True


class DedicatedConnections:
    """Free lists of connections that serve one caller at a time, one list per server name."""

    def __init__(self, response_error: type[BaseException], idle_check: float = IDLE_CHECK) -> None:
        self._free: dict[str, list[tuple[Any, float]]] = {}
        self._packers: dict[str, Any] = {}
        self._response_error = response_error
        self._idle_check = idle_check
        _EVERY.add(self)

    def pack(self, server: str, pool: Any, *args: Any) -> Any:
        """``args`` packed as one command for ``server`` (with its pool's encoding; no socket is used)."""
        packer = self._packers.get(server)
        if packer is None:
            packer = self._packers[server] = pool.connection_class(**pool.connection_kwargs)
        return packer.pack_command(*args)

    def exchange(self, server: str, pool: Any, packed: Any) -> Any:
        """Send one packed command to ``server`` on a connection of its own and read the reply.

        A connection idle for more than ``idle_check`` seconds is polled first (3 us): one the server or a proxy
        closed meanwhile is reconnected before the command is sent, as redis-py's pool does on every checkout.
        Any failure but a complete error reply disconnects the connection: a reply that may still come is never
        read as the answer to a later command.
        """
        connection, used = self._take(server, pool)
        now = time.monotonic()
        try:
            if used and now - used > self._idle_check:
                self._poll(connection)
            connection.send_packed_command(packed)
            reply = connection.read_response()
        except self._response_error:  # a whole error reply was read: the connection is still in step
            self._give_back(server, connection, now)
            raise
        except BaseException:
            connection.disconnect()
            self._give_back(server, connection, 0.0)
            raise
        self._give_back(server, connection, now)
        return reply

    def exchange_many(self, server: str, pool: Any, packed: list[Any]) -> list[Any]:
        """Send packed commands in one write and read one reply each; an error reply is returned in its place.

        As :meth:`exchange`: polled when idle, disconnected on any failure but error replies (which are read in
        full, so the connection stays in step); nothing is ever re-sent.
        """
        connection, used = self._take(server, pool)
        now = time.monotonic()
        replies: list[Any] = []
        try:
            if used and now - used > self._idle_check:
                self._poll(connection)
            connection.send_packed_command([b"".join(chunk for one in packed for chunk in one)])
            for _ in packed:
                try:
                    replies.append(connection.read_response())
                except self._response_error as exc:
                    replies.append(exc)
        except BaseException:
            connection.disconnect()
            self._give_back(server, connection, 0.0)
            raise
        self._give_back(server, connection, now)
        return replies

    def _take(self, server: str, pool: Any) -> tuple[Any, float]:
        """An idle connection to ``server`` and when it was last used, or a new one (never used: 0.0)."""
        free = self._free.get(server)
        try:
            return free.pop()  # type: ignore[union-attr]
        except (IndexError, AttributeError):  # none idle (or the first for this server): a new one
            return pool.connection_class(**pool.connection_kwargs), 0.0

    @staticmethod
    def _poll(connection: Any) -> None:
        try:
            stale = connection.can_read()  # bytes nobody asked for: start afresh
        except Exception:  # closed by the server or a proxy (the poll sends nothing): start afresh
            stale = True
        if stale:
            connection.disconnect()

    def _give_back(self, server: str, connection: Any, used: float) -> None:
        free = self._free.get(server)
        if free is None:
            free = self._free.setdefault(server, [])
        free.append((connection, used))

    def close(self) -> None:
        """Disconnect every idle connection (one in use is disconnected when its caller drops it)."""
        for free in list(self._free.values()):
            while free:
                try:
                    connection, _ = free.pop()
                except IndexError:  # another thread took the last one meanwhile
                    break
                with contextlib.suppress(Exception):  # closing a dead socket: nothing left to release
                    connection.disconnect()

    def forget(self) -> None:
        """Drop every connection without touching its socket (in a forked child, they belong to the parent)."""
        self._free = {}


def _after_fork_in_child() -> None:
    for connections in list(_EVERY):
        connections.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
