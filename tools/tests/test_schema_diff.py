"""`schema_diff`: one test per kind of change, on the JSON Schemas pydantic renders for real models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field
from releasing.schema_diff import ADDITION, BREAKING, diff_model, diff_schema_sets


class Color(StrEnum):
    RED = "red"
    BLUE = "blue"


class FewerColors(StrEnum):
    RED = "red"


class MoreColors(StrEnum):
    RED = "red"
    BLUE = "blue"
    GREEN = "green"


def _diff(old: type[BaseModel], new: type[BaseModel]) -> list[tuple[str, str]]:
    return [(c.kind, str(c)) for c in diff_model("M", old.model_json_schema(), new.model_json_schema())]


def _model(**fields: object) -> type[BaseModel]:
    """A model class `M` built from annotations and defaults: `name=(type, default or ...)`."""
    annotations = {k: v[0] for k, v in fields.items()}  # type: ignore[index]
    namespace = {k: v[1] for k, v in fields.items() if v[1] is not ...}  # type: ignore[index]
    return type("M", (BaseModel,), {"__annotations__": annotations, **namespace})


class TestBreaking:
    def test_field_removed(self):
        assert _diff(_model(a=(int, ...), b=(str, "")), _model(a=(int, ...))) == [(BREAKING, "M.b: field removed")]

    def test_optional_made_required(self):
        assert _diff(_model(a=(int, 0)), _model(a=(int, ...))) == [(BREAKING, "M.a: optional field made required")]

    def test_new_required_field(self):
        assert _diff(_model(a=(int, 0)), _model(a=(int, 0), b=(str, ...))) == [(BREAKING, "M.b: new required field")]

    def test_union_member_dropped(self):
        assert _diff(_model(a=(int | str, 0)), _model(a=(int, 0))) == [
            (BREAKING, "M.a: type narrowed: string no longer accepted (now integer)")
        ]

    def test_none_no_longer_accepted(self):
        assert _diff(_model(a=(int | None, None)), _model(a=(int, 0))) == [
            (BREAKING, "M.a: type narrowed: null no longer accepted (now integer)")
        ]

    def test_type_changed(self):
        assert _diff(_model(a=(str, "")), _model(a=(int, 0))) == [
            (BREAKING, "M.a: type narrowed: string no longer accepted (now integer)"),
            (ADDITION, "M.a: type widened: now also accepts integer"),
        ]

    def test_string_made_literal(self):
        assert _diff(_model(a=(str, "x")), _model(a=(Literal["x", "y"], "x"))) == [
            (BREAKING, "M.a: type narrowed: string no longer accepted (now one of 'x', 'y')")
        ]

    def test_string_made_datetime(self):
        changes = _diff(_model(a=(str, ...)), _model(a=(datetime, ...)))
        assert changes == [(BREAKING, "M.a: type narrowed: format None -> 'date-time'")]

    def test_bounds_tightened(self):
        old = _model(a=(int, Field(0, ge=0, le=100)), b=(str, Field("", max_length=64)))
        new = _model(a=(int, Field(1, ge=1, le=10)), b=(str, Field("", max_length=64, pattern="^[a-z]*$")))
        assert _diff(old, new) == [
            (BREAKING, "M.a: type narrowed: minimum 0 -> 1"),
            (BREAKING, "M.a: type narrowed: maximum 100 -> 10"),
            (BREAKING, "M.b: type narrowed: pattern None -> '^[a-z]*$'"),
        ]

    def test_enum_member_removed(self):
        assert _diff(_model(c=(Color, Color.RED)), _model(c=(FewerColors, FewerColors.RED))) == [
            (BREAKING, "FewerColors: enum member(s) removed: 'blue'")
        ]

    def test_literal_member_removed(self):
        assert _diff(_model(a=(Literal["x", "y"], "x")), _model(a=(Literal["x"], "x"))) == [
            (BREAKING, "M.a: enum member(s) removed: 'y'")
        ]

    def test_nested_model_field_removed_inside_a_list(self):
        class Step(BaseModel):
            name: str
            timeout: float = 1.0

        class Step2(BaseModel):
            name: str

        changes = _diff(_model(steps=(list[Step], [])), _model(steps=(list[Step2], [])))
        assert changes == [(BREAKING, "Step2.timeout: field removed")]

    def test_dict_values_narrowed(self):
        assert _diff(_model(m=(dict[str, int | str], {})), _model(m=(dict[str, int], {}))) == [
            (BREAKING, "M.m{}: type narrowed: string no longer accepted (now integer)")
        ]

    def test_extra_forbidden(self):
        class Open(BaseModel):
            a: int = 0

        class Closed(BaseModel):
            model_config = ConfigDict(extra="forbid")
            a: int = 0

        assert _diff(Open, Closed) == [(BREAKING, "M: unknown fields are now refused (extra='forbid')")]

    def test_model_removed(self):
        schema = _model(a=(int, 0)).model_json_schema()
        changes = diff_schema_sets({"A": schema, "B": schema}, {"A": schema})
        assert [(c.kind, str(c)) for c in changes] == [(BREAKING, "B: model removed (its JSON Schema is gone)")]


class TestAdditions:
    def test_new_optional_field(self):
        assert _diff(_model(a=(int, 0)), _model(a=(int, 0), b=(str, ""))) == [(ADDITION, "M.b: new optional field")]

    def test_required_made_optional(self):
        assert _diff(_model(a=(int, ...)), _model(a=(int, 0))) == [(ADDITION, "M.a: required field made optional")]

    def test_union_widened(self):
        assert _diff(_model(a=(int, 0)), _model(a=(int | None, None))) == [
            (ADDITION, "M.a: type widened: now also accepts null")
        ]

    def test_int_to_float_is_not_a_break(self):
        assert _diff(_model(a=(int, 0)), _model(a=(float, 0.0))) == [
            (ADDITION, "M.a: type widened: now also accepts number")
        ]

    def test_enum_member_added(self):
        assert _diff(_model(c=(Color, Color.RED)), _model(c=(MoreColors, MoreColors.RED))) == [
            (ADDITION, "MoreColors: enum member(s) added: 'green'")
        ]

    def test_bound_loosened(self):
        assert _diff(_model(b=(str, Field("", max_length=8))), _model(b=(str, Field("", max_length=64)))) == [
            (ADDITION, "M.b: type widened: maxLength 8 -> 64")
        ]

    def test_new_model(self):
        schema = _model(a=(int, 0)).model_json_schema()
        assert [str(c) for c in diff_schema_sets({"A": schema}, {"A": schema, "B": schema})] == ["B: new model"]


class TestUnchanged:
    @pytest.mark.parametrize(
        "model",
        [
            _model(a=(int, 0), b=(str | None, None), c=(Color, Color.RED)),
            _model(steps=(list[dict[str, int]], []), when=(datetime, ...)),
        ],
    )
    def test_same_schema_no_change(self, model):
        assert _diff(model, model) == []

    def test_descriptions_titles_and_defaults_are_not_compared(self):
        old = _model(a=(int, Field(0, description="old", title="A")))
        new = _model(a=(int, Field(5, description="new", title="Renamed")))
        assert _diff(old, new) == []

    def test_recursive_model_terminates(self):
        class Node(BaseModel):
            name: str
            children: list[Node] = []

        Node.model_rebuild()
        assert _diff(Node, Node) == []

    def test_the_committed_infra_models_schemas_against_themselves(self):
        import json
        from pathlib import Path

        folder = Path(__file__).resolve().parents[2] / "packages" / "infra-models" / "schemas"
        schemas = {p.stem: json.loads(p.read_text()) for p in folder.glob("*.schema.json")}
        assert schemas
        assert diff_schema_sets(schemas, schemas) == []


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    bark: str = ""


class Bird(BaseModel):
    kind: Literal["bird"] = "bird"


class DogWithoutBark(BaseModel):
    kind: Literal["dog"] = "dog"


class TestUnions:
    def test_union_of_models_unchanged(self):
        pets = _model(pet=(Cat | Dog, Field(..., discriminator="kind")))
        assert _diff(pets, pets) == []

    def test_model_added_to_a_union(self):
        old = _model(pet=(Cat | Dog, Field(..., discriminator="kind")))
        new = _model(pet=(Cat | Dog | Bird, Field(..., discriminator="kind")))
        assert _diff(old, new) == [(ADDITION, "M.pet: type widened: now also accepts object Bird")]

    def test_model_dropped_from_a_union(self):
        old = _model(pet=(Cat | Dog, ...))
        new = _model(pet=(Cat, ...))
        assert _diff(old, new) == [(BREAKING, "M.pet: type narrowed: object Dog no longer accepted (now object Cat)")]

    def test_member_of_a_union_changed(self):
        old = _model(pet=(Cat | Dog, ...))
        new = _model(pet=(Cat | DogWithoutBark, ...))
        assert _diff(old, new) == [(BREAKING, "DogWithoutBark.bark: field removed")]

    def test_tuple_items(self):
        assert _diff(_model(t=(tuple[int, str], ...)), _model(t=(tuple[int, int], ...))) == [
            (BREAKING, "M.t[1]: type narrowed: string no longer accepted (now integer)"),
            (ADDITION, "M.t[1]: type widened: now also accepts integer"),
        ]
        assert _diff(_model(t=(tuple[int, str], ...)), _model(t=(tuple[int], ...))) == [
            (ADDITION, "M.t: type widened: minItems 2 -> 1"),
            (BREAKING, "M.t: type narrowed: maxItems 2 -> 1"),
        ]


# Property tests over generated schemas: the diff of a schema with itself is empty, and the two edits whose
# kind is certain (a field added as optional, a field removed) are classified as such whatever surrounds them.
_names = st.sampled_from(["a", "b", "c", "d", "e"])
_scalars = st.one_of(
    st.sampled_from([{"type": t} for t in ("string", "integer", "number", "boolean", "null")]),
    st.integers(1, 50).map(lambda n: {"type": "string", "maxLength": n}),
    st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True).map(
        lambda m: {"enum": m, "type": "string"}
    ),
)


def _objects(child):
    return st.dictionaries(_names, child, max_size=4).flatmap(
        lambda props: st.lists(st.sampled_from(sorted(props) or ["a"]), unique=True).map(
            lambda req: {"type": "object", "properties": props, "required": [r for r in req if r in props]}
        )
    )


_schemas = st.recursive(
    _scalars,
    lambda child: st.one_of(
        child.map(lambda c: {"type": "array", "items": c}),
        st.lists(child, min_size=2, max_size=3).map(lambda cs: {"anyOf": cs}),
        _objects(child),
    ),
    max_leaves=12,
)


class TestProperties:
    @settings(max_examples=200, deadline=None)
    @given(_objects(_schemas))
    def test_a_schema_does_not_differ_from_itself(self, schema):
        assert diff_model("M", schema, schema) == []

    @settings(max_examples=200, deadline=None)
    @given(_objects(_schemas), _schemas)
    def test_a_new_optional_field_is_only_an_addition(self, schema, field):
        new = {**schema, "properties": {**schema["properties"], "new_field": field}}
        assert [(c.kind, str(c)) for c in diff_model("M", schema, new)] == [
            (ADDITION, "M.new_field: new optional field")
        ]

    @settings(max_examples=200, deadline=None)
    @given(_objects(_schemas).filter(lambda s: bool(s["properties"])), st.data())
    def test_a_removed_field_is_a_break(self, schema, data):
        gone = data.draw(st.sampled_from(sorted(schema["properties"])))
        props = {k: v for k, v in schema["properties"].items() if k != gone}
        new = {**schema, "properties": props, "required": [r for r in schema["required"] if r != gone]}
        changes = diff_model("M", schema, new)
        assert [(c.kind, str(c)) for c in changes] == [(BREAKING, f"M.{gone}: field removed")]
