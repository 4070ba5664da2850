"""Regenerate the golden trees: ``python packages/infra-gen/tests/golden/regenerate.py``.

Run it after a deliberate template change, review the diff, and commit it with the change.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from infra_gen.generator import NodeGenerator

HERE = Path(__file__).parent

# kind → (name, description, external system); tests/unit/test_golden.py renders the same answers.
CASES = {
    "effect": ("vault_adapter", "HashiCorp Vault secret management", "HashiCorp Vault"),
    "compute": ("order_totals", "Normalises order line labels", None),
    "reducer": ("account_balance", "Folds ledger events into balances", None),
    "orchestrator": ("order_saga", "Places an order across services", None),
}


def main() -> None:
    """Write tests/golden/<kind>/ from the current templates."""
    for kind, (name, description, external) in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            result = NodeGenerator(tmp).generate_node(
                kind, name, business_description=description, external_system=external
            )
            target = HERE / kind
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(result.project_dir, target)
            print(f"wrote {target}")


if __name__ == "__main__":
    main()
