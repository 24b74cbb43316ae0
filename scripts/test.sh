#!/usr/bin/env bash
# The whole test suite: lint, types, unit tests and interop tests against the real Go harness.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m ruff check .
python3 -m mypy
export GOWORK_HARNESS="$PWD/go-harness/gowork-harness"
exec python3 -m pytest -q -p no:cacheprovider "$@"
