#!/usr/bin/env bash
# infra-models: validate a sample node contract in each format, show a broken one being refused, list the schemas.
set -euo pipefail
here="$(dirname "$0")"
infra-models validate "$here/contract.yaml"
infra-models validate "$here/onex/contract.yaml"
broken="$(mktemp -d)/contract.yaml"
sed 's/^version: 0.1.0/version: one/' "$here/contract.yaml" > "$broken"
if infra-models validate "$broken"; then
  echo "a broken contract was accepted" >&2
  exit 1
fi
echo "public models with a JSON Schema:"
infra-models schema | sed 's/^/  /'
