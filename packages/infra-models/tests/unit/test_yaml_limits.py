"""Hostile YAML is refused quickly, in little memory, with a clear error, and `infra-models validate` exits 2."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from infra_models import ContractError, YamlLimits, load_yaml_mapping, parse_any_contract, parse_onex_contract
from infra_models.cli import app


def _laughs(levels: int) -> str:
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nname: *l{levels - 1}\nnode_type: EFFECT_GENERIC\n"


def _nested_blocks(levels: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}leaf: 1\n"


def _deep_alias() -> str:
    # 40 levels anchored, then used 40 levels down: 80 levels once expanded, while no written line is past 41.
    inner = "[" * 40 + "x" + "]" * 40
    return f"a: &a {inner}\nb: " + "[" * 39 + "*a" + "]" * 39 + "\n"


BILLION_LAUGHS = _laughs(9)
assert len(BILLION_LAUGHS.encode()) < 1100  # the classic: under a kilobyte, 9**9 strings once expanded

# name -> (text, error code, message pattern)
HOSTILE: dict[str, tuple[str, str, str]] = {
    "billion laughs": (BILLION_LAUGHS, "contract.limit", r"expands to more than 50000 nodes .*alias bomb"),
    "quadratic blowup of a long string": (
        "a: &a " + "x" * 60_000 + "\nb: [" + ",".join(["*a"] * 100) + "]\n",
        "contract.limit",
        r"more than 2097152 characters of text",
    ),
    "quadratic blowup of a long list": (
        "a: &a [" + ",".join(["x"] * 2_000) + "]\nb: [" + ",".join(["*a"] * 2_000) + "]\n",
        "contract.limit",
        r"more than 50000 nodes",
    ),
    "deep flow nesting": ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "contract.limit", r"maximum nesting depth"),
    "deep block nesting": (_nested_blocks(200), "contract.limit", r"nested more than 64 levels"),
    "deep through aliases": (_deep_alias(), "contract.limit", r"once aliases are expanded"),
    "a million-character scalar": ("a: " + "x" * 1_000_000 + "\n", "contract.limit", r"scalar of 1000000 characters"),
    "a 50000-digit number": ("a: " + "9" * 50_000 + "\n", "contract.limit", r"number of 50000 characters"),
    "a sexagesimal number": ("a: 1" + ":0" * 20_000 + "\n", "contract.limit", r"number of 40001 characters"),
    "duplicate key": (
        "name: a\nnode_type: effect\nname: b\n",
        "contract.duplicate_key",
        r":3: key `name` appears twice",
    ),
    "duplicate boolean key": ("m:\n  yes: 1\n  true: 2\n", "contract.duplicate_key", r":3: key `true` appears twice"),
    "key overriding a merge": (
        "base: &b {node_type: effect}\nm:\n  <<: *b\n  node_type: compute\n",
        "contract.duplicate_key",
        r":4: key `node_type` is also set by the merge key `<<` at line 3",
    ),
    "two merges setting one key": (
        "a: &a {x: 1}\nb: &b {x: 2}\nm:\n  <<: [*a, *b]\n",
        "contract.duplicate_key",
        r":4: key `x` comes from two mappings merged by `<<`",
    ),
    "override of a key merged into the merged mapping": (
        "a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nm: {<<: *b, x: 3}\n",
        "contract.duplicate_key",
        r":3: key `x` is also set by the merge key",
    ),
    "recursive alias": ("a: &a [1, *a]\n", "contract.yaml", r"alias \*a refers to the node that contains it"),
    "anchor defined twice": ("a: &x 1\nb: &x 2\n", "contract.yaml", r":2: .*anchor &x is defined twice"),
    "two documents": ("a: 1\n---\nb: 2\n", "contract.yaml", r"expected a single document"),
    "python object tag": ("a: !!python/object/apply:os.system ['true']\n", "contract.yaml", r"not valid YAML"),
}


@pytest.fixture(params=sorted(HOSTILE), ids=lambda name: name.replace(" ", "-"))
def hostile(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    return HOSTILE[request.param]


class TestHostileYamlIsRefused:
    def test_clear_error_within_a_second(self, hostile: tuple[str, str, str]) -> None:
        text, code, pattern = hostile
        start = time.perf_counter()
        with pytest.raises(ContractError, match=pattern) as info:
            load_yaml_mapping(text, filename="bomb.yaml")
        elapsed = time.perf_counter() - start
        assert info.value.code == code
        assert info.value.message.startswith("bomb.yaml")
        assert elapsed < 1.0, f"took {elapsed:.2f} s"

    def test_bounded_memory(self, hostile: tuple[str, str, str]) -> None:
        text, _, _ = hostile
        tracemalloc.start()
        try:
            with pytest.raises(ContractError):
                parse_any_contract(text)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"

    def test_every_contract_reader_refuses_it(self, hostile: tuple[str, str, str]) -> None:
        from infra_models import parse_contract

        text, code, _ = hostile
        for reader in (parse_contract, parse_onex_contract, parse_any_contract):
            with pytest.raises(ContractError) as info:
                reader(text)
            assert info.value.code == code

    def test_cli_exits_2_without_traceback(self, hostile: tuple[str, str, str], tmp_path: Path) -> None:
        text, code, _ = hostile
        path = tmp_path / "contract.yaml"
        path.write_text(text)
        start = time.perf_counter()
        result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
        assert time.perf_counter() - start < 1.0
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert '"code": "' + code + '"' in result.output

    def test_pure_python_parser_too(self, hostile: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
        from infra_models import yaml_limits

        monkeypatch.setattr(yaml_limits, "_Loader", yaml.SafeLoader)
        text, code, _ = hostile
        start = time.perf_counter()
        with pytest.raises(ContractError) as info:
            load_yaml_mapping(text)
        assert info.value.code == code
        # The pure-Python scanner (used only where PyYAML lacks libyaml) reads a 1 MB scalar about 30x slower.
        assert time.perf_counter() - start < 5.0


class TestSizeLimits:
    def test_file_over_a_mebibyte(self, tmp_path: Path) -> None:
        path = tmp_path / "contract.yaml"
        path.write_text("a: b\n" * 300_000)
        result = CliRunner().invoke(app, ["validate", str(path)])
        assert result.exit_code == 2
        assert "larger than 1048576 bytes" in result.output

    def test_text_over_the_limit(self) -> None:
        with pytest.raises(ContractError, match="longer than 100 characters") as info:
            load_yaml_mapping("a: " + "b" * 200, limits=YamlLimits(max_bytes=100))
        assert info.value.code == "contract.too_large"

    def test_limits_are_adjustable(self) -> None:
        text = "a: [" + ",".join(["1"] * 20) + "]\n"
        assert load_yaml_mapping(text)[1]["a"] == [1] * 20
        with pytest.raises(ContractError, match="more than 10 nodes"):
            load_yaml_mapping(text, limits=YamlLimits(max_nodes=10))


class TestWhatIsStillAccepted:
    def test_a_large_honest_document(self) -> None:
        text = "".join(f"k{i}: {{a: [1, 2, {{b: c}}]}}\n" for i in range(5_000))  # 45k nodes, 8x the largest seen
        _, data = load_yaml_mapping(text)
        assert len(data) == 5_000 and data["k4999"] == {"a": [1, 2, {"b": "c"}]}

    def test_anchors_and_merges_without_conflicts(self) -> None:
        root, data = load_yaml_mapping(
            "defaults: &d {retries: 3, timeout: 5}\neffect:\n  <<: *d\n  name: vault\ntags: &t [a, b]\nmore: *t\n"
        )
        assert data["effect"] == {"retries": 3, "timeout": 5, "name": "vault"}
        assert data["more"] == ["a", "b"]
        assert isinstance(root, yaml.MappingNode)

    def test_nesting_at_the_limit(self) -> None:
        text = "a: " + "[" * 63 + "]" * 63 + "\n"
        assert load_yaml_mapping(text)[1]["a"] is not None

    def test_line_numbers_of_the_node_tree(self) -> None:
        from infra_models import line_of

        root, _ = load_yaml_mapping("a: 1\nb:\n  - x\n  - {c: 2}\n")
        assert line_of(root, ("b", 1, "c")) == 4
        assert line_of(root, ("b", 7)) == 3  # the deepest node that exists


class TestNotAMapping:
    @pytest.mark.parametrize(("text", "got"), [("", "an empty document"), ("- a\n", "a list"), ("3\n", "a int")])
    def test_top_level(self, text: str, got: str) -> None:
        with pytest.raises(ContractError, match=f"the top level is {got}") as info:
            load_yaml_mapping(text)
        assert info.value.code == "contract.not_mapping"

    def test_non_text_top_level_key(self) -> None:
        with pytest.raises(ContractError, match=r":2: top-level key `1` is not text"):
            load_yaml_mapping("a: 1\n1: 2\n")


# Plain data in any YAML style: the bounded reader must build exactly what PyYAML's own loader builds.
_scalars = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=20)
_data = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


class TestAgreesWithPyYaml:
    @settings(max_examples=150, deadline=None)
    @given(st.dictionaries(st.text(min_size=1, max_size=8), _data, min_size=1, max_size=5))
    def test_round_trip(self, document: dict[str, Any]) -> None:
        for flow in (False, True):
            text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
            assert load_yaml_mapping(text)[1] == yaml.load(text, Loader=yaml.SafeLoader)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(_data, min_size=1, max_size=3) | st.dictionaries(st.text(max_size=8), _data, max_size=3))
    def test_shared_objects_become_anchors_and_aliases(self, shared: Any) -> None:
        # PyYAML writes an object used twice as an anchor and an alias; both readers must share it back.
        text = yaml.safe_dump({"first": shared, "second": [shared, {"again": shared}]})
        assert "&id001" in text and "*id001" in text
        _, data = load_yaml_mapping(text)
        assert data == yaml.load(text, Loader=yaml.SafeLoader)
        assert data["second"][0] is data["first"]


class TestRealProcess:
    def test_cli_refuses_the_bomb_under_a_memory_cap(self, tmp_path: Path) -> None:
        resource = pytest.importorskip("resource")  # POSIX only
        import subprocess
        import sys

        path = tmp_path / "contract.yaml"
        path.write_text(BILLION_LAUGHS)
        cap = 1024 * 2**20  # address space for the whole interpreter, pydantic included; 9**9 strings need far more

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

        completed = subprocess.run(
            [sys.executable, "-c", "from infra_models.cli import main; main()", "validate", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
            preexec_fn=limit,  # sets only a resource limit in the child
            check=False,
        )
        assert completed.returncode == 2, completed.stderr
        assert "alias bomb" in completed.stderr and "Traceback" not in completed.stderr
