"""The examples in the docstrings of every module run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import infra_security

MODULES = sorted(m.name for m in pkgutil.walk_packages(infra_security.__path__, "infra_security."))
# Modules whose examples were written for them; each must keep at least one.
WITH_EXAMPLES = {
    "infra_security.credentials._cache",
    "infra_security.credentials._manager",
    "infra_security.credentials._providers",
    "infra_security.credentials._settings",
    "infra_security.credentials._vault_provider",
    "infra_security.ratelimit._asgi",
    "infra_security.ratelimit._gcra",
    "infra_security.ratelimit._limiter",
    "infra_security.ratelimit._memory",
    "infra_security.ratelimit._sliding_window",
    "infra_security.tls._audit",
    "infra_security.tls._context",
    "infra_security.tls._inspect",
    "infra_security.tls._policy",
    "infra_security.tls._settings",
}


def test_every_module_with_examples_is_listed() -> None:
    assert set(MODULES) >= WITH_EXAMPLES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name.endswith("_vault_provider"):
        pytest.importorskip("hvac")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted > 0
