"""Read YAML within fixed bounds of time and memory: alias bombs, deep nesting, huge scalars, duplicate keys refused.

PyYAML composes a whole document before anyone can look at it, and a few aliases let a 400-byte file stand for
billions of nodes to whoever walks the result ("billion laughs"). This module reads libyaml's event stream and
builds the node tree itself, counting as it goes: every node *after alias expansion* counts against
``max_nodes``, so the work done before a refusal is bounded by the limit, not by what the document claims. It also
refuses nesting deeper than ``max_depth`` (aliases included), scalars longer than ``max_scalar_chars``, number
literals longer than ``max_number_chars`` (their conversion is super-linear), recursive aliases, and duplicate
mapping keys, including keys that a merge key (``<<``) would silently override.

Example:
    >>> root, data = load_yaml_mapping("name: adder\\nnode_type: COMPUTE_GENERIC\\n", filename="c.yaml")
    >>> data["node_type"], line_of(root, ("node_type",))
    ('COMPUTE_GENERIC', 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra_models.errors import ContractError

__all__ = ["YamlLimits", "line_of", "load_yaml_mapping", "read_yaml_text"]

# libyaml's parser when PyYAML was built with it (the wheels are), else the pure-Python one.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_TRUE = frozenset({"yes", "true", "on", "y"})


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML document; the defaults are far above any real ONEX contract (largest seen: 234 KB, 5.6k
    nodes, 11 levels, 2.8k-character scalars)."""

    max_bytes: int = 1_048_576
    max_nodes: int = 100_000
    max_depth: int = 64
    max_scalar_chars: int = 65_536
    max_number_chars: int = 100


DEFAULT_LIMITS = YamlLimits()


def read_yaml_text(path: str | Path, *, limits: YamlLimits = DEFAULT_LIMITS) -> str:
    """Read a UTF-8 YAML file no larger than ``limits.max_bytes``; :class:`ContractError` names what went wrong."""
    file = Path(path)
    try:
        with file.open("rb") as stream:
            raw = stream.read(limits.max_bytes + 1)
    except FileNotFoundError as exc:
        raise ContractError(f"{file}: no such contract file", code="contract.not_found") from exc
    except IsADirectoryError as exc:
        raise ContractError(f"{file}: is a folder, not a contract file", code="contract.unreadable") from exc
    except OSError as exc:
        raise ContractError(f"{file}: cannot read contract ({exc.strerror})", code="contract.unreadable") from exc
    if len(raw) > limits.max_bytes:
        raise ContractError(
            f"{file}: contract is larger than {limits.max_bytes} bytes; a contract is a few kilobytes",
            code="contract.too_large",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError(f"{file}: contract is not UTF-8 text", code="contract.not_text") from exc


def load_yaml_mapping(
    text: str, *, filename: str = "<yaml>", limits: YamlLimits = DEFAULT_LIMITS
) -> tuple[yaml.MappingNode, dict[str, Any]]:
    """Parse one YAML document whose top level is a mapping: its node tree (for line numbers) and its data.

    Only YAML's safe tags are built (no Python objects). Aliases stay shared objects in the data, never copied.

    Raises:
        ContractError: ``contract.too_large``, ``contract.limit`` (bombs, nesting, long scalars),
            ``contract.duplicate_key``, ``contract.yaml`` (syntax) or ``contract.not_mapping``; the message names
            the file and, where there is one, the line.
    """
    if len(text) > limits.max_bytes:
        raise ContractError(
            f"{filename}: YAML text is longer than {limits.max_bytes} characters", code="contract.too_large"
        )
    loader = _Loader(text)
    try:
        try:
            root = _BoundedComposer(loader, limits, filename).compose()
            data = loader.construct_document(root) if root is not None else None
        except yaml.YAMLError as exc:
            raise _syntax_error(exc, filename) from exc
        except (ValueError, OverflowError) as exc:  # e.g. an int literal past Python's digit limit
            raise ContractError(f"{filename}: not valid YAML: {exc}", code="contract.yaml") from exc
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        got = "an empty document" if root is None else f"a {type(data).__name__}"
        raise ContractError(
            f"{filename}: the top level is {got}, not a YAML mapping of `key: value` lines",
            code="contract.not_mapping",
        )
    for key_node, _ in root.value:
        if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR_TAG):
            raise ContractError(
                f"{filename}:{key_node.start_mark.line + 1}: top-level key {_show(key_node)} is not text; quote it",
                code="contract.yaml",
            )
    return root, data


def line_of(root: yaml.Node, loc: Sequence[int | str]) -> int:
    """1-based line of the deepest node along ``loc`` (keys and list indexes) that exists in the tree."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _syntax_error(exc: yaml.YAMLError, filename: str) -> ContractError:
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and context_mark is not None:
        problem += f" ({context} started at line {context_mark.line + 1})"
    return ContractError(f"{filename}{where}: not valid YAML: {problem}", code="contract.yaml")


def _show(node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        text = node.value if len(node.value) <= 60 else node.value[:57] + "..."
        return f"`{text}`"
    return "(a collection)"


def _key_identity(node: yaml.ScalarNode) -> object:
    """What a key becomes once built, so `yes` and `true` (both True) count as the same key."""
    if node.tag == _STR_TAG:
        return node.value
    if node.tag == _BOOL_TAG:
        return (_BOOL_TAG, node.value.lower() in _TRUE)
    return (node.tag, node.value.lower())


class _Frame:
    """A collection being composed: its node, children, where its expansion started, and the deepest level below."""

    __slots__ = ("anchor", "children", "depth", "first_count", "node", "top")

    def __init__(self, node: yaml.CollectionNode, anchor: str | None, depth: int, first_count: int) -> None:
        self.node = node
        self.anchor = anchor
        self.depth = depth
        self.top = depth
        self.first_count = first_count
        self.children: list[yaml.Node] = []


class _BoundedComposer:
    """Builds PyYAML's node tree from parser events, counting expanded nodes and depth as it goes."""

    def __init__(self, loader: Any, limits: YamlLimits, filename: str) -> None:
        self.loader = loader
        self.limits = limits
        self.filename = filename
        self.count = 0  # nodes so far with every alias expanded
        # anchor -> (node, expanded size, height)
        self.anchors: dict[str, tuple[yaml.Node, int, int]] = {}
        self.open_anchors: set[str] = set()
        # id(mapping node) -> {key identity: (shown key, line)} after its merge keys are applied
        self.final_keys: dict[int, dict[object, tuple[str, int]]] = {}

    def _limit(self, mark: Any, message: str) -> ContractError:
        where = f":{mark.line + 1}" if mark is not None else ""
        return ContractError(f"{self.filename}{where}: {message}", code="contract.limit")

    def _add(self, n: int, mark: Any) -> None:
        self.count += n
        if self.count > self.limits.max_nodes:
            raise self._limit(
                mark,
                f"YAML expands to more than {self.limits.max_nodes} nodes (aliases counted each time they are "
                "used); refusing what looks like an alias bomb",
            )

    def compose(self) -> yaml.Node | None:
        """Compose the single document of the stream, or None when it is empty."""
        get = self.loader.get_event
        get()  # StreamStartEvent
        if self.loader.check_event(yaml.StreamEndEvent):
            get()
            return None
        get()  # DocumentStartEvent
        root = self._compose_node()
        get()  # DocumentEndEvent
        if not self.loader.check_event(yaml.StreamEndEvent):
            event = get()
            raise ContractError(
                f"{self.filename}:{event.start_mark.line + 1}: not valid YAML: expected a single document, "
                "found a second one",
                code="contract.yaml",
            )
        get()
        return root

    def _compose_node(self) -> yaml.Node:
        limits, get, resolve = self.limits, self.loader.get_event, self.loader.resolve
        stack: list[_Frame] = []
        while True:
            event = get()
            kind = type(event)
            node: yaml.Node
            if kind is yaml.ScalarEvent:
                value = event.value
                if len(value) > limits.max_scalar_chars:
                    raise self._limit(
                        event.start_mark,
                        f"a scalar of {len(value)} characters is longer than the limit of {limits.max_scalar_chars}",
                    )
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(yaml.ScalarNode, value, event.implicit)
                if tag in _NUMBER_TAGS and len(value) > limits.max_number_chars:
                    raise self._limit(
                        event.start_mark,
                        f"a number of {len(value)} characters is longer than the limit of {limits.max_number_chars}; "
                        "quote it to make it text",
                    )
                self._add(1, event.start_mark)
                node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style)
                self._anchor(event, node, 1, 1)
                height = 1
            elif kind is yaml.AliasEvent:
                found = self.anchors.get(event.anchor)
                if found is None:
                    problem = (
                        "refers to the node that contains it (a recursive alias)"
                        if event.anchor in self.open_anchors
                        else "refers to no anchor defined before it"
                    )
                    error = ContractError(
                        f"{self.filename}:{event.start_mark.line + 1}: not valid YAML: alias *{event.anchor} {problem}",
                        code="contract.yaml",
                    )
                    raise error
                node, size, height = found
                self._add(size, event.start_mark)
            elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                depth = len(stack) + 1
                if depth > limits.max_depth:
                    raise self._limit(
                        event.start_mark,
                        f"YAML is nested more than {limits.max_depth} levels deep (maximum nesting depth)",
                    )
                self._add(1, event.start_mark)
                tag = event.tag
                node_class = yaml.SequenceNode if kind is yaml.SequenceStartEvent else yaml.MappingNode
                if tag is None or tag == "!":
                    tag = resolve(node_class, None, event.implicit)
                collection = node_class(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    self._check_new_anchor(event)
                    self.open_anchors.add(event.anchor)
                stack.append(_Frame(collection, event.anchor, depth, self.count))
                continue
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                frame = stack.pop()
                node = frame.node
                node.end_mark = event.end_mark
                if isinstance(node, yaml.MappingNode):
                    pairs = list(zip(frame.children[::2], frame.children[1::2], strict=True))
                    node.value = pairs
                    self._check_keys(node)
                else:
                    node.value = frame.children
                height = frame.top - frame.depth + 1
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    self.anchors[frame.anchor] = (node, self.count - frame.first_count + 1, height)
            else:  # pragma: no cover - the parser emits nothing else inside a document
                raise ContractError(f"{self.filename}: unexpected YAML event {kind.__name__}", code="contract.yaml")
            if not stack:
                return node
            parent = stack[-1]
            reach = parent.depth + height
            if reach > limits.max_depth:
                raise self._limit(
                    event.start_mark,
                    f"YAML is nested more than {limits.max_depth} levels deep once aliases are expanded "
                    "(maximum nesting depth)",
                )
            parent.top = max(parent.top, reach)
            parent.children.append(node)

    def _check_new_anchor(self, event: Any) -> None:
        if event.anchor in self.anchors or event.anchor in self.open_anchors:
            raise ContractError(
                f"{self.filename}:{event.start_mark.line + 1}: not valid YAML: anchor &{event.anchor} is defined twice",
                code="contract.yaml",
            )

    def _anchor(self, event: Any, node: yaml.Node, size: int, height: int) -> None:
        if event.anchor is not None:
            self._check_new_anchor(event)
            self.anchors[event.anchor] = (node, size, height)

    def _check_keys(self, node: yaml.MappingNode) -> None:
        """Refuse a key written twice, or written beside a merge key (``<<``) that also sets it."""
        explicit: dict[object, tuple[str, int]] = {}
        merged: dict[object, tuple[str, int]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            line = key.start_mark.line + 1
            ident = _key_identity(key)
            if ident in explicit:
                raise self._duplicate(line, f"key {_show(key)} appears twice (first at line {explicit[ident][1]})")
            explicit[ident] = (key.value, line)
            if key.tag != _MERGE_TAG:
                continue
            sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
            for source in sources:
                for ident_m, (shown, _) in self.final_keys.get(id(source), {}).items():
                    if ident_m in merged:
                        raise self._duplicate(
                            line, f"key `{shown}` comes from two mappings merged by `<<`; keep one of them"
                        )
                    merged[ident_m] = (shown, line)
        for ident, (shown, line) in explicit.items():
            if ident in merged:
                raise self._duplicate(
                    line,
                    f"key `{shown}` is also set by the merge key `<<` at line {merged[ident][1]}; "
                    "a contract states each key once",
                )
        final = {k: v for k, v in explicit.items() if k != (_MERGE_TAG, "<<")}
        final.update(merged)
        self.final_keys[id(node)] = final

    def _duplicate(self, line: int, message: str) -> ContractError:
        return ContractError(f"{self.filename}:{line}: {message}", code="contract.duplicate_key")
