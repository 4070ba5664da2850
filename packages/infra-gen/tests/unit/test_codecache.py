"""The disk cache of compiled templates: reused by a fresh process, keyed by contents, never trusted blindly."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_gen import render
from infra_gen.render import render_templates


def make_template(root: Path, body: str = "hello {{ cookiecutter.name }}\n") -> Path:
    top = root / "{{cookiecutter.project_dir}}"
    top.mkdir(parents=True)
    (root / "cookiecutter.json").write_text('{"project_dir": "demo", "name": "x"}')
    (top / "{{cookiecutter.name}}.txt.jinja").write_text(body)
    (top / "plain.bin").write_bytes(b"\x00{{ raw }}")
    return root


def fresh_process() -> None:
    """Forget what this process compiled, as a new CLI process would not have it."""
    render._CACHE.clear()


def never_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled although the disk cache holds the code")

    monkeypatch.setattr(render._env(), "compile", refuse)


CONTEXT = {"project_dir": "demo", "name": "ada"}


class TestCodeCache:
    @pytest.fixture
    def cache(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        folder = tmp_path / "cache"
        monkeypatch.setenv("INFRA_GEN_CACHE_DIR", str(folder))
        fresh_process()
        return folder

    def test_a_fresh_process_renders_from_the_cached_code(
        self, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root = make_template(tmp_path / "t")
        first = render_templates([root], CONTEXT)
        assert len(list(cache.glob("*.codes"))) == 1
        fresh_process()
        never_compile(monkeypatch)
        assert render_templates([root], CONTEXT) == first
        assert first["demo/ada.txt"].content == b"hello ada\n"
        assert first["demo/plain.bin"].content == b"\x00{{ raw }}"

    def test_a_changed_template_is_compiled_again(self, tmp_path: Path, cache: Path) -> None:
        root = make_template(tmp_path / "t")
        render_templates([root], CONTEXT)
        (root / "{{cookiecutter.project_dir}}" / "{{cookiecutter.name}}.txt.jinja").write_text(
            "bye {{ cookiecutter.name }}\n"
        )
        fresh_process()
        assert render_templates([root], CONTEXT)["demo/ada.txt"].content == b"bye ada\n"
        assert len(list(cache.glob("*.codes"))) == 2

    @pytest.mark.parametrize("garbage", [b"", b"infra-gen-codes-1", b"infra-gen-codes-1\xff\x00junk", b"not ours"])
    def test_a_corrupt_entry_is_ignored_and_replaced(self, tmp_path: Path, cache: Path, garbage: bytes) -> None:
        root = make_template(tmp_path / "t")
        render_templates([root], CONTEXT)
        (entry,) = cache.glob("*.codes")
        entry.write_bytes(garbage)
        fresh_process()
        assert render_templates([root], CONTEXT)["demo/ada.txt"].content == b"hello ada\n"
        assert entry.read_bytes() != garbage

    def test_code_others_could_have_written_is_not_loaded(
        self, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        root = make_template(tmp_path / "t")
        render_templates([root], CONTEXT)
        (entry,) = cache.glob("*.codes")
        entry.chmod(0o666)
        fresh_process()
        compiled: list[object] = []
        env = render._env()
        real = env.compile
        monkeypatch.setattr(env, "compile", lambda *a, **k: compiled.append(a) or real(*a, **k))
        assert render_templates([root], CONTEXT)["demo/ada.txt"].content == b"hello ada\n"
        assert compiled, "a group/world-writable cache file was trusted"

    def test_an_empty_setting_turns_the_cache_off(
        self, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INFRA_GEN_CACHE_DIR", "")
        root = make_template(tmp_path / "t")
        assert render_templates([root], CONTEXT)["demo/ada.txt"].content == b"hello ada\n"
        assert not cache.exists()

    def test_an_unwritable_cache_folder_does_not_stop_rendering(
        self, tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        monkeypatch.setenv("INFRA_GEN_CACHE_DIR", str(blocker / "cache"))
        root = make_template(tmp_path / "t")
        assert render_templates([root], CONTEXT)["demo/ada.txt"].content == b"hello ada\n"

    def test_a_syntax_error_names_the_file(self, tmp_path: Path, cache: Path) -> None:
        from infra_gen.errors import TemplateError

        root = make_template(tmp_path / "t", body="{% if %}\n")
        with pytest.raises(TemplateError, match=r"name\}\}\.txt\.jinja"):
            render_templates([root], CONTEXT)
        assert not cache.exists() or not list(cache.glob("*.codes"))
