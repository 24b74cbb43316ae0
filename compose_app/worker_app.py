"""The Python worker pool of docker-compose.yml, run by ``gowork worker compose_app.worker_app:pool``.

Settings from the environment: ``REDIS_URL``, ``GOWORK_NAMESPACE`` (default ``demo-app``,
the namespace of the compose file's Go worker), ``GOWORK_CONCURRENCY`` (default 4),
``GOWORK_WORK_SECONDS`` (default 0.3) and ``GOWORK_FLAKY_RATE`` (how often flaky_report
fails, default 0.5).
"""

from __future__ import annotations

import os
import random
import time

from gowork_compat import Job, WorkerPool

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
NAMESPACE = os.environ.get("GOWORK_NAMESPACE") or "demo-app"
CONCURRENCY = int(os.environ.get("GOWORK_CONCURRENCY") or "4")
#: seconds each job sleeps, to show busy workers in the web UI
WORK_SECONDS = float(os.environ.get("GOWORK_WORK_SECONDS") or "0.3")
#: how often flaky_report fails (1: always, so each one is dead after its 2 tries)
FLAKY_RATE = float(os.environ.get("GOWORK_FLAKY_RATE") or "0.5")

pool = WorkerPool(REDIS_URL, NAMESPACE, concurrency=CONCURRENCY)


def _say(job: Job, text: str) -> None:
    print(f"[python] {job.name} {job.id}: {text}", flush=True)


def resize_image(job: Job) -> None:
    width, height = job.arg_int("w"), job.arg_int("h")
    err = job.arg_error()
    if err is not None:
        raise err
    job.checkin(f"resizing to {width}x{height}")
    time.sleep(WORK_SECONDS)
    _say(job, f"resized to {width}x{height}")


def flaky_report(job: Job) -> None:
    time.sleep(WORK_SECONDS)
    if random.random() < FLAKY_RATE:
        raise RuntimeError("report service timed out (from Python)")
    _say(job, f"report {job.arg_string('report')} done after {job.fails} failures")


def shared(job: Job) -> None:
    time.sleep(WORK_SECONDS / 10)
    _say(job, f"shared job {job.arg_int('i')}")


# (pool.job also works as a decorator; registering this way keeps the handlers typed for mypy)
pool.job("resize_image", resize_image, priority=10)
pool.job("flaky_report", flaky_report, max_fails=2, backoff=lambda job: 3)
pool.job("shared", shared)
