"""Hatch workspaces: when the output folder is one, a node lands under ``packages/`` as a listed member."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from infra_gen.errors import GenError

__all__ = ["Workspace", "find_workspace"]

_MEMBERS = re.compile(r"^(?P<indent>[ \t]*)workspace\.members\s*=\s*\[", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Workspace:
    """A hatch workspace root whose ``hatch.toml`` lists its members explicitly."""

    root: Path
    config: Path
    members: tuple[str, ...]
    tables: bool = True
    """Whether members are written as ``{ path = ... }`` tables (else as plain strings)."""

    def add_member(self, text: str, path: str) -> str:
        """``hatch.toml`` text with ``{ path = "<path>" }`` appended to the members list (unchanged when listed)."""
        if path in self.members:
            return text
        match = _MEMBERS.search(text)
        if match is None:
            raise GenError(f"{self.config}: no `workspace.members = [` line to add {path} to", code="gen.workspace")
        close = _closing_bracket(text, match.end())
        body = text[match.end() : close]
        item_indent = match.group("indent") + "  "
        lines = [line for line in body.splitlines() if line.strip()]
        if lines:
            item_indent = re.match(r"[ \t]*", lines[-1]).group()  # type: ignore[union-attr]
        head = text[:close].rstrip()
        if not head.endswith("[") and not head.endswith(","):
            head += ","
        entry = f'"{path}"' if self.members and not self.tables else f'{{ path = "{path}" }}'
        new = f"{head}\n{item_indent}{entry},\n{match.group('indent')}{text[close:]}"
        members = _members(tomllib.loads(new))
        if path not in members:
            raise GenError(f"{self.config}: could not add {path} to workspace.members", code="gen.workspace")
        return new


def _closing_bracket(text: str, start: int) -> int:
    depth, quote = 1, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i
    raise GenError("hatch.toml: `workspace.members` list is not closed", code="gen.workspace")


def _members(data: dict[str, object]) -> tuple[str, ...]:
    envs = data.get("envs", {})
    default = envs.get("default", {}) if isinstance(envs, dict) else {}
    workspace = default.get("workspace", {}) if isinstance(default, dict) else {}
    members = workspace.get("members", []) if isinstance(workspace, dict) else []
    out: list[str] = []
    for member in members if isinstance(members, list) else []:
        if isinstance(member, str):
            out.append(member)
        elif isinstance(member, dict) and isinstance(member.get("path"), str):
            out.append(member["path"])
    return tuple(out)


def find_workspace(directory: Path) -> Workspace | None:
    """The workspace rooted at ``directory`` when its ``hatch.toml`` lists ``workspace.members``, else ``None``."""
    config = directory / "hatch.toml"
    if not config.is_file():
        return None
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GenError(f"{config}: not valid TOML ({exc})", code="gen.workspace") from exc
    members = _members(data)
    if not members and "workspace" not in str(data.get("envs", "")):
        return None
    raw = data.get("envs", {}).get("default", {}).get("workspace", {}).get("members", [])
    tables = any(isinstance(m, dict) for m in raw) if isinstance(raw, list) else True
    return Workspace(directory, config, members, tables)
