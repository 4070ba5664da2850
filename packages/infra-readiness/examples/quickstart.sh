#!/usr/bin/env bash
# infra-readiness quickstart: rate a small sample node, then show what stops it at its level.
set -euo pipefail
cd "$(dirname "$0")"

echo "$ infra-readiness check sample_node --run-tests"
infra-readiness check sample_node --run-tests

echo
echo "$ infra-readiness check sample_node --run-tests -f json  (level, target and blockers)"
report="$(infra-readiness check sample_node --run-tests -f json)"
python - "$report" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
print(f"level={report['level']} target={report['target_level']} blockers={','.join(report['blockers'])}")
assert report["level"] == "STAGING" and report["blockers"] == ["PERF-001"], report
PY

echo
echo "$ infra-readiness check sample_node -f json  (without --run-tests PRODUCTION is out of reach: TST-006)"
report="$(infra-readiness check sample_node -f json)"
python - "$report" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
print(f"level={report['level']} blockers={','.join(report['blockers'])}")
assert report["level"] == "STAGING" and report["blockers"] == ["PERF-001", "TST-006"], report
PY

echo
echo "$ infra-readiness check sample_node --min-level PRODUCTION  (exit 1: below the floor)"
if infra-readiness check sample_node --min-level PRODUCTION -f json > /dev/null 2>&1; then
  echo "expected exit 1 below --min-level" >&2
  exit 1
fi
echo "exit 1, as expected"
