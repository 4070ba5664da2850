"""NodeGenerator: answers → templates rendered in memory → a plan → applied atomically.

Example:
    >>> generator = NodeGenerator(output_dir=".")
    >>> result = generator.generate_node(  # doctest: +SKIP
    ...     node_type="effect", domain="infrastructure", microservice_name="vault_adapter",
    ...     business_description="HashiCorp Vault secret management", external_system="HashiCorp Vault")
    >>> result.project_dir  # doctest: +SKIP
    PosixPath('vault-adapter')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra_gen.answers import build_contract, complete_contract, parse_kind, template_context
from infra_gen.errors import TemplateError
from infra_gen.names import parse_name
from infra_gen.onex.service import OnexService, find_onex_service
from infra_gen.plan import Action, OnConflict, Plan, apply_plan, build_plan
from infra_gen.render import RenderedFile, render_templates, template_hash
from infra_gen.state import STATE_FILE, state_bytes
from infra_gen.workspace import find_workspace
from infra_models import NodeContract, NodeKind, load_any_contract

if TYPE_CHECKING:
    from infra_models import OnexContract

__all__ = ["BUILTIN_TEMPLATES", "GenerationResult", "NodeGenerator", "render_node", "template_roots"]

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """What a generation planned and wrote."""

    plan: Plan
    project_dir: Path
    written: list[str] = field(default_factory=list)
    dry_run: bool = False


def template_roots(kind: NodeKind, template_dir: Path | None = None) -> list[Path]:
    """The template folders of ``kind``: the shared files, then the kind's own."""
    base = template_dir or BUILTIN_TEMPLATES
    roots = [base / "_common"] if (base / "_common").is_dir() else []
    own = base / kind.value.lower()
    if not own.is_dir():
        raise TemplateError(f"{base}: no template for {kind.value} (expected {own})", code="gen.template.missing")
    return [*roots, own]


def render_node(
    contract: NodeContract, *, template_dir: Path | None = None, top: str | None = None
) -> dict[str, RenderedFile]:
    """Render the node of ``contract`` into memory, ``.infra-gen.json`` included; paths start with ``top``."""
    roots = template_roots(contract.kind, template_dir)
    context = template_context(contract)
    prefix = top or context["project_dir"]
    files = render_templates(roots, context, top=prefix)
    base = {path[len(prefix) + 1 :]: f.content for path, f in files.items()}
    state = f"{prefix}/{STATE_FILE}"
    files[state] = RenderedFile(state, state_bytes(contract.kind.value.lower(), template_hash(roots), contract, base))
    return dict(sorted(files.items()))


class NodeGenerator:
    """Generates ONEX nodes (EFFECT, COMPUTE, REDUCER, ORCHESTRATOR) into ``output_dir``.

    When ``output_dir`` is a hatch workspace (its ``hatch.toml`` lists ``workspace.members``), the node goes to
    ``packages/<name>`` and is added to the members list, in the same plan.
    """

    def __init__(
        self, output_dir: str | Path = ".", *, on_conflict: OnConflict = "abort", template_dir: str | Path | None = None
    ) -> None:
        self.output_dir = Path(output_dir)
        self.on_conflict: OnConflict = on_conflict
        self.template_dir = Path(template_dir) if template_dir is not None else None

    def onex_service(self) -> OnexService | None:
        """The ONEX service whose ``nodes/`` folder ``output_dir`` is, or None for a stand-alone node package."""
        return find_onex_service(self.output_dir)

    def _plan_onex(
        self,
        service: OnexService,
        kind: NodeKind,
        name: str,
        *,
        description: str,
        version: str,
        external: str,
        given: Mapping[str, Any] | None = None,
    ) -> Plan:
        from infra_gen.onex.layout import plan_onex_node
        from infra_gen.onex.spec import OnexNodeSpec

        node = parse_name(name)
        # `node_vault_reader_effect` or `vault_reader_effect` names the folder node_vault_reader_effect, not
        # node_node_vault_reader_effect_effect: the layout adds the prefix and the kind itself.
        words = node.words
        if len(words) > 1 and words[0] == "node":
            words = words[1:]
        if len(words) > 1 and words[-1] == kind.value.lower():
            words = words[:-1]
        if words != node.words:
            node = parse_name("_".join(words))
        text = " ".join(description.split()) or f"{node.pascal} {kind.value.lower()} node."
        extra = dict(given or {})
        spec = OnexNodeSpec(
            node,
            kind,
            service,
            text,
            version,
            external,
            subscribe_topics=tuple(extra.get("subscribe_topics", ())),
            publish_topics=tuple(extra.get("publish_topics", ())),
            kept=dict(extra.get("kept", {})),
        )
        onex_templates = self.template_dir / "onex" if self.template_dir is not None else None
        return plan_onex_node(spec, on_conflict=self.on_conflict, template_dir=onex_templates)

    def _plan_onex_contract(self, contract: OnexContract) -> Plan:
        from infra_gen.onex.answers import onex_answers

        answers = onex_answers(contract)
        service = self.onex_service()
        if service is None:  # a real ONEX contract, generated as a stand-alone package outside a service
            standalone = build_contract(
                answers["kind"], answers["name"], description=answers["description"], version=answers["version"]
            )
            return self.plan_contract(standalone)
        return self._plan_onex(
            service,
            answers["kind"],
            answers["name"],
            description=answers["description"],
            version=answers["version"],
            external="",
            given=answers,
        )

    def plan_contract(self, contract: NodeContract | OnexContract) -> Plan:
        """The plan of generating the node of ``contract`` (either format); writes nothing."""
        if not isinstance(contract, NodeContract):
            return self._plan_onex_contract(contract)
        service = self.onex_service()
        if service is not None:
            external = contract.external_systems[0].name if contract.external_systems else ""
            return self._plan_onex(
                service,
                contract.kind,
                contract.name,
                description=contract.description,
                version=contract.version,
                external=external,
            )
        contract = complete_contract(contract)
        kebab = contract.name.replace("_", "-")
        workspace = find_workspace(self.output_dir) if self.output_dir.is_dir() else None
        top = f"packages/{kebab}" if workspace is not None else kebab
        rendered = render_node(contract, template_dir=self.template_dir, top=top)
        plan = build_plan(
            self.output_dir,
            rendered.values(),
            on_conflict=self.on_conflict,
            meta={"node": contract.name, "kind": contract.kind.value, "project_dir": top},
        )
        if workspace is not None:
            text = workspace.config.read_text(encoding="utf-8")
            updated = workspace.add_member(text, top)
            if updated != text:
                member = RenderedFile("hatch.toml", updated.encode("utf-8"))
                planned = build_plan(self.output_dir, [member], on_conflict="overwrite").files
                plan = Plan(plan.root, (*plan.files, *planned), {**plan.meta, "workspace": str(workspace.root)})
        return plan

    def plan_node(
        self,
        node_type: str | NodeKind,
        microservice_name: str,
        *,
        domain: str = "infrastructure",
        business_description: str = "",
        external_system: str | None = None,
        version: str = "0.1.0",
    ) -> Plan:
        """The plan of generating a new node; writes nothing.

        Into the ``nodes/`` folder of an ONEX service package, the node is planned in the declarative ONEX layout
        (``node_<name>_<kind>/`` and ``tests/unit/nodes/node_<name>_<kind>/``); elsewhere as a stand-alone package.
        """
        service = self.onex_service()
        if service is not None:
            kind = parse_kind(node_type)
            if kind is not NodeKind.EFFECT and external_system:
                build_contract(kind, microservice_name, external_system=external_system)  # raises the usual error
            return self._plan_onex(
                service,
                kind,
                microservice_name,
                description=business_description,
                version=version,
                external=(external_system or "").strip(),
            )
        contract = build_contract(
            node_type,
            microservice_name,
            domain=domain,
            description=business_description,
            external_system=external_system,
            version=version,
        )
        return self.plan_contract(contract)

    def apply(self, plan: Plan) -> GenerationResult:
        """Write ``plan`` atomically (see :func:`infra_gen.plan.apply_plan`)."""
        written = apply_plan(plan)
        return GenerationResult(plan, self.output_dir / str(plan.meta["project_dir"]), written)

    def generate_node(
        self,
        node_type: str | NodeKind,
        microservice_name: str,
        *,
        domain: str = "infrastructure",
        business_description: str = "",
        external_system: str | None = None,
        version: str = "0.1.0",
        dry_run: bool = False,
    ) -> GenerationResult:
        """Generate a node; with ``dry_run`` only plan it. Raises :class:`~infra_gen.errors.GenError` subclasses."""
        plan = self.plan_node(
            node_type,
            microservice_name,
            domain=domain,
            business_description=business_description,
            external_system=external_system,
            version=version,
        )
        if dry_run:
            return GenerationResult(plan, self.output_dir / str(plan.meta["project_dir"]), [], True)
        return self.apply(plan)

    def generate_from_contract(
        self, contract: NodeContract | OnexContract | str | Path, *, dry_run: bool = False
    ) -> GenerationResult:
        """Generate the node a ``contract.yaml`` describes: infra's format or a real ONEX contract (read bounded)."""
        loaded = contract if not isinstance(contract, str | Path) else load_any_contract(contract)
        plan = self.plan_contract(loaded)
        if dry_run:
            return GenerationResult(plan, self.output_dir / str(plan.meta["project_dir"]), [], True)
        return self.apply(plan)


def plan_is_noop(plan: Plan) -> bool:
    """True when applying ``plan`` would change nothing."""
    return all(f.action in {Action.IDENTICAL, Action.SKIP} for f in plan.files)
