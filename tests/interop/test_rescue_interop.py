"""Go pools send the due retries and scheduled jobs of names they do not run to the dead
set ("unknown job when requeueing"); a Python pool in the namespace puts them back on
their queues (gowork_compat.rescuer). Real Go pools, real Python pool."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from tests.conftest import until
from tests.interop.harness import Harness

FAIL_ONCE = {"backoff_seconds": 1, "behavior": {"kind": "fail_n", "n": 1}}


def rescued_count(caplog: pytest.LogCaptureFixture) -> int:
    total = 0
    for rec in caplog.records:
        m = re.match(r"put (\d+) jobs killed", rec.getMessage())
        if rec.name == "gowork_compat.rescuer" and m:
            total += int(m.group(1))
    return total


def test_no_job_dies_of_go_requeuers_unknown_names(harness: Harness, redis_url: str, ns: str, r: redis.Redis,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Go pool A runs go_only and both, Go pool B runs go_other only, the Python pool runs
    py_only and both: disjoint and overlapping names, jobs failing once (retry set) and
    scheduled 2 s ahead on every name. Go's requeuers kill what they don't run; every job
    still completes and nothing is left dead."""
    caplog.set_level(logging.INFO, logger="gowork_compat.rescuer")
    k = Keys(ns)
    ok: set[str] = set()
    lock = threading.Lock()

    def fail_once(job: Job) -> None:
        if job.fails < 1:
            raise RuntimeError("first try fails")
        with lock:
            ok.add(job.id)

    def succeed(job: Job) -> None:
        with lock:
            ok.add(job.id)

    pool = WorkerPool(redis_url, ns, 4)
    pool.job("py_only", fail_once, backoff=lambda j: 1)
    pool.job("both", fail_once, backoff=lambda j: 1)
    pool.job("py_sched", succeed)
    go_a = {"concurrency": 4, "jobs": {"go_only": FAIL_ONCE, "both": FAIL_ONCE,
                                       "go_sched": {"behavior": {"kind": "succeed"}}}}
    go_b = {"concurrency": 2, "jobs": {"go_other": {"behavior": {"kind": "succeed"}}}}
    with harness.start_worker(go_a) as wa, harness.start_worker(go_b) as wb:
        enq = Enqueuer(redis_url, ns)
        # killed for sure: due while no Python pool is up yet
        ids = {enq.enqueue_in(name, 1, {"early": True}).job.id for name in ("py_sched", "py_sched", "go_sched")}
        until(lambda: r.zcard(k.dead) >= 2, what="Go's requeuers to kill the early scheduled jobs")
        pool.start()
        try:
            for i in range(6):
                for name in ("py_only", "go_only", "both"):
                    ids.add(enq.enqueue(name, {"i": i}).id)
                for name in ("py_sched", "go_sched", "both"):
                    ids.add(enq.enqueue_in(name, 2, {"i": i}).job.id)

            def finished() -> bool:
                go_ok = {e["id"] for e in wa.events("job_end") if e.get("result") == "ok"}
                with lock:
                    return ids <= (ok | go_ok)
            until(finished, timeout=40, what="every job to complete")
        finally:
            pool.stop(grace_period=5)
            enq.close()
        assert not wb.events("job_start")
    dead = [json.loads(m) for m in r.zrange(k.dead, 0, -1)]
    assert dead == [], f"{len(dead)} jobs dead: {dead[:3]}"
    # the quirk did happen (Go's requeuers killed jobs) and the rescuer undid it
    assert rescued_count(caplog) >= 2


def test_scheduled_job_killed_by_go_comes_back_as_scheduled(harness: Harness, redis_url: str, ns: str,
                                                            r: redis.Redis) -> None:
    """A scheduled job Go killed comes back on its queue with exactly the fields it was
    scheduled with (t as Go's requeuer sets it), no err/failed_at; the Python pool runs it."""
    k = Keys(ns)
    seen: list[Job] = []
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("py_only", seen.append)
    # Go's requeuer alone first: it kills the job (no Python pool up yet)
    with harness.start_worker({"concurrency": 1, "jobs": {"go_other": {"behavior": {"kind": "succeed"}}}}) as w:
        sj = Enqueuer(redis_url, ns).enqueue_in("py_only", 1, {"a": [1, 2.5, "x"]})
        until(lambda: r.zcard(k.dead) == 1, what="Go's requeuer to kill the job")
        (member,) = r.zrange(k.dead, 0, -1)
        killed = json.loads(member)
        assert killed["err"] == "unknown job when requeueing" and killed["id"] == sj.job.id
        with pool_running(pool):
            until(lambda: seen, what="the rescued job to run")
        w.stop()
    (job,) = seen
    assert (job.id, job.name, job.args, job.fails, job.last_err, job.failed_at) == (
        sj.job.id, "py_only", {"a": [1, 2.5, "x"]}, 0, "", 0)
    assert job.enqueued_at >= sj.run_at
    assert r.zcard(k.dead) == 0


class pool_running:
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def __enter__(self) -> WorkerPool:
        self.pool.start()
        return self.pool

    def __exit__(self, *exc: object) -> None:
        self.pool.stop(grace_period=5)


def test_names_no_live_pool_runs_stay_dead(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    """Only names some live pool runs are rescued: Go would kill the others too."""
    k = Keys(ns)
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("py_only", lambda j: None)
    with harness.start_worker({"concurrency": 1, "jobs": {"go_other": {"behavior": {"kind": "succeed"}}}}) as w:
        Enqueuer(redis_url, ns).enqueue_in("nobody_runs_me", 1, {})
        until(lambda: r.zcard(k.dead) == 1, what="Go's requeuer to kill the job")
        with pool_running(pool):
            time.sleep(2.5)  # a few rescuer passes
        w.stop()
    (member,) = r.zrange(k.dead, 0, -1)
    assert json.loads(member)["name"] == "nobody_runs_me"
