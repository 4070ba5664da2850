"""`api-check`: compare a package's public API (its `__init__` `__all__`, read by griffe) with its last release.

Policy (semantic versioning, docs/releasing.md): a breaking change needs a new major version; while on 0.x, a
new minor version. Additions never need more than the version the package already has.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version
from workspace import Package, Workspace

from releasing.errors import UsageError
from releasing.gitutil import extract
from releasing.history import Release, last_release

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

__all__ = ["ApiReport", "check_api", "compare", "load_api", "required_segment"]


@dataclass
class ApiReport:
    """The outcome of one package's check."""

    dist: str
    version: str
    last: Release | None
    breaking: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return self.problem is None

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "package": self.dist,
            "version": self.version,
            "last_release": self.last.as_dict() if self.last else None,
            "breaking": self.breaking,
            "added": self.added,
            "ok": self.ok,
            "problem": self.problem,
        }


def load_api(src: Path, import_name: str) -> Any:
    """The griffe module of `import_name` found under `src` (static analysis, nothing imported)."""
    import griffe

    try:
        return griffe.load(
            import_name,
            search_paths=[str(src)],
            try_relative_path=False,
            allow_inspection=False,
            resolve_aliases=True,
            resolve_external=False,
        )
    except (ImportError, OSError, griffe.GriffeError) as exc:
        raise UsageError(f"griffe could not load {import_name} from {src}: {exc}") from exc


def _exports(module: Any) -> list[str]:
    return [str(name) for name in (module.exports or [])]


def _explain(breakage: Any) -> str:
    text = _ANSI.sub("", breakage.explain())
    rest = text.split(": ", 1)[1] if ": " in text else text  # drop griffe's file:line location
    try:
        return f"{breakage.obj.module.path}.{rest}"
    except Exception:  # an unresolvable alias: fall back to its own path
        return f"{breakage.obj.path}: {rest}"


def _canonical(obj: Any) -> str:
    try:
        return str(obj.canonical_path)
    except Exception:  # an alias to something outside the package: its own path is the best we have
        return str(obj.path)


def compare(old: Any, new: Any) -> tuple[list[str], list[str]]:
    """(breaking changes, added names) between two griffe modules, limited to the names in `__all__`."""
    import griffe

    old_names, new_names = _exports(old), _exports(new)
    breaking = [f"{old.path}.{n}: removed from __all__" for n in old_names if n not in new_names]
    added = [n for n in new_names if n not in old_names]
    kept = [n for n in old_names if n in new_names and n in old.members]
    prefixes = tuple({f"{old.path}.{n}" for n in kept} | {_canonical(old.members[n]) for n in kept})
    for breakage in griffe.find_breaking_changes(old, new):
        paths = {str(breakage.obj.path), _canonical(breakage.obj)}
        if any(p == pre or p.startswith((pre + ".", pre + "(")) for p in paths for pre in prefixes):
            line = _explain(breakage)
            if line not in breaking:
                breaking.append(line)
    return breaking, added


def required_segment(last: str) -> str:
    """The version segment a breaking change must move after release `last`."""
    return "minor" if Version(last).major == 0 else "major"


def _policy_allows(last: str, current: str) -> bool:
    old, new = Version(last), Version(current)
    if old.major == 0:
        return (new.major, new.minor) > (old.major, old.minor)
    return new.major > old.major


def check_api(ws: Workspace, pkg: Package) -> ApiReport:
    """Compare the working tree's API of `pkg` with its last release."""
    release = last_release(ws.root, pkg)
    report = ApiReport(pkg.dist, pkg.version, release)
    if release is None:
        return report
    with tempfile.TemporaryDirectory(prefix=f"api-{pkg.dist}-") as tmp:
        src_rel = pkg.src_path.relative_to(ws.root).as_posix()
        old_src = extract(ws.root, release.commit, src_rel, Path(tmp))
        old = load_api(old_src, pkg.import_name)
        new = load_api(pkg.src_path, pkg.import_name)
        report.breaking, report.added = compare(old, new)
    if Version(pkg.version) < Version(release.version):
        report.problem = f"version {pkg.version} is older than the last release {release.version}"
    elif report.breaking and not _policy_allows(release.version, pkg.version):
        segment = required_segment(release.version)
        report.problem = (
            f"{len(report.breaking)} breaking change(s) since {release.version} need a {segment} bump "
            f"(version is still {pkg.version}): `python tools/release.py bump {pkg.dist} {segment}`, "
            "or restore the removed API"
        )
    return report
