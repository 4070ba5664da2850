"""Find test functions in a test file's text and tell whether each asserts anything, without parsing it.

A text scan is fast (a large repository has thousands of test files) and reads 3.12+ syntax like any other.
A test counts when its body asserts something that can fail: an ``assert`` whose condition is not a constant
(``assert True`` does not count), ``pytest.raises``/``warns``/``fail``, unittest's ``self.assert*``, a mock's
``assert_called*``, or a call to a helper of the same file that itself asserts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TestFunction", "test_functions"]

_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*[\[(]", re.MULTILINE)
_CLASS = re.compile(r"^([ \t]*)class[ \t]+(\w+)", re.MULTILINE)
_CHECKS = re.compile(
    r"\bpytest\.(?:raises|warns|fail|approx)\b|\bself\.(?:assert\w*|fail)\(|\.assert_\w+\(|\bassert_\w+\(|"
    r"\bexpect\(|\braises\(|\bcheck\.\w+\("
)
_CHECK_WORDS = ("pytest.", "self.", "assert_", "expect(", "raises(", "check.")
#: An ``assert`` whose condition is not a constant (``assert True``, ``assert 1``, ``assert "text"`` do not count).
_ASSERT_REAL = re.compile(
    r"^[ \t]*assert\b(?![ \t]+(?:True|1|not[ \t]+False|not[ \t]+None|\"[^\"\n]*\"|'[^'\n]*')[ \t]*(?:,[^\n]*)?$)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class TestFunction:
    """One ``test*`` function: its name, line, and whether it asserts something that can fail."""

    __test__ = False  # not a pytest class, despite the name

    name: str
    line: int
    asserts: bool


def _bodies(text: str) -> list[tuple[str, int, str]]:
    """``(name, line, body)`` of every function, the body being its indented lines."""
    lines = text.splitlines()
    found: list[tuple[str, int, str]] = []
    line_no, offset = 0, 0
    for match in _DEF.finditer(text):
        indent = len(match.group(1).expandtabs())
        line_no += text.count("\n", offset, match.start())  # counted from the previous match: linear in the text
        offset = match.start()
        start = line_no
        body: list[str] = []
        for line in lines[start + 1 :]:
            stripped = line.strip()
            if stripped and len(line) - len(line.lstrip()) <= indent and not stripped.startswith((")", "]")):
                break
            body.append(line)
        signature_end = lines[start] if not body else ""
        found.append((match.group(2), start + 1, "\n".join([signature_end, *body])))
    return found


def _asserting(body: str, helpers: re.Pattern[str] | None) -> bool:
    """True when ``body`` asserts something that can fail, itself or through a helper that asserts."""
    if "assert" in body and _ASSERT_REAL.search(body):
        return True
    if any(word in body for word in _CHECK_WORDS) and _CHECKS.search(body):
        return True
    return helpers is not None and helpers.search(body) is not None


def _calls(names: set[str]) -> re.Pattern[str] | None:
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, names))) + r")\(") if names else None


def test_functions(text: str) -> list[TestFunction]:
    """Every ``test*`` function (top level or in ``Test*`` classes) of a test file's text."""
    bodies = _bodies(text)
    helpers: set[str] = set()
    for _ in range(3):  # helpers that call helpers that assert, a few levels deep
        pattern = _calls(helpers)
        helpers |= {name for name, _, body in bodies if not name.startswith("test") and _asserting(body, pattern)}
    pattern = _calls(helpers)
    return [
        TestFunction(name, line, _asserting(body, pattern)) for name, line, body in bodies if name.startswith("test")
    ]
