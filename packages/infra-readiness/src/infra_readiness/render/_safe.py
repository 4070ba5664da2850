"""Make text from file names and findings safe to print: control characters become visible escapes.

A file named ``"\\x1b]0;pwned\\x07.py"`` must not retitle the terminal, move the cursor or hide a finding: every
C0/C1 control character (tab excepted) and DEL is shown as ``\\xNN`` instead of being sent to the terminal.
"""

from __future__ import annotations

import re

__all__ = ["safe_text"]

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def safe_text(text: str) -> str:
    """``text`` with every control character written as ``\\xNN`` (``\\n`` too: one finding, one line)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
