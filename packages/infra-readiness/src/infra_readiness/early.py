"""Start the package imports before the heavy modules load: the CLI calls this first, so that the import
worker's interpreter start overlaps with our own import of pydantic and the models.

Best effort and standard library (plus PyYAML) only: whatever this cannot work out is left to the normal path,
which also reports every error.
"""

from __future__ import annotations

import ast
from pathlib import Path

from infra_readiness.files import read_text
from infra_readiness.importcheck import ImportRequest, prestart
from infra_readiness.locate import (
    discover_nodes,
    find_contract,
    find_import_name,
    is_node_root,
    read_project_table,
    source_roots,
)

__all__ = ["import_request", "prestart_imports"]


def import_request(root: Path) -> ImportRequest | None:
    """The import of the node at ``root`` (resolved), or ``None`` when its package cannot be found."""
    contract_name: object = None
    contract = find_contract(root)
    if contract is not None:
        text = read_text(contract, [])
        if text is None:
            return None
        import yaml

        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
        except (yaml.YAMLError, RecursionError, MemoryError):
            return None
        contract_name = data.get("name") if isinstance(data, dict) else None
    name = find_import_name(root, contract_name, read_project_table(root))
    if name is None:
        return None
    return ImportRequest(module=name, paths=tuple(str(p) for p in source_roots(root)), root=str(root))


def prestart_imports(path: Path, *, recursive: bool) -> None:
    """Submit the imports of the node at ``path`` (or of every node under it); silent on any problem."""
    try:
        top = path.resolve(strict=True)
        roots = discover_nodes(top) if recursive else ([top] if is_node_root(top) else [])
        requests = [r for r in (import_request(root) for root in roots) if r is not None]
        if not requests:
            return
        own = {r.module for r in requests}
        preload: set[str] = set()
        if len(requests) > 1:
            for request in requests:
                preload |= _module_level_imports(Path(request.paths[0])) - own
        prestart(requests, sorted(preload - {"__future__"}))
    except (OSError, RuntimeError, ValueError, MemoryError):  # RecursionError is a RuntimeError
        return


def _module_level_imports(folder: Path, limit: int = 500) -> set[str]:
    from infra_readiness.checks._ast import module_level_imports

    found: set[str] = set()
    for count, file in enumerate(sorted(folder.rglob("*.py"))):
        if count >= limit or any(part in {"tests", "test"} for part in file.parts):
            break
        text = read_text(file, [])
        if text is None:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        found.update(item.top for item in module_level_imports(tree))
    return found
