"""Read YAML within fixed bounds of time and memory: alias bombs, deep nesting, huge scalars, duplicate keys refused.

PyYAML composes a whole document before anyone can look at it, and a few aliases let a 400-byte file stand for
billions of nodes to whoever walks the result ("billion laughs"). This module reads libyaml's event stream and
builds the node tree itself, counting as it goes: every node *after alias expansion* counts against
``max_nodes``, so the work done before a refusal is bounded by the limit, not by what the document claims. It also
counts the characters of every scalar each time an alias repeats it against ``max_expanded_chars`` (so a long
string aliased many times cannot turn into gigabytes of output), refuses nesting deeper than ``max_depth`` (aliases
included), scalars longer than ``max_scalar_chars``, number literals longer than ``max_number_chars`` (PyYAML
converts them in super-linear time), recursive aliases, and duplicate mapping keys, including keys that a merge key
(``<<``) would silently override.

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
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_TRUE = frozenset({"yes", "true", "on"})


@dataclass(frozen=True)
class YamlLimits:
    """Bounds on one YAML document; the defaults are far above any real ONEX contract."""

    # The largest of the 601 YAML files of omnibase_core and omnibase_infra: 234 KB, 5.6k nodes, 11 levels deep,
    # scalars of 2.8k characters. Nodes and characters are counted after alias expansion.

    max_bytes: int = 1_048_576
    max_nodes: int = 50_000
    max_expanded_chars: int = 2_097_152
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
    # libyaml has a nesting limit of its own, which its lookahead can reach before our count of levels does.
    code = "contract.limit" if "maximum nesting depth" in problem else "contract.yaml"
    return ContractError(f"{filename}{where}: not valid YAML: {problem}", code=code)


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

    __slots__ = ("anchor", "children", "depth", "first_chars", "first_count", "node", "top")

    def __init__(
        self, node: yaml.CollectionNode, anchor: str | None, depth: int, first_count: int, first_chars: int
    ) -> None:
        self.node = node
        self.anchor = anchor
        self.depth = depth
        self.top = depth
        self.first_count = first_count
        self.first_chars = first_chars
        self.children: list[yaml.Node] = []


class _BoundedComposer:
    """Builds PyYAML's node tree from parser events, counting expanded nodes, characters and depth as it goes."""

    def __init__(self, loader: Any, limits: YamlLimits, filename: str) -> None:
        self.loader = loader
        self.limits = limits
        self.filename = filename
        # anchor -> (node, expanded size, expanded characters, height)
        self.anchors: dict[str, tuple[yaml.Node, int, int, int]] = {}
        self.open_anchors: set[str] = set()
        # id(mapping node) -> {key identity: shown key} once its merge keys are applied; filled only for merges
        self.merged_keys: dict[int, dict[object, str]] = {}

    def _error(self, mark: Any, message: str, code: str = "contract.limit") -> ContractError:
        where = f":{mark.line + 1}" if mark is not None else ""
        return ContractError(f"{self.filename}{where}: {message}", code=code)

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
            raise self._error(
                event.start_mark, "not valid YAML: expected a single document, found a second one", "contract.yaml"
            )
        get()
        return root

    def _too_many(self, mark: Any, count: int, chars: int) -> ContractError:
        limits = self.limits
        if count > limits.max_nodes:
            what = f"more than {limits.max_nodes} nodes"
        else:
            what = f"more than {limits.max_expanded_chars} characters of text"
        return self._error(
            mark,
            f"YAML expands to {what} (aliases counted each time they are used); refusing what looks like an alias bomb",
        )

    def _compose_node(self) -> yaml.Node:
        # One flat loop over the events, every counter a local: this is the hot path of every contract read.
        limits = self.limits
        max_nodes, max_chars, max_depth = limits.max_nodes, limits.max_expanded_chars, limits.max_depth
        max_scalar, max_number = limits.max_scalar_chars, limits.max_number_chars
        get, resolve = self.loader.get_event, self.loader.resolve
        anchors = self.anchors
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        scalar_node, mapping_node = yaml.ScalarNode, yaml.MappingNode
        plain_tags: dict[str, str] = {}  # plain scalar text -> resolved tag
        count = chars = 0  # nodes and scalar characters so far, with every alias expanded
        stack: list[_Frame] = []
        node: yaml.Node
        while True:
            event = get()
            kind = type(event)
            if kind is scalar_event:
                value = event.value
                size = len(value)
                if size > max_scalar:
                    raise self._error(
                        event.start_mark, f"a scalar of {size} characters is longer than the limit of {max_scalar}"
                    )
                tag = event.tag
                if tag is None or tag == "!":
                    if event.implicit[0]:
                        tag = plain_tags.get(value)
                        if tag is None:
                            tag = plain_tags[value] = resolve(scalar_node, value, event.implicit)
                    else:
                        tag = _STR_TAG
                if size > max_number and tag in _NUMBER_TAGS:
                    raise self._error(
                        event.start_mark,
                        f"a number of {size} characters is longer than the limit of {max_number}; quote it to make "
                        "it text",
                    )
                count += 1
                chars += size
                if count > max_nodes or chars > max_chars:
                    raise self._too_many(event.start_mark, count, chars)
                node = scalar_node(tag, value, event.start_mark, event.end_mark, event.style)
                if event.anchor is not None:
                    self._check_new_anchor(event)
                    anchors[event.anchor] = (node, 1, size, 1)
                height = 1
            elif kind is alias_event:
                found = anchors.get(event.anchor)
                if found is None:
                    problem = (
                        "refers to the node that contains it (a recursive alias)"
                        if event.anchor in self.open_anchors
                        else "refers to no anchor defined before it"
                    )
                    raise self._error(
                        event.start_mark, f"not valid YAML: alias *{event.anchor} {problem}", "contract.yaml"
                    )
                node, size, alias_chars, height = found
                count += size
                chars += alias_chars
                if count > max_nodes or chars > max_chars:
                    raise self._too_many(event.start_mark, count, chars)
            elif kind is mapping_start or kind is sequence_start:
                depth = len(stack) + 1
                if depth > max_depth:
                    raise self._error(
                        event.start_mark, f"YAML is nested more than {max_depth} levels deep (maximum nesting depth)"
                    )
                count += 1
                if count > max_nodes:
                    raise self._too_many(event.start_mark, count, chars)
                tag = event.tag
                if kind is mapping_start:
                    if tag is None or tag == "!":
                        tag = _MAP_TAG
                    collection: yaml.CollectionNode = mapping_node(
                        tag, [], event.start_mark, None, flow_style=event.flow_style
                    )
                else:
                    if tag is None or tag == "!":
                        tag = _SEQ_TAG
                    collection = yaml.SequenceNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if event.anchor is not None:
                    self._check_new_anchor(event)
                    self.open_anchors.add(event.anchor)
                stack.append(_Frame(collection, event.anchor, depth, count, chars))
                continue
            else:  # SequenceEndEvent or MappingEndEvent: the parser emits nothing else inside a document
                frame = stack.pop()
                node = frame.node
                node.end_mark = event.end_mark
                children = frame.children
                if type(node) is mapping_node:
                    node.value = list(zip(children[::2], children[1::2], strict=True))
                    self._check_keys(node)
                else:
                    node.value = children
                height = frame.top - frame.depth + 1
                if frame.anchor is not None:
                    self.open_anchors.discard(frame.anchor)
                    anchors[frame.anchor] = (node, count - frame.first_count + 1, chars - frame.first_chars, height)
            if not stack:
                return node
            parent = stack[-1]
            reach = parent.depth + height
            if reach > parent.top:
                if reach > max_depth:
                    raise self._error(
                        event.start_mark,
                        f"YAML is nested more than {max_depth} levels deep once aliases are expanded "
                        "(maximum nesting depth)",
                    )
                parent.top = reach
            parent.children.append(node)

    def _check_new_anchor(self, event: Any) -> None:
        if event.anchor in self.anchors or event.anchor in self.open_anchors:
            raise self._error(
                event.start_mark, f"not valid YAML: anchor &{event.anchor} is defined twice", "contract.yaml"
            )

    def _check_keys(self, node: yaml.MappingNode) -> None:
        """Refuse a key written twice, or written beside a merge key (``<<``) that also sets it."""
        seen: dict[object, int] = {}
        merge: tuple[yaml.ScalarNode, yaml.Node] | None = None
        for key, value in node.value:
            if type(key) is not yaml.ScalarNode:
                continue
            ident = key.value if key.tag == _STR_TAG else _key_identity(key)
            line = key.start_mark.line + 1
            if ident in seen:
                raise self._error(
                    key.start_mark,
                    f"key {_show(key)} appears twice (first at line {seen[ident]})",
                    "contract.duplicate_key",
                )
            seen[ident] = line
            if key.tag == _MERGE_TAG:
                merge = (key, value)
        if merge is None:
            return
        merge_key, merge_value = merge
        merged: dict[object, str] = {}
        sources = merge_value.value if isinstance(merge_value, yaml.SequenceNode) else [merge_value]
        for source in sources:
            for ident, shown in self._keys_of(source).items():
                if ident in merged:
                    raise self._error(
                        merge_key.start_mark,
                        f"key `{shown}` comes from two mappings merged by `<<`; keep one of them",
                        "contract.duplicate_key",
                    )
                merged[ident] = shown
        for key, _ in node.value:
            if type(key) is yaml.ScalarNode and key.tag != _MERGE_TAG:
                ident = key.value if key.tag == _STR_TAG else _key_identity(key)
                if ident in merged:
                    raise self._error(
                        key.start_mark,
                        f"key {_show(key)} is also set by the merge key `<<` at line {merge_key.start_mark.line + 1}; "
                        "a contract states each key once",
                        "contract.duplicate_key",
                    )
                merged[ident] = key.value
        self.merged_keys[id(node)] = merged

    def _keys_of(self, node: yaml.Node) -> dict[object, str]:
        """The keys a mapping ends up with (its merges applied); nothing for what is not a mapping."""
        if not isinstance(node, yaml.MappingNode):
            return {}
        known = self.merged_keys.get(id(node))
        if known is not None:
            return known
        return {
            (key.value if key.tag == _STR_TAG else _key_identity(key)): key.value
            for key, _ in node.value
            if type(key) is yaml.ScalarNode
        }
