"""Stranded in-progress lists (issue 8): lists of pools that are in no set -- a Go pool that
dropped a failed acknowledgement and then stopped -- are found and requeued by our reaper,
a dead-pool window after they were first seen; a live pool's list is never touched."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio as aredis

from gowork_compat.heartbeat import DEAD_AFTER
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from gowork_compat.reaper import Reaper, Stranded, find_stranded, parse_in_progress_key, requeue_stranded
from tests.conftest import until as _until

GONE = "eeeeeeeeeeeeeeeeeeeeeeee"


def until(pred: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    return _until(pred, timeout, what)


def strand(r: redis.Redis, k: Keys, name: str, pool_id: str, jobs: list[Job], other_lock: int = 0) -> None:
    """The state a Go pool leaves when its acknowledgement fails and it then stops: jobs in its
    in-progress list, lock and lock_info raised, the pool in no set."""
    r.sadd(k.known_jobs, name)
    for j in jobs:
        r.lpush(k.in_progress(pool_id, name), j.encode())
    r.set(k.lock(name), len(jobs) + other_lock)
    r.hset(k.lock_info(name), pool_id, len(jobs))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _with_client(url: str, fn: Callable[[aredis.Redis], Any]) -> Any:
    client = aredis.Redis.from_url(url)
    try:
        return await fn(client)
    finally:
        await client.aclose()


def test_python_pool_requeues_a_stranded_list_and_the_job_runs_once_more(redis_url: str, ns: str,
                                                                         r: redis.Redis) -> None:
    k = Keys(ns)
    job = Job(name="st", id="3123456789abcdef01234567", enqueued_at=1, args={"a": 1})
    strand(r, k, "st", GONE, [job])
    ran: list[str] = []
    pool = WorkerPool(redis_url, ns, 1, first_reap=0.2, reap_period=0.5)
    pool.job("st", lambda j: ran.append(j.id))
    pool.start()
    try:
        until(lambda: ran == [job.id], timeout=DEAD_AFTER + 20, what="the stranded job to run again")
        until(lambda: int(r.get(k.lock("st")) or 0) == 0, what="lock back to 0")
    finally:
        pool.stop()
    assert ran == [job.id]
    assert r.llen(k.in_progress(GONE, "st")) == 0
    assert r.hget(k.lock_info("st"), GONE) is None


def test_reaper_waits_a_dead_pool_window_and_never_touches_a_live_pool(redis_url: str, ns: str,
                                                                       r: redis.Redis) -> None:
    k = Keys(ns)
    live_member, live_beat = "a" * 24, "b" * 24
    jobs = [Job(name="w", id=f"4{i:023d}", enqueued_at=1, args={}) for i in range(3)]
    strand(r, k, "w", GONE, jobs[:1], other_lock=2)
    strand(r, k, "w", live_member, jobs[1:2])
    strand(r, k, "w", live_beat, jobs[2:3])
    r.set(k.lock("w"), 3)
    r.sadd(k.worker_pools, live_member)  # a live pool in worker_pools (its heartbeat is the dead-pool pass's)
    now = int(time.time())
    # heartbeats fresh until the last pass below
    r.hset(k.heartbeat(live_member), mapping={"heartbeat_at": now + DEAD_AFTER, "job_names": "w"})
    r.hset(k.heartbeat(live_beat), mapping={"heartbeat_at": now + DEAD_AFTER})  # not (yet) in the set
    reaper = Reaper(k, "c" * 24, ["w"])

    async def go(client: aredis.Redis) -> list[Any]:
        first = await reaper.reap(client, now)
        too_soon = await reaper.reap(client, now + DEAD_AFTER - 1)
        later = await reaper.reap(client, now + DEAD_AFTER)
        return [first, too_soon, later]

    first, too_soon, later = run(_with_client(redis_url, go))
    assert first.stranded == {} and too_soon.stranded == {}
    assert later.stranded == {f"w@{GONE}": 1} and later.stranded_locks_released == 1
    assert r.lrange(k.jobs("w"), 0, -1) == [jobs[0].encode()]
    assert r.llen(k.in_progress(live_member, "w")) == 1 and r.llen(k.in_progress(live_beat, "w")) == 1
    assert int(r.get(k.lock("w")) or 0) == 2
    assert r.hget(k.lock_info("w"), live_member) == b"1" and r.hget(k.lock_info("w"), live_beat) == b"1"

    # the script itself re-checks: a pool that joined worker_pools since it was found is left alone
    strand(r, k, "w", GONE, jobs[:1], other_lock=2)
    r.sadd(k.worker_pools, GONE)
    res = run(_with_client(redis_url, lambda c: requeue_stranded(c, k, Stranded("w", GONE), now + 100)))
    assert res is None and r.llen(k.in_progress(GONE, "w")) == 1
    # ... as is one whose heartbeat is fresh
    r.srem(k.worker_pools, GONE)
    r.hset(k.heartbeat(GONE), mapping={"heartbeat_at": now + 100})
    res = run(_with_client(redis_url, lambda c: requeue_stranded(c, k, Stranded("w", GONE), now + 100)))
    assert res is None and r.llen(k.in_progress(GONE, "w")) == 1
    # once stale: requeued, lock back to what the others hold
    res = run(_with_client(redis_url, lambda c: requeue_stranded(c, k, Stranded("w", GONE), now + 100 + DEAD_AFTER)))
    assert res == (1, 1) and int(r.get(k.lock("w")) or 0) == 2


def test_lock_never_below_zero_and_others_counts_kept(redis_url: str, ns: str, r: redis.Redis) -> None:
    """A stranded pool whose lock_info says it holds nothing takes no count from others."""
    k = Keys(ns)
    job = Job(name="z", id="5123456789abcdef01234567", enqueued_at=1, args={})
    strand(r, k, "z", GONE, [job])
    r.hset(k.lock_info("z"), GONE, 0)
    r.set(k.lock("z"), 1)
    r.hset(k.lock_info("z"), "d" * 24, 1)
    r.sadd(k.worker_pools, "d" * 24)  # a live pool holding one count
    r.hset(k.heartbeat("d" * 24), mapping={"heartbeat_at": int(time.time()) + 60})
    res = run(_with_client(redis_url, lambda c: requeue_stranded(c, k, Stranded("z", GONE))))
    assert res == (1, 0)
    assert int(r.get(k.lock("z")) or 0) == 1 and r.llen(k.jobs("z")) == 1
    # a lock_info count alone (its list already empty) is found and given back, never below 0
    r.hset(k.lock_info("z"), GONE, 3)
    found, cursor = run(_with_client(redis_url, lambda c: find_stranded(c, k)))
    assert found == [Stranded("z", GONE)] and cursor == 0
    res = run(_with_client(redis_url, lambda c: requeue_stranded(c, k, Stranded("z", GONE))))
    assert res == (0, 3) and int(r.get(k.lock("z")) or 0) == 0 and r.hget(k.lock_info("z"), GONE) is None


def test_find_stranded_reads_keys_conservatively(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    known = {"a", "a:b", "q:x:inprogress"}
    assert parse_in_progress_key(k, k.in_progress("p1", "a:b"), known) == Stranded("a:b", "p1")
    assert parse_in_progress_key(k, k.in_progress("p1", "unknown"), known) is None
    # the queue of a job named "q:x:inprogress" is not pool x's in-progress list of "q"
    assert parse_in_progress_key(k, k.jobs("q:x:inprogress"), known | {"q"}) is None
    r.sadd(k.known_jobs, "a")
    r.lpush(k.in_progress(GONE, "a"), b"{}")
    r.lpush(Keys(ns + "-other").in_progress("f" * 24, "a"), b"{}")  # another namespace: not ours
    found, _ = run(_with_client(redis_url, lambda c: find_stranded(c, k, max_calls=1000, count=10)))
    assert found == [Stranded("a", GONE)]
    r.delete(Keys(ns + "-other").in_progress("f" * 24, "a"))
