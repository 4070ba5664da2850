"""Does the lowest infra-models a package claims export every name the package imports from it? (static, fast)

`verify-install --lowest` proves the lower bound by installing that version and running the tests, which takes a
minute per package; this answers the most common way it fails (a name added to infra-models after the release
the bound points at) in a second, by reading the package's imports with `ast` and that release with griffe.
"""

from __future__ import annotations

import ast
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace import Package, Workspace

from releasing.gitutil import extract
from releasing.history import commit_for_version, lowest_claimed

__all__ = ["LowerBoundReport", "check_lower_bound", "imported_names"]

SHARED = "infra-models"


@dataclass(frozen=True)
class LowerBoundReport:
    """The names a package imports from infra-models that its lowest claimed version lacks."""

    dist: str
    version: str
    source: str
    missing: tuple[str, ...]


def imported_names(src: Path, module: str, root: Path | None = None) -> dict[str, list[str]]:
    """`{"module.path:Name" or "module.path": [file:line, ...]}` for every import from `module` under `src`.

    Covers `from module[.sub] import Name`, `import module[.sub]` and `module.Name` after `import module [as m]`.
    """
    found: dict[str, list[str]] = {}
    for path in sorted(src.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue  # not ours to judge here; the package's own lint and tests report it
        where = path.relative_to(root or src.parent).as_posix()
        aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == module or node.module.startswith(module + "."):
                    for alias in node.names:
                        if alias.name != "*":
                            found.setdefault(f"{node.module}:{alias.name}", []).append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == module or alias.name.startswith(module + "."):
                        found.setdefault(alias.name, []).append(f"{where}:{node.lineno}")
                        if alias.name == module:
                            aliases.add(alias.asname or module)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.setdefault(f"{module}:{node.attr}", []).append(f"{where}:{node.lineno}")
    return found


def _has(root_module: Any, dotted: str, name: str | None) -> bool:
    obj = root_module
    for part in dotted.split(".")[1:]:
        try:
            obj = obj.members[part]
        except (KeyError, AttributeError):
            return False
    if name is None:
        return True
    try:
        return name in obj.members
    except AttributeError:
        return False


def check_lower_bound(ws: Workspace, pkg: Package, cache: dict[str, Any] | None = None) -> LowerBoundReport | None:
    """None when `pkg` does not depend on infra-models (or is it); else what its lowest claimed version lacks."""
    from releasing.api import load_api

    if pkg.dist == SHARED or pkg.requirement_on(SHARED) is None:
        return None
    models = ws.get(SHARED)
    version = lowest_claimed(ws.root, pkg, models)
    release = commit_for_version(ws.root, models, version)
    memo = cache if cache is not None else {}
    if release.commit not in memo:
        with tempfile.TemporaryDirectory(prefix="lower-bound-") as tmp:
            src_rel = models.src_path.relative_to(ws.root).as_posix()
            old_src = extract(ws.root, release.commit, src_rel, Path(tmp))
            memo[release.commit] = load_api(old_src, models.import_name)  # griffe reads every file now
    module = memo[release.commit]
    missing = []
    for key, places in sorted(imported_names(pkg.src_path, models.import_name, ws.root).items()):
        dotted, _, name = key.partition(":")
        if not _has(module, dotted, name or None):
            shown = f"{dotted}.{name}" if name else dotted
            missing.append(f"{shown} ({places[0]}{' ...' if len(places) > 1 else ''})")
    return LowerBoundReport(pkg.dist, version, release.source, tuple(missing))
