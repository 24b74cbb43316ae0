"""The Python side as images (Dockerfile), beside the Go harness image (Dockerfile.harness),
on the host network against the test redis-server:

- the Python worker image (``gowork worker compose_app.worker_app:pool``) runs jobs a Go
  enqueuer container enqueued, and ``docker stop`` leaves nothing in progress;
- a Python enqueuer container (``python compose_app/enqueue_loop.py``) feeds a Go worker
  container, which runs every job it enqueued for Go.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from gowork_compat.harness import HARNESS_IMAGE_BINARY, DockerLauncher, Harness
from tests.conftest import RedisServer, until

from .engine import HARNESS_IMAGE, PYTHON_IMAGE, docker_client

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]
LABELS = {"gowork-compat.harness": "1"}


@pytest.fixture(scope="module")
def client() -> Any:
    return docker_client(HARNESS_IMAGE, PYTHON_IMAGE)


@pytest.fixture
def containers(client: Any) -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for c in started:
        c.remove(force=True)


def run_python(client: Any, started: list[Any], command: list[str], env: dict[str, str]) -> Any:
    c = client.containers.run(PYTHON_IMAGE, command, environment=env, network_mode="host", init=True,
                              detach=True, labels=LABELS)
    started.append(c)
    return c


def logs(c: Any) -> str:
    return str(c.logs(stdout=True, stderr=True).decode("utf-8", "replace"))


def inprogress(r: redis.Redis, ns: str) -> dict[str, int]:
    return {k.decode(): int(r.llen(k)) for k in r.scan_iter(f"{ns}:jobs:*:inprogress") if r.llen(k)}


def test_python_worker_image_runs_go_enqueued_jobs(client: Any, containers: list[Any], redis_server: RedisServer,
                                                   ns: str, r: redis.Redis) -> None:
    py = run_python(client, containers, ["gowork", "worker", "compose_app.worker_app:pool"],
                    {"REDIS_URL": redis_server.url, "GOWORK_NAMESPACE": ns, "GOWORK_WORK_SECONDS": "0.05"})
    until(lambda: r.scard(f"{ns}:worker_pools"), 60, "the Python pool's heartbeat")
    go = Harness(HARNESS_IMAGE_BINARY, "127.0.0.1", redis_server.port, ns,
                 DockerLauncher(harness_image=HARNESS_IMAGE, python_image=PYTHON_IMAGE, client=client))
    replies = go.enqueue(
        [{"method": "Enqueue", "name": "resize_image", "args": {"w": 640 + i, "h": 480}} for i in range(5)]
        + [{"method": "EnqueueIn", "name": "resize_image", "in": 1, "args": {"w": 1, "h": 1}},
           {"method": "EnqueueUnique", "name": "shared", "args": {"i": 7}}])
    assert all(x.get("job") for x in replies), replies
    ids = [x["job"]["id"] for x in replies]
    until(lambda: all(f" {i}: " in logs(py) for i in ids), 60, "the Python container to run the Go jobs")
    assert "resized to 640x480" in logs(py)
    py.stop(timeout=30)  # SIGTERM, SIGKILL after 30 s
    assert py.wait(timeout=60)["StatusCode"] == 0, logs(py)
    assert inprogress(r, ns) == {}
    assert r.llen(f"{ns}:jobs:resize_image") == 0 and r.zcard(f"{ns}:scheduled") == 0


def test_python_enqueuer_container_feeds_go_worker_container(client: Any, containers: list[Any],
                                                             redis_server: RedisServer, ns: str,
                                                             r: redis.Redis) -> None:
    cfg = {"concurrency": 4, "jobs": {
        "send_email": {"behavior": {"kind": "succeed"}},
        "charge_card": {"max_fails": 3, "backoff_seconds": 1, "behavior": {"kind": "fail_n", "n": 1}},
        "shared": {"behavior": {"kind": "succeed"}}}}
    go = Harness(HARNESS_IMAGE_BINARY, "127.0.0.1", redis_server.port, ns,
                 DockerLauncher(harness_image=HARNESS_IMAGE, python_image=PYTHON_IMAGE, client=client))
    with go.start_worker(cfg) as w:
        enq = run_python(client, containers, ["python", "compose_app/enqueue_loop.py"],
                         {"REDIS_URL": redis_server.url, "GOWORK_NAMESPACE": ns, "ENQUEUE_COUNT": "5",
                          "ENQUEUE_INTERVAL": "0.1"})
        assert enq.wait(timeout=60)["StatusCode"] == 0, logs(enq)
        assert "round 5:" in logs(enq)
        # per round: send_email and two shared jobs; charge_card in round 5 (fails once, then retried)

        def all_ran() -> list[dict[str, Any]] | None:
            ends = w.events("job_end")
            return ends if sum(e["result"] == "ok" for e in ends) >= 16 else None

        ran = until(all_ran, 60, "the Go worker container to run the Python-enqueued jobs")
        ok = [e["name"] for e in ran if e["result"] == "ok"]
        assert sorted(ok) == sorted(["send_email"] * 5 + ["shared"] * 10 + ["charge_card"])
        assert [e["name"] for e in ran if e["result"] == "error"] == ["charge_card"]
        starts = w.events("job_start")
        assert all(s["args"] for s in starts), json.dumps(starts)[:2000]
    assert inprogress(r, ns) == {}


def test_docker_launcher_workers_are_containers(client: Any, redis_server: RedisServer, ns: str) -> None:
    """What the interop suite gets with GOWORK_INTEROP_DOCKER=1: each worker is a container of
    its image on the host network; kill() is `docker kill` (exit 137) and removes it."""
    from tests.interop.harness import ROOT

    launcher = DockerLauncher(harness_image=HARNESS_IMAGE, python_image=PYTHON_IMAGE, client=client,
                              python_volumes={str(ROOT / "tests"): "/app/tests"})
    h = Harness(HARNESS_IMAGE_BINARY, "127.0.0.1", redis_server.port, ns, launcher)
    cfg = {"concurrency": 1, "jobs": {"x": {"behavior": {"kind": "succeed"}}}}

    def ours() -> dict[str, str]:
        return {c.id: c.attrs["Config"]["Image"]
                for c in client.containers.list(filters={"label": "gowork-compat.harness=1"})}

    before = ours()
    with h.start_worker(cfg) as go, h.start_python_worker(cfg) as py:
        running = {k: v for k, v in ours().items() if k not in before}
        assert sorted(running.values()) == sorted([HARNESS_IMAGE, PYTHON_IMAGE])
        assert all(client.containers.get(k).attrs["HostConfig"]["NetworkMode"] == "host" for k in running)
        py.kill()
        assert py.returncode == 137
        go.terminate()  # SIGTERM: a graceful stop
        assert go.proc.wait(30) == 0
    assert not set(ours()) & set(running)
