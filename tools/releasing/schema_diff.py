"""JSON Schema diff of public pydantic models: which changes break a client's data and which only add.

A model's schema describes the data it accepts. A change breaks when data valid before is refused now: a field
removed, an optional field made required, a new required field, a type narrowed (an alternative dropped, a
scalar turned into an enum, a tighter bound, a new pattern or format), an enum member removed, a model removed.
A change adds when it accepts more: a new optional field, a required field made optional, a type widened, an
enum member added, a new model. Titles, descriptions and defaults are documentation, not compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BREAKING", "ADDITION", "SchemaChange", "diff_model", "diff_schema_sets"]

BREAKING = "breaking"
ADDITION = "addition"

Schema = Mapping[str, Any]

# Bounds where a larger value refuses more data, and bounds where a smaller value does.
_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT = ("pattern", "format", "multipleOf", "contentEncoding")
_SCALARS = ("string", "integer", "number", "boolean", "null")


@dataclass(frozen=True)
class SchemaChange:
    """One difference: its kind (`breaking` or `addition`), where (`Model.field`) and what changed."""

    kind: str
    path: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Differ:
    """Walks an old and a new schema side by side, following `$ref`s into each one's own `$defs`."""

    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self.old_root = old_root
        self.new_root = new_root
        self.changes: list[SchemaChange] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, kind: str, path: str, what: str) -> None:
        change = SchemaChange(kind, path, what)
        if change not in self.changes:
            self.changes.append(change)

    @staticmethod
    def _resolve(schema: Schema, root: Schema) -> tuple[Schema, str | None]:
        """Follow `$ref` (and a one-element `allOf` wrapper) to the definition; also return its `$defs` name."""
        name = None
        for _ in range(32):  # a chain of refs longer than this is a broken schema, not a model
            if "allOf" in schema and len(schema["allOf"]) == 1 and len(schema) <= 4:
                schema = schema["allOf"][0]
                continue
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
                break
            name = ref.removeprefix("#/$defs/")
            schema = root.get("$defs", {}).get(name, {})
        return schema, name

    def _alternatives(self, schema: Schema, root: Schema) -> list[tuple[Schema, str | None]]:
        """The schemas a value may match (anyOf/oneOf flattened, `type: [a, b]` split), each resolved."""
        schema, name = self._resolve(schema, root)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                found: list[tuple[Schema, str | None]] = []
                for option in schema[key]:
                    found += self._alternatives(option, root)
                return found
        types = schema.get("type")
        if isinstance(types, list):
            return [({**schema, "type": t}, name) for t in types]
        return [(schema, name)]

    @staticmethod
    def _shape(schema: Schema) -> str:
        """What kind of value an alternative is: enum, object (a model), dict, array, a scalar, or any."""
        kind = schema.get("type")
        if "enum" in schema or "const" in schema:
            return "enum"
        if kind == "object" or "properties" in schema:
            return "object" if "properties" in schema else "dict"
        if kind == "array":
            return "array"
        if kind in _SCALARS:
            return str(kind)
        return "any"

    @staticmethod
    def _members(schema: Schema) -> list[Any]:
        return list(schema["enum"]) if "enum" in schema else [schema.get("const")]

    def _describe(self, schema: Schema, name: str | None) -> str:
        shape = self._shape(schema)
        if shape == "enum":
            return f"enum {name}" if name else f"one of {', '.join(_short(m) for m in self._members(schema))}"
        if name:
            return f"{shape} {name}"
        fmt = schema.get("format")
        return f"{shape} ({fmt})" if fmt else shape

    def model(self, path: str, old: Schema, new: Schema) -> None:
        """Compare two object schemas field by field."""
        old_props: Mapping[str, Schema] = old.get("properties", {})
        new_props: Mapping[str, Schema] = new.get("properties", {})
        old_req, new_req = set(old.get("required", [])), set(new.get("required", []))
        for field in old_props:
            if field not in new_props:
                self.add(BREAKING, f"{path}.{field}", "field removed")
        for field in new_props:
            if field not in old_props:
                if field in new_req:
                    self.add(BREAKING, f"{path}.{field}", "new required field")
                else:
                    self.add(ADDITION, f"{path}.{field}", "new optional field")
        for field in old_props:
            if field not in new_props:
                continue
            if field in new_req and field not in old_req:
                self.add(BREAKING, f"{path}.{field}", "optional field made required")
            elif field in old_req and field not in new_req:
                self.add(ADDITION, f"{path}.{field}", "required field made optional")
            self.value(f"{path}.{field}", old_props[field], new_props[field])
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if old_extra is not False and new_extra is False:
            self.add(BREAKING, path, "unknown fields are now refused (extra='forbid')")

    def value(self, path: str, old: Schema, new: Schema) -> None:
        """Compare what a field accepts: every old alternative must still be accepted by a new one."""
        old_alts = self._alternatives(old, self.old_root)
        new_alts = self._alternatives(new, self.new_root)
        old_shapes = {self._shape(s) for s, _ in old_alts}
        new_shapes = {self._shape(s) for s, _ in new_alts}
        pairs = self._pair(old_alts, new_alts)
        for i, (schema, name) in enumerate(old_alts):
            shape = self._shape(schema)
            j = pairs.get(i)
            if j is not None:
                self._same_shape(path, shape, (schema, name), new_alts[j])
            elif not self._covered(shape, schema, new_shapes):
                now = " | ".join(self._describe(s, n) for s, n in new_alts)
                gone = self._describe(schema, name)
                self.add(BREAKING, path, f"type narrowed: {gone} no longer accepted (now {now})")
        matched = set(pairs.values())
        for j, (schema, name) in enumerate(new_alts):
            if j not in matched and not self._covered(self._shape(schema), schema, old_shapes - {self._shape(schema)}):
                self.add(ADDITION, path, f"type widened: now also accepts {self._describe(schema, name)}")

    def _pair(
        self, old_alts: list[tuple[Schema, str | None]], new_alts: list[tuple[Schema, str | None]]
    ) -> dict[int, int]:
        """Which new alternative each old one became: the same `$defs` name first, then (each new one taken once)
        the same shape with the same title or the most fields or members in common."""
        pairs: dict[int, int] = {}
        taken: set[int] = set()
        for i, (_, name) in enumerate(old_alts):
            for j, (_, new_name) in enumerate(new_alts):
                if name is not None and new_name == name and j not in taken:
                    pairs[i] = j
                    taken.add(j)
                    break
        for i, (schema, _) in enumerate(old_alts):
            if i in pairs:
                continue
            shape = self._shape(schema)
            free = [j for j, (s, _) in enumerate(new_alts) if j not in taken and self._shape(s) == shape]
            if not free:
                continue
            title = [j for j in free if schema.get("title") and new_alts[j][0].get("title") == schema.get("title")]
            j = title[0] if title else max(free, key=lambda k: self._overlap(shape, schema, new_alts[k][0]))
            pairs[i] = j
            taken.add(j)
        return pairs

    def _overlap(self, shape: str, old: Schema, new: Schema) -> int:
        if shape == "enum":
            return len([m for m in self._members(old) if m in self._members(new)])
        return len(set(old.get("properties", {})) & set(new.get("properties", {})))

    @staticmethod
    def _covered(shape: str, schema: Schema, others: set[str]) -> bool:
        """Whether a value of `shape` is accepted by a differently shaped alternative among `others`."""
        if "any" in others:
            return True
        if shape == "integer" and "number" in others:
            return True
        if shape == "enum":
            base = schema.get("type")
            return isinstance(base, str) and base in others
        return False

    def _same_shape(
        self, path: str, shape: str, old: tuple[Schema, str | None], new: tuple[Schema, str | None]
    ) -> None:
        (old_s, old_name), (new_s, new_name) = old, new
        if shape == "enum":
            where = new_name or old_name or path
            removed = [m for m in self._members(old_s) if m not in self._members(new_s)]
            added = [m for m in self._members(new_s) if m not in self._members(old_s)]
            if removed:
                self.add(BREAKING, where, "enum member(s) removed: " + ", ".join(_short(m) for m in removed))
            if added:
                self.add(ADDITION, where, "enum member(s) added: " + ", ".join(_short(m) for m in added))
        elif shape == "object":
            key = (old_name or f"@{path}", new_name or f"@{path}")
            if key in self._seen:
                return
            self._seen.add(key)
            self.model(new_name or old_name or path, old_s, new_s)
        elif shape == "array":
            self.value(f"{path}[]", old_s.get("items", {}), new_s.get("items", {}))
            old_fixed, new_fixed = old_s.get("prefixItems", []), new_s.get("prefixItems", [])
            for i, (old_item, new_item) in enumerate(zip(old_fixed, new_fixed, strict=False)):
                self.value(f"{path}[{i}]", old_item, new_item)
        elif shape == "dict":
            old_v, new_v = old_s.get("additionalProperties", {}), new_s.get("additionalProperties", {})
            if isinstance(old_v, Mapping) and isinstance(new_v, Mapping):
                self.value(f"{path}{{}}", old_v, new_v)
        self._constraints(path, old_s, new_s)

    def _constraints(self, path: str, old: Schema, new: Schema) -> None:
        for key in _LOWER_BOUNDS:
            if key in new and (key not in old or new[key] > old[key]):
                self.add(BREAKING, path, f"type narrowed: {key} {old.get(key, 'none')} -> {new[key]}")
            elif key in old and (key not in new or new[key] < old[key]):
                self.add(ADDITION, path, f"type widened: {key} {old[key]} -> {new.get(key, 'none')}")
        for key in _UPPER_BOUNDS:
            if key in new and (key not in old or new[key] < old[key]):
                self.add(BREAKING, path, f"type narrowed: {key} {old.get(key, 'none')} -> {new[key]}")
            elif key in old and (key not in new or new[key] > old[key]):
                self.add(ADDITION, path, f"type widened: {key} {old[key]} -> {new.get(key, 'none')}")
        for key in _EXACT:
            if key in new and old.get(key) != new[key]:
                self.add(BREAKING, path, f"type narrowed: {key} {_short(old.get(key))} -> {_short(new[key])}")
            elif key in old and key not in new:
                self.add(ADDITION, path, f"type widened: {key} {_short(old[key])} dropped")
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self.add(BREAKING, path, "type narrowed: items must now be unique")


def diff_model(name: str, old: Schema, new: Schema) -> list[SchemaChange]:
    """The changes between two versions of one model's JSON Schema (`name` prefixes the paths)."""
    differ = _Differ(old, new)
    old_top, _ = differ._resolve(old, old)
    new_top, _ = differ._resolve(new, new)
    differ.value(name, old_top, new_top)
    return differ.changes


def diff_schema_sets(old: Mapping[str, Schema], new: Mapping[str, Schema]) -> list[SchemaChange]:
    """The changes between two sets of model schemas keyed by model name; shared nested models reported once."""
    changes: list[SchemaChange] = []
    for name in sorted(old):
        if name not in new:
            changes.append(SchemaChange(BREAKING, name, "model removed (its JSON Schema is gone)"))
    for name in sorted(new):
        if name not in old:
            changes.append(SchemaChange(ADDITION, name, "new model"))
    for name in sorted(set(old) & set(new)):
        for change in diff_model(name, old[name], new[name]):
            if change not in changes:
                changes.append(change)
    return changes
