"""`api-check`: the API (griffe over `__all__`, JSON Schemas) against the releases found in git, with the bump it needs.

The repositories here record releases the way a clone without tags sees them (CHANGELOG headings written by
`bump` and committed), unless a test says otherwise.
"""

from __future__ import annotations

import json
import sys
import textwrap
import types

import pytest

INIT = '''\
"""infra-gen."""

__all__ = [{names}]


def greet(name: str) -> str:
    """Say hello."""
    return name


def farewell(name: str, loud: bool = False) -> str:
    """Say goodbye."""
    return name
'''

MODELS_INIT = '''\
"""infra-models."""

from infra_models.__about__ import __version__
from infra_models.models import Color, Thing

__all__ = ["Color", "Thing", "describe", "__version__"]


def describe(thing: Thing, verbose: bool = False) -> str:
    """Describe a thing."""
    return thing.name
'''

MODEL = """\
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    size: int | None = None
    label: str = Field("", max_length=64)
    color: Color = Color.RED
    count: int | str = 0
"""

# Each kind of break: (what to replace in MODEL / MODELS_INIT, a fragment the report must name).
BREAKS = {
    "schema field removed": ((MODEL, "    count: int | str = 0\n", ""), "schema Thing.count: field removed"),
    "schema optional made required": (
        (MODEL, "size: int | None = None", "size: int | None"),
        "schema Thing.size: optional field made required",
    ),
    "schema type narrowed": (
        (MODEL, "count: int | str = 0", "count: int = 0"),
        "schema Thing.count: type narrowed: string no longer accepted",
    ),
    "schema bound tightened": (
        (MODEL, "max_length=64", "max_length=8"),
        "schema Thing.label: type narrowed: maxLength 64 -> 8",
    ),
    "schema enum member removed": (
        (MODEL, '    BLUE = "blue"\n', ""),
        "schema Color: enum member(s) removed: 'blue'",
    ),
    "schema new required field": (
        (MODEL, "    name: str\n", "    name: str\n    owner: str\n"),
        "schema Thing.owner: new required field",
    ),
    "public name removed": (
        (MODELS_INIT, '"Color", "Thing", "describe"', '"Color", "Thing"'),
        "infra_models.describe: removed from __all__",
    ),
    "parameter made required": (
        (MODELS_INIT, "verbose: bool = False", "verbose: bool"),
        "verbose",
    ),
}


def _write_models(repo, init: str = MODELS_INIT, model: str = MODEL) -> None:
    """The infra-models source and its committed JSON Schemas, rendered from that very source by pydantic."""
    repo.write("packages/infra-models/src/infra_models/__init__.py", init)
    repo.write("packages/infra-models/src/infra_models/models.py", model)
    module = types.ModuleType("fake_infra_models")
    sys.modules[module.__name__] = module
    try:
        exec(compile(textwrap.dedent(model), "models.py", "exec"), module.__dict__)
    finally:
        del sys.modules[module.__name__]
    for name in ("Thing",):
        schema = getattr(module, name).model_json_schema()
        repo.write(f"packages/infra-models/schemas/{name}.schema.json", json.dumps(schema, indent=2, sort_keys=True))


def _entry(repo, dist: str, line: str) -> None:
    path = f"packages/{dist}/CHANGELOG.md"
    repo.write(path, repo.read(path).replace("## Unreleased\n", f"## Unreleased\n\n- {line}\n", 1))


def _api(run, repo, *args):
    code, out, err = run(repo, "api-check", *args, "--format", "json")
    return code, (json.loads(out)[0] if out else None), err


def _release_first(repo, run) -> str:
    """infra-models 0.1.0 released the way this repository records it: a committed CHANGELOG heading."""
    _write_models(repo)
    repo.commit("infra-models: models")
    assert run(repo, "bump", "infra-models", "current", "--date", "2026-01-01")[0] == 0
    return repo.commit("infra-models 0.1.0")


class TestEachBreakNeedsItsBump:
    """The issue's acceptance test: a break released as a patch fails, naming it; the right bump passes."""

    @pytest.mark.parametrize("kind", sorted(BREAKS))
    def test_patch_fails_minor_passes(self, repo, run, kind):
        """Nothing declared the break, so `bump patch` runs; the committed release is what api-check refuses."""
        _release_first(repo, run)
        (source, old, new), expected = BREAKS[kind]
        assert old in source, kind
        changed = source.replace(old, new)
        if source is MODEL:
            _write_models(repo, model=changed)
        else:
            _write_models(repo, init=changed)
        _entry(repo, "infra-models", f"Changed: {kind} (the author missed that it breaks).")
        broken = repo.commit(f"infra-models: {kind}")

        repo.git("checkout", "-q", "-b", "patch-release")
        code, out, _ = run(repo, "bump", "infra-models", "patch", "--date", "2026-02-01")
        assert (code, "0.1.0 -> 0.1.1" in out) == (0, True)
        repo.commit("infra-models 0.1.1")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 1, report
        assert any(expected in b for b in report["breaking"]), report["breaking"]
        assert "need a minor bump (to 0.2.0), but 0.1.0 -> 0.1.1 is a patch bump" in report["problem"]
        assert report["version_check"]["since"]["source"] == "changelog heading"
        code, out, _ = run(repo, "api-check", "infra-models")
        assert code == 1
        assert expected in out
        assert "need a minor bump" in out

        repo.git("checkout", "-q", "-b", "minor-release", broken)
        assert run(repo, "bump", "infra-models", "minor", "--date", "2026-02-01")[0] == 0
        repo.commit("infra-models 0.2.0")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0, report
        assert any(expected in b for b in report["breaking"])
        assert report["version_check"]["needs"] == "minor"

    def test_a_declared_break_cannot_even_be_bumped_as_a_patch(self, repo, run):
        _release_first(repo, run)
        _write_models(repo, model=MODEL.replace("size: int | None = None", "size: int | None"))
        _entry(repo, "infra-models", "Breaking: `Thing.size` is required.")
        repo.commit("break, declared")
        code, _, err = run(repo, "bump", "infra-models", "patch")
        assert code == 2
        assert "declares a break (- Breaking: `Thing.size` is required.); 0.1.0 -> 0.1.1 is too small" in err
        assert repo.read("packages/infra-models/src/infra_models/__about__.py") == '__version__ = "0.1.0"\n'
        assert run(repo, "bump", "infra-models", "minor")[0] == 0
        repo.commit("infra-models 0.2.0")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0, report
        assert "schema Thing.size: optional field made required" in report["version_check"]["breaking"]

    def test_a_tag_on_the_patch_release_fails_too(self, repo, run):
        """The release workflow's view: tags exist, the same break is still caught."""
        _write_models(repo)
        repo.commit("models")
        repo.git("tag", "infra-models-v1.0.0")
        _write_models(repo, model=MODEL.replace("size: int | None = None", "size: int | None"))
        repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "1.0.1"\n')
        repo.commit("infra-models 1.0.1")
        repo.git("tag", "infra-models-v1.0.1")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 1
        assert report["version_check"]["since"]["source"] == "tag infra-models-v1.0.0"
        assert "need a major bump (to 2.0.0), but 1.0.0 -> 1.0.1 is a patch bump" in report["problem"]


class TestAdditions:
    def test_new_optional_field_needs_a_patch_on_0x(self, repo, run):
        _release_first(repo, run)
        _write_models(repo, model=MODEL.replace("    name: str\n", "    name: str\n    owner: str = ''\n"))
        _entry(repo, "infra-models", "Thing.owner.")
        repo.commit("owner")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0
        assert report["pending"]["added"] == [
            "infra_models.Thing.owner: new public member",
            "schema Thing.owner: new optional field",
        ]
        assert report["pending"]["needs"] == "patch"
        assert run(repo, "bump", "infra-models", "patch")[0] == 0
        repo.commit("infra-models 0.1.1")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0, report
        assert report["version_check"]["needs"] == "patch"

    def test_from_1_0_an_addition_needs_a_minor(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v1.0.0")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "1.0.1"\n')
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["added"] == ["infra_gen.farewell: new public name"]
        assert "1 addition(s) since 1.0.0 need a minor bump (to 1.1.0)" in report["problem"]
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "1.1.0"\n')
        assert _api(run, repo, "infra-gen")[0] == 0


class TestPendingChanges:
    """Work in progress keeps the released version; a break must be declared under `## Unreleased`."""

    def test_undeclared_break_fails_declared_passes(self, repo, run):
        _release_first(repo, run)
        _write_models(repo, model=MODEL.replace('    BLUE = "blue"\n', ""))
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 1
        assert report["breaking"] == [
            "infra_models.models.Color.BLUE: Public object was removed",
            "schema Color: enum member(s) removed: 'blue'",
        ]
        assert "since the 0.1.0 release need a minor bump (to 0.2.0) and are not declared" in report["problem"]
        _entry(repo, "infra-models", "Breaking: `Color.BLUE` is gone.")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0, report
        assert report["declared_breaking"] == ["- Breaking: `Color.BLUE` is gone."]
        assert "the next release must be `bump infra-models minor` (0.2.0)" in report["notes"][0]

    def test_additions_pending_pass(self, repo, run):
        _release_first(repo, run)
        _write_models(repo, init=MODELS_INIT.replace('"describe",', '"describe", "extra",') + "\n\nextra = 1\n")
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0
        assert report["added"] == ["infra_models.extra: new public name"]
        assert "at least a patch bump" in report["notes"][0]

    def test_hand_raised_version_is_checked_against_the_release(self, repo, run):
        _release_first(repo, run)
        _write_models(repo, model=MODEL.replace("size: int | None = None", "size: int"))
        repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "0.1.5"\n')
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 1
        expected = "but 0.1.0 -> 0.1.5 is a patch bump: `python tools/release.py bump infra-models minor`"
        assert expected in report["problem"]
        repo.write("packages/infra-models/src/infra_models/__about__.py", '__version__ = "0.3.0"\n')
        assert _api(run, repo, "infra-models")[0] == 0


class TestApiCheck:
    def test_no_release_passes_and_says_so(self, repo, run):
        code, out, _ = run(repo, "api-check", "infra-gen")
        assert code == 0
        assert "no release yet" in out

    def test_removed_public_function_is_caught(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.1.0")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet"'))
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["last_release"]["source"] == "tag infra-gen-v0.1.0"
        assert any("farewell" in b for b in report["breaking"])
        assert "need a minor bump" in report["problem"]
        # the bump the 0.x policy asks for makes it pass, before and after the release commit
        assert run(repo, "bump", "infra-gen", "minor")[0] == 0
        assert _api(run, repo, "infra-gen")[0] == 0
        repo.commit("infra-gen 0.2.0")
        assert _api(run, repo, "infra-gen")[0] == 0

    def test_signature_break_and_additions(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v1.0.0")
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "1.1.0"\n')
        changed = INIT.format(names='"greet", "farewell", "hello"').replace("loud: bool = False", "loud: bool")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", changed + "\n\ndef hello() -> None:\n    pass\n")
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["added"] == ["infra_gen.hello: new public name"]
        assert any("loud" in b for b in report["breaking"])
        assert "need a major bump" in report["problem"]

    def test_compatible_change_passes(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.1.0")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 0
        assert report["breaking"] == []

    def test_version_below_the_last_release(self, repo, run):
        repo.git("tag", "infra-gen-v0.3.0")
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["problem"] == "version 0.1.0 is older than the last release 0.3.0"

    def test_all_needs_package_or_flag(self, repo, run):
        code, _, err = run(repo, "api-check")
        assert code == 2
        assert "name one PACKAGE or pass --all" in err

    def test_broken_committed_schema_is_bad_input(self, repo, run):
        _release_first(repo, run)
        repo.write("packages/infra-models/schemas/Thing.schema.json", "{not json")
        code, _, err = run(repo, "api-check", "infra-models")
        assert code == 2
        assert "packages/infra-models/schemas/Thing.schema.json is not valid JSON" in err

    def test_reexported_class_member_removal_is_caught(self, repo, run):
        init = '"""infra-gen."""\n\nfrom infra_gen.models import Thing\n\n__all__ = ["Thing"]\n'
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", init)
        thing = "class Thing:\n    size: int = 1\n    name: str = ''\n"
        repo.write("packages/infra-gen/src/infra_gen/models.py", thing)
        repo.write("packages/infra-gen/src/infra_gen/other.py", "def helper() -> None:\n    pass\n")
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.3.0")
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "0.3.0"\n')
        repo.commit("version")
        repo.write("packages/infra-gen/src/infra_gen/models.py", "class Thing:\n    size: int = 1\n")
        repo.write("packages/infra-gen/src/infra_gen/other.py", "")  # not in __all__: not public API
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["breaking"] == ["infra_gen.models.Thing.name: Public object was removed"]


class TestEveryPublicModelHasASchema:
    """The schema diff can only check models whose schema is committed; a public model without one is reported."""

    def test_new_public_model_without_schema_fails(self, repo, run):
        _release_first(repo, run)
        model = MODEL + "\n\nclass Base(BaseModel):\n    pass\n\n\nclass Extra(Base):\n    x: int = 0\n"
        init = MODELS_INIT.replace("Color, Thing", "Color, Extra, Thing").replace('"Color",', '"Color", "Extra",')
        _write_models(repo, init=init, model=model)
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 1
        assert (
            "public pydantic model(s) without a committed JSON Schema, so their data changes go unchecked: Extra"
            in (report["problem"])
        )
        repo.write("packages/infra-models/schemas/Extra.schema.json", json.dumps({"properties": {"x": {}}}))
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0, report
        assert "schema Extra: new model" in report["added"]

    def test_models_nested_in_a_committed_schema_are_covered(self, repo, run):
        _release_first(repo, run)
        model = MODEL.replace(
            "class Thing(BaseModel):", "class Part(BaseModel):\n    n: int = 0\n\n\nclass Thing(BaseModel):"
        )
        model = model.replace("    name: str\n", "    name: str\n    part: Part | None = None\n")
        init = MODELS_INIT.replace("Color, Thing", "Color, Part, Thing").replace('"Color",', '"Color", "Part",')
        _write_models(repo, init=init, model=model)
        code, report, _ = _api(run, repo, "infra-models")
        assert code == 0, report
        assert "schema Thing.part: new optional field" in report["added"]


class TestAgainstARef:
    def test_lists_changes_since_any_ref_without_policy(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        repo.commit("api")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet"'))
        code, out, _ = run(repo, "api-check", "infra-gen", "--against", "main")
        assert code == 0  # review help: an unreleased package has no policy to break
        assert "infra-gen: main (0.1.0) -> the working tree: 1 breaking, 0 added, would need a minor bump" in out
        assert "breaking: infra_gen.farewell: removed from __all__" in out

    def test_unknown_ref_is_bad_input(self, repo, run):
        code, _, err = run(repo, "api-check", "infra-gen", "--against", "nope")
        assert code == 2
        assert "git ref 'nope' not found" in err


class TestLowerBound:
    """The lowest infra-models a sibling claims must export the names the sibling imports from it."""

    def _models_grow_after_release(self, repo, run):
        assert run(repo, "bump", "infra-models", "current", "--date", "2026-01-01")[0] == 0
        repo.commit("infra-models 0.1.0")
        init = repo.read("packages/infra-models/src/infra_models/__init__.py")
        repo.write(
            "packages/infra-models/src/infra_models/__init__.py",
            init.replace('__all__ = ["hello"]', '__all__ = ["added", "hello"]')
            + "\n\ndef added() -> int:\n    return 1\n",
        )
        repo.write("packages/infra-models/src/infra_models/extra.py", "def more() -> int:\n    return 2\n")
        repo.commit("infra-models grows after 0.1.0")

    @pytest.mark.parametrize(
        ("source", "missing"),
        [
            (
                "from infra_models import added, hello\n",
                "infra_models.added (packages/infra-gen/src/infra_gen/use.py:1)",
            ),
            (
                "import infra_models as m\n\nX = m.added\n",
                "infra_models.added (packages/infra-gen/src/infra_gen/use.py:3)",
            ),
            (
                "from infra_models.extra import more\n",
                "infra_models.extra.more (packages/infra-gen/src/infra_gen/use.py:1)",
            ),
            ("import infra_models.extra\n", "infra_models.extra (packages/infra-gen/src/infra_gen/use.py:1)"),
        ],
    )
    def test_a_name_added_after_the_bound_fails(self, repo, run, source, missing):
        self._models_grow_after_release(repo, run)
        repo.write("packages/infra-gen/src/infra_gen/use.py", source)
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["lower_bound"]["missing"] == [missing]
        assert (
            "`infra-models<0.2,>=0.1` claims infra-models 0.1.0 (changelog heading), which lacks 1 name(s)"
            in (report["problem"])
        )
        code, out, _ = run(repo, "api-check", "infra-gen")
        assert code == 1
        assert missing in out

    def test_release_and_raised_bound_pass(self, repo, run):
        self._models_grow_after_release(repo, run)
        repo.write("packages/infra-gen/src/infra_gen/use.py", "from infra_models import added\n")
        _entry(repo, "infra-models", "`added`.")
        assert run(repo, "bump", "infra-models", "patch", "--date", "2026-01-02")[0] == 0
        pyproject = repo.read("packages/infra-gen/pyproject.toml")
        repo.write("packages/infra-gen/pyproject.toml", pyproject.replace(">=0.1,<0.2", ">=0.1.1,<0.2"))
        repo.commit("infra-models 0.1.1; infra-gen claims it")
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 0, report
        assert report["lower_bound"] == {"version": "0.1.1", "source": "changelog heading", "missing": []}

    def test_names_present_at_the_bound_pass(self, repo, run):
        self._models_grow_after_release(repo, run)
        repo.write("packages/infra-gen/src/infra_gen/use.py", "import infra_models\n\nX = infra_models.hello\n")
        code, out, _ = run(repo, "api-check", "infra-gen")
        assert code == 0, out
        assert "infra-gen: its lowest infra-models 0.1.0 exports every name it imports" in out


class TestValuesAreNotInterface:
    def test_changed_defaults_and_values_pass_but_a_removed_default_fails(self, repo, run):
        source = (
            '"""infra-gen."""\n\nfrom dataclasses import dataclass, field\n\n__all__ = ["LIMIT", "Box", "greet"]\n\n'
            "LIMIT = {limit}\n\n\ndef _a() -> list[int]:\n    return []\n\n\n"
            "def _b() -> list[int]:\n    return []\n\n\n"
            "@dataclass\nclass Box:\n    items: list[int] = field(default_factory={factory})\n\n\n"
            'def greet(name: str, loud: bool{default}) -> str:\n    """Say hello."""\n    return name\n'
        )
        repo.write(
            "packages/infra-gen/src/infra_gen/__init__.py", source.format(limit=1, factory="_a", default=" = False")
        )
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.1.0")
        repo.write(
            "packages/infra-gen/src/infra_gen/__init__.py", source.format(limit=2, factory="_b", default=" = True")
        )
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 0, report
        assert report["breaking"] == []
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", source.format(limit=2, factory="_b", default=""))
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["breaking"] == ["infra_gen.greet(loud): Parameter is now required"]


class TestNewMembers:
    def test_a_new_method_of_a_public_class_is_an_addition(self, repo, run):
        init = '"""infra-gen."""\n\n__all__ = ["Thing"]\n\n\nclass Thing:\n    size: int = 1\n{extra}'
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", init.format(extra=""))
        repo.commit("api")
        repo.git("tag", "infra-gen-v1.0.0")
        extra = "\n    def grow(self) -> None:\n        pass\n\n    def _hidden(self) -> None:\n        pass\n"
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", init.format(extra=extra))
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "1.0.1"\n')
        code, report, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert report["added"] == ["infra_gen.Thing.grow: new public member"]
        assert "1 addition(s) since 1.0.0 need a minor bump (to 1.1.0)" in report["problem"]
