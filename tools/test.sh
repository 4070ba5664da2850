#!/usr/bin/env bash
# README command (b): installs what is needed, starts the real services, runs lint, types and every test.
# .ci/run runs exactly this. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}"
start=$(date +%s)

bash tools/bootstrap.sh
python3 tools/services.py up
eval "$(python3 tools/services.py env)"
trap 'python3 tools/services.py down >/dev/null 2>&1 || true' EXIT
setup_done=$(date +%s)

hatch run lint
hatch run types
hatch run docs   # the documentation site, --strict: a broken link or API page fails
hatch run test
# Release checks: each wheel installed alone in a fresh venv with its own tests run against it, the public API
# against the last release, and the changelog rule.
hatch run release changelog-check
hatch run release api-check --all
hatch run release verify-install --all --jobs 2
# Each sdist and wheel as PyPI shows it: twine --strict, check-wheel-contents, pyroma 10/10, unit tests unpacked.
hatch run dists --unpacked-tests infra-models infra-gen infra-security infra-outbox
# infra-readiness: two unit tests read this repository's tree and fail from an unpacked sdist; its metadata and
# archives are checked, its unpacked tests once they skip outside the repository.
hatch run dists infra-readiness
# This repository's own packages rated by infra-readiness (figures in the README).
hatch run readiness --min-level STAGING

end=$(date +%s)
printf 'timing: setup %ss, checks and tests %ss\n' "$((setup_done - start))" "$((end - setup_done))"
