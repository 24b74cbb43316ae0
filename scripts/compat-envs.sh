#!/usr/bin/env bash
# Dependency range check: two throwaway virtualenvs, each running the unit tests and a fast
# subset of the interop tests against the real Go harness.
#   lowest: Python 3.10 with the lowest supported release of every dependency
#           (pip's constraints file scripts/constraints-lowest.txt = pyproject's lower bounds)
#   newest: Python 3.13 with the newest releases PyPI has today
# Usage: bash scripts/compat-envs.sh [lowest|newest]...   (default: both, at the same time, each
# logging to build/compat/NAME.log; GOWORK_COMPAT_SERIAL=1 runs them one after the other)
# Needs python3.10 and python3.13 on PATH (pyenv's shims here), redis-server and the built
# harness (scripts/setup.sh); PYTHON310/PYTHON313 override the interpreters.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR=${GOWORK_COMPAT_DIR:-$ROOT/build/compat}

# The unit tests, less those that say nothing more about dependency versions and cost most
# of the time: the CLI's (a process per test over the same library calls the other tests
# make; more than half the unit time), the benchmark smoke run and the bounded chaos run
# (speed and robustness) and the compose test (containers: the main run has them). Plus the
# interop tests that cover the dependency-facing paths: enqueue in both directions (redis-py,
# hiredis) and Go's web UI API next to ours (starlette, uvicorn).
# (files, not the directory: pytest drops a directory given next to files inside it)
TESTS=()
for f in tests/test_*.py; do
  case $f in tests/test_cli*.py|tests/test_benchmarks_smoke.py|tests/test_chaos_quick.py|tests/test_compose.py) ;; *) TESTS+=("$f") ;; esac
done
TESTS+=(tests/interop/test_enqueue_interop.py tests/interop/test_webui_interop.py)

# find_python 3.10: a working python3.10 on PATH, else pyenv's newest 3.10.x (its shims only
# answer for the versions pyenv has selected, so look in its versions directory)
find_python() {
  local v=$1 cand
  for cand in "$(command -v "python$v" || true)" \
              $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$v".*/bin/"python$v" 2>/dev/null | sort -V -r); do
    if [ -n "$cand" ] && "$cand" -c 'import venv' >/dev/null 2>&1; then
      echo "$cand"
      return 0
    fi
  done
  echo "compat-envs: no working python$v (pyenv install $v, or set PYTHON${v/./})" >&2
  return 1
}

run_env() {
  local name=$1 py=$2 venv=$DIR/$1
  shift 2
  echo "compat-envs: $name: $("$py" --version 2>&1) in $venv" >&2
  # reused while pyproject.toml and the constraints are unchanged (newest: for the day)
  local want
  want="$(cat pyproject.toml scripts/constraints-lowest.txt | sha256sum | cut -c1-16) $py $([ "$name" = lowest ] || date +%F)"
  if [ "$(cat "$venv/gowork-compat-env" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --root-user-action=ignore "$@" '.[test]'
    echo "$want" > "$venv/gowork-compat-env"
  fi
  "$venv/bin/python" -m pip freeze --exclude-editable | grep -iE '^(redis|hiredis|starlette|uvicorn)==' \
    | tr '\n' ' ' | sed 's/^/compat-envs: '"$name"': /; s/ $/\n/' >&2
  # PYTHONPATH: subprocesses of the tests import this checkout, like the tests themselves
  (cd "$ROOT" && PYTHONPATH=$ROOT GOWORK_HARNESS=$ROOT/go-harness/gowork-harness GOWORK_HYPOTHESIS_EXAMPLES=100 \
     "$venv/bin/python" -m pytest -q -p no:cacheprovider "${TESTS[@]}")
}

run_named() {
  local e=$1 py
  case $e in
    lowest) py=${PYTHON310:-}; [ -n "$py" ] || py=$(find_python 3.10)
            run_env lowest "$py" -c scripts/constraints-lowest.txt ;;
    newest) py=${PYTHON313:-}; [ -n "$py" ] || py=$(find_python 3.13)
            run_env newest "$py" --upgrade ;;
    *) echo "compat-envs: unknown environment '$e' (lowest, newest)" >&2; return 2 ;;
  esac
}

envs=("$@")
[ ${#envs[@]} -gt 0 ] || envs=(lowest newest)
if [ ${#envs[@]} -eq 1 ] || [ -n "${GOWORK_COMPAT_SERIAL:-}" ]; then
  for e in "${envs[@]}"; do run_named "$e"; done
  exit 0
fi
# Several environments: at once (their installs wait on the network, their tests on Redis and
# the harness as much as on the CPU), each into its own log, printed when it ends.
mkdir -p "$DIR"
t0=$SECONDS
pids=()
for e in "${envs[@]}"; do
  run_named "$e" >"$DIR/$e.log" 2>&1 &
  pids+=($!)
done
failed=()
for i in "${!envs[@]}"; do
  if ! wait "${pids[$i]}"; then failed+=("${envs[$i]}"); fi
  cat "$DIR/${envs[$i]}.log" >&2
done
echo "compat-envs: ${envs[*]} in $((SECONDS - t0)) s" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "compat-envs: failed: ${failed[*]}" >&2
  exit 1
fi
