"""Issue 8 point 0, the operator's side: a Go pool's requeuer kills the scheduled jobs of a
name only Python runs ("unknown job when requeueing"); `gowork dead retry --error ...`
revives exactly those whose name some pool registers, and a Python pool runs each once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from gowork_compat.client import Client, DeadFilter
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from tests.conftest import until
from tests.interop.harness import Harness

pytestmark = pytest.mark.interop

UNKNOWN = "unknown job when requeueing"
ROOT = Path(__file__).resolve().parents[2]


def test_cli_revives_python_jobs_a_go_requeuer_killed(harness: Harness, redis_url: str, ns: str,
                                                      r: redis.Redis) -> None:
    k = Keys(ns)
    enq = Enqueuer(redis_url, ns)
    ids = {enq.enqueue_in("py_only", 1, {"i": i}).job.id for i in range(5)}
    enq.close()
    stray = Job(name="nobody_runs", id="f" * 24, enqueued_at=1, args={})
    r.zadd(k.scheduled, {stray.encode(): 1})  # due, and its name is in no known_jobs
    with harness.start_worker({"concurrency": 2, "jobs": {"go_only": {"behavior": {"kind": "succeed"}}}}) as go:
        until(lambda: r.zcard(k.dead) == 6, timeout=20, what="Go's requeuer to kill the Python-only jobs")
        go.stop()
    killed = Client(r, ns).find_dead_jobs(DeadFilter(error=UNKNOWN))
    assert {d.job.id for d in killed} == ids | {stray.id}

    env = {k_: v for k_, v in os.environ.items() if not k_.startswith(("GOWORK_", "REDIS_"))}
    env["PYTHONPATH"] = str(ROOT)
    p = subprocess.run([sys.executable, "-m", "gowork_compat", "--redis", redis_url, "-n", ns,
                        "dead", "retry", "--error", UNKNOWN], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"requeued 5 of 6 dead jobs matching error containing {UNKNOWN!r}"
    assert "1 job left dead" in p.stderr
    assert [Job.decode(m).id for m in r.zrange(k.dead, 0, -1)] == [stray.id]

    ran: list[str] = []
    lock = threading.Lock()

    def py_only(job: Job) -> None:
        with lock:
            ran.append(job.id)

    pool = WorkerPool(redis_url, ns, concurrency=2)
    pool.job("py_only", py_only)
    pool.start()
    try:
        until(lambda: len(ran) == 5, what="the revived jobs to run")
    finally:
        pool.stop()
    assert sorted(ran) == sorted(ids)  # each once
