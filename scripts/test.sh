#!/usr/bin/env bash
# The whole test suite: lint, types, the documentation build, the dependency-range check
# (lowest deps on Python 3.10, newest on 3.13), unit tests and interop tests against the real
# Go harness, in the project virtualenv .venv that setup creates. With arguments, pytest runs
# only those (and the docs and dependency-range steps are skipped).
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
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"  # python3, gowork: the project's
python3 -m ruff check .
python3 -m mypy
[ $# -gt 0 ] || bash scripts/docs.sh          # the documentation site, warnings as errors
[ $# -gt 0 ] || bash scripts/compat-envs.sh   # lowest deps on Python 3.10, newest on 3.13
[ $# -gt 0 ] || python3 scripts/mutation.py  # mutation testing: bounded pass (scripts/mutation-bounded.txt, benchmarks/mutation.md)
export GOWORK_HARNESS="$PWD/go-harness/gowork-harness"
python3 -m pytest -q -rs -p no:cacheprovider "$@"
[ "$GOWORK_CONTAINERS" != 1 ] || bash scripts/docker.sh interop
