"""The examples in the docstrings of the credentials, rate-limit and TLS modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "asgi",
    "credential_cache",
    "credentials",
    "gcra",
    "providers",
    "ratelimit",
    "ratelimit_memory",
    "settings_helpers",
    "sliding_window",
    "tls_audit",
    "tls_context",
    "tls_inspect",
    "tls_policy",
    "tls_settings",
    "vault_provider",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name == "vault_provider":
        pytest.importorskip("hvac")
    module = importlib.import_module(f"infra_security.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
