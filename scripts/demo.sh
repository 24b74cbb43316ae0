#!/usr/bin/env bash
# The demo: a throwaway redis-server, the real Go gocraft/work pool and a Python pool
# sharing jobs. Everything it starts, it stops. Python runs from the project virtualenv .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
GOWORK_SETUP=demo bash scripts/setup.sh
exec .venv/bin/python -m gowork_compat.demo --harness "$PWD/go-harness/gowork-harness" "$@"
