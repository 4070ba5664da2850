"""Load checks from the ``infra_readiness.checks`` entry-point group, validate them, order them by prerequisite.

An entry point names a :class:`~infra_readiness.plugin.Check` or an iterable of them. Our own checks are
registered the same way (see this package's ``pyproject.toml``), so a team's plugin is a peer, not a patch.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import entry_points

from infra_readiness.errors import CheckRegistryError
from infra_readiness.plugin import Check

__all__ = ["ENTRY_POINT_GROUP", "load_checks", "order_checks"]

ENTRY_POINT_GROUP = "infra_readiness.checks"


@lru_cache(maxsize=1)
def load_checks() -> tuple[Check, ...]:
    """Every installed check, prerequisites first.

    Raises:
        CheckRegistryError: an entry point that does not load or yields something that is not a check, two checks
            with one id, or a prerequisite that is unknown, circular, or gates a higher level than its dependant.
    """
    found: list[Check] = []
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: (p.value, p.name)):
        try:
            loaded = point.load()
        except Exception as exc:
            raise CheckRegistryError(
                f"check plugin `{point.name} = {point.value}` failed to load: {type(exc).__name__}: {exc}; "
                "fix or uninstall the distribution that declares it",
                details={"entry_point": point.name, "value": point.value},
            ) from exc
        items = [loaded] if isinstance(loaded, Check) else loaded
        if not isinstance(items, Iterable):
            raise CheckRegistryError(
                f"check plugin `{point.name} = {point.value}` is a {type(loaded).__name__}: "
                "an entry point must name a Check or a list of Checks"
            )
        for item in items:
            if not isinstance(item, Check):
                raise CheckRegistryError(
                    f"check plugin `{point.name} = {point.value}` yields a {type(item).__name__}: "
                    "declare checks with @infra_readiness.check(...)"
                )
            found.append(item)
    return order_checks(found)


def order_checks(checks: Iterable[Check]) -> tuple[Check, ...]:
    """Validate ids and prerequisites; return the checks sorted by id with prerequisites first."""
    by_id: dict[str, Check] = {}
    for item in checks:
        if item.id in by_id:
            raise CheckRegistryError(
                f"check id {item.id} is declared twice ({by_id[item.id].source} and {item.source}): ids must be unique"
            )
        by_id[item.id] = item
    for item in by_id.values():
        for needed in item.requires:
            if needed not in by_id:
                raise CheckRegistryError(f"check {item.id} requires {needed}, which is not installed")
            if by_id[needed].gates > item.gates:
                raise CheckRegistryError(
                    f"check {item.id} (gates {item.gates}) requires {needed}, which gates the higher level "
                    f"{by_id[needed].gates}: a prerequisite must gate the same or a lower level"
                )
    ordered: list[Check] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done

    def visit(check_id: str, chain: tuple[str, ...]) -> None:
        if state.get(check_id) == 2:
            return
        if state.get(check_id) == 1:
            raise CheckRegistryError(f"checks require each other in a circle: {' -> '.join((*chain, check_id))}")
        state[check_id] = 1
        for needed in sorted(by_id[check_id].requires):
            visit(needed, (*chain, check_id))
        state[check_id] = 2
        ordered.append(by_id[check_id])

    for check_id in sorted(by_id):
        visit(check_id, ())
    return tuple(ordered)
