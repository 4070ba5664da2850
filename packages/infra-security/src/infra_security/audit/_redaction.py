"""Redaction by keyed HMAC: sensitive values are replaced before anything is written.

A value under a sensitive field name (matched exactly, case-insensitively, at any depth; never by substring)
becomes ``"hmac-sha256:<hex>"``, the HMAC-SHA256 of its canonical JSON under the redaction key. Equal values
give equal hashes, so they can still be matched (like Vault's ``sys/audit-hash``): compute the hash of a known
value with :meth:`Redactor.hash_value` or ``infra-security audit hash``. Nested objects, lists, numbers and
booleans under a sensitive name are hashed whole.

Example:
    >>> r = Redactor(b"k" * 32, ["password"])
    >>> r.redact({"user": "ann", "password": "hunter2"})["password"].startswith("hmac-sha256:")
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from infra_security.audit._chain import keyed_sha256

__all__ = ["DEFAULT_SENSITIVE_FIELDS", "REDACTED_PREFIX", "Redactor"]

REDACTED_PREFIX = "hmac-sha256:"

DEFAULT_SENSITIVE_FIELDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "apikey",
        "authorization",
        "cookie",
        "set-cookie",
        "private_key",
        "secret_key",
        "session_token",
        "card_number",
        "cvv",
        "ssn",
    }
)


class Redactor:
    """Replaces values of the named fields by their keyed HMAC."""

    def __init__(self, key: bytes, fields: Iterable[str] = DEFAULT_SENSITIVE_FIELDS) -> None:
        if len(key) < 16:
            raise ValueError("redaction key must be at least 16 bytes")
        self._keyed = keyed_sha256(key)  # keyed once; copied per value
        self.fields = frozenset(f.lower() for f in fields)
        self._decided: dict[str, bool] = {}  # field name -> sensitive?, for the names seen so far (bounded)

    def hash_value(self, value: Any) -> str:
        """The redacted form of ``value``: ``hmac-sha256:`` and the hex HMAC of its canonical JSON."""
        return REDACTED_PREFIX + self._keyed.hexmac(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))

    def redact(self, value: Any) -> Any:
        """A copy of ``value`` with every sensitive field's value hashed (dicts and lists walked)."""
        if isinstance(value, dict):
            decided, out = self._decided, {}
            for k, v in value.items():
                sensitive = decided.get(k) if type(k) is str else None
                if sensitive is None:
                    sensitive = self._is_sensitive(k)
                if sensitive:
                    out[k] = self.hash_value(v)
                elif isinstance(v, _CONTAINERS):
                    out[k] = self.redact(v)
                else:
                    out[k] = v
            return out
        if isinstance(value, _CONTAINERS):
            return [self.redact(v) if isinstance(v, _CONTAINERS) else v for v in value]
        return value

    def _is_sensitive(self, key: object) -> bool:
        sensitive = isinstance(key, str) and key.lower() in self.fields
        if type(key) is str and len(self._decided) < 4096:
            self._decided[key] = sensitive
        return sensitive


_CONTAINERS = (dict, list, tuple)
