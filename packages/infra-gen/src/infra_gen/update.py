"""``check`` and ``update``: bring template changes into a generated node with a three-way merge.

For every file, the base is what infra-gen generated (kept in ``.infra-gen.json``), "yours" is the file on disk
and "theirs" is what the current template renders from the same answers. A side that did not change takes the
other; both changed → merged line by line (``merge3``); overlapping edits are written in place between
conflict markers holding both sides, never dropping either. Binary files that both sides changed keep yours and
get the template's version beside them as ``<name>.infra-gen-new``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra_gen.__about__ import __version__
from infra_gen.answers import complete_contract
from infra_gen.errors import InvalidAnswerError
from infra_gen.generator import render_node
from infra_gen.plan import Action, Plan, PlannedFile, apply_plan, plan_delete, plan_file
from infra_gen.render import RenderedFile
from infra_gen.state import STATE_FILE, read_state
from infra_models import NodeContract, parse_contract
from infra_models.errors import InfraError

__all__ = ["CheckReport", "UpdateResult", "check_node", "merge_text", "plan_update", "update_node"]

_MARKERS = frozenset({"<<<<<<< yours", "||||||| base", "=======", ">>>>>>> template"})


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Whether the current template would change a node, and which files the user edited."""

    project_dir: Path
    recorded_version: str
    current_version: str
    up_to_date: bool
    template_changes: tuple[str, ...]
    local_edits: tuple[str, ...]
    unresolved: tuple[str, ...] = ()
    """Files still holding conflict markers from an earlier update."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {
            "project_dir": str(self.project_dir),
            "recorded_version": self.recorded_version,
            "current_version": self.current_version,
            "up_to_date": self.up_to_date,
            "template_changes": list(self.template_changes),
            "local_edits": list(self.local_edits),
            "unresolved": list(self.unresolved),
        }


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """The update's plan, per-file outcome (``merged``, ``conflict``, ``theirs``, ...) and what was written."""

    plan: Plan
    outcomes: dict[str, str]
    written: list[str] = field(default_factory=list)

    @property
    def conflicts(self) -> list[str]:
        """Files left with conflict markers (or a ``.infra-gen-new`` beside them)."""
        return sorted(p for p, o in self.outcomes.items() if o == "conflict")


def _newline(data: bytes) -> bytes:
    return b"\r\n" if b"\r\n" in data else b"\n"


def _to_newline(data: bytes, newline: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", newline)


def _text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def merge_text(base: str, yours: str, theirs: str) -> tuple[str, bool]:
    """Three-way merge of texts; returns the result and whether it holds conflict markers."""
    import merge3

    merger = merge3.Merge3(
        base.splitlines(keepends=True), yours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    )
    conflicted = any(region[0] == "conflict" for region in merger.merge_regions())
    newline = "\r\n" if "\r\n" in yours else "\n"
    lines = merger.merge_lines(name_a="yours", name_b="template", name_base="base", base_marker="|||||||")
    return "".join(_close_lines(lines, newline)), conflicted


def _close_lines(lines: Iterable[str], newline: str) -> list[str]:
    """Give marker lines the file's newline, and a newline to a last line without one that a marker follows."""
    out: list[str] = []
    for line in lines:
        if line.rstrip("\r\n") in _MARKERS:
            if out and not out[-1].endswith("\n"):
                out[-1] += newline
            out.append(line.rstrip("\r\n") + newline)
            continue
        out.append(line)
    return out


def _current(project_dir: Path, rel: str) -> bytes | None:
    path = project_dir / rel
    return path.read_bytes() if path.is_file() else None


def _render_current(
    project_dir: Path, template_dir: Path | None, contract: NodeContract | None = None
) -> tuple[dict[str, bytes], bytes]:
    """The current template's files for the node's answers (recorded, or ``contract``), and its new state."""
    answers = contract if contract is not None else read_state(project_dir).contract
    top = "node"
    files = render_node(complete_contract(answers), template_dir=template_dir, top=top)
    rendered = {path[len(top) + 1 :]: f.content for path, f in files.items()}
    new_state = rendered.pop(STATE_FILE)
    return rendered, new_state


def check_node(project_dir: str | Path, *, template_dir: str | Path | None = None) -> CheckReport:
    """Compare a generated node with what the current template renders from its answers; writes nothing."""
    root = Path(project_dir)
    state = read_state(root)
    rendered, _ = _render_current(root, Path(template_dir) if template_dir else None)
    paths = sorted(set(state.base) | set(rendered))
    changes = tuple(p for p in paths if state.base.get(p) != rendered.get(p))
    edits = tuple(p for p in sorted(state.base) if _current(root, p) != state.base[p])
    unresolved = tuple(p for p in edits if _has_markers(_current(root, p)))
    return CheckReport(root, state.generator_version, __version__, not changes, changes, edits, unresolved)


def _has_markers(data: bytes | None) -> bool:
    text = _text(data or b"")
    if not text:
        return False
    lines = {line.rstrip("\r") for line in text.split("\n")}
    return "<<<<<<< yours" in lines and ">>>>>>> template" in lines


def plan_update(
    project_dir: str | Path, *, template_dir: str | Path | None = None, contract: NodeContract | None = None
) -> UpdateResult:
    """Plan the merge of the current template into a generated node; writes nothing.

    ``contract`` replaces the recorded answers, for example the node's own ``contract.yaml`` after adding a step:
    the files it changes are merged like any template change.
    """
    root = Path(project_dir)
    state = read_state(root)
    if contract is not None and contract.name != state.contract.name:
        raise InvalidAnswerError(
            f"the contract is for node `{contract.name}`, but {root} holds `{state.contract.name}`",
            code="gen.answer.contract_name",
        )
    rendered, new_state = _render_current(root, Path(template_dir) if template_dir else None, contract)
    planned: list[PlannedFile] = []
    outcomes: dict[str, str] = {}
    answers_file = f"src/{state.contract.name}/contract.yaml"
    for rel in sorted(set(state.base) | set(rendered)):
        base, theirs, yours = state.base.get(rel), rendered.get(rel), _current(root, rel)
        if contract is not None and rel == answers_file and _same_contract(yours, contract):
            outcomes[rel] = "yours"  # the node's own contract is the answers: its text wins over the rendering
            continue
        outcome, content, extra = _decide(rel, base, yours, theirs)
        outcomes[rel] = outcome
        if content is not None:
            planned.append(plan_file(root, RenderedFile(rel, content), "overwrite", note=outcome))
        elif outcome == "removed":
            planned.append(plan_delete(root, rel, note=outcome))
        if extra is not None:
            planned.append(plan_file(root, extra, "overwrite", note="template version of a binary conflict"))
    planned.append(plan_file(root, RenderedFile(STATE_FILE, new_state), "overwrite", note="answers and new base"))
    files = tuple(f for f in planned if f.action is not Action.IDENTICAL or f.note not in {"unchanged", "yours"})
    meta = {"project_dir": str(root), "from_version": state.generator_version, "to_version": __version__}
    return UpdateResult(Plan(root, files, meta), outcomes)


def _same_contract(text: bytes | None, contract: NodeContract) -> bool:
    if text is None:
        return False
    try:
        return parse_contract(text.decode("utf-8")) == contract
    except (InfraError, UnicodeDecodeError):
        return False


def _decide(
    rel: str, base: bytes | None, yours: bytes | None, theirs: bytes | None
) -> tuple[str, bytes | None, RenderedFile | None]:
    """(outcome, content to write or None, extra file) for one path."""
    if theirs is None:  # the template dropped the file
        if yours is None:
            return "unchanged", None, None
        return ("removed", None, None) if yours == base else ("kept (template removed it)", None, None)
    if yours is None:
        return ("added", theirs, None) if base is None else ("kept deleted", None, None)
    if base is not None and yours != base and _text(yours) is not None:
        theirs = _to_newline(theirs, _newline(yours)) if _newline(yours) != _newline(base) else theirs
        base = _to_newline(base, _newline(yours)) if _newline(yours) != _newline(base) else base
    if yours == theirs:
        return "unchanged", None, None
    if base is not None and yours == base:
        return "theirs", theirs, None
    if base is not None and theirs == base:
        return "yours", None, None
    texts = (_text(base or b""), _text(yours), _text(theirs))
    if None in texts:  # binary on some side: keep yours, put the template's beside it
        return "conflict", None, RenderedFile(f"{rel}.infra-gen-new", theirs)
    merged, conflicted = merge_text(texts[0] or "", texts[1] or "", texts[2] or "")
    return ("conflict" if conflicted else "merged"), merged.encode("utf-8"), None


def update_node(
    project_dir: str | Path,
    *,
    template_dir: str | Path | None = None,
    contract: NodeContract | None = None,
    dry_run: bool = False,
) -> UpdateResult:
    """Merge the current template (and ``contract``, when given) into a generated node atomically."""
    result = plan_update(project_dir, template_dir=template_dir, contract=contract)
    if dry_run:
        return result
    written = apply_plan(result.plan)
    return UpdateResult(result.plan, result.outcomes, written)
