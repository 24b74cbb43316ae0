"""The pytest plugin of gowork-compat: a throwaway Redis, a namespace per test, the Go side
(the bundled harness or your own Go worker) and helpers that read job fates from Redis.

Active when gowork-compat is installed with the ``testing`` extra (the ``pytest11`` entry
point), or with ``pytest -p gowork_compat.testing.plugin``. See docs/testing.md.

Fixtures:

- ``gowork_redis`` (session): a redis-server on a free loopback port (the local binary, else
  the ``redis:7`` image through Docker; $GOWORK_TEST_REDIS_IMAGE picks another);
- ``gowork_namespace``: a fresh namespace;
- ``gowork``: the test's :class:`GoworkEnv`: Python enqueuer, ``wait_fate``,
  ``assert_runs_clean`` and the batched ``run_batch``;
- ``go_worker``: starts Go workers (stopped at the end of the test);
- ``go_enqueuer``: enqueues through the real Go Enqueuer (the harness).
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from ..enqueuer import Enqueuer
from ..harness import WorkerProcess, free_port, stop_process
from ..job import Job
from .fates import Fate, JobRef, assert_all_clean, read_fates, wait_fate, wait_fates
from .go import GoWorkerError, UserWorker, harness_for

__all__ = ["GoEnqueuer", "GoWorkerFactory", "GoworkEnv", "RedisInstance", "go_enqueuer", "go_worker", "gowork",
           "gowork_namespace", "gowork_redis"]


@dataclass
class RedisInstance:
    """A throwaway Redis on 127.0.0.1:``port``."""

    host: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    container: Any = None
    dir: str = ""

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis(host=self.host, port=self.port)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)
        if self.container is not None:
            try:
                self.container.remove(force=True)
            except Exception:
                pass
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def start_redis() -> RedisInstance:
    """redis-server from PATH, else a container of $GOWORK_TEST_REDIS_IMAGE (default redis:7)
    on the host network; returns once it answers PING."""
    port = free_port()
    inst = RedisInstance("127.0.0.1", port)
    argv = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    exe = shutil.which("redis-server")
    if exe is not None:
        inst.dir = tempfile.mkdtemp(prefix="gowork-test-redis-")
        inst.proc = subprocess.Popen([exe, *argv, "--dir", inst.dir], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
    else:
        try:
            client = importlib.import_module("docker").from_env()
            inst.container = client.containers.run(
                os.environ.get("GOWORK_TEST_REDIS_IMAGE") or "redis:7", ["redis-server", *argv],
                detach=True, network_mode="host", labels={"gowork-compat.harness": "1"})
        except Exception as e:
            raise GoWorkerError(f"no redis-server on PATH and no Docker to run one: {e}") from e
    r = inst.client()
    deadline = time.monotonic() + 30
    while True:
        try:
            r.ping()
            break
        except redis_lib.exceptions.ConnectionError:
            if time.monotonic() > deadline or (inst.proc is not None and inst.proc.poll() is not None):
                inst.stop()
                raise GoWorkerError(f"redis did not start on port {port}") from None
            time.sleep(0.02)
        finally:
            r.close()
    return inst


@pytest.fixture(scope="session")
def gowork_redis() -> Iterator[RedisInstance]:
    """A throwaway Redis for the test session."""
    inst = start_redis()
    yield inst
    inst.stop()


@pytest.fixture
def gowork_namespace(request: pytest.FixtureRequest) -> str:
    """A namespace no other test uses."""
    return f"gw-test-{request.node.name[:24]}-{uuid.uuid4().hex[:8]}"


@dataclass
class GoworkEnv:
    """One test's Redis and namespace, with a Python enqueuer and fate helpers."""

    redis: redis_lib.Redis
    namespace: str
    instance: RedisInstance
    contracts: Any = None
    _enqueuer: Enqueuer | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"GoworkEnv(url={self.url!r}, namespace={self.namespace!r})"

    @property
    def url(self) -> str:
        return self.instance.url

    @property
    def enqueuer(self) -> Enqueuer:
        """A Python :class:`~gowork_compat.Enqueuer` on this namespace."""
        if self._enqueuer is None:
            self._enqueuer = Enqueuer(self.instance.url, self.namespace, contracts=self.contracts)
        return self._enqueuer

    def enqueue(self, name: str, args: Mapping[str, Any] | None = None) -> Job:
        return self.enqueuer.enqueue(name, args)

    def fates(self, jobs: Sequence[JobRef]) -> dict[str, Fate]:
        """The fates of ``jobs`` now, without waiting."""
        return read_fates(self.redis, self.namespace, jobs)

    def wait_fate(self, job: JobRef, timeout: float = 30.0) -> Fate:
        """What became of ``job`` (done, retry or dead with the error; queued etc. at the timeout)."""
        return wait_fate(self.redis, self.namespace, job, timeout)

    def wait_fates(self, jobs: Sequence[JobRef], timeout: float = 60.0) -> list[Fate]:
        return wait_fates(self.redis, self.namespace, jobs, timeout)

    def run_batch(self, name: str, many_args: Sequence[Mapping[str, Any] | None], timeout: float = 60.0
                  ) -> list[Fate]:
        """Enqueue a job of ``name`` per args in one round trip, then wait for all their fates."""
        jobs = self.enqueuer.enqueue_many([(name, a) for a in many_args])
        return self.wait_fates(jobs, timeout)

    def assert_runs_clean(self, name: str, args: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None,
                          timeout: float = 60.0) -> list[Fate]:
        """Enqueue ``name`` with ``args`` (a dict) or each of ``args`` (a list of dicts, in one
        batch) and fail unless every job ends done; a worker must be running."""
        many: list[Mapping[str, Any] | None] = list(args) if isinstance(args, (list, tuple)) else [args]  # type: ignore[list-item]
        fates = self.run_batch(name, many, timeout)
        assert_all_clean([f.id for f in fates], fates, many)
        return fates

    def close(self) -> None:
        if self._enqueuer is not None:
            self._enqueuer.close()
        self.redis.close()


@pytest.fixture
def gowork(gowork_redis: RedisInstance, gowork_namespace: str) -> Iterator[GoworkEnv]:
    """The test's Redis, namespace, Python enqueuer and fate helpers."""
    env = GoworkEnv(gowork_redis.client(), gowork_namespace, gowork_redis)
    yield env
    env.close()


class GoWorkerFactory:
    """``go_worker(config)`` starts the bundled harness as a Go WorkerPool (config: the
    harness's worker config, e.g. ``{"jobs": {"send_email": {"behavior": {"kind": "succeed"}}}}``);
    ``go_worker(command=[...])`` or ``go_worker(image="...")`` starts your own Go worker, told its
    Redis address and namespace by the env vars ``redis_env``/``namespace_env`` (and ``{redis}``,
    ``{namespace}`` in the command). Every worker is stopped at the end of the test."""

    def __init__(self, instance: RedisInstance, namespace: str, r: redis_lib.Redis) -> None:
        self.instance = instance
        self.namespace = namespace
        self.redis = r
        self.started: list[WorkerProcess | UserWorker] = []

    def __repr__(self) -> str:
        return f"GoWorkerFactory(namespace={self.namespace!r}, started={len(self.started)})"

    def __call__(self, config: Mapping[str, Any] | None = None, *, command: Sequence[str] | None = None,
                 image: str | None = None, env: Mapping[str, str] | None = None, redis_env: str = "REDIS_ADDR",
                 namespace_env: str = "WORK_NAMESPACE", cwd: str | os.PathLike[str] | None = None,
                 start_timeout: float = 60.0) -> WorkerProcess | UserWorker:
        if command is not None or image is not None:
            if config is not None:
                raise ValueError("config= is for the bundled harness; your own worker is configured by itself")
            w: WorkerProcess | UserWorker = UserWorker(
                self.redis, self.instance.host, self.instance.port, self.namespace, command=command, image=image,
                env=env, redis_env=redis_env, namespace_env=namespace_env, cwd=cwd, start_timeout=start_timeout)
        else:
            h = harness_for(self.instance.host, self.instance.port, self.namespace)
            w = h.start_worker(dict(config or {}), start_timeout=start_timeout)
        self.started.append(w)
        return w

    def stop_all(self) -> None:
        for w in reversed(self.started):
            if isinstance(w, WorkerProcess):
                w.__exit__(None, None, None)
            else:
                w.close()
        self.started.clear()


@pytest.fixture
def go_worker(gowork_redis: RedisInstance, gowork_namespace: str) -> Iterator[GoWorkerFactory]:
    """Starts Go workers on the test's Redis and namespace; see :class:`GoWorkerFactory`."""
    r = gowork_redis.client()
    factory = GoWorkerFactory(gowork_redis, gowork_namespace, r)
    yield factory
    factory.stop_all()
    r.close()


class GoEnqueuer:
    """The real Go ``work.Enqueuer`` (through the harness) on the test's namespace: job
    bytes made by Go, for testing Python handlers."""

    def __init__(self, instance: RedisInstance, namespace: str) -> None:
        self.harness = harness_for(instance.host, instance.port, namespace)

    def call(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Raw harness requests ({"method": "Enqueue"|"EnqueueIn"|"EnqueueUnique"|..., "name",
        "args", "seconds"?}); one reply each ({"job": ..., "error"?: ...})."""
        replies = self.harness.enqueue(requests)
        errors = [r["error"] for r in replies if r.get("error")]
        if errors:
            raise AssertionError(f"the Go enqueuer failed: {errors[:5]}")
        return replies

    def enqueue(self, name: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Go's ``Enqueue(name, args)``; the job as Go returned it (a dict with "id")."""
        job: dict[str, Any] = self.call([{"method": "Enqueue", "name": name, "args": args}])[0]["job"]
        return job

    def enqueue_many(self, items: Sequence[tuple[str, Mapping[str, Any] | None]]) -> list[dict[str, Any]]:
        """Many Go ``Enqueue`` calls in one harness process."""
        return [r["job"] for r in self.call([{"method": "Enqueue", "name": n, "args": a} for n, a in items])]


@pytest.fixture
def go_enqueuer(gowork_redis: RedisInstance, gowork_namespace: str) -> GoEnqueuer:
    """The real Go Enqueuer on the test's namespace (the bundled harness)."""
    try:
        return GoEnqueuer(gowork_redis, gowork_namespace)
    except GoWorkerError as e:
        pytest.skip(str(e))


def bundled_harness_dir() -> Path:
    from .go import BUNDLED_HARNESS_SOURCE

    return BUNDLED_HARNESS_SOURCE
