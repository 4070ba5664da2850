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
# Release checks: the public API against the last release, the changelog rule, and each wheel installed alone in
# a fresh venv of every Python the classifiers name (3.11, 3.12, 3.13) with its own unit tests run against it
# (integration tests run once, above, on 3.11). Under CI=true a missing interpreter fails the run.
hatch run release changelog-check
hatch run release api-check --all
hatch run release verify-install --all --jobs 2 --python 3.11 --python 3.12 --python 3.13
# Each sdist and wheel as PyPI shows it: twine --strict, check-wheel-contents, pyroma 10/10, and the unit tests of
# every package's unpacked sdist, away from the repository.
hatch run dists --unpacked-tests
# This repository's own packages rated by infra-readiness (figures in the README).
hatch run readiness --min-level STAGING

end=$(date +%s)
printf 'timing: setup %ss, checks and tests %ss\n' "$((setup_done - start))" "$((end - setup_done))"
