"""`infra-security payload`: encrypt and decrypt JSON payloads with a keyset file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from infra_models.cli import FormatOption, OutputFormat, emit
from infra_security.cli._keys import ContextOpt, KeysetOpt, fail, load, parse_context

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help=__doc__)


InputOpt = Annotated[Path | None, typer.Option("--input", "-i", help="Read from this file (default: stdin).")]


def _read(path: Path | None) -> str:
    try:
        return path.read_text(encoding="utf-8") if path is not None else sys.stdin.read()
    except OSError as exc:
        fail(f"{path}: cannot read ({exc.strerror})")
    except UnicodeDecodeError as exc:
        fail(f"{path or 'stdin'}: not UTF-8 text (byte {exc.start}); encrypt binary data from Python as bytes")


@app.command()
def encrypt(
    keyset: KeysetOpt = None,
    context: ContextOpt = None,
    input_file: InputOpt = None,
    output: Annotated[
        OutputFormat, typer.Option("-f", "--format", help="text: base64url ciphertext; json: EncryptedPayload.")
    ] = OutputFormat.TEXT,
) -> None:
    """Encrypt one JSON value read from stdin (or --input) with the keyset's primary key."""
    import json

    from infra_security.crypto._encryption import PayloadEncryption
    from infra_security.errors import SecurityError

    ring = load(keyset)
    raw = _read(input_file)
    try:
        payload: Any = json.loads(raw)
    except json.JSONDecodeError as exc:
        fail(f"input is not JSON: {exc}")
    enc = PayloadEncryption(ring.name, keyring=ring)
    ctx = parse_context(context)
    try:
        if output is OutputFormat.JSON:
            typer.echo(enc.encrypt_payload(payload, ctx).model_dump_json())
        else:
            typer.echo(enc.encrypt_text(payload, ctx))
    except SecurityError as exc:
        fail(exc.message)


@app.command()
def decrypt(
    keyset: KeysetOpt = None,
    context: ContextOpt = None,
    input_file: InputOpt = None,
    fmt: FormatOption = OutputFormat.TEXT,
) -> None:
    """Decrypt a ciphertext (text form or EncryptedPayload JSON) and print the JSON value.

    Text prints the value itself (bytes as they are); json prints ``{"value": ...}`` (bytes as base64url).
    """
    import json

    from pydantic import ValidationError

    from infra_models.security import EncryptedPayload
    from infra_security.crypto._encryption import PayloadEncryption
    from infra_security.errors import SecurityError

    ring = load(keyset)
    text = _read(input_file).strip()
    enc = PayloadEncryption(ring.name, keyring=ring)
    ctx = parse_context(context) or None
    try:
        source: EncryptedPayload | str = EncryptedPayload.model_validate_json(text) if text.startswith("{") else text
        value = enc.decrypt_payload(source, ctx)
    except ValidationError as exc:
        fail(f"input is not an EncryptedPayload: {exc.errors()[0]['msg']}")
    except SecurityError as exc:
        fail(exc.message)
    if fmt is OutputFormat.JSON:
        from infra_models import b64url_encode

        data = {"bytes_base64url": b64url_encode(value)} if isinstance(value, bytes) else {"value": value}
        emit(data, fmt)
    elif isinstance(value, bytes):
        sys.stdout.buffer.write(value)
    else:
        typer.echo(json.dumps(value, ensure_ascii=False))
