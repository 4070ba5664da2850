#!/usr/bin/env bash
# README command (a): the main job of every package on embedded defaults, no server needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
for dist in infra-models infra-security infra-outbox infra-gen infra-readiness; do
  step="packages/$dist/examples/quickstart.sh"
  if [ -f "$step" ]; then
    printf '\n=== %s ===\n' "$dist"
    hatch run bash "$step"
  fi
done
printf '\nquickstart: done\n'
