"""Dedicated connections for rate-limit decisions: one command, one reply, no pool checkout.

redis-py's general command path takes a connection from the pool (a lock and a readiness poll of the socket),
wraps the call in its retry helper, records metrics and gives the connection back; on a loopback Redis that
costs about as much as the round trip itself (``bench/bench_ratelimit_redis.py`` shows it). A decision needs
none of it: it takes a connection no other caller is using, sends one pre-packed command through redis-py's
public ``Connection`` API (``pack_command``, ``send_packed_command``, ``read_response``) and reads exactly one
reply.

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
import weakref
from typing import Any

__all__ = ["DedicatedConnections", "can_dedicate"]

_EVERY: weakref.WeakSet[DedicatedConnections] = weakref.WeakSet()


def can_dedicate(pool: Any) -> bool:
    """Whether ``pool`` exposes what a dedicated connection is built from (a redis-py ``ConnectionPool`` does)."""
    return isinstance(getattr(pool, "connection_kwargs", None), dict) and callable(
        getattr(pool, "connection_class", None)
    )


class DedicatedConnections:
    """Free lists of connections that serve one caller at a time, one list per server name."""

    def __init__(self, response_error: type[BaseException]) -> None:
        self._free: dict[str, list[Any]] = {}
        self._response_error = response_error
        _EVERY.add(self)

    def take(self, server: str, pool: Any) -> Any:
        """A connection to ``server`` that nobody else uses until :meth:`give_back` (built from ``pool`` if none)."""
        free = self._free.get(server)
        if free:
            try:
                return free.pop()
            except IndexError:  # another thread took the last one meanwhile
                pass
        return pool.connection_class(**pool.connection_kwargs)

    def give_back(self, server: str, connection: Any) -> None:
        """Return a connection taken with :meth:`take`."""
        free = self._free.get(server)
        if free is None:
            free = self._free.setdefault(server, [])
        free.append(connection)

    def exchange(self, connection: Any, packed: Any) -> Any:
        """Send one packed command and read its reply; any failure but an error reply disconnects first."""
        try:
            connection.send_packed_command(packed)
            return connection.read_response()
        except self._response_error:  # a whole error reply was read: the connection is still in step
            raise
        except BaseException:
            connection.disconnect()
            raise

    def close(self) -> None:
        """Disconnect every idle connection (those in use are disconnected when their thread drops them)."""
        for free in list(self._free.values()):
            while free:
                try:
                    connection = free.pop()
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
