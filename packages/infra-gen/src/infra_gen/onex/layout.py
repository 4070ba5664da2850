"""Plan an ONEX node inside a service package: the node folder under ``nodes/``, its tests under ``tests/unit/nodes``.

Both roots are planned together, relative to the service root, so the dry run, conflict detection and the
all-or-nothing apply cover the node folder and its tests folder at once.
"""

from __future__ import annotations

from pathlib import Path

from infra_gen.onex.spec import OnexNodeSpec, onex_context
from infra_gen.plan import OnConflict, Plan, build_plan
from infra_gen.render import RenderedFile, render_templates

__all__ = ["ONEX_TEMPLATES", "plan_onex_node", "render_onex_node"]

ONEX_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "onex"
_TOP = "service"


def _roots(spec: OnexNodeSpec, template_dir: Path | None) -> list[Path]:
    base = template_dir or ONEX_TEMPLATES
    return [base / "_common", base / spec.kind.value.lower()]


def render_onex_node(spec: OnexNodeSpec, *, template_dir: Path | None = None) -> dict[str, RenderedFile]:
    """The node's files in memory, by path relative to the service root."""
    service = spec.service
    nodes_rel = service.nodes_dir.relative_to(service.root).as_posix()
    tests_rel = service.tests_dir.relative_to(service.root).as_posix()
    rendered = render_templates(_roots(spec, template_dir), onex_context(spec), top=_TOP)
    files: dict[str, RenderedFile] = {}
    for path, file in rendered.items():
        area, _, rest = path.removeprefix(f"{_TOP}/").partition("/")
        prefix = {"nodes": nodes_rel, "tests": tests_rel}[area]
        target = f"{prefix}/{rest}" if prefix != "." else rest
        files[target] = RenderedFile(target, file.content, file.executable)
    init = service.nodes_dir / "__init__.py"
    if not init.exists():  # a new nodes folder becomes a regular package; an existing __init__.py is never touched
        rel = init.relative_to(service.root).as_posix()
        files[rel] = RenderedFile(rel, f'"""Nodes of {service.service}."""\n'.encode())
    return dict(sorted(files.items()))


def plan_onex_node(spec: OnexNodeSpec, *, on_conflict: OnConflict = "abort", template_dir: Path | None = None) -> Plan:
    """The plan of writing the node of ``spec`` into its service; writes nothing."""
    service = spec.service
    files = render_onex_node(spec, template_dir=template_dir)
    return build_plan(
        service.root,
        files.values(),
        on_conflict=on_conflict,
        meta={
            "node": spec.name.snake,
            "kind": spec.kind.value,
            "layout": "onex",
            "project_dir": spec.node_dir,
            "service_root": str(service.root),
            "node_dir": (service.nodes_dir / spec.node_dir).relative_to(service.root).as_posix(),
            "tests_dir": (service.tests_dir / spec.node_dir).relative_to(service.root).as_posix(),
            "module": spec.module,
        },
    )
