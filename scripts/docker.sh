#!/usr/bin/env bash
# A Docker engine and the images the container tests need, idempotently.
#
#   bash scripts/docker.sh up      install docker.io where missing, start dockerd when no engine
#                                  answers, build the images (stand-in bases when the upstream
#                                  ones cannot be pulled)
#   bash scripts/docker.sh down    stop the dockerd that `up` started (nothing else)
#   bash scripts/docker.sh test    up, the container tests, the interop suite in containers
#                                  (GOWORK_INTEROP_DOCKER=1), then down
#   bash scripts/docker.sh interop the interop suite in containers (engine and images ready)
#
# Images: gowork-compat-harness:test (Dockerfile.harness), gowork-compat:test (Dockerfile),
#         gowork-compat-invoices:test (examples/invoices/Dockerfile, on the harness's bases).
# Stand-in bases (built only when missing; a new tag when their inputs change):
#   gowork-compat-standin/debian:bookworm  debootstrap of Debian with python3, redis-server;
#                                          also the stand-in for redis:7 in docker-compose.ci.yml
#   gowork-compat-standin/python:<hash>    a virtualenv over it, pip offline from host-built wheels
#   gowork-compat-standin/golang:<hash>    the host's Go toolchain and the harness's modules
#   scratch                                for distroless/static (the harness is static)
# The base images used are written to $STATE/build-args.env (read by tests/test_compose.py).
# dockerd runs as root with --iptables=false --bridge=none: containers use the host network
# (loopback only); there is no bridge network.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=${GOWORK_DOCKER_STATE:-/tmp/gowork-compat-dockerd}
DEBIAN_STANDIN=gowork-compat-standin/debian:bookworm

log() { echo "docker.sh: $*" >&2; }
timed() { local t=$SECONDS; "$@"; log "$1: $((SECONDS - t)) s"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

engine_answers() { docker info >/dev/null 2>&1; }

install_engine() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} with apt-get"
    # no service starts during the install: a packaged dockerd would make a bridge network
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      policy=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
      as_root chmod +x "$policy"
    fi
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    [ -z "$policy" ] || as_root rm -f "$policy"
  fi
}

start_engine() {
  if engine_answers; then
    log "a Docker engine answers already; using it"
    return
  fi
  mkdir -p "$STATE"
  log "starting dockerd --iptables=false --bridge=none (log: $STATE/dockerd.log)"
  as_root setsid dockerd --iptables=false --bridge=none --ip-forward=false --ip-masq=false \
    --exec-root "$STATE/exec" --pidfile "$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do
    engine_answers && { touch "$STATE/started-by-us"; return; }
    sleep 0.5
  done
  log "dockerd did not answer within 60 s; its log:"
  tail -30 "$STATE/dockerd.log" >&2 || true
  return 1
}

stop_engine() {
  [ -f "$STATE/started-by-us" ] || { log "no dockerd started by this script; leaving the engine alone"; return 0; }
  local pid
  pid=$(cat "$STATE/dockerd.pid" 2>/dev/null || true)
  rm -f "$STATE/started-by-us"
  [ -n "$pid" ] || return 0
  # containers the tests may have left behind (labelled by the harness driver)
  docker ps -aq --filter label=gowork-compat.harness=1 | xargs -r docker rm -f >/dev/null 2>&1 || true
  log "stopping dockerd (pid $pid)"
  as_root kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.5
  done
  log "dockerd $pid did not stop in 30 s"
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# docker build, quiet (the output only when it fails), with the classic builder
build() {
  local out
  if ! out=$(DOCKER_BUILDKIT=0 docker build -q --force-rm "$@" 2>&1); then
    echo "$out" >&2
    return 1
  fi
}

# Can the upstream bases be pulled? (GOWORK_DOCKER_STANDIN=1 forces stand-ins, =0 upstream)
use_standins() {
  case "${GOWORK_DOCKER_STANDIN:-auto}" in
    1) return 0 ;;
    0) return 1 ;;
  esac
  have_image python:3.11-slim && have_image golang:1.22-bookworm && return 1
  ! timeout 60 docker pull -q python:3.11-slim >/dev/null 2>&1
}

debian_mirror() {
  local m
  m=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
      | grep -v -- '-security' | grep -oE 'https?://[^ ]+' | head -1 || true)
  echo "${m:-http://deb.debian.org/debian}"
}

build_debian_standin() {
  have_image "$DEBIAN_STANDIN" && return
  local dir
  dir=$(mktemp -d /tmp/gowork-debootstrap.XXXXXX)
  log "building $DEBIAN_STANDIN with debootstrap from $(debian_mirror) (about a minute)"
  as_root debootstrap --variant=minbase --include=python3,python3-venv,redis-server,ca-certificates,passwd \
    bookworm "$dir" "$(debian_mirror)" >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; return 1; }
  as_root rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  as_root tar -C "$dir" -c . | docker import -c 'CMD ["/bin/bash"]' - "$DEBIAN_STANDIN" >/dev/null
  as_root rm -rf "$dir" "$dir.log"
}

hash_of() { cat "$@" | sha256sum | cut -c1-12; }

# The requirements of `pip install ".[web]"` (and its build), read from pyproject.toml
python_reqs() {
  python3 - <<'PY'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))
reqs = [*p["build-system"]["requires"], "wheel", *p["project"]["dependencies"],
        *p["project"]["optional-dependencies"]["web"],
        "async-timeout>=4.0.3"]  # pip evaluates markers for the host's Python: redis wants it below 3.11.3
print("\n".join(reqs))
PY
}

build_python_standin() {
  local reqs
  reqs=$(python_reqs)
  PYTHON_STANDIN=gowork-compat-standin/python:$(echo "$reqs" | sha256sum | cut -c1-12)
  have_image "$PYTHON_STANDIN" && return
  local ctx pyver
  ctx=$(mktemp -d /tmp/gowork-standin-python.XXXXXX)
  log "building $PYTHON_STANDIN (wheels of the web extra downloaded on the host)"
  mkdir -p "$ctx/wheels"
  pyver=$(docker run --rm --network none "$DEBIAN_STANDIN" python3 -c 'import platform; print(platform.python_version())')
  # wheels for the image's Python on this machine's glibc architecture; pip uses its usual index
  local arch
  arch=$(uname -m)
  echo "$reqs" | xargs -d '\n' python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
    --python-version "$pyver" --implementation cp --platform "manylinux2014_$arch" \
    --platform "manylinux_2_17_$arch" --platform "manylinux_2_28_$arch" -d "$ctx/wheels" >&2
  cp docker/standin/python.Dockerfile "$ctx/Dockerfile"
  build --build-arg BASE_IMAGE="$DEBIAN_STANDIN" -t "$PYTHON_STANDIN" "$ctx"
  rm -rf "$ctx"
}

build_golang_standin() {
  local goroot modcache
  goroot=$(go env GOROOT)
  GOLANG_STANDIN=gowork-compat-standin/golang:$( (go version; cat go-harness/go.mod go-harness/go.sum) | sha256sum | cut -c1-12)
  have_image "$GOLANG_STANDIN" && return
  local ctx
  ctx=$(mktemp -d /tmp/gowork-standin-golang.XXXXXX)
  log "building $GOLANG_STANDIN ($(go version | cut -d' ' -f3) from the host, harness modules, warm build cache)"
  cp -a "$goroot" "$ctx/go"
  modcache=$(go env GOMODCACHE)
  # the harness's modules only, copied out of the host's module cache (offline)
  (cd go-harness && GOFLAGS=-modcacherw GOMODCACHE="$ctx/gomodcache" GOPROXY="file://$modcache/cache/download" \
     GONOSUMDB=* GOSUMDB=off go mod download) \
  || (cd go-harness && GOFLAGS=-modcacherw GOMODCACHE="$ctx/gomodcache" go mod download)
  mkdir -p "$ctx/warm"
  cp go-harness/go.mod go-harness/go.sum go-harness/*.go "$ctx/warm/"
  cp docker/standin/golang.Dockerfile "$ctx/Dockerfile"
  build --build-arg BASE_IMAGE="$DEBIAN_STANDIN" -t "$GOLANG_STANDIN" "$ctx"
  chmod -R u+w "$ctx" && rm -rf "$ctx"
}

build_images() {
  local harness_args=() python_args=()
  if use_standins; then
    log "upstream base images cannot be pulled: using local stand-ins"
    timed build_debian_standin
    timed build_python_standin
    timed build_golang_standin
    harness_args=(--build-arg "GO_IMAGE=$GOLANG_STANDIN" --build-arg RUNTIME_IMAGE=scratch)
    python_args=(--build-arg "PYTHON_IMAGE=$PYTHON_STANDIN")
    printf 'GOWORK_REDIS_IMAGE=%s\nGOWORK_PYTHON_BASE=%s\nGOWORK_GO_BASE=%s\nGOWORK_RUNTIME_BASE=scratch\n' \
      "$DEBIAN_STANDIN" "$PYTHON_STANDIN" "$GOLANG_STANDIN" > "$STATE/build-args.env"
  else
    : > "$STATE/build-args.env"  # the compose files' defaults: the upstream images
  fi
  log "building gowork-compat-harness:test (Dockerfile.harness)"
  timed build "${harness_args[@]}" -f Dockerfile.harness -t gowork-compat-harness:test -t gowork-compat-harness:compose .
  log "building gowork-compat:test (Dockerfile)"
  timed build "${python_args[@]}" -f Dockerfile -t gowork-compat:test -t gowork-compat:compose .
  log "building gowork-compat-invoices:test (examples/invoices/Dockerfile)"
  timed build "${harness_args[@]}" -t gowork-compat-invoices:test examples/invoices
}

up() {
  install_engine
  mkdir -p "$STATE"
  start_engine
  local t0=$SECONDS
  build_images
  log "images ready in $((SECONDS - t0)) s"
}

# The interop suite with the Go harness and the Python pools in containers
interop() {
  local t0=$SECONDS
  GOWORK_INTEROP_DOCKER=1 python3 -m pytest -q -rs -p no:cacheprovider "${INTEROP_TESTS[@]}" "$@"
  log "interop suite in containers: $((SECONDS - t0)) s"
}
# Everything in tests/interop that starts harness or Python pool processes; the codec and cron
# properties (hundreds of one-shot harness runs, a local cron reference) and the master tests
# (a local build) stay with local processes.
INTEROP_TESTS=(tests/interop/test_harness_smoke.py tests/interop/test_enqueue_interop.py
               tests/interop/test_pool_interop.py tests/interop/test_client_interop.py
               tests/interop/test_webui_interop.py tests/interop/test_webui_browser.py)

case "${1:-up}" in
  wanted)  # 1 when the container tests are wanted: GOWORK_CONTAINERS, else CI=true
    if [ -n "${GOWORK_CONTAINERS:-}" ]; then echo "$GOWORK_CONTAINERS"
    elif [ "${CI:-}" = true ]; then echo 1
    else echo 0; fi ;;
  up) up ;;
  down) stop_engine ;;
  interop) shift; interop "$@" ;;
  test)  # the one command: engine, images, container tests, the interop suite in containers
    shift
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -e '.[dev,docker]'
    up
    trap stop_engine EXIT
    export GOWORK_CONTAINERS=1 GOWORK_HARNESS="$ROOT/go-harness/gowork-harness"
    (cd go-harness && go build -o gowork-harness .)
    t0=$SECONDS
    python3 -m pytest -q -rs -p no:cacheprovider tests/containers tests/test_compose.py "$@"
    interop "$@"
    log "container tests and interop suite in containers: $((SECONDS - t0)) s"
    ;;
  *) echo "usage: $0 up|down|interop|test|wanted [pytest args]" >&2; exit 2 ;;
esac
