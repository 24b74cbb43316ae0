#!/usr/bin/env bash
# The whole test suite: lint, types, unit tests and interop tests against the real Go harness.
# With containers (always in CI, elsewhere GOWORK_CONTAINERS=1): setup starts a Docker engine
# and builds the images (scripts/docker.sh), the suite includes the container and compose
# tests, the interop suite runs again with both sides in containers, and the engine setup
# started is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
GOWORK_CONTAINERS=$(bash scripts/docker.sh wanted)
export GOWORK_CONTAINERS
[ "$GOWORK_CONTAINERS" != 1 ] || trap 'bash scripts/docker.sh down' EXIT
bash scripts/setup.sh
python3 -m ruff check .
python3 -m mypy
export GOWORK_HARNESS="$PWD/go-harness/gowork-harness"
python3 -m pytest -q -rs -p no:cacheprovider "$@"
[ "$GOWORK_CONTAINERS" != 1 ] || bash scripts/docker.sh interop
