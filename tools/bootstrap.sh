#!/usr/bin/env bash
# Installs what both README commands need on a fresh Debian machine: Python tooling (hatch, uv) from PyPI
# and the hatch workspace environment. System packages for the test services are installed by
# tools/services.py when it starts them. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v python3 >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip
fi
if ! command -v git >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq git
fi
if ! command -v hatch >/dev/null 2>&1 || ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check "hatch>=1.16" "uv>=0.5"
fi
hatch env create >/dev/null 2>&1 || hatch env create
