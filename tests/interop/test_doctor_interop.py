"""gowork repair racing a live Go pool: stranded jobs of a gone pool are requeued and the
drifted lock recounted while Go fetches and acknowledges; every job runs exactly once and
the lock ends at 0."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from gowork_compat.doctor import diagnose, repair
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from tests.conftest import until
from tests.interop.harness import Harness

GONE = "dddddddddddddddddddddddd"


def test_repair_races_a_running_go_pool(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    now = int(time.time())
    enq = Enqueuer(redis_url, ns)
    queued = enq.enqueue_many([("race", {"i": i}) for i in range(200)])
    stranded = [Job("race", f"stranded{i:04d}", now, {"s": i}) for i in range(40)]
    r.sadd(k.worker_pools, GONE)
    r.hset(k.heartbeat(GONE), mapping={"heartbeat_at": now - 3600, "job_names": "race", "worker_ids": "x"})
    r.lpush(k.in_progress(GONE, "race"), *(j.encode() for j in stranded))
    r.hset(k.lock_info("race"), GONE, 40)
    r.incrby(k.lock("race"), 40 + 3)  # the gone pool's count, and 3 nobody holds
    cfg = {"concurrency": 4,
           "jobs": {"race": {"max_concurrency": 100, "behavior": {"kind": "sleep", "sleep_ms": 15}}}}
    with harness.start_worker(cfg) as w:
        w.wait_for(lambda e: e.get("event") == "job_start")
        rounds = 0
        while len(w.events("job_end")) < 150 and rounds < 20:
            repair(redis_url, ns, dry_run=False)  # gone pool, lock drift: while Go works
            rounds += 1
        assert rounds >= 1
        w.wait_jobs(240, timeout=60)
        until(lambda: int(r.get(k.lock("race")) or 0) == 0, what="the lock back to 0")
        time.sleep(0.3)
        ids = [e["id"] for e in w.events("job_start")]
        assert len(ids) == len(set(ids)) == 240, "a job ran twice or not at all"
        assert set(ids) == {j.id for j in queued} | {j.id for j in stranded}
        assert r.get(k.lock("race")) == b"0"
        assert all(int(v) == 0 for v in r.hvals(k.lock_info("race")))
        assert not r.exists(k.heartbeat(GONE), k.in_progress(GONE, "race"))
        left = [f.kind for f in diagnose(redis_url, ns).findings]
        assert "gone_pool" not in left and "lock_drift" not in left, left


def test_healthy_mixed_namespace_has_no_findings_and_is_exported(harness: Harness, redis_url: str, ns: str,
                                                                 r: redis.Redis) -> None:
    """A Go pool and a Python pool at work: doctor finds nothing (no false alarm from
    their in-flight locks, observations or heartbeats), and the exporter sees both pools
    and the Go pool's busy worker."""
    import threading

    pytest.importorskip("prometheus_client")
    from gowork_compat.metrics import NamespaceCollector
    from gowork_compat.pool import WorkerPool

    enq = Enqueuer(redis_url, ns)
    release = threading.Event()
    pool = WorkerPool(redis_url, ns, 2, sleep_backoffs=[0, 10, 50])
    pool.job("shared", lambda job: None)
    pool.job("pyheld", lambda job: release.wait(20))
    cfg = {"concurrency": 2, "jobs": {"shared": {"behavior": {"kind": "sleep", "sleep_ms": 5}},
                                      "goheld": {"behavior": {"kind": "sleep", "sleep_ms": 8000}}}}
    with harness.start_worker(cfg) as w:
        pool.start()
        try:
            enq.enqueue("goheld")
            enq.enqueue("pyheld")
            w.wait_for(lambda e: e.get("event") == "job_start" and e.get("name") == "goheld")
            until(lambda: r.llen(Keys(ns).in_progress(pool.pool_id, "pyheld")) == 1, what="pyheld running")
            for i in range(3):
                enq.enqueue_many([("shared", {"i": i, "j": j}) for j in range(50)])
                findings = diagnose(redis_url, ns).findings
                assert findings == [], findings
            collector = NamespaceCollector(redis_url, ns)

            def exported() -> dict[str, Any] | None:
                fams = {f.name: f for f in collector.collect()}
                busy = {s.labels["pool_id"]: s.value for s in fams["gowork_pool_busy_workers"].samples}
                # once the 'shared' jobs are done, each pool still runs its held job
                return fams if busy == {pool.pool_id: 1, w.pool_id: 1} else None

            fams = until(exported, what="one busy worker in each pool")
            assert fams["gowork_pools_live"].samples[0].value == 2
            assert fams["gowork_busy_workers"].samples[0].value == 2
        finally:
            release.set()
            pool.stop(grace_period=5)
