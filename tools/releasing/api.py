"""`api-check`: compare a package's public API with its last release and require the version bump it needs.

The public API is the names in the package's `__init__` `__all__` with their signatures and members (read by
griffe, nothing imported) and, for a package with committed JSON Schemas (`packages/<dist>/schemas/`), the
data its models accept (`schema_diff`); every public pydantic model must be covered by a committed schema (its
own file or another's `$defs`), else its data changes would go unchecked.

Policy (semantic versioning, docs/releasing.md): a break needs a new major version, an addition a new minor;
while on 0.x every segment shifts right (a break bumps the minor, an addition the patch), matching the sibling
ranges `>=0.Y,<0.(Y+1)`.

Two questions are asked, each against a release found in git (`history.releases`), never against the version
the working tree claims:

- **was the current version bumped enough?** The tree of the current version (its release commit once
  released, else the working tree) against the release before it;
- **is a pending break declared?** Once the current version is released, the working tree against that
  release: a break must be announced by a `- Breaking: ...` entry under `## Unreleased` (the next `bump`
  then has to move the segment it needs), so work in progress never has to raise the version.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version
from workspace import Package, Workspace

from releasing import changelog
from releasing.errors import UsageError
from releasing.gitutil import commit_of, extract, git, show_file
from releasing.history import Release, previous_release, release_of, releases
from releasing.lower_bound import LowerBoundReport, check_lower_bound
from releasing.schema_diff import BREAKING, diff_schema_sets

_ANSI = re.compile(r"\x1b\[[0-9;]*m")

__all__ = [
    "ApiReport",
    "Comparison",
    "bump_kind",
    "check_api",
    "compare",
    "compare_states",
    "diff_against",
    "load_api",
    "load_schemas",
    "required_segment",
    "uncovered_models",
]

RANK = {None: 0, "patch": 1, "minor": 2, "major": 3}
SCHEMA_DIR = "schemas"


@dataclass
class Comparison:
    """The API changes from a release to a later state of the package (a release or the working tree)."""

    since: Release
    until: str
    breaking: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def needs(self) -> str | None:
        """The segment the changes need moved after `since` (None: no API change)."""
        return required_segment(self.since.version, breaking=bool(self.breaking), added=bool(self.added))

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "since": self.since.as_dict(),
            "until": self.until,
            "breaking": self.breaking,
            "added": self.added,
            "needs": self.needs,
        }


@dataclass
class ApiReport:
    """The outcome of one package's check."""

    dist: str
    version: str
    last: Release | None
    checked: Comparison | None = None
    pending: Comparison | None = None
    declared: list[str] = field(default_factory=list)
    lower_bound: LowerBoundReport | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems

    @property
    def problem(self) -> str | None:
        """All problems in one line, or None."""
        return "; ".join(self.problems) or None

    @property
    def breaking(self) -> list[str]:
        """Every breaking change found (version check first, then pending)."""
        found = [*(self.checked.breaking if self.checked else []), *(self.pending.breaking if self.pending else [])]
        return list(dict.fromkeys(found))

    @property
    def added(self) -> list[str]:
        """Every addition found."""
        found = [*(self.checked.added if self.checked else []), *(self.pending.added if self.pending else [])]
        return list(dict.fromkeys(found))

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "package": self.dist,
            "version": self.version,
            "last_release": self.last.as_dict() if self.last else None,
            "version_check": self.checked.as_dict() if self.checked else None,
            "pending": self.pending.as_dict() if self.pending else None,
            "declared_breaking": self.declared,
            "lower_bound": (
                {
                    "version": self.lower_bound.version,
                    "source": self.lower_bound.source,
                    "missing": self.lower_bound.missing,
                }
                if self.lower_bound
                else None
            ),
            "breaking": self.breaking,
            "added": self.added,
            "ok": self.ok,
            "problem": self.problem,
            "problems": self.problems,
            "notes": self.notes,
        }


def required_segment(last: str, *, breaking: bool = True, added: bool = False) -> str | None:
    """The segment to move after release `last`: breaking -> major (minor on 0.x), added -> minor (patch on 0.x)."""
    zero = Version(last).major == 0
    if breaking:
        return "minor" if zero else "major"
    if added:
        return "patch" if zero else "minor"
    return None


def bump_kind(old: str, new: str) -> str | None:
    """Which segment moved from `old` to `new` (None when `new` is not newer)."""
    a, b = Version(old), Version(new)
    if b <= a:
        return None
    if b.major > a.major:
        return "major"
    if b.minor > a.minor:
        return "minor"
    return "patch"


def _next(version: str, segment: str) -> str:
    v = Version(version)
    major, minor, patch = [*v.release, 0, 0, 0][:3]
    if segment == "major":
        return f"{major + 1}.0.0"
    if segment == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


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
    added = [f"{new.path}.{n}: new public name" for n in new_names if n not in old_names]
    kept = [n for n in old_names if n in new_names and n in old.members]
    prefixes = tuple({f"{old.path}.{n}" for n in kept} | {_canonical(old.members[n]) for n in kept})
    # Values and defaults are behaviour, not interface (as in the schema diff): griffe's "value changed" and "default
    # changed" would flag `Field(default_factory=_now)` -> `Field(default_factory=utc_now)` and every release's
    # own `__version__`. A default removed is still caught ("now required", and by the schema diff).
    ignored = {griffe.BreakageKind.ATTRIBUTE_CHANGED_VALUE, griffe.BreakageKind.PARAMETER_CHANGED_DEFAULT}
    for breakage in griffe.find_breaking_changes(old, new):
        if breakage.kind in ignored:
            continue
        paths = {str(breakage.obj.path), _canonical(breakage.obj)}
        if any(p == pre or p.startswith((pre + ".", pre + "(")) for p in paths for pre in prefixes):
            line = _explain(breakage)
            if line not in breaking:
                breaking.append(line)
    for name in kept:
        added += _new_members(f"{new.path}.{name}", old.members[name], new.members[name])
    return breaking, added


def _new_members(path: str, old: Any, new: Any) -> list[str]:
    """Public members (methods, attributes, fields) a kept class gained: additions, like new names."""
    try:
        old_obj = old.final_target if old.is_alias else old
        new_obj = new.final_target if new.is_alias else new
        if not (old_obj.is_class and new_obj.is_class):
            return []
        return [
            f"{path}.{m}: new public member"
            for m in new_obj.members
            if not m.startswith("_") and m not in old_obj.members
        ]
    except Exception:  # an alias griffe cannot resolve: nothing provable to report
        return []


def load_schemas(root: Path, pkg: Package, commit: str | None) -> dict[str, Any]:
    """`{model name: schema}` from `packages/<dist>/schemas/*.schema.json` at `commit` (None: working tree)."""
    folder = pkg.path / SCHEMA_DIR
    rel = folder.relative_to(root).as_posix()
    texts: dict[str, str] = {}
    if commit is None:
        for path in sorted(folder.glob("*.schema.json")) if folder.is_dir() else []:
            texts[path.name] = path.read_text(encoding="utf-8")
    else:
        names = git(root, "ls-tree", "--name-only", f"{commit}:{rel}", check=False).split()
        for name in names:
            if name.endswith(".schema.json"):
                texts[name] = show_file(root, commit, f"{rel}/{name}")
    schemas: dict[str, Any] = {}
    for name, text in texts.items():
        try:
            schemas[name.removesuffix(".schema.json")] = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"{rel}/{name}" + (f" at {commit[:12]}" if commit else "")
            raise UsageError(f"{where} is not valid JSON: {exc}") from exc
    return schemas


_PYDANTIC_BASES = {
    "pydantic.BaseModel",
    "pydantic.main.BaseModel",
    "pydantic.RootModel",
    "pydantic.root_model.RootModel",
}


def _is_model(obj: Any, depth: int = 0) -> bool:
    """Whether a griffe object is a class deriving from pydantic's BaseModel (bases resolved statically)."""
    if depth > 32:
        return False
    try:
        target = obj.final_target if obj.is_alias else obj
        if not target.is_class:
            return False
        if any(str(getattr(base, "canonical_path", base)) in _PYDANTIC_BASES for base in target.bases):
            return True
        return any(_is_model(base, depth + 1) for base in target.resolved_bases)
    except Exception:  # an alias or base griffe cannot resolve (outside the package): not provably a model
        return False


def uncovered_models(module: Any, schemas: dict[str, Any]) -> list[str]:
    """Public pydantic models with no committed schema of their own and absent from every schema's `$defs`."""
    covered = set(schemas)
    for schema in schemas.values():
        if isinstance(schema, dict):
            covered |= set(schema.get("$defs", {}))
    return [
        name
        for name in _exports(module)
        if name in module.members and name not in covered and _is_model(module.members[name])
    ]


def compare_states(ws: Workspace, pkg: Package, since: Release, until: Release | None, tmp: Path) -> Comparison:
    """The API and schema changes from release `since` to release `until` (None: the working tree)."""
    src_rel = pkg.src_path.relative_to(ws.root).as_posix()
    old = load_api(extract(ws.root, since.commit, src_rel, tmp / f"old-{since.commit[:12]}"), pkg.import_name)
    if until is None:
        new = load_api(pkg.src_path, pkg.import_name)
    else:
        new = load_api(extract(ws.root, until.commit, src_rel, tmp / f"new-{until.commit[:12]}"), pkg.import_name)
    breaking, added = compare(old, new)
    old_schemas = load_schemas(ws.root, pkg, since.commit)
    new_schemas = load_schemas(ws.root, pkg, until.commit if until else None)
    for change in diff_schema_sets(old_schemas, new_schemas):
        (breaking if change.kind == BREAKING else added).append(f"schema {change}")
    label = f"{until.version} ({until.source})" if until else "the working tree"
    return Comparison(since, label, breaking, added)


def diff_against(ws: Workspace, pkg: Package, ref: str) -> Comparison:
    """The changes from any git ref (a base branch, a commit) to the working tree: review help, no policy."""
    commit = commit_of(ws.root, ref)
    about = show_file(ws.root, commit, pkg.about_path.relative_to(ws.root).as_posix())
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", about, re.M)
    since = Release(match.group(1) if match else pkg.version, commit, f"ref {ref}")
    with tempfile.TemporaryDirectory(prefix=f"api-{pkg.dist}-") as tmp:
        return compare_states(ws, pkg, since, None, Path(tmp))


def _check_bump(report: ApiReport, pkg: Package, comp: Comparison, released: bool) -> None:
    """The current version must move at least the segment the changes since the previous release need."""
    need, have = comp.needs, bump_kind(comp.since.version, pkg.version)
    if RANK[have] >= RANK[need]:
        return
    target = _next(comp.since.version, need or "patch")
    n = len(comp.breaking) if comp.breaking else len(comp.added)
    what = "breaking change(s)" if comp.breaking else "addition(s)"
    fix = (
        f"set __about__.py to {target} and rename the `## {pkg.version}` heading of CHANGELOG.md to `## {target}`"
        if released
        else f"`python tools/release.py bump {pkg.dist} {need}`"
    )
    report.problems.append(
        f"{n} {what} since {comp.since.version} need a {need} bump (to {target}), "
        f"but {comp.since.version} -> {pkg.version} is a {have} bump: {fix}"
    )


def _check_pending(report: ApiReport, pkg: Package, comp: Comparison) -> None:
    """Changes since the current version's release: a break must be declared under `## Unreleased`."""
    need = comp.needs
    if need is None:
        return
    target = _next(comp.since.version, need)
    if comp.breaking and not report.declared:
        report.problems.append(
            f"{len(comp.breaking)} breaking change(s) since the {comp.since.version} release need a {need} bump "
            f"(to {target}) and are not declared: add `- Breaking: <what changed>` under `## Unreleased` of "
            f"{pkg.dist}'s CHANGELOG.md and release with `bump {pkg.dist} {need}`, or restore the API"
        )
    elif comp.breaking:
        report.notes.append(f"declared break pending: the next release must be `bump {pkg.dist} {need}` ({target})")
    else:
        report.notes.append(f"{len(comp.added)} addition(s) pending: the next release needs at least a {need} bump")


def _check_lower_bound(report: ApiReport, ws: Workspace, pkg: Package, cache: dict[str, Any]) -> None:
    """The lowest infra-models the package claims must export what the package imports from it."""
    report.lower_bound = found = check_lower_bound(ws, pkg, cache)
    if found is None or not found.missing:
        return
    req = pkg.requirement_on("infra-models")
    report.problems.append(
        f"`{req}` claims infra-models {found.version} ({found.source}), which lacks {len(found.missing)} name(s) "
        f"{pkg.dist} imports: {'; '.join(found.missing)}. Release infra-models with them "
        "(`python tools/release.py bump infra-models patch`, committed) and raise the lower bound to that version"
    )


def check_api(ws: Workspace, pkg: Package, cache: dict[str, Any] | None = None) -> ApiReport:
    """Compare the working tree's API of `pkg` with its releases (see the module docstring)."""
    known = releases(ws.root, pkg)
    report = ApiReport(pkg.dist, pkg.version, known[0] if known else None)
    _check_lower_bound(report, ws, pkg, cache if cache is not None else {})
    if not known:
        return report
    if Version(pkg.version) < Version(known[0].version):
        report.problems.append(f"version {pkg.version} is older than the last release {known[0].version}")
        return report
    text = pkg.changelog_path.read_text(encoding="utf-8") if pkg.changelog_path.is_file() else ""
    report.declared = changelog.declared_breaking(text)
    mine = release_of(known, pkg.version)
    before = previous_release(known, pkg.version)
    with tempfile.TemporaryDirectory(prefix=f"api-{pkg.dist}-") as tmp:
        if before is not None:
            report.checked = compare_states(ws, pkg, before, mine, Path(tmp))
            _check_bump(report, pkg, report.checked, released=mine is not None)
        if mine is not None:
            report.pending = compare_states(ws, pkg, mine, None, Path(tmp))
            _check_pending(report, pkg, report.pending)
    missing = uncovered_models(load_api(pkg.src_path, pkg.import_name), load_schemas(ws.root, pkg, None))
    if missing:
        folder = (pkg.path / SCHEMA_DIR).relative_to(ws.root).as_posix()
        report.problems.append(
            f"public pydantic model(s) without a committed JSON Schema, so their data changes go unchecked: "
            f"{', '.join(missing)}; commit their schemas under {folder}/ (for infra-models: add them to "
            "PUBLIC_MODELS and run `infra-models schema --out packages/infra-models/schemas`)"
        )
    return report
