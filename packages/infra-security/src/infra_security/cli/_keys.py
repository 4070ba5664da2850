"""`infra-security keys`: generate, rotate, list, disable, enable, destroy keys of a keyset file; rewrap."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from infra_models.cli import CliError, FormatOption, OutputFormat, emit

if TYPE_CHECKING:
    from infra_security.crypto._keyring import Keyring

__all__ = ["app", "parse_context"]

app = typer.Typer(no_args_is_help=True, help=__doc__)


KeysetOpt = Annotated[
    Path | None,
    typer.Option("--keyset", "-k", help="Keyset file (default: $INFRA_SECURITY_KEYSET_FILE).", show_default=False),
]
ContextOpt = Annotated[
    list[str] | None,
    typer.Option("--context", "-c", help="Context entry KEY=VALUE the ciphertexts are bound to (repeatable)."),
]
FormatOpt = FormatOption
KeyIdArg = Annotated[int, typer.Argument(help="Key id (N of name:vN).")]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit (2 = bad input)."""
    raise CliError(message, exit_code=code)


def parse_context(items: list[str] | None) -> dict[str, str]:
    """``["k=v", ...]`` to a dict; a malformed entry exits with code 2."""
    context: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"--context {item!r}: expected KEY=VALUE")
        context[key] = value
    return context


def keyset_path(keyset: Path | None) -> Path:
    """The keyset file to use: the option, else the environment; exit 2 when neither is set."""
    if keyset is not None:
        return keyset
    from infra_security.crypto._keyset_file import ENV_KEYSET_FILE

    if os.environ.get(ENV_KEYSET_FILE):
        return Path(os.environ[ENV_KEYSET_FILE])
    fail(f"no keyset file: pass --keyset PATH or set {ENV_KEYSET_FILE}")


def load(keyset: Path | None) -> Keyring:
    """Load the keyring, turning expected errors into one line and exit 2."""
    from infra_security.crypto._keyring import Keyring
    from infra_security.errors import SecurityError

    try:
        return Keyring.load(keyset_path(keyset))
    except SecurityError as exc:
        fail(exc.message)


def _change_state(keyset: Path | None, key_id: int, state: str, fmt: OutputFormat = OutputFormat.TEXT) -> None:
    from infra_security.crypto._keyring import KeyState
    from infra_security.errors import SecurityError

    ring = load(keyset)
    try:
        ring.set_state(key_id, KeyState(state))
    except SecurityError as exc:
        fail(exc.message)
    emit({"key": ring.label(key_id), "state": state}, fmt, text=f"{ring.label(key_id)} is now {state}")


@app.command()
def generate(
    name: Annotated[str, typer.Option("--name", "-n", help="Keyset name, the key_id PayloadEncryption selects.")],
    out: Annotated[Path, typer.Option("-o", "--output", help="Keyset file to create (mode 0600).")],
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Create a keyset file with one fresh primary key."""
    from infra_security.crypto._keyring import Keyring

    if out.exists():
        fail(f"{out} already exists; use `infra-security keys rotate --keyset {out}` to add a key")
    if not name or len(name) > 200 or any(c.isspace() for c in name):
        fail(f"--name {name!r}: use 1-200 characters without spaces")
    try:
        Keyring.generate(name).save(out)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror})")
    data = {"keyset": str(out), "key": f"{name}:v1", "state": "primary"}
    emit(data, fmt, text=f"created {out} with key {name}:v1 (primary)")


@app.command()
def rotate(keyset: KeysetOpt = None, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Add a new primary key; the previous primary becomes decrypt-only."""
    ring = load(keyset)
    new_id = ring.rotate()
    emit({"key": ring.label(new_id), "state": "primary"}, fmt, text=f"{ring.label(new_id)} is the new primary")


@app.command(name="list")
def list_keys(keyset: KeysetOpt = None, output: FormatOpt = OutputFormat.TEXT) -> None:
    """List the keys: id, state, creation time and encryptions counted (never the material)."""
    ring = load(keyset)
    keys = ring.list_keys()
    if output is OutputFormat.JSON:
        import json

        typer.echo(json.dumps({"name": ring.name, "keys": [k.to_dict() for k in keys]}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("key", "state", "created", "encryptions (reserved)", title=f"keyset {ring.name}")
    for k in keys:
        table.add_row(ring.label(k.key_id), k.state.value, k.created_at.isoformat(), f"{k.encryptions:,}")
    Console().print(table)


@app.command()
def disable(key_id: KeyIdArg, keyset: KeysetOpt = None, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Disable a key: ciphertexts under it stop decrypting until it is enabled again."""
    _change_state(keyset, key_id, "disabled", fmt)


@app.command()
def enable(key_id: KeyIdArg, keyset: KeysetOpt = None, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Re-enable a disabled key for decryption."""
    _change_state(keyset, key_id, "decrypt-only", fmt)


@app.command()
def promote(key_id: KeyIdArg, keyset: KeysetOpt = None, fmt: FormatOption = OutputFormat.TEXT) -> None:
    """Make an existing key the primary (for example to roll back a rotation)."""
    _change_state(keyset, key_id, "primary", fmt)


@app.command()
def destroy(
    key_id: Annotated[int, typer.Argument(help="Key id (N of name:vN).")],
    keyset: KeysetOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the key material is erased for good.")] = False,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Erase a key's material (crypto-shredding); ciphertexts under it can never be decrypted again."""
    if not yes:
        fail("destroying a key is irreversible; rewrap what you need first, then pass --yes")
    _change_state(keyset, key_id, "destroyed", fmt)


@app.command()
def rewrap(
    keyset: KeysetOpt = None,
    context: ContextOpt = None,
    input_file: Annotated[
        Path | None, typer.Option("--input", "-i", help="File of ciphertexts, one per line (default: stdin).")
    ] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the rewrapped lines (default: stdout).")
    ] = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Re-encrypt ciphertexts (text form or EncryptedPayload JSON, one per line) under the primary key.

    All lines are processed before anything is written: one bad line writes nothing and exits 2.
    """
    from infra_models.security import EncryptedPayload
    from infra_security.crypto._encryption import PayloadEncryption
    from infra_security.crypto._keyset_file import write_private_file
    from infra_security.errors import SecurityError

    ring = load(keyset)
    enc = PayloadEncryption(ring.name, keyring=ring)
    ctx = parse_context(context) or None
    try:
        raw = input_file.read_text(encoding="utf-8") if input_file is not None else sys.stdin.read()
    except OSError as exc:
        fail(f"{input_file}: cannot read ({exc.strerror})")
    except UnicodeDecodeError as exc:
        fail(f"{input_file or 'stdin'}: not UTF-8 text (byte {exc.start}); one ciphertext per line is expected")
    out: list[str] = []
    for number, line in enumerate(raw.splitlines(), 1):
        text = line.strip()
        if not text:
            continue
        try:
            if text.startswith("{"):
                new = enc.rewrap(EncryptedPayload.model_validate_json(text), ctx)
                out.append(new.model_dump_json() if isinstance(new, EncryptedPayload) else str(new))
            else:
                out.append(str(enc.rewrap(text, ctx)))
        except (SecurityError, ValueError) as exc:
            fail(f"line {number}: {getattr(exc, 'message', exc)}")
    content = "".join(f"{x}\n" for x in out)
    summary = {"rewrapped": len(out), "primary": ring.label(ring.primary_id or 0)}
    if output_file is None and fmt is OutputFormat.JSON:
        emit({**summary, "ciphertexts": out}, fmt)
        return
    if output_file is None:
        sys.stdout.write(content)
    else:
        try:
            write_private_file(output_file, content.encode())
        except OSError as exc:
            fail(f"{output_file}: cannot write ({exc.strerror}); nothing was written")
    if fmt is OutputFormat.JSON:
        emit({**summary, "output": str(output_file)}, fmt)
    else:
        typer.echo(f"rewrapped {len(out)} ciphertext(s) to {summary['primary']}", err=True)
