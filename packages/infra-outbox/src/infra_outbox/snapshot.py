"""PostgreSQL transaction snapshots (``pg_current_snapshot()``): parse them and decide visibility of an xid.

A batch of the log is the set of events whose writer's transaction id is visible in the new snapshot and was
not visible in the previous one (PgQ's tick). A transaction id is visible in a snapshot when it is below
``xmin``, or below ``xmax`` and not in the in-progress list.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Snapshot"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """``xmin:xmax:xip,...`` as numbers (xid8 values, which fit a bigint)."""

    xmin: int
    xmax: int
    xip: tuple[int, ...] = ()

    @classmethod
    def parse(cls, value: str) -> Snapshot:
        """Parse the text form of a ``pg_snapshot``; raise ValueError naming a malformed one."""
        parts = value.split(":")
        if len(parts) != 3:
            raise ValueError(f"not a PostgreSQL snapshot: {value!r} (expected xmin:xmax:xip,...)")
        try:
            xmin, xmax = int(parts[0]), int(parts[1])
            xip = tuple(sorted(int(x) for x in parts[2].split(",") if x))
        except ValueError:
            raise ValueError(f"not a PostgreSQL snapshot: {value!r}") from None
        if xmin > xmax:
            raise ValueError(f"not a PostgreSQL snapshot: {value!r} (xmin above xmax)")
        return cls(xmin, xmax, xip)

    def __str__(self) -> str:
        return f"{self.xmin}:{self.xmax}:{','.join(map(str, self.xip))}"

    def visible(self, xid: int) -> bool:
        """Whether a transaction with this id had ended (committed, for a row we can read) in this snapshot."""
        return xid < self.xmin or (xid < self.xmax and xid not in self.xip)

    def sql_not_visible(self, column: str = "xid") -> str:
        """A SQL condition (literals only) true for ids NOT visible in this snapshot, index-friendly."""
        parts = [f"{column} >= {self.xmax}"]
        if self.xip:
            parts.append(f"{column} IN ({','.join(map(str, self.xip))})")
        return "(" + " OR ".join(parts) + ")"

    def sql_visible(self, column: str = "xid") -> str:
        """A SQL condition (literals only) true for ids visible in this snapshot."""
        condition = f"{column} < {self.xmax}"
        if self.xip:
            condition += f" AND {column} NOT IN ({','.join(map(str, self.xip))})"
        return f"({condition})"
