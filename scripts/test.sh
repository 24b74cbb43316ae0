#!/usr/bin/env bash
# The whole test suite: lint, types, the documentation build, the dependency-range check
# (lowest deps on Python 3.10, newest on 3.13), unit tests and interop tests against the real
# Go harness, in the project virtualenv .venv that setup creates. With arguments, pytest runs
# only those (and the docs and dependency-range steps are skipped).
# With containers (always in CI, elsewhere GOWORK_CONTAINERS=1): a Docker engine is started
# and the images built (scripts/docker.sh, in the background while the first steps run), the
# suite includes the container and compose tests, the interop suite runs again with both sides
# in containers, and the engine started here is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
GOWORK_CONTAINERS=$(bash scripts/docker.sh wanted)
export GOWORK_CONTAINERS
GOWORK_DOCKER_UP=later bash scripts/setup.sh
# The Docker engine and images (mostly downloads and image imports) are made in the background
# while lint, types, docs, the dependency-range envs and the mutation pass run; the suite
# waits for them before the tests that use containers. A failure there fails the run.
docker_up=""
if [ "$GOWORK_CONTAINERS" = 1 ]; then
  mkdir -p build
  bash scripts/docker.sh up >build/docker-up.log 2>&1 &
  docker_up=$!
  trap '[ -z "$docker_up" ] || kill "$docker_up" 2>/dev/null || true; bash scripts/docker.sh down' EXIT
fi
wait_for_docker() {
  [ -n "$docker_up" ] || return 0
  local rc=0
  wait "$docker_up" || rc=$?
  docker_up=""
  cat build/docker-up.log >&2
  [ "$rc" -eq 0 ] || { echo "test.sh: the Docker engine or images failed (exit status $rc)" >&2; exit 1; }
}
export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"  # python3, gowork: the project's
python3 -m ruff check .
python3 -m mypy
[ $# -gt 0 ] || bash scripts/docs.sh          # the documentation site, warnings as errors
[ $# -gt 0 ] || bash scripts/compat-envs.sh   # lowest deps on Python 3.10, newest on 3.13
[ $# -gt 0 ] || python3 scripts/mutation.py  # mutation testing: bounded pass (scripts/mutation-bounded.txt, benchmarks/mutation.md)
wait_for_docker
export GOWORK_HARNESS="$PWD/go-harness/gowork-harness"
# Two workers (pytest-xdist), a test file each at a time: the suite mostly waits on servers and
# pools, so it takes about half the time on two cores. GOWORK_TEST_WORKERS=0 runs it in one process.
python3 -m pytest -q -rs -p no:cacheprovider -n "${GOWORK_TEST_WORKERS:-2}" --dist loadfile "$@"
[ "$GOWORK_CONTAINERS" != 1 ] || bash scripts/docker.sh interop
