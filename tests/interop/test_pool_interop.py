"""The Python WorkerPool beside real Go pools, Go enqueuers and Go's client."""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from tests.conftest import RedisServer
from tests.conftest import until as _until
from tests.interop.harness import Harness
from tests.schemas import validate


def until(pred: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    return _until(pred, timeout, what)


class Recorder:
    """Thread-safe record of the jobs a Python handler saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: list[Job] = []
        self.spans: list[tuple[int, int]] = []

    def __call__(self, job: Job) -> None:
        with self.lock:
            self.jobs.append(job)

    def ids(self) -> list[str]:
        with self.lock:
            return [j.id for j in self.jobs]

    def sleeper(self, seconds: float) -> Callable[[Job], None]:
        def run(job: Job) -> None:
            t0 = time.time_ns()
            time.sleep(seconds)
            with self.lock:
                self.jobs.append(job)
                self.spans.append((t0, time.time_ns()))
        return run


@contextmanager
def running(pool: WorkerPool) -> Iterator[WorkerPool]:
    pool.start()
    try:
        yield pool
    finally:
        pool.stop(grace_period=5)


def assert_clean(r: redis.Redis, ns: str, *names: str) -> None:
    """Nothing in progress, every lock back to 0, every lock_info count 0."""
    k = Keys(ns)
    for n in names:
        assert not r.keys(k.jobs(n) + ":*:inprogress") or all(
            r.llen(key) == 0 for key in r.keys(k.jobs(n) + ":*:inprogress")), f"{n}: jobs left in progress"
        assert int(r.get(k.lock(n)) or 0) == 0, f"{n}: lock count not back to 0"
        assert all(int(v) == 0 for v in r.hvals(k.lock_info(n))), f"{n}: lock_info not back to 0"


# 1 -------------------------------------------------------------------------------------
def test_python_pool_runs_every_kind_go_enqueues(harness: Harness, redis_url: str, ns: str,
                                                 r: redis.Redis) -> None:
    args = {"s": "<&>", "n": 42, "f": 0.25, "l": [1, {"z": None}]}
    resp = harness.enqueue([
        {"method": "Enqueue", "name": "plain", "args": args},
        {"method": "EnqueueIn", "name": "later", "in": 1, "args": args},
        {"method": "EnqueueUnique", "name": "uniq", "args": args},
        {"method": "EnqueueUniqueIn", "name": "uniqin", "in": 1, "args": args},
    ])
    expected = {x["job"]["id"]: x["job"] for x in resp}
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 4)
    for name in ("plain", "later", "uniq", "uniqin"):
        pool.job(name, rec)
    with running(pool):
        until(lambda: len(rec.ids()) >= 4, what="the four Go jobs")
        time.sleep(1.5)  # a second run of any of them would show up here
    assert sorted(rec.ids()) == sorted(expected), "each Go job runs exactly once"
    for job in rec.jobs:
        go = expected[job.id]
        assert job.name == go["name"] and job.args == go["args"]
        if job.name in ("later", "uniqin"):  # the requeuer stamps t when it moves the job
            assert job.enqueued_at >= go["t"] + 1
        else:
            assert job.enqueued_at == go["t"]
        assert job.unique == bool(go.get("unique"))
    assert r.keys(f"{ns}:unique:*") == [], "the worker deletes unique keys as Go's does"
    assert_clean(r, ns, "plain", "later", "uniq", "uniqin")


# 2 -------------------------------------------------------------------------------------
def test_python_failure_is_retried_by_go(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    job = Enqueuer(redis_url, ns).enqueue("flaky", {"x": 1})

    def fail(job: Job) -> None:
        raise ValueError("python says no")

    pool = WorkerPool(redis_url, ns, 2)
    pool.job("flaky", fail, max_fails=4, backoff=lambda j: 1)
    with running(pool):
        until(lambda: r.zcard(Keys(ns).retry) == 1, what="the retry entry")
    (member, score), = r.zrange(Keys(ns).retry, 0, -1, withscores=True)
    retried = json.loads(member)
    validate("job", retried)
    assert retried["fails"] == 1 and retried["err"] == "ValueError: python says no" and retried["id"] == job.id
    assert score == retried["failed_at"] + 1
    with harness.start_worker({"concurrency": 2, "jobs": {"flaky": {"behavior": {"kind": "succeed"}}}}) as w:
        ev = w.wait_for(lambda e: e.get("event") == "job_start", timeout=15)
        assert ev["id"] == job.id and ev["fails"] == 1 and ev["err"] == "ValueError: python says no"
        w.wait_for(lambda e: e.get("event") == "job_end")
    assert_clean(r, ns, "flaky")


def test_go_failure_is_retried_by_python(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    (resp,) = harness.enqueue([{"method": "Enqueue", "name": "gflaky", "args": {"y": "z"}}])
    cfg = {"concurrency": 1,
           "jobs": {"gflaky": {"backoff_seconds": 1, "behavior": {"kind": "fail", "error": "go says no"}}}}
    with harness.start_worker(cfg) as w:
        w.wait_for(lambda e: e.get("event") == "job_end")
        until(lambda: r.zcard(Keys(ns).retry) == 1, what="Go's retry entry")
        w.stop()
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 2)
    pool.job("gflaky", rec)
    with running(pool):
        until(lambda: rec.jobs, what="the Python retry")
    (job,) = rec.jobs
    assert job.id == resp["job"]["id"] and job.fails == 1 and job.last_err == "go says no" and job.failed_at > 0
    assert_clean(r, ns, "gflaky")


def test_exhausted_python_job_is_dead_for_go_client_and_retried_from_go(
        harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    job = Enqueuer(redis_url, ns).enqueue("doomed", {"k": [1, 2]})
    attempts: list[Job] = []

    def handler(j: Job) -> None:
        attempts.append(j)
        if len(attempts) == 1:
            raise RuntimeError("boom <1>")

    pool = WorkerPool(redis_url, ns, 2)
    pool.job("doomed", handler, max_fails=1)
    with running(pool):
        until(lambda: r.zcard(Keys(ns).dead) == 1, what="the dead entry")
        dead = harness.client("DeadJobs", page=1)
        assert dead["count"] == 1
        (d,) = dead["result"]
        assert d["id"] == job.id and d["name"] == "doomed" and d["args"] == {"k": [1, 2]}
        assert d["fails"] == 1 and d["err"] == "RuntimeError: boom <1>" and d["died_at"] == d["failed_at"] > 0
        validate("job", json.loads(r.zrange(Keys(ns).dead, 0, 0)[0]))
        res = harness.client("RetryDeadJob", died_at=d["died_at"], job_id=d["id"])
        assert not res.get("error")
        until(lambda: len(attempts) == 2, what="the retried dead job")
    assert attempts[1].id == job.id and attempts[1].fails == 0 and attempts[1].last_err == ""
    assert r.zcard(Keys(ns).dead) == 0
    assert_clean(r, ns, "doomed")


# 3 -------------------------------------------------------------------------------------
@pytest.mark.timeout(180)
def test_go_and_python_pools_share_ten_queues_exactly_once(harness: Harness, redis_url: str, ns: str,
                                                           r: redis.Redis) -> None:
    names = [f"q{i}" for i in range(10)]
    enq = Enqueuer(redis_url, ns)
    jobs = enq.enqueue_many((names[i % 10], {"i": i}) for i in range(10_000))
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 10)
    for i, n in enumerate(names):
        pool.job(n, rec, priority=1 + i * 10)
    cfg = {"concurrency": 10, "jobs": {n: {"priority": 1 + i * 10, "behavior": {"kind": "succeed"}}
                                       for i, n in enumerate(names)}}
    with harness.start_worker(cfg) as w, running(pool):
        until(lambda: len(w.events("job_end")) + len(rec.ids()) >= 10_000, timeout=120, what="10,000 jobs")
        time.sleep(0.5)
        go_ids = [e["id"] for e in w.events("job_start")]
    py_ids = rec.ids()
    all_ids = go_ids + py_ids
    assert len(all_ids) == len(set(all_ids)) == 10_000, "a job ran twice or not at all"
    assert set(all_ids) == {j.id for j in jobs}
    assert go_ids and py_ids, "both pools took part"
    assert_clean(r, ns, *names)


# 4 -------------------------------------------------------------------------------------
def test_kill9_python_pool_go_reaper_requeues(harness: Harness, redis_url: str, ns: str, r: redis.Redis,
                                              redis_server: RedisServer) -> None:
    """One Python pool killed -9 mid-job and one stopped while its job outlives the grace
    period (spec: "Stop leaves unfinished jobs to a reaper"): a Go pool's first reap requeues
    both pools' jobs and runs them."""
    enq = Enqueuer(redis_url, ns)
    jobs = [enq.enqueue("slow", {"i": i}) for i in range(4)]
    held = enq.enqueue("held", {"i": 9})
    cfg = {"concurrency": 4,
           "jobs": {"slow": {"max_concurrency": 10, "behavior": {"kind": "sleep", "sleep_ms": 60_000}}}}
    stop_cfg = {"concurrency": 1, "mode": "async", "grace_period": 0.2,
                "jobs": {"held": {"behavior": {"kind": "sleep", "sleep_ms": 60_000}}}}
    k = Keys(ns)
    with harness.start_python_worker(cfg) as py, harness.start_python_worker(stop_cfg) as stopped:
        py.wait_for(lambda e: e.get("event") == "job_start")
        stopped.wait_for(lambda e: e.get("event") == "job_start")
        until(lambda: int(r.get(Keys(ns).lock("slow")) or 0) == 4, what="4 jobs in progress")
        py.kill()
        assert stopped.stop() == 0
    assert int(r.get(k.lock("slow")) or 0) == 4
    assert r.llen(k.in_progress(py.pool_id, "slow")) == 4
    assert r.sismember(k.worker_pools, stopped.pool_id) and r.exists(k.heartbeat(stopped.pool_id))
    assert r.llen(k.in_progress(stopped.pool_id, "held")) == 1
    go_cfg = {"concurrency": 5, "jobs": {"slow": {"max_concurrency": 10, "behavior": {"kind": "succeed"}},
                                         "held": {"behavior": {"kind": "succeed"}}}}
    with harness.start_worker(go_cfg) as w:
        w.wait_jobs(5, timeout=40)  # Go's reaper runs 10 s after its start
        seen = {e["id"] for e in w.events("job_start")}
        until(lambda: int(r.get(k.lock("slow")) or 0) == 0, what="lock back to 0")
    assert seen == {j.id for j in jobs} | {held.id}
    assert not r.sismember(k.worker_pools, py.pool_id)
    assert not r.sismember(k.worker_pools, stopped.pool_id)
    assert r.hget(k.lock_info("slow"), py.pool_id) is None
    assert_clean(r, ns, "slow", "held")


def test_kill9_go_pool_python_reaper_requeues(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    resp = harness.enqueue([{"method": "Enqueue", "name": "gslow", "args": {"i": i}} for i in range(3)])
    cfg = {"concurrency": 3,
           "jobs": {"gslow": {"max_concurrency": 5, "behavior": {"kind": "sleep", "sleep_ms": 60_000}}}}
    k = Keys(ns)
    with harness.start_worker(cfg) as w:
        until(lambda: len(w.events("job_start")) == 3, what="3 Go jobs running")
        w.kill()
    assert int(r.get(k.lock("gslow")) or 0) == 3
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 3, first_reap=1.0, reap_period=1.0)
    pool.job("gslow", rec, max_concurrency=5)
    with running(pool):
        until(lambda: len(rec.ids()) == 3, timeout=30, what="the Python reaper to requeue Go's jobs")
    assert sorted(rec.ids()) == sorted(x["job"]["id"] for x in resp)
    assert not r.sismember(k.worker_pools, w.pool_id)
    assert_clean(r, ns, "gslow")


# 5 -------------------------------------------------------------------------------------
def test_max_concurrency_one_is_shared_by_go_and_python(harness: Harness, redis_url: str, ns: str,
                                                        r: redis.Redis) -> None:
    """Each side contends for the cap while the other holds it: never two at once."""
    enq = Enqueuer(redis_url, ns)
    rec = Recorder()
    cfg = {"concurrency": 4, "jobs": {"solo": {"max_concurrency": 1, "behavior": {"kind": "sleep", "sleep_ms": 200}}}}
    go_spans: list[tuple[int, int]] = []

    def spans_of(w: Any) -> list[tuple[int, int]]:
        starts = {e["id"]: e["ts_ns"] for e in w.events("job_start")}
        return [(starts[e["id"]], e["ts_ns"]) for e in w.events("job_end")]

    pool = WorkerPool(redis_url, ns, 4, sleep_backoffs=[0, 10, 20])
    pool.job("solo", rec.sleeper(0.2), max_concurrency=1)
    # phase 1: Go holds the cap, the Python pool polls for it meanwhile
    for i in range(4):
        enq.enqueue("solo", {"i": i})
    with harness.start_worker(cfg) as w:
        w.wait_for(lambda e: e.get("event") == "job_start")
        pool.start()
        until(lambda: len(w.events("job_end")) + len(rec.spans) >= 4, timeout=40, what="phase 1 jobs")
        w.stop()
        go_spans += spans_of(w)
    # phase 2: Python holds the cap, a Go pool polls for it meanwhile
    try:
        for i in range(4, 8):
            enq.enqueue("solo", {"i": i})
        until(lambda: len(rec.spans) + len(go_spans) >= 5 or int(r.get(Keys(ns).lock("solo")) or 0) == 1,
              what="Python to take the cap")
        with harness.start_worker(cfg) as w:
            until(lambda: len(w.events("job_end")) + len(rec.spans) + len(go_spans) >= 8, timeout=40,
                  what="phase 2 jobs")
            w.stop()
            go_spans += spans_of(w)
    finally:
        pool.stop(grace_period=5)
    spans = sorted(go_spans + rec.spans)
    assert len(spans) == 8
    assert go_spans and rec.spans, "both pools ran some"
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, "two 'solo' jobs ran at once"
    assert_clean(r, ns, "solo")


# 6 -------------------------------------------------------------------------------------
def test_paused_queue_is_left_alone_by_both(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    r.set(k.paused("held"), "1")
    enq = Enqueuer(redis_url, ns)
    for i in range(24):
        enq.enqueue("held", {"i": i})
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 2, sleep_backoffs=[0, 10, 100])
    pool.job("held", rec.sleeper(0.5))
    # jobs long enough that the Python pool alone needs longer than Go's longest idle sleep (5 s)
    cfg = {"concurrency": 2, "jobs": {"held": {"behavior": {"kind": "sleep", "sleep_ms": 500}}}}
    with harness.start_worker(cfg) as w, running(pool):
        time.sleep(2.5)  # both pools poll several times while paused
        assert r.llen(k.jobs("held")) == 24 and not rec.ids() and not w.events("job_start")
        r.delete(k.paused("held"))
        until(lambda: len(rec.ids()) + len(w.events("job_end")) == 24, timeout=30, what="unpaused jobs")
        assert rec.ids() and w.events("job_start"), "both pools resumed"
    assert_clean(r, ns, "held")


# 7 -------------------------------------------------------------------------------------
def test_same_periodic_spec_on_go_and_python_yields_one_job_per_fire_time(
        harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    spec = "*/2 * * * * *"  # v0.5.1: seconds first; every 2 s
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 2)
    pool.job("tick", rec)
    pool.periodically_enqueue(spec, "tick")
    cfg = {"concurrency": 2, "jobs": {"tick": {"behavior": {"kind": "succeed"}}},
           "periodic": [{"spec": spec, "name": "tick"}]}
    t0 = time.time()
    with harness.start_worker(cfg) as w, running(pool):
        time.sleep(7.5)  # at least 3 fire times
        go_ids = [e["id"] for e in w.events("job_start")]
        py_ids = rec.ids()
        scheduled = r.zrange(Keys(ns).scheduled, 0, -1)
    ran = go_ids + py_ids
    assert len(ran) >= 3
    assert len(ran) == len(set(ran)), "a fire time ran twice"
    epochs = sorted(int(i.rsplit(":", 1)[1]) for i in ran)
    assert all(e % 2 == 0 and e >= int(t0) for e in epochs)
    assert all(i.startswith(f"periodic:tick:{spec}:") for i in ran)
    # both enqueuers wrote the very same members: one per fire time in the 4-minute horizon
    fire_times = [json.loads(m)["t"] for m in scheduled]
    assert len(fire_times) == len(set(fire_times))
    assert 110 <= len(fire_times) + len(ran) <= 122


# 8 -------------------------------------------------------------------------------------
def test_go_client_sees_python_pool(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    gate = threading.Event()

    def busy(job: Job) -> None:
        job.checkin("halfway there")
        gate.wait(20)

    pool = WorkerPool(redis_url, ns, 3)
    pool.job("busy", busy)
    pool.job("other", lambda j: None)
    job = Enqueuer(redis_url, ns).enqueue("busy", {"who": "py"})
    try:
        with running(pool):
            beats = harness.client("WorkerPoolHeartbeats")["result"]
            (hb,) = beats
            assert hb["worker_pool_id"] == pool.pool_id
            assert hb["job_names"] == ["busy", "other"] and hb["concurrency"] == 3
            assert hb["worker_ids"] == pool.worker_ids
            assert hb["pid"] == os.getpid() and hb["host"]
            beat = r.hgetall(Keys(ns).heartbeat(pool.pool_id))
            validate("heartbeat", {k.decode(): v.decode() for k, v in beat.items()})

            def busy_obs() -> Any:
                obs = harness.client("WorkerObservations")["result"]
                return [o for o in obs if o["is_busy"] and o.get("checkin")]
            (o,) = until(busy_obs, what="a busy observation with a check-in")
            assert o["job_name"] == "busy" and o["job_id"] == job.id and o["args_json"] == '{"who":"py"}'
            assert o["checkin"] == "halfway there" and o["checkin_at"] > 0 and o["worker_id"] in pool.worker_ids
            obs = harness.client("WorkerObservations")["result"]
            assert {x["worker_id"] for x in obs} == set(pool.worker_ids)
            validate("observation", {k.decode(): v.decode() for k, v in
                                     r.hgetall(Keys(ns).worker_observation(o["worker_id"])).items()})
            gate.set()
    finally:
        gate.set()
    assert harness.client("WorkerPoolHeartbeats")["result"] in (None, [])


# 9 -------------------------------------------------------------------------------------
POISON = [b"not json at all", b'{"name":"p","id":"a","t":"yesterday","args":{}}', b"[1,2,3]",
          b'{"name":"p","id":"b","t":1,"args":[1]}', b"\xff\xfe", b'{"name":"p","id":"c","t":1.5,"args":null}']


def test_poison_payloads_go_dead_and_good_jobs_run(harness: Harness, redis_url: str, ns: str,
                                                   r: redis.Redis) -> None:
    k = Keys(ns)
    enq = Enqueuer(redis_url, ns)
    good = [enq.enqueue("p", {"i": i}) for i in range(5)]
    for raw in POISON:
        r.lpush(k.jobs("p"), raw)
    good += [enq.enqueue("p", {"i": i}) for i in range(5, 10)]
    rec = Recorder()
    pool = WorkerPool(redis_url, ns, 2)
    pool.job("p", rec)
    with running(pool):
        until(lambda: len(rec.ids()) == 10 and r.zcard(k.dead) == len(POISON), what="good jobs and dead poison")
    assert sorted(rec.ids()) == sorted(j.id for j in good)
    dead = harness.client("DeadJobs", page=1)
    assert not dead.get("error") and dead["count"] == len(POISON), "Go's client must read the dead entries"
    raws = set()
    for d in dead["result"]:
        assert d["name"] == "p" and d["fails"] == 1 and d["err"].startswith("malformed job payload")
        raws.add(d["args"]["raw_payload"])
        validate("job", {key: v for key, v in d.items() if key != "died_at"})
    assert raws == {p.decode("utf-8", "replace") for p in POISON}
    assert_clean(r, ns, "p")


# 10 ------------------------------------------------------------------------------------
# A Redis restart under Go and Python pools, and stray jobs compared with what a Go pool
# leaves: tests/interop/test_go_proofs.py.


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_python_pool_modes_and_middleware_in_subprocess(harness: Harness, redis_url: str, ns: str, mode: str) -> None:
    enq = Enqueuer(redis_url, ns)
    ids = {enq.enqueue("m", {"i": i}).id for i in range(20)}
    cfg = {"concurrency": 5, "mode": mode, "middleware": True, "jobs": {"m": {"behavior": {"kind": "succeed"}}}}
    with harness.start_python_worker(cfg) as py:
        py.wait_jobs(20, timeout=20)
        assert {e["id"] for e in py.events("job_start")} == ids
        assert {e["id"] for e in py.events("middleware")} == ids
        py.stop()


def test_python_worker_clears_go_unique_key_with_big_int(harness: Harness, redis_url: str, ns: str,
                                                         r: redis.Redis) -> None:
    """Go enqueues a unique job whose args hold an int64 beyond 2**53 (the key has its exact
    digits). A Go v0.5.1 worker recomputes the key from float64 args and misses it; the
    Python worker keeps the integer exact and deletes the right key."""
    args = {"account": 9007199254740993}
    (resp,) = harness.enqueue([{"method": "EnqueueUnique", "name": "bigu", "args": args, "args_int": True}])
    assert resp["job"] is not None
    ukey = Keys(ns).unique("bigu", args)
    assert r.exists(ukey) == 1, "our key bytes equal the Go enqueuer's"
    seen: list[Job] = []
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("bigu", seen.append)
    with running(pool):
        until(lambda: seen, what="the unique job")
    assert seen[0].args == args
    assert r.exists(ukey) == 0
