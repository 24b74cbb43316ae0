"""The pool's hardening beyond Go (issue 8): one bad job never strands others or kills a
loop, liveness independent of handlers, job timeouts and cancellation, connection
options carried over, and a lifecycle whose stops always return."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from gowork_compat.worker import JobOptions
from tests.conftest import free_port
from tests.conftest import until as _until


def until(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    return _until(pred, timeout, what)


def _deep(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


# --------------------------------------------------------------------------- point 3

def test_one_unwritable_job_strands_no_other_job_of_its_batch(redis_url: str, ns: str, r: redis.Redis) -> None:
    """A batch of finished jobs where one failed job cannot be written back (its handler
    put a set into its args) and one has args nested to Go's limit: every job is
    acknowledged on its own, the unwritable one goes dead with the reason, the deep one
    is retried, nothing stays in progress, the lock is back to 0, and the pool's loops
    (fetcher, observer) keep working."""
    k = Keys(ns)
    gate = threading.Event()
    ran: list[int] = []

    def handler(job: Job) -> None:
        gate.wait(10)
        kind = job.args.get("kind") if job.args else None
        if kind == "unwritable":
            assert job.args is not None
            job.args["oops"] = {1, 2}
            raise RuntimeError("failed after spoiling its args")
        if kind == "deep":
            raise RuntimeError("deep failure")
        ran.append(int(job.args["i"]) if job.args else -1)

    enq = Enqueuer(redis_url, ns)
    enq.enqueue("mixed", {"kind": "unwritable"})
    deep_payload = (b'{"name":"mixed","id":"deepjob","t":1,"args":{"kind":"deep","a":'
                    + b"[" * 9_997 + b"]" * 9_997 + b"}}")  # 10,000 levels: Go reads it
    r.lpush(k.jobs("mixed"), deep_payload)
    for i in range(10):
        enq.enqueue("mixed", {"i": i})
    pool = WorkerPool(redis_url, ns, 16, fetch_batch=16)
    pool.job("mixed", handler, max_fails=3)
    pool.start()
    try:
        until(lambda: r.llen(k.in_progress(pool.pool_id, "mixed")) == 12, what="all fetched in one batch")
        gate.set()
        until(lambda: r.llen(k.in_progress(pool.pool_id, "mixed")) == 0 and r.zcard(k.dead) == 1
              and r.zcard(k.retry) == 1, what="every job acknowledged")
        assert sorted(ran) == list(range(10))
        assert int(r.get(k.lock("mixed")) or 0) == 0
        (dead,) = r.zrange(k.dead, 0, -1)
        dj = Job.decode(dead)
        assert dj.name == "mixed" and dj.fails == 1
        assert "failed after spoiling its args" in dj.last_err and "could not be written back" in dj.last_err
        (retry,) = r.zrange(k.retry, 0, -1)
        rj = Job.decode(retry)
        assert rj.id == "deepjob" and rj.fails == 1 and rj.last_err == "RuntimeError: deep failure"
        enq.enqueue("mixed", {"i": 99})  # the pool still fetches and runs
        until(lambda: 99 in ran)
    finally:
        gate.set()
        pool.stop()


def test_observer_survives_args_it_cannot_write(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    release = threading.Event()

    def handler(job: Job) -> None:
        if job.args and job.args.get("spoil"):
            job.args["bad"] = float("nan")
        release.wait(10)

    pool = WorkerPool(redis_url, ns, 2)
    pool.job("x", handler)
    enq = Enqueuer(redis_url, ns)
    pool.start()
    try:
        enq.enqueue("x", {"spoil": True})
        until(lambda: any(r.exists(k.worker_observation(w)) for w in pool.worker_ids))
        good = enq.enqueue("x", {"n": 1})

        def observed_good() -> bool:
            return any(r.hget(k.worker_observation(w), "job_id") == good.id.encode() for w in pool.worker_ids)
        until(observed_good, what="the observer still writes observations")
    finally:
        release.set()
        pool.stop()


# --------------------------------------------------------------------------- point 4

def test_heartbeat_beats_while_an_async_handler_blocks_the_loop(
        redis_url: str, ns: str, r: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    """Liveness does not depend on handlers: while an async handler blocks the event loop
    (longer than a heartbeat period), the heartbeat still advances, so no reaper, Go's or
    ours, takes this live pool for dead. The block is reported once per job name."""
    k = Keys(ns)
    started, release = threading.Event(), threading.Event()

    async def hog(job: Job) -> None:
        started.set()
        release.wait(20)  # blocks the loop: the mistake this guards against

    pool = WorkerPool(redis_url, ns, 1, block_warning=0.3)
    pool.job("hog", hog)
    enq = Enqueuer(redis_url, ns)
    enq.enqueue("hog", {})
    enq.enqueue("hog", {})
    caplog.set_level(logging.WARNING, logger="gowork_compat.pool")
    pool.start()
    try:
        assert started.wait(10)
        first = int(r.hget(k.heartbeat(pool.pool_id), "heartbeat_at") or 0)
        until(lambda: int(r.hget(k.heartbeat(pool.pool_id), "heartbeat_at") or 0) > first, timeout=15,
              what="a heartbeat while the loop is blocked")
        release.set()
        until(lambda: r.llen(k.jobs("hog")) == 0 and r.llen(k.in_progress(pool.pool_id, "hog")) == 0)
    finally:
        release.set()
        pool.stop()
    warnings = [rec for rec in caplog.records if "blocked the pool's event loop" in rec.getMessage()]
    assert len(warnings) == 1 and "'hog'" in warnings[0].getMessage()


# --------------------------------------------------------------------------- point 5

def test_async_handler_past_its_timeout_is_cancelled_and_follows_retry_policy(
        redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    cancelled = threading.Event()

    async def slow(job: Job) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def swallows(job: Job) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            return  # pretends to have finished: still a timeout

    pool = WorkerPool(redis_url, ns, 3)
    pool.job("slow", slow, timeout=0.3, max_fails=2)
    pool.job("dies", slow, options=JobOptions(timeout=0.3, max_fails=1))
    pool.job("swallows", swallows, timeout=0.3, max_fails=1)
    enq = Enqueuer(redis_url, ns)
    a = enq.enqueue("slow", {})
    b = enq.enqueue("dies", {})
    c = enq.enqueue("swallows", {})
    pool.start()
    try:
        until(lambda: r.zcard(k.retry) == 1 and r.zcard(k.dead) == 2)
    finally:
        pool.stop()
    assert cancelled.is_set()
    (retry,) = r.zrange(k.retry, 0, -1)
    rj = Job.decode(retry)
    assert (rj.id, rj.fails, rj.last_err) == (a.id, 1, "timeout after 0.3 s")
    dead = sorted((Job.decode(m) for m in r.zrange(k.dead, 0, -1)), key=lambda j: j.name)
    assert [(j.id, j.fails, j.last_err) for j in dead] == [(b.id, 1, "timeout after 0.3 s"),
                                                          (c.id, 1, "timeout after 0.3 s")]
    assert int(r.get(k.lock("slow")) or 0) == 0


def test_sync_handler_past_the_pool_timeout_gives_its_slot_back(redis_url: str, ns: str, r: redis.Redis) -> None:
    """A sync handler cannot be killed: its slot is reclaimed (the job fails with the
    timeout), a fresh thread takes the next job, and the late result is ignored."""
    k = Keys(ns)
    release = threading.Event()
    ran: list[str] = []

    def handler(job: Job) -> None:
        if job.args and job.args.get("stuck"):
            release.wait(20)
            return
        ran.append(job.id)

    pool = WorkerPool(redis_url, ns, 1, job_timeout=0.3)
    pool.job("x", handler, max_fails=1)
    enq = Enqueuer(redis_url, ns)
    stuck = enq.enqueue("x", {"stuck": True})
    pool.start()
    try:
        until(lambda: r.zcard(k.dead) == 1)
        quick = enq.enqueue("x", {})
        until(lambda: ran == [quick.id], what="the reclaimed slot runs the next job")
        release.set()  # the old thread returns now; its result must not count
        time.sleep(0.3)
        assert r.zcard(k.dead) == 1 and r.llen(k.in_progress(pool.pool_id, "x")) == 0
        assert ran == [quick.id]
    finally:
        release.set()
        pool.stop()
    dj = Job.decode(r.zrange(k.dead, 0, -1)[0])
    assert (dj.id, dj.last_err) == (stuck.id, "timeout after 0.3 s")


def test_timeout_options_are_validated(redis_url: str, ns: str) -> None:
    pool = WorkerPool(redis_url, ns)
    with pytest.raises(ValueError, match="timeout"):
        pool.job("x", lambda j: None, timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        pool.job("x", lambda j: None, timeout="5")
    with pytest.raises(ValueError, match="job_timeout"):
        WorkerPool(redis_url, ns, job_timeout=float("nan"))


def test_stop_cancels_async_handlers_after_the_grace_period(redis_url: str, ns: str, r: redis.Redis) -> None:
    """Async handlers still running when the grace period ends are cancelled (they see
    CancelledError) and their jobs stay in the in-progress list for a reaper."""
    k = Keys(ns)
    started, cancelled = threading.Event(), threading.Event()

    async def slow(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    pool = WorkerPool(redis_url, ns, 1)
    pool.job("slow", slow)
    job = Enqueuer(redis_url, ns).enqueue("slow", {})
    pool.start()
    assert started.wait(10)
    pool.stop(grace_period=0.2)
    assert cancelled.is_set()
    assert r.lrange(k.in_progress(pool.pool_id, "slow"), 0, -1) == [job.encode()]
    assert r.sismember(k.worker_pools, pool.pool_id)


# --------------------------------------------------------------------------- point 8 and lifecycle

def test_stop_after_a_failed_start_does_not_raise(ns: str) -> None:
    pool = WorkerPool(f"redis://127.0.0.1:{free_port()}/0", ns)
    pool.job("x", lambda j: None)
    with pytest.raises(redis.exceptions.ConnectionError, match=r"^Error \d+ connecting to 127\.0\.0\.1:"):
        pool.start()
    pool.stop()
    pool.stop()

    async def main() -> None:
        apool = WorkerPool(f"redis://127.0.0.1:{free_port()}/0", ns)
        apool.job("x", lambda j: None)
        with pytest.raises(redis.exceptions.ConnectionError, match=r"^Error \d+ connecting to 127\.0\.0\.1:"):
            await apool.astart()
        await apool.astop()

    asyncio.run(main())


def test_stop_returns_even_when_a_handler_wedges_the_loop(redis_url: str, ns: str) -> None:
    """Every stop has a timeout: an async handler that blocks the loop cannot keep stop()
    from returning."""
    started, release = threading.Event(), threading.Event()

    async def wedge(job: Job) -> None:
        started.set()
        release.wait(30)

    pool = WorkerPool(redis_url, ns, 1)
    pool.job("w", wedge)
    Enqueuer(redis_url, ns).enqueue("w", {})
    pool.start()
    assert started.wait(10)
    done = threading.Event()

    def stopper() -> None:
        pool.stop(grace_period=0, timeout=1.0)
        done.set()

    threading.Thread(target=stopper, daemon=True).start()
    try:
        assert done.wait(15), "stop() did not return"
    finally:
        release.set()


def test_concurrency_override_is_public(redis_url: str, ns: str) -> None:
    pool = WorkerPool(redis_url, ns, 2)
    pool.concurrency = 5
    assert pool.concurrency == 5 and len(pool.worker_ids) == 5 == len(set(pool.worker_ids))
    with pytest.raises(ValueError, match="positive int"):
        pool.concurrency = 0
    pool.job("x", lambda j: None)
    pool.start()
    try:
        with pytest.raises(RuntimeError, match="before starting"):
            pool.concurrency = 3
    finally:
        pool.stop()
    assert pool.redis == redis_url


def test_serve_runs_until_sigterm(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    seen: list[tuple[str, int]] = []
    started = []

    pool = WorkerPool(redis_url, ns, 1)
    pool.job("x", lambda j: None)

    def on_started() -> None:
        started.append(r.sismember(k.worker_pools, pool.pool_id))
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()

    pool.serve(on_started=on_started, on_signal=lambda name, n: seen.append((name, n)))
    assert started == [True]
    assert seen == [("SIGTERM", 1)]
    assert not r.sismember(k.worker_pools, pool.pool_id)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_second_signal_ends_the_grace_period_at_once(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    started, cancelled = threading.Event(), threading.Event()
    seen: list[tuple[str, int]] = []

    async def slow(job: Job) -> None:
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    pool = WorkerPool(redis_url, ns, 1, grace_period=60)
    pool.job("slow", slow)
    job = Enqueuer(redis_url, ns).enqueue("slow", {})

    def on_started() -> None:
        def signal_twice() -> None:
            assert started.wait(10)
            os.kill(os.getpid(), signal.SIGINT)
            until(lambda: len(seen) == 1)
            os.kill(os.getpid(), signal.SIGINT)
        threading.Thread(target=signal_twice, daemon=True).start()

    pool.serve(on_started=on_started, on_signal=lambda name, n: seen.append((name, n)))
    assert seen == [("SIGINT", 1), ("SIGINT", 2)]
    assert cancelled.is_set()
    assert r.lrange(k.in_progress(pool.pool_id, "slow"), 0, -1) == [job.encode()]


def test_periodic_run_once_decides_like_go(redis_url: str, ns: str, r: redis.Redis) -> None:
    """The periodic loop's decision: enqueue unless some pool did less than 2 s ago (Go's
    check, in seconds where it meant minutes)."""
    import redis.asyncio as aredis

    from gowork_compat.periodic import PeriodicEnqueuer

    k = Keys(ns)
    pe = PeriodicEnqueuer(k, [PeriodicEnqueuer.make("*/10 * * * * *", "tick", "v0.5.1")])

    async def main() -> list[bool]:
        client = aredis.Redis.from_url(redis_url)
        now = int(time.time())
        try:
            first = await pe.run_once(client, now)
            again = await pe.run_once(client, now + 2)  # last == now: not < now + 2 - 2
            later = await pe.run_once(client, now + 3)
        finally:
            await client.aclose()
        return [first, again, later]

    assert asyncio.run(main()) == [True, False, True]
    assert r.zcard(k.scheduled) >= 20


def test_jobs_fetched_while_the_reply_was_lost_still_run(private_redis_server: Any, ns: str) -> None:
    """A fetch that ran in Redis while its reply was lost (connection cut, restart) leaves
    jobs in the pool's own in-progress list, counted in the lock, that nobody runs. After
    such an outage the pool runs every entry there it does not account for."""
    url = private_redis_server.url
    k = Keys(ns)
    ran: list[str] = []
    pool = WorkerPool(url, ns, 2, sleep_backoffs=[0, 10, 100], wake_on_enqueue=False)
    pool.job("x", lambda j: ran.append(j.id))
    pool.start()
    try:
        orphan = Job(name="x", id="orphan0000000000000000001", enqueued_at=1, args={"n": 1})
        r = redis.Redis.from_url(url)
        # what the fetch script leaves when its reply never arrives
        r.lpush(k.in_progress(pool.pool_id, "x"), orphan.encode())
        r.incr(k.lock("x"))
        r.hincrby(k.lock_info("x"), pool.pool_id, 1)
        r.close()
        private_redis_server.restart(downtime=0.5)
        until(lambda: ran == [orphan.id], timeout=15, what="the stranded job to run")
        r = redis.Redis.from_url(url)
        until(lambda: r.llen(k.in_progress(pool.pool_id, "x")) == 0)
        assert int(r.get(k.lock("x")) or 0) == 0
        r.close()
    finally:
        pool.stop()
