"""Differential tests: gowork_compat's Client against Go's work.Client (v0.5.1) on the
same Redis state, built by both languages.

Views: Python's ``to_json()`` must equal what Go's client returns, field by field.
Actions: each action runs once with Go and once with Python from the same snapshot of the
namespace (DUMP/RESTORE); the namespace contents afterwards must be byte-identical. The
Python client is given Go's clock second, so even rewritten jobs (cjson) must match.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis

from gowork_compat.client import Client, JobNotFound
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from tests.conftest import until as _until
from tests.interop.harness import Harness


def until(pred: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    return _until(pred, timeout, what)

pytestmark = pytest.mark.interop

#: args that stress re-encoding: HTML characters, escapes, unicode, floats, nesting, "/"
ARGS: list[dict[str, Any]] = [
    {"to": "a<b>&c@example.com", "path": "/x/y", "n": 7},
    {"ratio": 0.1, "big": 1e21, "neg": -3, "nested": {"l": [1, "two", None, True, {}], "e": []}},
    {"text": "héllo \u2028 𝄞 \"quoted\" \\ \t", "empty": ""},
]


# -- namespace snapshots --------------------------------------------------------------------
def ns_keys(r: redis.Redis, ns: str) -> list[bytes]:
    return sorted(r.scan_iter(match=Keys(ns).prefix.replace("[", "\\[") + "*", count=1000))


def snapshot(r: redis.Redis, ns: str) -> dict[bytes, tuple[bytes, int]]:
    out: dict[bytes, tuple[bytes, int]] = {}
    for key in ns_keys(r, ns):
        dumped = r.dump(key)
        if dumped is not None:
            out[key] = (dumped, max(0, int(r.pttl(key))))
    return out


def restore(r: redis.Redis, ns: str, snap: dict[bytes, tuple[bytes, int]]) -> None:
    keys = ns_keys(r, ns)
    if keys:
        r.delete(*keys)
    for key, (dumped, ttl) in snap.items():
        r.restore(key, ttl, dumped, replace=True)


def contents(r: redis.Redis, ns: str) -> dict[bytes, Any]:
    """Every key of the namespace with its exact contents (and whether it expires)."""
    out: dict[bytes, Any] = {}
    for key in ns_keys(r, ns):
        kind = r.type(key)
        value: Any
        if kind == b"string":
            value = r.get(key)
        elif kind == b"list":
            value = r.lrange(key, 0, -1)
        elif kind == b"set":
            value = sorted(r.smembers(key))
        elif kind == b"zset":
            value = r.zrange(key, 0, -1, withscores=True)
        elif kind == b"hash":
            value = sorted(r.hgetall(key).items())
        else:
            value = kind
        out[key] = (kind, value, r.ttl(key) > 0)
    return out


# -- state built by both languages ---------------------------------------------------------------
GO_JOBS = {
    "g_dead": {"max_fails": 1, "behavior": {"kind": "fail"}},
    "g_orphan": {"max_fails": 1, "behavior": {"kind": "fail"}},
    "g_retry": {"max_fails": 5, "behavior": {"kind": "fail"}},
    "g_sleep": {"behavior": {"kind": "sleep", "sleep_ms": 60_000}},
}


@contextmanager
def busy_state(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> Iterator[dict[str, Any]]:
    """Dead, retry, scheduled and queued jobs from Go and Python, with a Go pool and a
    Python pool each running a job, kept alive for the duration of the block."""
    k = Keys(ns)
    calls = [{"method": "Enqueue", "name": name, "args": a} for name in ("g_dead", "g_retry") for a in ARGS]
    calls += [{"method": "Enqueue", "name": "g_orphan", "args": ARGS[0]},
              {"method": "Enqueue", "name": "g_sleep", "args": {"s": 1}},
              {"method": "Enqueue", "name": "g_wait", "args": ARGS[1]},
              {"method": "Enqueue", "name": "g_wait", "args": ARGS[2]}]
    harness.enqueue(calls)
    enq = Enqueuer(redis_url, ns)
    scheduled = [enq.enqueue_in("py_later", 300 + i, ARGS[i % 3]) for i in range(23)]
    unique = enq.enqueue_unique_in("py_unique", 600, {"user": 5, "path": "/a&b"})
    enq.enqueue("py_wait", ARGS[0])
    enq.enqueue("py_sleep", {"who": "python"})
    gate = threading.Event()
    started = threading.Event()

    def py_sleep(job: Job) -> None:
        job.checkin("python is halfway")
        started.set()
        gate.wait(30)

    pool = WorkerPool(redis_url, ns, concurrency=2)
    pool.job("py_sleep", py_sleep)
    pool.job("py_other", lambda j: None)
    try:
        with harness.start_worker({"concurrency": 3, "jobs": GO_JOBS}) as w:
            until(lambda: r.zcard(k.dead) == 4 and r.zcard(k.retry) == 3, what="Go's dead and retry jobs")
            w.wait_for(lambda e: e.get("event") == "job_start" and e.get("name") == "g_sleep")
            pool.start()
            assert started.wait(15)
            # Go's observer clears a finished job's observation a moment later: let it settle
            c = Client(redis_url, ns)
            until(lambda: sorted((o.job_name, bool(o.checkin)) for o in c.worker_observations() if o.is_busy)
                  == [("g_sleep", False), ("py_sleep", True)], what="only the sleeping jobs busy")
            try:
                yield {"scheduled": scheduled, "unique": unique, "go_worker": w, "pool": pool}
            finally:
                w.kill()
    finally:
        gate.set()
        pool.stop(grace_period=5)


def settled(py: Callable[[], Any], go: Callable[[], Any], tries: int = 6) -> tuple[Any, Any]:
    """(python, go) views read back to back; heartbeats and latencies move with the clock,
    so a Go answer equal to either Python read around it counts."""
    before = after = go_view = None
    for _ in range(tries):
        before = py()
        go_view = go()
        after = py()
        if go_view in (before, after):
            return go_view, go_view
        time.sleep(0.3)
    return after, go_view


def go_call(harness: Harness, op: str, **args: Any) -> dict[str, Any]:
    resp = harness.client(op, **args)
    assert not resp.get("error"), f"Go's {op} failed: {resp.get('error')}"
    return resp


def test_views_equal_go_client(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    c = Client(redis_url, ns)
    with busy_state(harness, redis_url, ns, r):
        py, go = settled(lambda: [h.to_json() for h in c.worker_pool_heartbeats()],
                         lambda: go_call(harness, "WorkerPoolHeartbeats")["result"])
        assert py == go and len(go) == 2

        def busy(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [v for v in views if v["is_busy"]]

        py, go = settled(lambda: [o.to_json() for o in c.worker_observations()],
                         lambda: go_call(harness, "WorkerObservations")["result"])
        assert py == go and len(go) == 5
        assert sorted(o["job_name"] for o in busy(go)) == ["g_sleep", "py_sleep"]

        py, go = settled(lambda: [q.to_json() for q in c.queues()],
                         lambda: go_call(harness, "Queues")["result"])
        assert py == go
        assert {q["job_name"] for q in go} >= {"g_dead", "g_wait", "py_later", "py_wait", "py_unique"}

        for op, view in (("ScheduledJobs", c.scheduled_jobs), ("RetryJobs", c.retry_jobs),
                         ("DeadJobs", c.dead_jobs)):
            for page in (0, 1, 2, 3):
                jobs, count = view(page)
                resp = go_call(harness, op, page=page)
                assert [j.to_json() for j in jobs] == (resp["result"] or []), (op, page)
                assert count == resp["count"], (op, page)
        assert c.scheduled_jobs(2)[1] == 24 and len(c.scheduled_jobs(2)[0]) == 4


# -- actions ---------------------------------------------------------------------------------------
Action = Callable[[Client], Any]


def run_both(harness: Harness, r: redis.Redis, redis_url: str, ns: str, snap: dict[bytes, tuple[bytes, int]],
             op: str, args: dict[str, Any], action: Action) -> tuple[str | None, dict[bytes, Any]]:
    """Run Go's ``op`` and Python's ``action`` from ``snap``; assert equal outcomes."""
    go_now = 0
    go_resp: dict[str, Any] = {}
    for _ in range(5):
        restore(r, ns, snap)
        t0 = int(time.time())
        go_resp = harness.client(op, **args)
        if int(time.time()) == t0:
            go_now = t0
            break
    assert go_now, "could not run Go's action within one clock second"
    go_after = contents(r, ns)

    restore(r, ns, snap)
    py_error: str | None = None
    try:
        action(Client(redis_url, ns, clock=lambda: go_now + 0.5))
    except JobNotFound as exc:
        py_error = str(exc)
    py_after = contents(r, ns)
    assert (go_resp.get("error") or None) == py_error, op
    assert py_after == go_after, op
    return py_error, py_after


def test_actions_leave_the_same_redis_state_as_go(harness: Harness, redis_url: str, ns: str,
                                                  r: redis.Redis) -> None:
    k = Keys(ns)
    with busy_state(harness, redis_url, ns, r) as st:
        pass  # pools gone: from here on the namespace only changes by the actions
    c = Client(redis_url, ns)
    # an orphan: a dead job whose name no longer is a known job
    r.srem(k.known_jobs, "g_orphan")
    # two dead jobs with one score, to exercise the score + id match
    dead, _ = c.dead_jobs(1)
    twin = Job(name="g_dead", id="twin0000000000000000000", enqueued_at=dead[0].job.enqueued_at,
               args={"twin": True}, fails=1, last_err="made by the test", failed_at=dead[0].died_at)
    r.zadd(k.dead, {twin.encode(): dead[0].died_at})
    snap = snapshot(r, ns)

    dead, _ = c.dead_jobs(1)
    retry, _ = c.retry_jobs(1)
    sched, _ = c.scheduled_jobs(1)
    orphan = next(d for d in dead if d.job.name == "g_orphan")
    known = next(d for d in dead if d.job.name == "g_dead")
    unique = st["unique"]
    assert unique is not None and r.exists(k.unique("py_unique", unique.job.args))
    plain = sched[0]

    cases: list[tuple[str, dict[str, Any], Action]] = [
        ("DeleteDeadJob", {"died_at": known.died_at, "job_id": known.job.id},
         lambda cl: cl.delete_dead_job(known.died_at, known.job.id)),
        ("DeleteDeadJob", {"died_at": known.died_at + 1, "job_id": known.job.id},
         lambda cl: cl.delete_dead_job(known.died_at + 1, known.job.id)),
        ("RetryDeadJob", {"died_at": known.died_at, "job_id": known.job.id},
         lambda cl: cl.retry_dead_job(known.died_at, known.job.id)),
        ("RetryDeadJob", {"died_at": twin.failed_at, "job_id": twin.id},
         lambda cl: cl.retry_dead_job(twin.failed_at, twin.id)),
        ("RetryDeadJob", {"died_at": orphan.died_at, "job_id": orphan.job.id},
         lambda cl: cl.retry_dead_job(orphan.died_at, orphan.job.id)),
        ("RetryDeadJob", {"died_at": 1, "job_id": "nope"}, lambda cl: cl.retry_dead_job(1, "nope")),
        ("RetryAllDeadJobs", {}, lambda cl: cl.retry_all_dead_jobs()),
        ("DeleteAllDeadJobs", {}, lambda cl: cl.delete_all_dead_jobs()),
        ("DeleteScheduledJob", {"scheduled_for": unique.run_at, "job_id": unique.job.id},
         lambda cl: cl.delete_scheduled_job(unique.run_at, unique.job.id)),
        ("DeleteScheduledJob", {"scheduled_for": plain.run_at, "job_id": plain.job.id},
         lambda cl: cl.delete_scheduled_job(plain.run_at, plain.job.id)),
        ("DeleteScheduledJob", {"scheduled_for": plain.run_at, "job_id": "nope"},
         lambda cl: cl.delete_scheduled_job(plain.run_at, "nope")),
        ("DeleteRetryJob", {"retry_at": retry[0].retry_at, "job_id": retry[0].job.id},
         lambda cl: cl.delete_retry_job(retry[0].retry_at, retry[0].job.id)),
        ("DeleteRetryJob", {"retry_at": retry[0].retry_at, "job_id": "nope"},
         lambda cl: cl.delete_retry_job(retry[0].retry_at, "nope")),
    ]
    outcomes = {}
    for i, (op, args, action) in enumerate(cases):
        outcomes[i] = run_both(harness, r, redis_url, ns, snap, op, args, action)

    # the cases did what they are about (not just "both did nothing")
    assert outcomes[0][0] is None and outcomes[1][0] == "nothing deleted"
    assert outcomes[2][0] is None and outcomes[3][0] is None
    assert outcomes[4][0] == "nothing retried" and outcomes[5][0] == "nothing retried"
    after_all = outcomes[6][1]
    ((orphan_raw, _score),) = after_all[k.dead.encode()][1]  # only the orphan stays dead
    assert Job.decode(orphan_raw).last_err == "unknown job when requeueing"
    assert k.unique("py_unique", unique.job.args).encode() not in outcomes[8][1]
    assert outcomes[9][0] is None and outcomes[10][0] == "nothing deleted"
    assert outcomes[11][0] is None and outcomes[12][0] == "nothing deleted"
