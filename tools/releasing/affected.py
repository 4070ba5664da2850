"""Which packages a change touches: the changed members plus everything that depends on them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from workspace import Workspace

from releasing.errors import UsageError

__all__ = ["GLOBAL_PATHS", "NEUTRAL_PATHS", "Affected", "select", "to_github"]

# A change here can break every package: run them all.
GLOBAL_PATHS = ("hatch.toml", "pytest.ini", "ruff.toml", ".importlinter", "tools/", ".github/", ".ci/")
# A change here changes no package's behaviour.
NEUTRAL_PATHS = ("docs/", "README.md", ".gitignore", "LICENSE")

SHARED = "infra-models"


@dataclass
class Affected:
    """The selection and why each package is in it."""

    packages: list[str]
    reasons: dict[str, list[str]] = field(default_factory=dict)
    run_all: bool = False

    def as_dict(self, ws: Workspace) -> dict[str, object]:
        """JSON form, including a GitHub Actions matrix (`{"include": [...]}`)."""
        include = [
            {"package": d, "import": ws.get(d).import_name, "path": f"packages/{ws.get(d).path.name}"}
            for d in self.packages
        ]
        return {
            "packages": self.packages,
            "all": self.run_all,
            "any": bool(self.packages),
            "reasons": self.reasons,
            "matrix": {"include": include},
        }


def _member_of(ws: Workspace, path: str) -> str:
    parts = PurePosixPath(path).parts
    if len(parts) < 3:
        raise UsageError(f"{path}: a file directly under packages/; every package lives in packages/<dist>/")
    folder = parts[1]
    for pkg in ws.packages:
        if pkg.path.name == folder:
            return pkg.dist
    known = ", ".join(ws.names)
    raise UsageError(
        f"{path} is in packages/{folder}/, which is not a known workspace member ({known}): "
        "register it in hatch.toml workspace.members (with a pyproject.toml) so CI tests it"
    )


def select(ws: Workspace, changed: list[str], *, run_all: bool = False) -> Affected:
    """The affected packages for a list of changed paths (relative, posix)."""
    if run_all:
        return Affected(ws.order(), {d: ["all requested"] for d in ws.names}, run_all=True)
    touched: dict[str, list[str]] = {}
    global_hits: list[str] = []
    for path in changed:
        if path.startswith("packages/") and not (ws.root / "packages" / PurePosixPath(path).parts[1]).exists():
            global_hits.append(path)  # a package folder that was removed: whatever used it must be re-tested
        elif path.startswith("packages/"):
            touched.setdefault(_member_of(ws, path), []).append(path)
        elif path.startswith(NEUTRAL_PATHS) or path in NEUTRAL_PATHS:
            continue
        else:  # GLOBAL_PATHS and anything unclassified: safer to run everything
            global_hits.append(path)
    reasons = {d: [_summary(files)] for d, files in touched.items()}
    if global_hits or SHARED in touched:
        why = [f"shared files changed: {_summary(global_hits)}"] if global_hits else []
        if SHARED in touched:
            why.append(f"{SHARED} changed and every package depends on it")
        for dist in ws.names:
            reasons.setdefault(dist, []).extend(r for r in why if r not in reasons.get(dist, []))
        return Affected(ws.order(), reasons, run_all=True)
    selected = ws.dependents(touched)
    for dist in sorted(selected - set(touched)):
        deps = [d for d in ws.dependencies(dist) if d in selected]
        reasons.setdefault(dist, []).append(f"depends on {', '.join(deps)}")
    return Affected(ws.order(selected), reasons)


def _summary(files: list[str]) -> str:
    shown = ", ".join(files[:2])
    return f"{shown} (+{len(files) - 2} more)" if len(files) > 2 else shown


def to_github(result: Affected, ws: Workspace) -> str:
    """`key=value` lines for `$GITHUB_OUTPUT`: matrix, packages, any, all."""
    data = result.as_dict(ws)
    return "\n".join(
        [
            f"matrix={json.dumps(data['matrix'], separators=(',', ':'))}",
            f"packages={json.dumps(result.packages, separators=(',', ':'))}",
            f"any={'true' if result.packages else 'false'}",
            f"all={'true' if result.run_all else 'false'}",
        ]
    )
