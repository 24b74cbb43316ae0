"""Prometheus metrics scraped from real endpoints and read with prometheus-client's own
parser: a Python pool's job metrics, the namespace exporter, and the CLI's
``worker --metrics-port`` / ``--log-format json`` and ``exporter``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

pytest.importorskip("prometheus_client")
from prometheus_client.parser import text_string_to_metric_families

from gowork_compat import jobhooks
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.metrics import exporter_registry, instrument, serve
from gowork_compat.pool import WorkerPool
from tests.conftest import free_port, until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode("utf-8")
    out: Samples = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def started_pool(redis_url: str, ns: str) -> Iterator[tuple[WorkerPool, int, threading.Event]]:
    release = threading.Event()
    pool = WorkerPool(redis_url, ns, 4, sleep_backoffs=[0, 10, 50])

    def ok(job: Job) -> None:
        pass

    def bad(job: Job) -> None:
        raise RuntimeError("no")

    async def held(job: Job) -> None:
        import asyncio
        while not release.is_set():
            await asyncio.sleep(0.01)

    pool.job("ok", ok)
    pool.job("bad", bad, max_fails=1)
    pool.job("flaky", bad, max_fails=3)
    pool.job("held", held)
    m = instrument(pool)
    port = free_port()
    server = serve(port, m.registry)
    pool.start()
    try:
        yield pool, port, release
    finally:
        release.set()
        pool.stop(grace_period=2)
        server.shutdown()


def test_pool_metrics_scraped(started_pool: tuple[WorkerPool, int, threading.Event], redis_url: str, ns: str,
                              r: redis.Redis) -> None:
    pool, port, release = started_pool
    enq = Enqueuer(redis_url, ns)
    for i in range(3):
        enq.enqueue("ok", {"i": i})
    enq.enqueue("bad")
    enq.enqueue("flaky")
    r.lpush(Keys(ns).jobs("ok"), Job("ok", "old1", int(time.time()) - 100, None).encode())  # waited 100 s
    enq.enqueue("held")
    until(lambda: value(scrape(port), "gowork_jobs_in_flight", job_name="held") == 1, what="held job in flight")
    def finished() -> Samples | None:
        s = scrape(port)
        done = (value(s, "gowork_jobs_succeeded_total", job_name="ok"),
                value(s, "gowork_jobs_retried_total", job_name="flaky"),
                value(s, "gowork_jobs_dead_total", job_name="bad"))
        return s if done == (4, 1, 1) else None

    s = until(finished, what="4 ok jobs, flaky retried, bad dead")
    assert value(s, "gowork_jobs_started_total", job_name="ok") == 4
    assert value(s, "gowork_jobs_failed_total", job_name="bad") == 1
    assert value(s, "gowork_jobs_dead_total", job_name="bad") == 1
    assert value(s, "gowork_jobs_retried_total", job_name="bad") == 0
    assert value(s, "gowork_jobs_failed_total", job_name="flaky") == 1
    assert value(s, "gowork_jobs_dead_total", job_name="flaky") == 0
    assert value(s, "gowork_job_duration_seconds_count", job_name="ok") == 4
    assert value(s, "gowork_job_queue_wait_seconds_count", job_name="ok") == 4
    assert (value(s, "gowork_job_queue_wait_seconds_sum", job_name="ok") or 0) >= 99
    assert value(s, "gowork_job_queue_wait_seconds_bucket", job_name="ok", le="60.0") == 3
    assert value(s, "gowork_pool_up", namespace=ns, pool_id=pool.pool_id) == 1
    assert value(s, "gowork_pool_concurrency", namespace=ns, pool_id=pool.pool_id) == 4
    release.set()
    until(lambda: value(scrape(port), "gowork_jobs_in_flight", job_name="held") == 0, what="held job done")
    pool.stop(grace_period=2)
    assert value(scrape(port), "gowork_pool_up", namespace=ns, pool_id=pool.pool_id) == 0


def test_pool_without_hooks_wraps_nothing(redis_url: str, ns: str, monkeypatch: pytest.MonkeyPatch) -> None:
    installs: list[Any] = []
    original = jobhooks.install
    monkeypatch.setattr(jobhooks, "install", lambda *a: (installs.append(a), original(*a)))
    for hooked in (False, True):
        done = threading.Event()
        pool = WorkerPool(redis_url, ns, 1)
        pool.job("x", lambda job, _done=done: _done.set())
        if hooked:
            instrument(pool)
        pool.start()
        try:
            Enqueuer(redis_url, ns).enqueue("x")
            assert done.wait(10)
        finally:
            pool.stop(grace_period=2)
        assert len(installs) == (1 if hooked else 0)
    with pytest.raises(RuntimeError, match="before starting"):
        jobhooks.add_job_hook(_started(redis_url, ns), object())  # type: ignore[arg-type]


def _started(redis_url: str, ns: str) -> WorkerPool:
    pool = WorkerPool(redis_url, ns, 1)
    pool._started = True
    return pool


def namespace_with_everything(r: redis.Redis, redis_url: str, ns: str) -> dict[str, Any]:
    k = Keys(ns)
    now = int(time.time())
    r.lpush(k.jobs("a"), Job("a", "old", now - 500, None).encode())
    enq = Enqueuer(redis_url, ns)
    enq.enqueue("a")
    enq.enqueue("b")
    enq.enqueue_in("a", 3600)
    r.zadd(k.retry, {Job("a", "r1", now, None, fails=1).encode(): now + 60})
    r.zadd(k.dead, {Job("b", "d1", now, None, fails=4).encode(): now, Job("b", "d2", now, None).encode(): now})
    r.set(k.lock("a"), 2)
    r.set(k.max_concurrency("a"), 5)
    r.set(k.paused("b"), "1")
    r.sadd(k.known_jobs, "empty")
    live, stale = "1" * 24, "2" * 24
    r.sadd(k.worker_pools, live, stale)
    r.hset(k.heartbeat(live), mapping={"heartbeat_at": now, "job_names": "a,b", "concurrency": 10,
                                       "host": "h1", "pid": 42, "worker_ids": "w"})
    r.hset(k.heartbeat(stale), mapping={"heartbeat_at": now - 600, "job_names": "a", "concurrency": 3})
    r.lpush(k.in_progress(live, "a"), b"x", b"y")
    r.lpush(k.in_progress(live, "b"), b"z")
    return {"live": live, "now": now}


def test_exporter_scraped(r: redis.Redis, redis_url: str, ns: str) -> None:
    info = namespace_with_everything(r, redis_url, ns)
    registry, collector = exporter_registry(redis_url, ns)
    port = free_port()
    server = serve(port, registry)
    try:
        s = scrape(port)
    finally:
        server.shutdown()
    n = {"namespace": ns}
    assert value(s, "gowork_queue_length", job_name="a", **n) == 2
    assert value(s, "gowork_queue_length", job_name="b", **n) == 1
    assert value(s, "gowork_queue_length", job_name="empty", **n) == 0
    assert 499 <= (value(s, "gowork_queue_oldest_age_seconds", job_name="a", **n) or 0) < 600
    assert value(s, "gowork_queue_oldest_age_seconds", job_name="empty", **n) == 0
    assert value(s, "gowork_lock", job_name="a", **n) == 2
    assert value(s, "gowork_max_concurrency", job_name="a", **n) == 5
    assert value(s, "gowork_queue_paused", job_name="b", **n) == 1
    assert value(s, "gowork_queue_paused", job_name="a", **n) == 0
    assert value(s, "gowork_scheduled_jobs", **n) == 1
    assert value(s, "gowork_retry_jobs", **n) == 1
    assert value(s, "gowork_dead_jobs", **n) == 2
    assert value(s, "gowork_pools_live", **n) == 1
    assert value(s, "gowork_pools_registered", **n) == 2
    assert value(s, "gowork_busy_workers", **n) == 3
    assert value(s, "gowork_pool_busy_workers", pool_id=info["live"], host="h1", pid="42", **n) == 3
    assert value(s, "gowork_pool_concurrency", pool_id=info["live"], host="h1", pid="42", **n) == 10
    # the documented bound: 5 + 5*J + P + B commands in 3 round trips (J=3, P=2, B=2)
    assert collector.commands_last_scrape == 5 + 5 * 3 + 2 + 2
    assert collector.round_trips_last_scrape == 3


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gowork_compat.cli", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_cli_exporter(r: redis.Redis, redis_url: str, ns: str) -> None:
    namespace_with_everything(r, redis_url, ns)
    port = free_port()
    proc = subprocess.Popen(_cli("--redis", redis_url, "-n", ns, "exporter", "--port", str(port)), env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert "exporting namespace" in line and "3 round trips" in line, line
        s = scrape(port)
        assert value(s, "gowork_queue_length", namespace=ns, job_name="a") == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def test_cli_worker_metrics_port_and_json_logs(redis_url: str, ns: str, tmp_path: Path) -> None:
    (tmp_path / "opsapp.py").write_text(textwrap.dedent("""
        import os
        from gowork_compat.pool import WorkerPool

        pool = WorkerPool(os.environ["REDIS_URL"], os.environ["GOWORK_NAMESPACE"], 2)

        @pool.job("hello")
        def hello(job):
            if job.args and job.args.get("fail"):
                raise ValueError("asked to fail")
    """))
    port = free_port()
    proc = subprocess.Popen(_cli("--redis", redis_url, "-n", ns, "worker", "opsapp:pool", "--app-dir",
                                 str(tmp_path), "--metrics-port", str(port), "--log-format", "json"),
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        enq = Enqueuer(redis_url, ns)
        ok = enq.enqueue("hello", {"n": 1})
        failed = enq.enqueue("hello", {"fail": True})

        def scraped() -> Samples | None:
            try:
                s = scrape(port)
            except OSError:
                return None
            done = (value(s, "gowork_jobs_succeeded_total", job_name="hello"),
                    value(s, "gowork_jobs_retried_total", job_name="hello"))
            return s if done == (1, 1) else None

        s = until(scraped, what="both jobs finished in the worker's metrics")
        assert value(s, "gowork_jobs_started_total", job_name="hello") == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    jobs = {rec["job_id"]: rec for rec in records if rec.get("logger") == "gowork_compat.jobs"}
    assert jobs[ok.id]["outcome"] == "succeeded" and jobs[ok.id]["job_name"] == "hello"
    assert jobs[failed.id]["outcome"] == "retried" and jobs[failed.id]["error"] == "ValueError: asked to fail"
    assert all(isinstance(rec["duration"], float) and rec["pool_id"] for rec in jobs.values())
    assert all({"time", "level", "logger", "message"} <= rec.keys() for rec in records)
