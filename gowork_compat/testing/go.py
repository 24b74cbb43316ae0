"""The Go side of a compatibility test: the bundled harness (the Go source of the
repository's go-harness/, shipped in this package, built with ``go build`` on first use),
and the user's own Go worker as a local command or a Docker image.

A user worker is told its Redis and namespace through environment variables (names
configurable) and through ``{redis}``, ``{host}``, ``{port}`` and ``{namespace}`` placeholders in
its command line. It counts as started once a new worker pool heartbeat of the namespace is
in Redis, so any gocraft/work worker works without changes.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..harness import DockerLauncher, Harness, HarnessError, build_harness
from ..keys import Keys

__all__ = ["BUNDLED_HARNESS_SOURCE", "GoWorkerError", "UserWorker", "bundled_harness", "harness_for"]

#: the Go source of the harness shipped with this package (in the source tree: a link to go-harness/,
#: which the wheel and sdist hold as files)
BUNDLED_HARNESS_SOURCE = Path(__file__).resolve().parent / "go_harness"
#: the harness image (Dockerfile.harness of the repository) used when Go is not installed
HARNESS_IMAGE = os.environ.get("GOWORK_HARNESS_IMAGE") or "gowork-compat-harness:test"


class GoWorkerError(RuntimeError):
    """A Go worker did not start, or no way to run the Go side was found."""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gowork-compat"


def bundled_harness() -> Path:
    """A harness binary: $GOWORK_HARNESS when it names an executable, else the bundled source
    built with ``go build`` once per source version (cached under ~/.cache/gowork-compat)."""
    env = os.environ.get("GOWORK_HARNESS")
    if env and os.path.isfile(env) and os.access(env, os.X_OK):
        return Path(env)
    if shutil.which("go") is None:
        raise GoWorkerError("the bundled Go harness needs Go (https://go.dev/dl/) or Docker with the harness image "
                            f"{HARNESS_IMAGE}; or set GOWORK_HARNESS to a built harness binary")
    digest = hashlib.sha256()
    for f in sorted(BUNDLED_HARNESS_SOURCE.iterdir()):
        if f.suffix in (".go", ".mod", ".sum"):
            digest.update(f.name.encode() + b"\0" + f.read_bytes())
    out = _cache_dir() / f"gowork-harness-{digest.hexdigest()[:16]}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="gowork-harness-build-") as tmp:
            src = Path(tmp) / "go-harness"
            shutil.copytree(BUNDLED_HARNESS_SOURCE, src,
                            ignore=shutil.ignore_patterns("__pycache__", "*.py", "gowork-harness", "cronref"))
            built = build_harness(src, Path(tmp) / "gowork-harness")
            os.replace(built, out)  # atomic: parallel test processes may build at once
    return out


def harness_for(host: str, port: int, namespace: str) -> Harness:
    """The harness bound to a Redis and namespace: a local binary when Go (or $GOWORK_HARNESS)
    is there, else the harness image through Docker."""
    try:
        return Harness(bundled_harness(), host, port, namespace)
    except GoWorkerError as no_go:
        try:
            launcher = DockerLauncher(harness_image=HARNESS_IMAGE)
            launcher.require_images(HARNESS_IMAGE)
        except Exception as e:
            raise GoWorkerError(f"{no_go}; Docker: {e}") from e
        return Harness(Path("/usr/local/bin/gowork-harness"), host, port, namespace, launcher)


def _pools(r: Any, keys: Keys) -> set[bytes]:
    return set(r.smembers(keys.worker_pools))


def wait_new_heartbeat(r: Any, namespace: str, before: set[bytes], timeout: float,
                       alive: Any = lambda: True) -> str:
    """Wait until a pool not in ``before`` has a heartbeat in the namespace; its id."""
    keys = Keys(namespace)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in _pools(r, keys) - before:
            if r.exists(keys.heartbeat(pid.decode())):
                return pid.decode()
        if not alive():
            raise GoWorkerError("the worker exited before its pool heartbeat appeared")
        time.sleep(0.02)
    raise GoWorkerError(f"no new worker pool heartbeat in namespace {namespace!r} within {timeout}s")


class UserWorker:
    """The user's Go worker, as a local ``command`` or a Docker ``image``, on ``host:port``
    and ``namespace``; stop() ends it (SIGTERM, then SIGKILL after ``stop_timeout``)."""

    def __init__(self, redis: Any, host: str, port: int, namespace: str, *,
                 command: Sequence[str] | None = None, image: str | None = None,
                 env: Mapping[str, str] | None = None, redis_env: str = "REDIS_ADDR",
                 namespace_env: str = "WORK_NAMESPACE", cwd: str | os.PathLike[str] | None = None,
                 start_timeout: float = 30.0, stop_timeout: float = 10.0) -> None:
        if (command is None) == (image is None):
            raise ValueError("give exactly one of command= or image=")
        self.namespace = namespace
        self.stop_timeout = stop_timeout
        fill = {"redis": f"{host}:{port}", "host": host, "port": str(port), "namespace": namespace}
        environment = {redis_env: f"{host}:{port}", namespace_env: namespace, **(env or {})}
        self._log = tempfile.NamedTemporaryFile("w+", prefix="gowork-user-worker-", suffix=".log",
                                                delete=False, encoding="utf-8")
        self.proc: subprocess.Popen[bytes] | None = None
        self.container: Any = None
        before = _pools(redis, Keys(namespace))
        if command is not None:
            argv = [a.format(**fill) for a in command]
            self.proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **environment}, stdin=subprocess.DEVNULL,
                                         stdout=self._log, stderr=subprocess.STDOUT)
            alive = lambda: self.proc is not None and self.proc.poll() is None  # noqa: E731
        else:
            try:
                client = importlib.import_module("docker").from_env()
            except Exception as e:
                raise GoWorkerError(f"a worker image needs the docker SDK and an engine: {e}") from e
            self.container = client.containers.run(
                image, detach=True, network_mode="host", environment=environment,
                labels={"gowork-compat.harness": "1"}, init=True)

            def alive() -> bool:
                self.container.reload()
                return self.container.status not in ("exited", "dead")
        try:
            self.pool_id = wait_new_heartbeat(redis, namespace, before, start_timeout, alive)
        except GoWorkerError as e:
            self.stop()
            raise GoWorkerError(f"{e}; worker output:\n{self.output()}") from None

    def __repr__(self) -> str:
        what = "image" if self.container is not None else "command"
        return f"UserWorker({what}, namespace={self.namespace!r}, pool_id={getattr(self, 'pool_id', '')!r})"

    def output(self, n: int = 40) -> str:
        if self.container is not None:
            try:
                return str(self.container.logs(tail=n).decode("utf-8", "replace"))
            except Exception:
                return ""
        try:
            with open(self._log.name, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        code: int | None = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            code = self.proc.returncode
        if self.container is not None:
            try:
                self.container.stop(timeout=int(self.stop_timeout))
                code = int(self.container.wait(timeout=30)["StatusCode"])
                self._container_logs = self.output()
                self.container.remove(force=True)
            except Exception:
                pass
            self.container = None
        return code

    def close(self) -> None:
        self.stop()
        self._log.close()
        try:
            os.unlink(self._log.name)
        except OSError:
            pass


__all__ += ["HarnessError", "wait_new_heartbeat"]
