"""Check the version ranges between the workspace packages.

Every package except infra-models must require `infra-models` with both a lower and an upper bound that admit
no breaking release: `>=X.Y,<X.(Y+1)` while infra-models is on 0.x (a break bumps the minor there), `>=X.Y,<X+1`
from 1.0. The range must admit the local infra-models version, its lower bound must be a released infra-models
version when any release is recorded (tags `infra-models-v*` and committed CHANGELOG headings), no requirement
may name a pre-release, and no package may depend on a sibling other than infra-models.
Exit 0 ok, 1 findings, 2 broken workspace.

    python tools/check_versions.py [--format json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from releasing.errors import UsageError
from releasing.history import releases
from workspace import ROOT, Package, Workspace, WorkspaceError, discover

__all__ = ["check", "main"]

SHARED = "infra-models"
_LOWER = {">=", ">", "~="}
_UPPER = {"<", "<=", "~="}


def _prerelease_problems(pkg: Package) -> list[str]:
    found = []
    groups: list[tuple[str, tuple[Requirement, ...]]] = [("dependencies", pkg.requirements)]
    groups += [(f"extra [{name}]", reqs) for name, reqs in sorted(pkg.extras.items())]
    for where, reqs in groups:
        for req in reqs:
            for spec in req.specifier:
                try:
                    version = Version(spec.version.removesuffix(".*"))
                except ValueError:
                    continue
                if version.is_prerelease or version.is_devrelease:
                    found.append(
                        f"{pkg.dist}: {where} `{req}` names the pre-release {spec.version}; use a final version"
                    )
    return found


def _range_problems(pkg: Package, models: Package, released: list[Version]) -> list[str]:
    req = pkg.requirement_on(SHARED)
    if req is None:
        return [f"{pkg.dist}: does not depend on {SHARED}; add `{SHARED}{_range(models.version)}`"]
    spec = req.specifier
    ops = {s.operator for s in spec}
    problems = []
    if "==" in ops or "===" in ops:
        problems.append(f"{pkg.dist}: `{req}` pins {SHARED}; use a range such as `{_range(models.version)}`")
    if not ops & _LOWER and "==" not in ops:
        problems.append(f"{pkg.dist}: `{req}` has no lower bound; add `>=X.Y` (the oldest release whose API it uses)")
    if not ops & _UPPER and "==" not in ops:
        problems.append(f"{pkg.dist}: `{req}` has no upper bound; add `<X.(Y+1)` on 0.x, `<X+1` from 1.0")
    if ops & _UPPER:
        problems += _compat_problems(pkg, req)
    if not spec.contains(models.version, prereleases=True):
        problems.append(
            f"{pkg.dist}: `{req}` does not admit the local {SHARED} {models.version}; "
            "widen the range or bump the version it needs"
        )
    if released and ops & _LOWER:
        admitted = sorted(v for v in {*released, Version(models.version)} if spec.contains(v, prereleases=True))
        if admitted and admitted[0] not in released:
            shown = ", ".join(str(v) for v in sorted(released))
            problems.append(
                f"{pkg.dist}: `{req}` lets in {SHARED} {admitted[0]}, which is not released (released: {shown}); "
                f"release {SHARED} first or raise the lower bound to a released version"
            )
    return problems


def _compat_key(version: Version) -> tuple[int, ...]:
    """Versions with the same key are compatible: the major from 1.0, the minor while on 0.x."""
    return (0, version.minor) if version.major == 0 else (version.major,)


def _compat_problems(pkg: Package, req: Requirement) -> list[str]:
    """A range must not admit a release that may break the package: nothing past the next breaking version."""
    spec = req.specifier
    lowers = [Version(s.version.removesuffix(".*")) for s in spec if s.operator in _LOWER]
    if not lowers:
        return []
    low = max(lowers)
    key = _compat_key(low)
    breaking = Version(f"0.{low.minor + 1}.0") if low.major == 0 else Version(f"{low.major + 1}.0.0")
    probes = [breaking, Version(f"{breaking}.post1"), *(Version(f"{n}.0.0") for n in (1, low.major + 1, 99))]
    probes += [Version(f"0.{low.minor + n}.0") for n in (1, 2, 50)] if low.major == 0 else []
    admitted = sorted({v for v in probes if _compat_key(v) != key and v > low and spec.contains(v, prereleases=False)})
    if not admitted:
        return []
    upper = f"<{low.major}.{low.minor + 1}" if low.major == 0 else f"<{low.major + 1}"
    rule = "on 0.x a break bumps the minor" if low.major == 0 else "a break bumps the major"
    return [
        f"{pkg.dist}: `{req}` admits {SHARED} {admitted[0]}, which may break it ({rule}); "
        f"use `{SHARED}>={low.major}.{low.minor},{upper}`"
    ]


def _range(version: str) -> str:
    v = Version(version)
    upper = f"{v.major}.{v.minor + 1}" if v.major == 0 else f"{v.major + 1}"
    return f">={v.major}.{v.minor},<{upper}"


def _sibling_problems(ws: Workspace, pkg: Package) -> list[str]:
    siblings = {canonicalize_name(p.dist) for p in ws.packages if p.dist not in {pkg.dist, SHARED}}
    reqs = list(pkg.requirements) + [r for rs in pkg.extras.values() for r in rs]
    return [
        f"{pkg.dist}: depends on the sibling {r.name}; only {SHARED} may be shared (move the type to {SHARED})"
        for r in reqs
        if canonicalize_name(r.name) in siblings
    ]


def check(ws: Workspace) -> list[str]:
    """Every problem found, one line each, naming the package, the requirement and the fix."""
    models = ws.get(SHARED)
    try:
        released = [Version(r.version) for r in releases(ws.root, models)]
    except UsageError:
        released = []  # not a git checkout (e.g. an sdist): release history unknown
    problems: list[str] = []
    for pkg in ws.packages:
        problems += _prerelease_problems(pkg)
        if pkg.dist == SHARED:
            continue
        problems += _range_problems(pkg, models, released)
        problems += _sibling_problems(ws, pkg)
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="check_versions.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        ws = discover(args.root)
        problems = check(ws)
    except (WorkspaceError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps({"ok": not problems, "problems": problems}, indent=2))
    elif problems:
        print("version ranges:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
    else:
        models = ws.get(SHARED)
        print(f"version ranges ok: {len(ws.packages) - 1} package(s) admit {SHARED} {models.version}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
