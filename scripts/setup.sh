#!/usr/bin/env bash
# Idempotent setup of everything the demo and the tests need on a fresh machine:
# redis-server (and chromium for the browser test) from Debian, a project virtualenv .venv
# holding the package (editable) with its dev and docs extras from PyPI, and the Go harness
# built against the pinned gocraft/work.
set -euo pipefail
cd "$(dirname "$0")/.."

# the interpreter .venv is made with (any Python >= 3.10; a stock Debian python3 works)
PY=${GOWORK_PYTHON:-python3}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Debian's python3 leaves venv's ensurepip to the python3-venv package
[ -x .venv/bin/python ] || "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${GOWORK_SETUP:-tests}" = "tests" ]; then
  # the browser test needs Chromium; docker-compose.yml is validated where a docker
  # client exists (no engine is needed for `config`)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1 \
     && ! command -v docker-compose >/dev/null 2>&1; then
    missing+=(docker-compose)
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]} with apt-get" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# -- Python: everything goes into .venv, never into the interpreter it is made from (PEP 668)
bash scripts/venv.sh "$PY"

echo "setup: building go-harness" >&2
(cd go-harness && go build -o gowork-harness .)

# Containers (always in CI, elsewhere GOWORK_CONTAINERS=1): a Docker engine and the images
# (scripts/test.sh sets GOWORK_DOCKER_UP=later and builds them while its first steps run)
if [ "${GOWORK_SETUP:-tests}" = "tests" ] && [ "$(bash scripts/docker.sh wanted)" = 1 ] \
   && [ "${GOWORK_DOCKER_UP:-}" != later ]; then
  bash scripts/docker.sh up
fi
