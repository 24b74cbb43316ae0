"""Issue 8: a Go pool whose acknowledgement fails (Redis restarting) keeps the job in its
in-progress list with the lock raised; once it stops it leaves worker_pools and no Go reaper
ever looks at the list again. A Python pool's reaper requeues it and the job runs once more."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.heartbeat import DEAD_AFTER
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from tests.conftest import RedisServer
from tests.interop.harness import Harness
from tests.interop.test_pool_interop import Recorder, assert_clean, running, until


def test_go_pool_lost_ack_then_stopped_python_reaper_requeues(harness_bin: Path, ns: str,
                                                              private_redis_server: RedisServer) -> None:
    srv = private_redis_server
    harness = Harness(harness_bin, "127.0.0.1", srv.port, ns)
    r = redis.Redis(port=srv.port)
    k = Keys(ns)
    job = Enqueuer(srv.url, ns).enqueue("gack", {"n": 1})
    cfg = {"concurrency": 1, "jobs": {"gack": {"max_concurrency": 3, "behavior": {"kind": "sleep", "sleep_ms": 1500}}}}
    with harness.start_worker(cfg) as w:
        w.wait_for(lambda e: e.get("event") == "job_start")
        srv.stop()  # Redis goes away while the job runs (appendonly: the in-progress list survives)
        w.wait_for(lambda e: e.get("event") == "job_end", timeout=15)
        time.sleep(1.0)  # Go's worker tries its acknowledgement now, fails and only logs it
        srv.start(appendonly=True)
        r = redis.Redis(port=srv.port)
        before = time.time()
        # let Go's connections come back (its heartbeat advances) so that Stop can leave worker_pools
        until(lambda: float(r.hget(k.heartbeat(w.pool_id), "heartbeat_at") or 0) >= before, timeout=20,
              what="the Go pool to beat again")
        assert w.stop() == 0
    assert r.llen(k.in_progress(w.pool_id, "gack")) == 1, "the acknowledgement was lost (Go)"
    assert not r.sismember(k.worker_pools, w.pool_id) and not r.exists(k.heartbeat(w.pool_id))
    assert int(r.get(k.lock("gack")) or 0) == 1 and r.hget(k.lock_info("gack"), w.pool_id) == b"1"
    assert [e["id"] for e in w.events("job_start")] == [job.id]

    rec = Recorder()
    pool = WorkerPool(srv.url, ns, 1, first_reap=0.5, reap_period=1.0)
    pool.job("gack", rec, max_concurrency=3)
    with running(pool):
        until(lambda: rec.ids() == [job.id], timeout=DEAD_AFTER + 30, what="the stranded Go job to run again")
        until(lambda: int(r.get(k.lock("gack")) or 0) == 0, what="lock back to 0")
    assert rec.ids() == [job.id]
    assert r.hget(k.lock_info("gack"), w.pool_id) is None
    assert_clean(r, ns, "gack")


def test_python_reaper_requeues_a_stranded_list_while_a_go_pool_runs(harness: Harness, redis_url: str, ns: str,
                                                                     r: redis.Redis) -> None:
    """The orphan state made directly (a pool id in no set, lock and lock_info raised) next to
    a live Go pool running the same job name: the Python reaper requeues only the orphan; the
    job runs once more (on whichever pool fetches it) and every count ends at 0."""
    from gowork_compat.job import Job
    k = Keys(ns)
    gone = "9" * 24
    job = Job(name="gorph", id="6123456789abcdef01234567", enqueued_at=int(time.time()), args={"o": 1})
    r.sadd(k.known_jobs, "gorph")
    r.lpush(k.in_progress(gone, "gorph"), job.encode())
    r.set(k.lock("gorph"), 1)
    r.hset(k.lock_info("gorph"), gone, 1)
    cfg = {"concurrency": 2, "jobs": {"gorph": {"max_concurrency": 5, "behavior": {"kind": "succeed"}}}}
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 1, first_reap=0.5, reap_period=1.0)
    pool.job("gorph", rec, max_concurrency=5)
    with harness.start_worker(cfg) as w, running(pool):
        until(lambda: len(rec.ids()) + len(w.events("job_start")) == 1, timeout=DEAD_AFTER + 30,
              what="the orphaned job to run again")
        until(lambda: int(r.get(k.lock("gorph")) or 0) == 0, what="lock back to 0")
        time.sleep(1.5)
        assert rec.ids() + [e["id"] for e in w.events("job_start")] == [job.id]
        assert r.sismember(k.worker_pools, w.pool_id), "the live Go pool is untouched"
    assert_clean(r, ns, "gorph")
