"""infra_models.lazy: PEP 562 exports that load their module on first use; `import infra_models` stays light."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import infra_models
from infra_models import lazy_exports, unresolved_exports


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        textwrap.dedent(
            """
            from infra_models.lazy import lazy_exports
            __all__ = ["Thing", "Missing", "Broken"]
            __getattr__, __dir__ = lazy_exports(
                __name__,
                {"Thing": "lazypkg.heavy", "Missing": "lazypkg.heavy", "Broken": "lazypkg.nowhere"},
                __all__,
            )
            """
        )
    )
    (root / "heavy.py").write_text("LOADS = 0\nLOADS += 1\nclass Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lazypkg"
    for name in [n for n in sys.modules if n == "lazypkg" or n.startswith("lazypkg.")]:
        del sys.modules[name]


class TestLazyExports:
    def test_module_loads_on_first_use_once(self, package):
        import lazypkg  # type: ignore[import-not-found]

        assert "lazypkg.heavy" not in sys.modules
        first = lazypkg.Thing
        assert "lazypkg.heavy" in sys.modules
        assert lazypkg.Thing is first
        assert vars(lazypkg)["Thing"] is first  # cached: the hook is not called again
        assert sys.modules["lazypkg.heavy"].LOADS == 1

    def test_unknown_name_is_an_attribute_error_naming_the_package(self, package):
        import lazypkg  # type: ignore[import-not-found]

        with pytest.raises(AttributeError, match="module 'lazypkg' has no attribute 'Nope'"):
            lazypkg.Nope  # noqa: B018
        assert not hasattr(lazypkg, "Nope")

    def test_dir_lists_exports_before_they_load(self, package):
        import lazypkg  # type: ignore[import-not-found]

        assert {"Thing", "Missing", "Broken"} <= set(dir(lazypkg))
        assert "lazypkg.heavy" not in sys.modules

    def test_unresolved_exports_names_a_wrong_mapping(self, package):
        assert unresolved_exports(package) == ["Missing", "Broken"]

    def test_the_hooks_are_plain_functions(self):
        getattr_, dir_ = lazy_exports("infra_models", {})
        with pytest.raises(AttributeError):
            getattr_("x")
        assert "lazy_exports" in dir_()


def test_every_infra_models_export_resolves():
    assert unresolved_exports("infra_models") == []
    assert set(infra_models.__all__) <= set(dir(infra_models))


def test_import_infra_models_pulls_no_cli_libraries_and_no_models():
    code = (
        "import sys, infra_models; infra_models.__version__; "
        "print(sorted(m for m in ('typer', 'rich', 'click', 'pydantic', 'yaml') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
