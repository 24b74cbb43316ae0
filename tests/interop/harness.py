"""The interop tests' view of the harness driver (gowork_compat.harness, which the demo and
the benchmarks use too): the go-harness/ of this repository, and the launcher chosen by the
environment.

- By default, local processes: the harness binary ($GOWORK_HARNESS, else built once with
  ``go build``) and ``python -m tests.interop.pyworker`` run from the repository root.
- With GOWORK_INTEROP_DOCKER=1, containers on the host network: the harness image
  (Dockerfile.harness) and the Python image (Dockerfile) with tests/ mounted read-only, both
  built by ``bash scripts/docker.sh up``. No engine: a skip outside CI, a failure in CI.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from gowork_compat.harness import (
    HARNESS_IMAGE_BINARY,
    Command,
    DockerLauncher,
    Event,
    HarnessError,
    Launcher,
    LocalLauncher,
    Proc,
    WebUI,
    WorkerProcess,
)
from gowork_compat.harness import Harness as _Harness
from gowork_compat.harness import build_harness as _build

__all__ = ["DOCKER_IMAGE", "HARNESS_DIR", "IMAGE_BINARY", "PYTHON_IMAGE", "ROOT", "Command", "DockerLauncher",
           "Event", "GoWorker", "Harness", "HarnessError", "Launcher", "LocalLauncher", "Proc", "WebUI",
           "WorkerProcess", "build_harness", "docker_launcher", "docker_mode", "launcher"]

ROOT = Path(__file__).resolve().parents[2]
HARNESS_DIR = ROOT / "go-harness"
DOCKER_IMAGE = os.environ.get("GOWORK_HARNESS_IMAGE") or "gowork-compat-harness:test"
PYTHON_IMAGE = os.environ.get("GOWORK_PYTHON_IMAGE") or "gowork-compat:test"
IMAGE_BINARY = Path(HARNESS_IMAGE_BINARY)

GoWorker = WorkerProcess

_lock = threading.Lock()
_built: Path | None = None
_docker: DockerLauncher | None = None


def docker_mode() -> bool:
    return os.environ.get("GOWORK_INTEROP_DOCKER") == "1"


def build_harness() -> Path:
    """The harness binary: $GOWORK_HARNESS when it names an executable, else built once with
    ``go build``. In docker mode the images must exist; the image's binary path is returned."""
    global _built
    if docker_mode():
        docker_launcher()
        return IMAGE_BINARY
    env = os.environ.get("GOWORK_HARNESS")
    if env and os.path.isfile(env) and os.access(env, os.X_OK):
        return Path(env)
    with _lock:
        if _built is None:
            _built = _build(HARNESS_DIR)
        return _built


def docker_launcher() -> DockerLauncher:
    """The session's container launcher (images checked once)."""
    global _docker
    with _lock:
        if _docker is None:
            d = DockerLauncher(harness_image=DOCKER_IMAGE, python_image=PYTHON_IMAGE,
                               python_volumes={str(ROOT / "tests"): "/app/tests"})
            d.require_images(DOCKER_IMAGE, PYTHON_IMAGE)
            _docker = d
        return _docker


def launcher(binary: Path) -> Launcher:
    if docker_mode():
        return docker_launcher()
    return LocalLauncher(binary=binary, cwd=ROOT)


class Harness(_Harness):
    """The Go harness bound to one Redis and one namespace, launched as the environment says."""

    def __init__(self, binary: Path, redis_host: str, redis_port: int, namespace: str,
                 launcher_: Launcher | None = None) -> None:
        super().__init__(binary, redis_host, redis_port, namespace,
                         launcher_ if launcher_ is not None else launcher(binary))
