"""Workspace discovery: the distributions under `packages/` and the dependency graph among them.

Each member is a folder `packages/<dist>/` with a hatchling `pyproject.toml` and its version in
`src/<import_name>/__about__.py`. The registry of members is the `workspace.members` list of the root
`hatch.toml` (the dev environment): a folder under `packages/` that is not listed there is an error, so a new
package cannot silently escape CI.

    python tools/workspace.py list [--format json]
    python tools/workspace.py graph [--format json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = [
    "ROOT",
    "Package",
    "Workspace",
    "WorkspaceError",
    "discover",
    "main",
    "read_version",
]

ROOT = Path(__file__).resolve().parents[1]
_VERSION_RE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)


class WorkspaceError(Exception):
    """The workspace layout is broken: the message names the file and the fix."""


@dataclass(frozen=True)
class Package:
    """One distribution of the workspace."""

    dist: str
    import_name: str
    version: str
    path: Path
    requirements: tuple[Requirement, ...] = field(default=(), compare=False)
    extras: Mapping[str, tuple[Requirement, ...]] = field(default_factory=dict, compare=False)
    scripts: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def about_path(self) -> Path:
        """The file that holds `__version__`."""
        return self.path / "src" / self.import_name / "__about__.py"

    @property
    def changelog_path(self) -> Path:
        """The package's `CHANGELOG.md`."""
        return self.path / "CHANGELOG.md"

    @property
    def src_path(self) -> Path:
        """The `src/` folder (the import root)."""
        return self.path / "src"

    def requirement_on(self, dist: str) -> Requirement | None:
        """The runtime requirement on `dist`, if declared."""
        wanted = canonicalize_name(dist)
        for req in self.requirements:
            if canonicalize_name(req.name) == wanted:
                return req
        return None

    def as_dict(self, root: Path) -> dict[str, object]:
        """A JSON-friendly description (paths relative to `root`)."""
        return {
            "dist": self.dist,
            "import_name": self.import_name,
            "version": self.version,
            "path": self.path.relative_to(root).as_posix(),
            "requires": [str(r) for r in self.requirements],
            "scripts": dict(self.scripts),
        }


@dataclass(frozen=True)
class Workspace:
    """All members and the dependency graph among them."""

    root: Path
    packages: tuple[Package, ...]

    def get(self, dist: str) -> Package:
        """The member named `dist` (dist or import name); raises `WorkspaceError` naming the known ones."""
        wanted = canonicalize_name(dist)
        for pkg in self.packages:
            if canonicalize_name(pkg.dist) == wanted or pkg.import_name == dist:
                return pkg
        known = ", ".join(p.dist for p in self.packages)
        raise WorkspaceError(f"unknown package {dist!r}: expected one of {known}")

    @property
    def names(self) -> list[str]:
        """Member dist names, sorted."""
        return [p.dist for p in self.packages]

    def dependencies(self, dist: str) -> list[str]:
        """The members that `dist` depends on directly (runtime and extras)."""
        pkg = self.get(dist)
        members = {canonicalize_name(p.dist): p.dist for p in self.packages}
        reqs = list(pkg.requirements) + [r for rs in pkg.extras.values() for r in rs]
        found = {members[canonicalize_name(r.name)] for r in reqs if canonicalize_name(r.name) in members}
        found.discard(pkg.dist)
        return sorted(found)

    def graph(self) -> dict[str, list[str]]:
        """`{dist: [members it depends on]}` for every member."""
        return {p.dist: self.dependencies(p.dist) for p in self.packages}

    def dependents(self, names: Iterable[str]) -> set[str]:
        """`names` plus every member that depends on them, transitively."""
        graph = self.graph()
        selected = {self.get(n).dist for n in names}
        changed = True
        while changed:
            changed = False
            for dist, deps in graph.items():
                if dist not in selected and selected.intersection(deps):
                    selected.add(dist)
                    changed = True
        return selected

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        """Members (or `names`) in dependency order: dependencies first, then by name."""
        wanted = set(self.names if names is None else (self.get(n).dist for n in names))
        graph = self.graph()
        done: list[str] = []
        remaining = sorted(wanted)
        while remaining:
            ready = [n for n in remaining if not (set(graph[n]) & wanted) - set(done)]
            if not ready:
                raise WorkspaceError(f"dependency cycle among {', '.join(remaining)}")
            done.extend(ready)
            remaining = [n for n in remaining if n not in ready]
        return done


def read_version(about: Path) -> str:
    """The `__version__` string of an `__about__.py` file."""
    try:
        text = about.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise WorkspaceError(f"{about}: missing; each package keeps `__version__ = 'X.Y.Z'` there") from exc
    match = _VERSION_RE.search(text)
    if match is None:
        raise WorkspaceError(f'{about}: no `__version__ = "X.Y.Z"` line')
    return match.group(1)


def _parse_requirements(values: object, where: str) -> tuple[Requirement, ...]:
    if not isinstance(values, list):
        raise WorkspaceError(f"{where} must be an array of requirement strings")
    reqs = []
    for value in values:
        try:
            reqs.append(Requirement(str(value)))
        except InvalidRequirement as exc:
            raise WorkspaceError(f"{where}: invalid requirement {value!r}: {exc}") from exc
    return tuple(reqs)


def load_package(path: Path) -> Package:
    """Read one member folder."""
    pyproject = path / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise WorkspaceError(f"{path}: no pyproject.toml; every folder under packages/ is a distribution") from exc
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{pyproject}: invalid TOML: {exc}") from exc
    project = data.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise WorkspaceError(f"{pyproject}: missing [project] name")
    dist = str(project["name"])
    if canonicalize_name(dist) != canonicalize_name(path.name):
        raise WorkspaceError(f"{pyproject}: project name {dist!r} does not match its folder {path.name!r}")
    import_name = dist.replace("-", "_")
    if not (path / "src" / import_name).is_dir():
        raise WorkspaceError(f"{path}: expected the import package at src/{import_name}/")
    version = read_version(path / "src" / import_name / "__about__.py")
    reqs = _parse_requirements(project.get("dependencies", []), f"{pyproject} [project] dependencies")
    extras_raw = project.get("optional-dependencies", {})
    extras = {
        name: _parse_requirements(values, f"{pyproject} [project.optional-dependencies] {name}")
        for name, values in (extras_raw.items() if isinstance(extras_raw, dict) else [])
    }
    scripts_raw = project.get("scripts", {})
    scripts = {str(k): str(v) for k, v in scripts_raw.items()} if isinstance(scripts_raw, dict) else {}
    return Package(dist, import_name, version, path, reqs, extras, scripts)


def registered_members(root: Path) -> list[str] | None:
    """Folder names listed in hatch.toml `[envs.default] workspace.members` (None when there is no hatch.toml)."""
    hatch = root / "hatch.toml"
    if not hatch.is_file():
        return None
    data = tomllib.loads(hatch.read_text(encoding="utf-8"))
    members = data.get("envs", {}).get("default", {}).get("workspace", {}).get("members")
    if members is None:
        return None
    names: list[str] = []
    for member in members:
        raw = member.get("path") if isinstance(member, dict) else member
        names.append(Path(str(raw)).name)
    return names


def member_dirs(root: Path) -> list[Path]:
    """Folders directly under `packages/` (hidden and cache folders left out)."""
    base = root / "packages"
    if not base.is_dir():
        raise WorkspaceError(f"{base}: no packages/ folder")
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def discover(root: Path = ROOT) -> Workspace:
    """Every member under `root/packages/`; unknown or broken folders raise `WorkspaceError`."""
    registered = registered_members(root)
    packages = []
    for path in member_dirs(root):
        if registered is not None and "*" not in "".join(registered) and path.name not in registered:
            raise WorkspaceError(
                f"packages/{path.name} is not a workspace member: add it to hatch.toml "
                "[envs.default] workspace.members (and to the `alone` matrix) so that CI builds and tests it, "
                "or remove the folder"
            )
        packages.append(load_package(path))
    return Workspace(root, tuple(packages))


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="workspace.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("list", "the members with version and path"), ("graph", "who depends on whom")):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("--format", choices=["text", "json"], default="text", help="output format")
        cmd.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        ws = discover(args.root)
    except WorkspaceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "list":
        if args.format == "json":
            print(json.dumps([p.as_dict(ws.root) for p in ws.packages], indent=2))
        else:
            rows = [("dist", "import", "version", "path")]
            rows += [(p.dist, p.import_name, p.version, p.path.relative_to(ws.root).as_posix()) for p in ws.packages]
            _print_table(rows)
        return 0
    graph = ws.graph()
    if args.format == "json":
        dependents = {d: sorted(ws.dependents([d]) - {d}) for d in graph}
        print(json.dumps({"dependencies": graph, "dependents": dependents, "order": ws.order()}, indent=2))
    else:
        for dist in ws.order():
            print(f"{dist} -> {', '.join(graph[dist]) or '(none)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
