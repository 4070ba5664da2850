"""Start the package imports before the heavy modules load: the CLI calls this first, so that the import
worker's interpreter start overlaps with our own import of pydantic and the models.

Best effort and light (the standard library, PyYAML through infra-models' bounded reader): whatever this cannot
work out is left to the normal path, which also reports every error. A hostile contract is refused here within
the same bounds as everywhere else, so it cannot stall the start.
"""

from __future__ import annotations

from pathlib import Path

from infra_readiness.files import read_text
from infra_readiness.importcheck import ImportRequest, parallel_jobs, prestart, top_level_imports
from infra_readiness.locate import (
    discover_nodes,
    find_contract,
    find_import_name,
    is_node_root,
    place_node,
    read_project_table,
    source_roots,
)

__all__ = ["import_request", "prestart_imports"]


def import_request(root: Path) -> ImportRequest | None:
    """The import of the node at ``root`` (resolved), or ``None`` when its package cannot be found."""
    placement = place_node(root)
    if placement.inside_project:  # a node folder inside a service: its dotted module, no YAML needed
        if placement.module is None or placement.source_root is None:
            return None
        return ImportRequest(
            module=placement.module,
            paths=(str(placement.source_root),),
            root=str(placement.package_root),
            parent=placement.module.rpartition(".")[0] or None,
        )
    contract_name: object = None
    contract = find_contract(root)
    if contract is not None:
        from infra_models.errors import ContractError
        from infra_models.yaml_limits import load_yaml_mapping

        text = read_text(contract, [])
        if text is None:
            return None
        try:
            _, data = load_yaml_mapping(text, filename=str(contract))
        except (ContractError, RecursionError, MemoryError):
            return None
        contract_name = data.get("name")
    name = find_import_name(root, contract_name, read_project_table(root))
    if name is None:
        return None
    return ImportRequest(module=name, paths=tuple(str(p) for p in source_roots(root)), root=str(root))


def prestart_imports(path: Path, *, recursive: bool, jobs: int | None = None) -> None:
    """Submit the imports of the node at ``path`` (or of every node under it); silent on any problem."""
    try:
        top = path.resolve(strict=True)
        roots = discover_nodes(top) if recursive else ([top] if is_node_root(top) else [])
        if parallel_jobs(len(roots), jobs) > 1:
            return  # split among forked processes, each starting its own imports
        pairs = [(root, r) for root, r in ((root, import_request(root)) for root in roots) if r is not None]
        requests = list(dict.fromkeys(r for _, r in pairs))
        if not requests:
            return
        own = {r.module for r in requests}
        preload: set[str] = set()
        if len(requests) > 1:  # each folder scanned once: a node folder, or a package's source root
            folders = {root if r.root != str(root) else Path(r.paths[0]) for root, r in pairs}
            for folder in sorted(folders):
                preload |= _module_level_imports(folder) - own
        prestart(requests, sorted(preload - {"__future__"}))
    except (OSError, RuntimeError, ValueError, MemoryError):  # RecursionError is a RuntimeError
        return


def _module_level_imports(folder: Path, limit: int = 500) -> set[str]:
    found: set[str] = set()
    files = [f for f in sorted(folder.rglob("*.py")) if not {"tests", "test"} & set(f.relative_to(folder).parts)]
    for file in files[:limit]:
        text = read_text(file, [])
        if text is not None:
            found |= top_level_imports(text)
    return found
