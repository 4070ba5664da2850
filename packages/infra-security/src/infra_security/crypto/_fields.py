"""Field-level encryption: encrypt the listed fields of a dict or pydantic model, leave the rest readable.

Fields are named by explicit paths, never matched by substring: ``"password"``, ``"card.number"`` (nested
dict), ``"cards[].number"`` (every element of a list). Each encrypted value becomes the base64url text form
of its ciphertext, bound to the field's path (and the caller's context), so values cannot be swapped between
fields or records of another context.

Example:
    >>> from infra_security import FieldEncryption, Keyring, PayloadEncryption
    >>> enc = PayloadEncryption("k", keyring=Keyring.generate("k"))
    >>> fields = FieldEncryption(enc, ["card.number"])
    >>> sealed = fields.encrypt_fields({"card": {"number": "4111", "brand": "visa"}})
    >>> sealed["card"]["brand"], fields.decrypt_fields(sealed)["card"]["number"]
    ('visa', '4111')
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from infra_security.crypto._aead import from_text, to_text
from infra_security.crypto._encryption import PayloadEncryption
from infra_security.errors import DecryptionError, EncryptionError

__all__ = ["FieldEncryption"]

M = TypeVar("M", bound=BaseModel)
_PATH_KEY = "infra.field"


class FieldEncryption:
    """Encrypts and decrypts the fields named by ``paths`` in place of their values."""

    def __init__(self, encryption: PayloadEncryption, paths: Iterable[str], *, require: bool = False) -> None:
        self.encryption = encryption
        self.paths = tuple(paths)
        if not self.paths:
            raise EncryptionError("FieldEncryption needs at least one field path", code="security.fields_invalid")
        self._parsed = [_parse(p) for p in self.paths]
        self.require = require

    def encrypt_fields(
        self, data: Mapping[str, Any] | BaseModel, context: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """A copy of ``data`` (a model is dumped to JSON mode) with the listed fields encrypted."""
        doc = data.model_dump(mode="json") if isinstance(data, BaseModel) else copy.deepcopy(dict(data))

        def seal(path: str, value: Any) -> str:
            return to_text(self.encryption.encrypt(value, _ctx(context, path)))

        for path, parts in zip(self.paths, self._parsed, strict=True):
            _apply(doc, parts, path, seal, self.require)
        return doc

    def decrypt_fields(self, data: Mapping[str, Any], context: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A copy of ``data`` with the listed fields decrypted; any failure raises and returns nothing."""
        doc = copy.deepcopy(dict(data))

        def open_(path: str, value: Any) -> Any:
            if not isinstance(value, str):
                raise DecryptionError(f"field `{path}` is not encrypted text (got {type(value).__name__})")
            return self.encryption.decrypt(from_text(value), _ctx(context, path))

        for path, parts in zip(self.paths, self._parsed, strict=True):
            _apply(doc, parts, path, open_, self.require)
        return doc

    def decrypt_model(self, data: Mapping[str, Any], model: type[M], context: Mapping[str, str] | None = None) -> M:
        """Decrypt the fields and validate the result as ``model``."""
        return model.model_validate(self.decrypt_fields(data, context))


def _ctx(context: Mapping[str, str] | None, path: str) -> dict[str, str]:
    ctx = dict(context) if context else {}
    ctx[_PATH_KEY] = path
    return ctx


def _parse(path: str) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    for raw in path.split("."):
        each = raw.endswith("[]")
        name = raw[:-2] if each else raw
        if not name or "[" in name or "]" in name:
            raise EncryptionError(
                f"field path {path!r} is invalid: use dotted names with `[]` after list fields, e.g. `cards[].number`",
                code="security.fields_invalid",
            )
        parts.append((name, each))
    return parts


def _apply(node: Any, parts: list[tuple[str, bool]], path: str, func: Callable[[str, Any], Any], require: bool) -> None:
    (name, each), rest = parts[0], parts[1:]
    if not isinstance(node, dict) or name not in node:
        if require:
            raise EncryptionError(f"field `{path}` is missing", code="security.field_missing")
        return
    if each:
        items = node[name]
        if not isinstance(items, list):
            raise EncryptionError(f"field `{path}`: `{name}` is not a list", code="security.fields_invalid")
        for i, item in enumerate(items):
            if rest:
                _apply(item, rest, path, func, require)
            else:
                items[i] = func(path, item)
    elif rest:
        _apply(node[name], rest, path, func, require)
    else:
        node[name] = func(path, node[name])
