"""A string enum whose members compare in the order they are declared."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OrderedStrEnum"]


class OrderedStrEnum(StrEnum):
    """String enum ordered by declaration: the first member is the lowest."""

    @property
    def rank(self) -> int:
        """Position in the declared order, 0 for the first member."""
        return list(type(self)).index(self)

    def _rank_of(self, other: object) -> int | None:
        return other.rank if isinstance(other, type(self)) else None

    def __lt__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank < rank

    def __le__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank <= rank

    def __gt__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank > rank

    def __ge__(self, other: object) -> bool:
        rank = self._rank_of(other)
        return NotImplemented if rank is None else self.rank >= rank
