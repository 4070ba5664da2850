"""``python -m infra_outbox``: the ``infra-outbox`` command."""

from __future__ import annotations

from infra_outbox.cli import main

main()
