"""The Python WorkerPool on its own (the interop suite runs it beside Go)."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import redis

from gowork_compat.enqueuer import AsyncEnqueuer, Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from gowork_compat.sampler import PrioritySampler
from gowork_compat.worker import JobOptions, default_backoff
from tests.conftest import until as _until


def until(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    return _until(pred, timeout, what)


def test_options_are_validated_at_registration(redis_url: str, ns: str) -> None:
    pool = WorkerPool(redis_url, ns)
    with pytest.raises(ValueError, match="priority"):
        pool.job("x", lambda j: None, priority=100_001)
    with pytest.raises(ValueError, match="max_concurrency"):
        pool.job("x", lambda j: None, max_concurrency=-1)
    with pytest.raises(TypeError, match="takes"):
        pool.job("x", lambda a, b, c: None)
    with pytest.raises(ValueError, match=r"^job name must be a non-empty str"):
        pool.job("", lambda j: None)
    with pytest.raises(ValueError, match=r"^concurrency must be a positive int, got 0"):
        WorkerPool(redis_url, ns, 0)
    with pytest.raises(ValueError, match=r"^Expected 5 to 6 fields, found 3: not a spec"):
        pool.periodically_enqueue("not a spec", "x")
    assert JobOptions(priority=0, max_fails=0).validated() == JobOptions(priority=1, max_fails=4)


def test_sampler_follows_priorities() -> None:
    s: PrioritySampler[str] = PrioritySampler(random.Random(7))
    for prio, name in ((1, "low"), (9, "high")):
        s.add(prio, name)
    firsts = Counter(s.sample()[0] for _ in range(20_000))
    assert 0.87 < firsts["high"] / 20_000 < 0.93
    assert sorted(s.sample()) == ["high", "low"]


def test_default_backoff_formula() -> None:
    job = Job(name="x", id="i", enqueued_at=0, args=None, fails=2)
    values = {default_backoff(job, random.Random(seed)) for seed in range(200)}
    assert min(values) >= 16 + 15 and max(values) <= 16 + 15 + 29 * 3
    assert all((v - 31) % 3 == 0 for v in values)


def test_sync_and_async_handlers_with_context_and_middleware(redis_url: str, ns: str) -> None:
    order: list[str] = []
    lock = threading.Lock()

    class Ctx:
        def __init__(self) -> None:
            self.seen: list[str] = []

    def log(x: str) -> None:
        with lock:
            order.append(x)

    def mw_sync(ctx: Ctx, job: Job, nxt: Any) -> Any:
        ctx.seen.append("sync-mw")
        return nxt()

    async def mw_async(job: Job, nxt: Any) -> None:
        await nxt()

    def handler(ctx: Ctx, job: Job) -> None:
        log(f"sync:{job.args['i'] if job.args else ''}:{','.join(ctx.seen)}")

    async def ahandler(job: Job) -> None:
        await asyncio.sleep(0)
        log(f"async:{job.args['i'] if job.args else ''}")

    pool = WorkerPool(redis_url, ns, 3, context=Ctx)
    pool.middleware(mw_sync)
    pool.middleware(mw_async)
    pool.job("s", handler)
    pool.job("a", ahandler)
    enq = Enqueuer(redis_url, ns)
    for i in range(5):
        enq.enqueue("s", {"i": i})
        enq.enqueue("a", {"i": i})
    pool.start()
    try:
        pool.drain()
    finally:
        pool.stop()
    assert sorted(order) == sorted([f"sync:{i}:sync-mw" for i in range(5)] + [f"async:{i}" for i in range(5)])


def test_failures_retry_then_dead_and_skip_dead(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)

    def fail(job: Job) -> None:
        raise KeyError("missing thing")

    pool = WorkerPool(redis_url, ns, 2)
    pool.job("retry_me", fail, max_fails=3, backoff=lambda j: 1000)
    pool.job("dead_me", fail, max_fails=1)
    pool.job("drop_me", fail, max_fails=1, skip_dead=True)
    enq = Enqueuer(redis_url, ns)
    for n in ("retry_me", "dead_me", "drop_me"):
        enq.enqueue(n, {"n": n})
    pool.start()
    try:
        pool.drain()
    finally:
        pool.stop()
    (retry_raw, score), = r.zrange(k.retry, 0, -1, withscores=True)
    retry = json.loads(retry_raw)
    assert retry["name"] == "retry_me" and retry["fails"] == 1 and retry["err"] == "KeyError: missing thing"
    assert score == retry["failed_at"] + 1000
    (dead_raw,) = r.zrange(k.dead, 0, -1)
    assert json.loads(dead_raw)["name"] == "dead_me"
    assert r.llen(k.jobs("drop_me")) == 0
    assert int(r.get(k.lock("retry_me")) or 0) == 0


def test_pool_registers_in_redis_and_cleans_up(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    pool = WorkerPool(redis_url, ns, 2)
    pool.job("b", lambda j: None, max_concurrency=3)
    pool.job("a", lambda j: None)
    pool.start()
    try:
        assert r.smembers(k.worker_pools) == {pool.pool_id.encode()}
        hb = {x.decode(): y.decode() for x, y in r.hgetall(k.heartbeat(pool.pool_id)).items()}
        assert hb["job_names"] == "a,b" and hb["concurrency"] == "2"
        assert hb["worker_ids"] == ",".join(sorted(pool.worker_ids))
        assert r.get(k.max_concurrency("b")) == b"3" and r.get(k.max_concurrency("a")) == b"0"
        assert r.smembers(k.known_jobs) == {b"a", b"b"}
    finally:
        pool.stop()
    assert r.smembers(k.worker_pools) == set()
    assert not r.exists(k.heartbeat(pool.pool_id))


def test_stop_leaves_unfinished_job_for_a_reaper(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    release = threading.Event()

    def stuck(job: Job) -> None:
        release.wait(10)

    pool = WorkerPool(redis_url, ns, 1)
    pool.job("stuck", stuck)
    job = Enqueuer(redis_url, ns).enqueue("stuck", {})
    pool.start()
    until(lambda: r.llen(k.in_progress(pool.pool_id, "stuck")) == 1)
    t0 = time.monotonic()
    pool.stop(grace_period=0.5)
    assert time.monotonic() - t0 < 3
    release.set()
    assert r.lrange(k.in_progress(pool.pool_id, "stuck"), 0, -1) == [job.encode()]
    assert r.sismember(k.worker_pools, pool.pool_id), "heartbeat kept so a reaper finds the job"
    assert r.hget(k.heartbeat(pool.pool_id), "job_names") == b"stuck"
    # a second pool's reaper (once the heartbeat is stale) puts the job back and runs it
    r.hset(k.heartbeat(pool.pool_id), "heartbeat_at", int(time.time()) - 60)
    ran: list[str] = []
    other = WorkerPool(redis_url, ns, 1, first_reap=0.1)
    other.job("stuck", lambda j: ran.append(j.id))
    other.start()
    try:
        until(lambda: ran == [job.id])
    finally:
        other.stop()
    assert int(r.get(k.lock("stuck")) or 0) == 0


def test_async_front_end(redis_url: str, ns: str) -> None:
    seen: list[int] = []

    async def h(job: Job) -> None:
        seen.append(job.arg_int("i"))

    async def main() -> None:
        pool = WorkerPool(redis_url, ns, 4)
        pool.job("x", h)
        enq = AsyncEnqueuer(redis_url, ns)
        async with pool:
            await asyncio.gather(*(enq.enqueue("x", {"i": i}) for i in range(50)))
            await pool.adrain()
        await enq.aclose()

    asyncio.run(main())
    assert sorted(seen) == list(range(50))


def test_periodic_enqueuer_places_fire_times(redis_url: str, ns: str, r: redis.Redis) -> None:
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("cron", lambda j: None)
    pool.periodically_enqueue("0 */1 * * * *", "cron")  # v0.5.1 dialect: every minute at second 0
    pool.start()
    try:
        until(lambda: r.get(Keys(ns).last_periodic_enqueue))  # SET after the pass's ZADDs: all written
        members = r.zrange(Keys(ns).scheduled, 0, -1, withscores=True)
    finally:
        pool.stop()
    assert 4 <= len(members) <= 5
    for raw, score in members:
        j = json.loads(raw)
        assert j == {"name": "cron", "id": f"periodic:cron:0 */1 * * * *:{int(score)}", "t": int(score), "args": None}
        assert int(score) % 60 == 0
    assert r.get(Keys(ns).last_periodic_enqueue) is not None


def test_redis_down_at_start_raises(ns: str) -> None:
    from tests.conftest import free_port
    pool = WorkerPool(f"redis://127.0.0.1:{free_port()}/0", ns)
    pool.job("x", lambda j: None)
    with pytest.raises(redis.exceptions.ConnectionError, match=r"^Error 111 connecting to 127\.0\.0\.1:"):
        pool.start()


def test_stop_returns_when_redis_is_gone(private_redis_server: Any, ns: str) -> None:
    """A pool whose Redis vanished mid-job still stops, within about twice its grace period;
    the unacknowledged job stays in Redis's in-progress list (for a reaper)."""
    started, release = threading.Event(), threading.Event()

    def handler(job: Job) -> None:
        started.set()
        release.wait(10)

    pool = WorkerPool(private_redis_server.url, ns, 2)
    pool.job("x", handler)
    Enqueuer(private_redis_server.url, ns).enqueue("x", {})
    pool.start()
    assert started.wait(10)
    private_redis_server.stop()
    release.set()
    t0 = time.monotonic()
    pool.stop(grace_period=0.5)
    assert 0.9 < time.monotonic() - t0 < 10


def test_idle_pool_wakes_on_enqueue(redis_url: str, ns: str, r: redis.Redis) -> None:
    """After its idle sleeps reached 5 s, the pool still picks a new job up at once: it
    blocks on the empty queues instead of polling. The blocking command (BLMOVE q q) leaves
    a list exactly as it was, and a non-empty paused queue is not watched (no busy loop)."""
    k = Keys(ns)
    got = threading.Event()
    pool = WorkerPool(redis_url, ns, 4)
    pool.job("a", lambda j: None)
    pool.job("b", lambda j: got.set())
    clients_before = len(r.client_list())
    pool.start()
    try:
        time.sleep(1.5)  # idle: the fetch backoff is at its 5 s step by now
        blocked = [c for c in r.client_list() if c["cmd"] == "blmove" and c["flags"] == "b"]
        assert len(blocked) == 2
        t0 = time.monotonic()
        Enqueuer(redis_url, ns).enqueue("b", {})
        assert got.wait(2.0)
        assert time.monotonic() - t0 < 0.5
        r.set(k.paused("a"), 1)
        r.lpush(k.jobs("a"), b"j1", b"j2", b"j3")
        before = r.info("commandstats").get("cmdstat_blmove", {}).get("calls", 0)
        time.sleep(1.0)
        after = r.info("commandstats").get("cmdstat_blmove", {}).get("calls", 0)
        assert after - before <= 2, "a paused, non-empty queue must not be watched"
        assert r.lrange(k.jobs("a"), 0, -1) == [b"j3", b"j2", b"j1"]
    finally:
        pool.stop()
    assert len(r.client_list()) == clients_before, "a stopped pool leaves no connection open"


def test_requeuer_keeps_known_names_and_buries_garbage(redis_url: str, ns: str, r: redis.Redis) -> None:
    """Beyond Go's requeuer: a due job of a name in known_jobs goes to its queue (Go's sends
    it dead unless its own pool handles it), and a member that is not a job goes dead with
    its bytes kept instead of failing the script every second."""
    k = Keys(ns)
    r.sadd(k.known_jobs, "other")
    past = int(time.time()) - 5
    other = Job(name="other", id="0123456789abcdef01234567", enqueued_at=past, args={"x": 1})
    ghost = Job(name="ghost", id="1123456789abcdef01234567", enqueued_at=past, args=None)
    r.zadd(k.scheduled, {b"not json": past - 1, other.encode(): past, ghost.encode(): past + 1})
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("mine", lambda j: None)
    pool.start()
    try:
        until(lambda: r.zcard(k.scheduled) == 0 and r.zcard(k.dead) == 2)
    finally:
        pool.stop()
    (moved,) = r.lrange(k.jobs("other"), 0, -1)
    assert json.loads(moved)["id"] == other.id and json.loads(moved)["t"] >= past + 5
    dead = sorted((json.loads(m) for m in r.zrange(k.dead, 0, -1)), key=lambda d: d["id"])
    assert dead[0]["id"] == ghost.id and dead[0]["err"] == "unknown job when requeueing"
    assert dead[1]["args"] == {"raw_payload": "not json"} and dead[1]["err"].startswith("malformed job payload")


def test_reaper_requeues_jobs_of_a_dead_pool_without_heartbeat(redis_url: str, ns: str, r: redis.Redis) -> None:
    """Go's reaper only cleans locks when a dead pool's heartbeat hash is gone; ours also
    puts its in-progress jobs back (for names in known_jobs or its own)."""
    k = Keys(ns)
    dead_pool = "ffffffffffffffffffffffff"
    job = Job(name="k", id="2123456789abcdef01234567", enqueued_at=1, args={})
    r.sadd(k.worker_pools, dead_pool)
    r.sadd(k.known_jobs, "k")
    r.lpush(k.in_progress(dead_pool, "k"), job.encode())
    r.set(k.lock("k"), 1)
    r.hset(k.lock_info("k"), dead_pool, 1)
    ran: list[str] = []
    pool = WorkerPool(redis_url, ns, 1, first_reap=0.1)
    pool.job("k", lambda j: ran.append(j.id))
    pool.start()
    try:
        until(lambda: ran == [job.id])
    finally:
        pool.stop()
    assert not r.sismember(k.worker_pools, dead_pool)
    assert r.llen(k.in_progress(dead_pool, "k")) == 0
    assert int(r.get(k.lock("k")) or 0) == 0 and r.hget(k.lock_info("k"), dead_pool) is None
