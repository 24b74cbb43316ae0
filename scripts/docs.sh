#!/usr/bin/env bash
# The documentation site (docs/, Sphinx with autodoc) into build/docs/html. Warnings are errors
# and references are checked (nitpicky): a broken reference fails, a missing docstring does not.
# Needs the docs extra (scripts/setup.sh installs it into .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -n "${VIRTUAL_ENV:-}" ] || { [ -x .venv/bin/python ] && PY=.venv/bin/python; }
SRC=${GOWORK_DOCS_SRC:-docs} OUT=${GOWORK_DOCS_OUT:-build/docs}
exec "$PY" -m sphinx -b html -W --keep-going -n -q -E -d "$OUT/doctrees" "$SRC" "$OUT/html" "$@"
