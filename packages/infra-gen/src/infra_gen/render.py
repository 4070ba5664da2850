"""Render cookiecutter-format templates into memory with one shared, precompiled Jinja environment.

A template folder holds ``cookiecutter.json`` and one top folder whose name is a template
(``{{cookiecutter.project_dir}}``). Files ending in ``.jinja`` are rendered and lose the suffix (so template
``.py`` files are never seen as Python by linters or import scanners); every other file is copied byte for byte,
which is what keeps binary files intact. Line endings follow the template file: a CRLF template renders CRLF.
Templates that ship a ``hooks/`` folder are refused: infra-gen never runs template code.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra_gen import codecache
from infra_gen.errors import TemplateError, UnsafePathError

if TYPE_CHECKING:
    import jinja2

__all__ = ["SUFFIX", "RenderedFile", "render_templates", "template_hash"]

SUFFIX = ".jinja"
_IGNORED = {"__pycache__", ".DS_Store"}


@dataclass(frozen=True, slots=True)
class RenderedFile:
    """One rendered file: its path relative to the output folder (POSIX), bytes and executable bit."""

    path: str
    content: bytes
    executable: bool = False


@dataclass(frozen=True, slots=True)
class _Entry:
    parts: tuple[str, ...]
    path_templates: tuple[jinja2.Template | None, ...]
    body: jinja2.Template | bytes
    crlf: bool
    executable: bool


@dataclass(frozen=True, slots=True)
class _Compiled:
    signature: tuple[tuple[str, int, int], ...]
    entries: tuple[_Entry, ...]
    digest: str


_CACHE: dict[Path, _Compiled] = {}
_ENV: jinja2.Environment | None = None


def _env() -> jinja2.Environment:
    global _ENV  # noqa: PLW0603 - one environment per process is the point: compiled templates are reused
    if _ENV is None:
        import jinja2

        # autoescape off: templates render source code, not HTML; answers are values, never compiled as templates
        _ENV = jinja2.Environment(
            keep_trailing_newline=True,
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701
            auto_reload=False,
        )
    return _ENV


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    found: list[tuple[str, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED)
        for name in sorted(filenames):
            if name in _IGNORED:
                continue
            info = os.stat(os.path.join(dirpath, name))
            found.append((os.path.relpath(os.path.join(dirpath, name), root), info.st_mtime_ns, info.st_size))
    return tuple(found)


def _templates(sources: list[tuple[Path, str]], digest: str) -> list[jinja2.Template]:
    """Templates of ``sources`` in order, from compiled code kept on disk when it is there (see codecache)."""
    import jinja2

    env = _env()
    key = codecache.cache_key(digest, jinja2.__version__)
    codes = codecache.load_codes(key, len(sources))
    if codes is None:
        codes = []
        for file, source in sources:
            try:
                codes.append(env.compile(source))
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(f"{file}: {exc}", code="gen.template.syntax") from exc
        codecache.store_codes(key, codes)
    return [env.template_class.from_code(env, code, env.make_globals(None)) for code in codes]


def _compile(root: Path) -> _Compiled:
    """Load and compile every file of the template folder ``root`` (cached until a file changes)."""
    if not (root / "cookiecutter.json").is_file():
        raise TemplateError(f"{root}: not a template folder (no cookiecutter.json)", code="gen.template.missing")
    hooks = root / "hooks"
    if hooks.is_dir() and any(hooks.iterdir()):
        raise TemplateError(
            f"{root}: the template ships hooks ({', '.join(sorted(p.name for p in hooks.iterdir()))}); "
            "infra-gen never runs template code: remove the hooks folder",
            code="gen.template.hooks",
        )
    signature = _signature(root)
    cached = _CACHE.get(root)
    if cached is not None and cached.signature == signature:
        return cached
    # First read every file (the digest keys the disk cache), then get the code: from the cache or by compiling.
    digest = hashlib.sha256()
    files: list[tuple[tuple[str, ...], bytes | None, bool, bool]] = []  # parts, raw body (not a template), crlf, x
    sources: list[tuple[Path, str]] = []
    for rel, _mtime, _size in signature:
        parts = tuple(Path(rel).parts)
        if parts[0] in {"cookiecutter.json", "hooks"} or len(parts) < 2:
            continue
        file = root / rel
        raw = file.read_bytes()
        digest.update(rel.replace(os.sep, "/").encode() + b"\0" + hashlib.sha256(raw).digest())
        sources.extend((file, part) for part in parts if "{" in part)
        executable = bool(file.stat().st_mode & stat.S_IXUSR)
        if parts[-1].endswith(SUFFIX):
            try:
                source = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise TemplateError(
                    f"{file}: a `{SUFFIX}` template must be UTF-8 text", code="gen.template.encoding"
                ) from exc
            sources.append((file, source.replace("\r\n", "\n")))
            files.append((parts, None, "\r\n" in source, executable))
        else:
            files.append((parts, raw, False, executable))
    templates = iter(_templates(sources, digest.hexdigest()))
    entries: list[_Entry] = []
    for parts, raw_body, crlf, executable in files:
        path_templates = tuple(next(templates) if "{" in part else None for part in parts)
        body: jinja2.Template | bytes = raw_body if raw_body is not None else next(templates)
        entries.append(_Entry(parts, path_templates, body, crlf, executable))
    compiled = _Compiled(signature, tuple(entries), digest.hexdigest())
    _CACHE[root] = compiled
    return compiled


def _render_path(entry: _Entry, context: Mapping[str, Any], top: str | None) -> str:
    out: list[str] = []
    for i, (part, template) in enumerate(zip(entry.parts, entry.path_templates, strict=True)):
        name = template.render(context) if template is not None else part
        if i == len(entry.parts) - 1 and name.endswith(SUFFIX):
            name = name[: -len(SUFFIX)]
        if not name or name in {".", ".."} or "/" in name or "\\" in name or "\x00" in name:
            raise UnsafePathError(
                f"template path {'/'.join(entry.parts)!r} renders to an unsafe name {name!r}",
                details={"template_path": "/".join(entry.parts), "rendered": name},
            )
        out.append(name)
    if top is not None:
        out[0] = top
    return "/".join(out)


def render_templates(
    roots: Sequence[Path], context: Mapping[str, Any], *, top: str | None = None
) -> dict[str, RenderedFile]:
    """Render the template folders ``roots`` in order (later ones override files of earlier ones) into memory.

    ``context`` is what templates see as ``cookiecutter``; ``top`` renames the top folder (for example to
    place a node under ``packages/``). Returns files by relative POSIX path, sorted.
    """
    from jinja2 import TemplateError as JinjaError

    variables = {"cookiecutter": context}
    files: dict[str, RenderedFile] = {}
    for root in roots:
        compiled = _compile(root)
        for entry in compiled.entries:
            path = _render_path(entry, variables, top)
            if isinstance(entry.body, bytes):
                content = entry.body
            else:
                try:
                    text = entry.body.render(variables)
                except JinjaError as exc:
                    raise TemplateError(f"{root / Path(*entry.parts)}: {exc}", code="gen.template.render") from exc
                if entry.crlf:
                    text = text.replace("\r\n", "\n").replace("\n", "\r\n")
                content = text.encode("utf-8")
            files[path] = RenderedFile(path, content, entry.executable)
    return dict(sorted(files.items()))


def template_hash(roots: Sequence[Path]) -> str:
    """A short hash of the template folders' files (names and bytes): it changes when a template changes."""
    digest = hashlib.sha256()
    for root in roots:
        digest.update(_compile(root).digest.encode())
    return digest.hexdigest()[:16]
