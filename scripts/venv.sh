#!/usr/bin/env bash
# The project virtualenv .venv, made with the interpreter given (default python3) and holding
# this checkout in editable mode with the extras the demo (GOWORK_SETUP=demo: none) or the
# tests (dev, docs) need. Idempotent: reinstalls only when pyproject.toml, the checkout's
# place or the extras changed. The editable install is setuptools' "compat" mode (a .pth
# file naming this directory) so that mypy and other static tools find the package too.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-python3}
case ${GOWORK_SETUP:-tests} in
  demo) extras="" ;;
  *) extras="[dev,docs]" ;;
esac

if ! .venv/bin/python -c 'import pip' >/dev/null 2>&1; then
  echo "setup: creating .venv with $("$PY" --version 2>&1) ($(command -v "$PY"))" >&2
  rm -rf .venv
  "$PY" -m venv .venv
fi

stamp=".venv/gowork-setup$extras"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $PWD"
full=".venv/gowork-setup[dev,docs]"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] || [ "$(cat "$full" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup: pip install -e .$extras into .venv" >&2
.venv/bin/python -m pip install -q --disable-pip-version-check --root-user-action=ignore \
  --config-settings editable_mode=compat -e ".$extras"
echo "$want" > "$stamp"
