"""The web UI's single-job actions race a real Go pool: deleting queued jobs while Go
workers fetch them, and running retry / scheduled jobs now while Go's requeuer moves
them. Every job ends exactly once: run by Go or deleted by us (never both, never
neither), run once whoever moved it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from gowork_compat.client import Client, JobNotFound
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from tests.interop.harness import Harness
from tests.interop.test_client_interop import until

pytestmark = pytest.mark.interop

N = 120


def attempt(fn: object, *args: object) -> bool:
    try:
        fn(*args)  # type: ignore[operator]
    except JobNotFound:
        return False
    return True


def test_deleting_queued_jobs_while_go_fetches_them(harness: Harness, redis_url: str, ns: str,
                                                    r: redis.Redis) -> None:
    k = Keys(ns)
    ids = [f"q{i}" for i in range(N)]
    r.sadd(k.known_jobs, "race")
    r.lpush(k.jobs("race"), *[Job(name="race", id=i, enqueued_at=int(time.time()), args={"i": i}).encode()
                              for i in ids])
    client = Client(redis_url, ns)
    with harness.start_worker({"concurrency": 4, "jobs": {"race": {"behavior": {"kind": "sleep", "sleep_ms": 2}}}}) \
            as w, ThreadPoolExecutor(4) as pool:
        deleted = dict(zip(ids, pool.map(lambda i: attempt(client.delete_queued_job, "race", i), ids),
                           strict=True))
        until(lambda: r.llen(k.jobs("race")) == 0 and not r.keys(k.prefix + "jobs:race:*:inprogress"),
              what="the queue to drain")
        until(lambda: len(w.events("job_end")) == sum(not d for d in deleted.values()), what="Go's runs")
    ran = [e["id"] for e in w.events("job_start")]
    assert len(ran) == len(set(ran))  # none twice
    assert sorted(ran) == sorted(i for i, d in deleted.items() if not d)  # each either run or deleted


@pytest.mark.parametrize("where", ["retry", "scheduled"])
def test_running_jobs_now_while_go_requeues_them(harness: Harness, redis_url: str, ns: str, r: redis.Redis,
                                                 where: str) -> None:
    k = Keys(ns)
    now = int(time.time())
    ids = [f"{where[0]}{i}" for i in range(N)]
    zset = k.retry if where == "retry" else k.scheduled
    r.sadd(k.known_jobs, "race")
    client = Client(redis_url, ns)
    action = client.run_retry_job_now if where == "retry" else client.enqueue_scheduled_job_now
    with harness.start_worker({"concurrency": 4, "jobs": {"race": {"behavior": {"kind": "succeed"}}}}) as w, \
            ThreadPoolExecutor(2) as pool:
        until(lambda: r.exists(k.heartbeat(w.wait_started()["pool_id"])), what="Go's pool")
        r.zadd(zset, {Job(name="race", id=i, enqueued_at=now, args={"i": i}).encode(): now - 1 for i in ids})

        def act(i: str) -> bool:  # spread over ~1.5 s: Go's requeuer (a pass a second) takes its share
            time.sleep(0.025)
            return attempt(action, now - 1, i)

        moved = list(pool.map(act, ids))
        until(lambda: len(w.events("job_end")) >= N and r.zcard(zset) == 0 and r.llen(k.jobs("race")) == 0,
              what="every job to run")
        time.sleep(0.5)  # a job run twice would show now
        ran = [e["id"] for e in w.events("job_start")]
    assert sorted(ran) == sorted(ids)  # each exactly once, whoever moved it
    assert 0 <= sum(moved) <= N
