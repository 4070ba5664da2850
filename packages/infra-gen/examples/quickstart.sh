#!/usr/bin/env bash
# infra-gen quickstart: plan a node (dry run), generate it into a temporary folder, run its own tests.
# Run from the repository root inside the hatch env (tools/quickstart.sh does). No server needed.
set -euo pipefail
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "$ infra-gen node compute OrderTotals --dry-run --format json   (plan only: nothing written)"
infra-gen node compute OrderTotals -o "$tmp" --dry-run --format json \
  | python -c 'import json, sys; p = json.load(sys.stdin); print("  plan:", p["counts"]["create"], "files to create, dry_run =", p["dry_run"])'
test -z "$(ls -A "$tmp")" || { echo "dry run wrote files" >&2; exit 1; }

echo "$ infra-gen node effect vault_adapter --external-system 'HashiCorp Vault'"
infra-gen node effect vault_adapter --external-system "HashiCorp Vault" \
  --description "HashiCorp Vault secret management" -o "$tmp" --format json >/dev/null
find "$tmp/vault-adapter" -type f -not -path '*/.infra-gen.json' | sed "s|$tmp/|  |" | sort

echo "$ pytest vault-adapter/tests   (the generated node's own tests)"
# The hatch env already has infra-models, so the node runs from its src/ folder without an install.
PYTHONPATH="$tmp/vault-adapter/src" python -m pytest -q -p no:cacheprovider --import-mode=importlib \
  --rootdir "$tmp/vault-adapter" "$tmp/vault-adapter/tests" | tail -n 1

echo "$ infra-gen check vault-adapter"
infra-gen check "$tmp/vault-adapter"
