"""Scripts that move jobs never delete what they cannot write back; buried records have
one shape (with the job name) and are not retried; lock counts never go below 0; the
reaper holds back after its own outage; enqueue_in and job names are checked."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import timedelta
from typing import Any

import pytest
import redis
import redis.asyncio as aredis

from gowork_compat._redis import execute
from gowork_compat.burial import UnretryableJob, buried_job, is_buried
from gowork_compat.client import Client
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from gowork_compat.reaper import Reaper
from gowork_compat.requeuer import Requeuer
from gowork_compat.scripts import (
    ack_batch_call,
    reap_stale_locks_call,
    reenqueue_in_progress_call,
)
from tests.conftest import until

NOW = 1_700_000_000
POOL = "0123456789abcdef01234567"

#: payloads whose numbers Redis's cjson decodes but cannot encode again
UNWRITABLE = {
    "1e999": b'{"name":"mine","id":"aaaaaaaaaaaaaaaaaaaaaaaa","t":1,"args":{"v":1e999},"fails":1}',
    "NaN": b'{"name":"mine","id":"aaaaaaaaaaaaaaaaaaaaaaaa","t":1,"args":{"v":NaN}}',
    "-Infinity": b'{"name":"mine","id":"aaaaaaaaaaaaaaaaaaaaaaaa","t":1,"args":{"v":-Infinity}}',
    "big int": b'{"name":"mine","id":"aaaaaaaaaaaaaaaaaaaaaaaa","t":1,"args":{"v":1' + b"0" * 400 + b"}}",
}


def dead_members(r: redis.Redis, k: Keys) -> list[dict[str, Any]]:
    return [json.loads(m) for m in r.zrange(k.dead, 0, -1)]


def assert_buried(rec: dict[str, Any], raw: bytes, name: str, where: str, why: str) -> None:
    assert set(rec) == {"name", "id", "t", "args", "fails", "err", "failed_at"}
    assert rec["name"] == name
    assert rec["id"] == "malformed-" + hashlib.sha1(raw).hexdigest()
    assert rec["args"] == {"raw_payload": raw.decode()}
    assert rec["fails"] == 1 and rec["t"] == rec["failed_at"] > 0
    assert rec["err"].startswith(f"malformed job payload in {where}: ") and why in rec["err"], rec["err"]


# -- point 1: nothing deleted that cannot be written back ----------------------------------------
@pytest.mark.parametrize("known", [True, False], ids=["known", "unknown-name"])
@pytest.mark.parametrize("kind", list(UNWRITABLE))
@pytest.mark.parametrize("zset", ["retry", "scheduled"])
def test_requeue_buries_what_cjson_cannot_write(r: redis.Redis, ns: str, zset: str, kind: str, known: bool) -> None:
    k = Keys(ns)
    raw = UNWRITABLE[kind]
    key = getattr(k, zset)
    r.zadd(key, {raw: NOW - 1})
    names = ["mine"] if known else ["other"]
    (moved,) = execute(r, [Requeuer(k, key, names, use_known_jobs=False).call(NOW)])
    assert moved == 1
    assert r.zcard(key) == 0 and r.llen(k.jobs("mine")) == 0
    (rec,) = dead_members(r, k)
    assert_buried(rec, raw, "mine", key, "cannot re-encode")


def test_requeue_buries_non_job_with_the_same_shape_as_the_pool(redis_url: str, r: redis.Redis, ns: str) -> None:
    """Point 2: the requeuer's and the pool's buried records have the same fields, name included."""
    k = Keys(ns)
    r.zadd(k.retry, {b"not json": NOW - 1, b'{"name":"named","id":"x","t":1,"args":[}': NOW - 1})
    execute(r, [Requeuer(k, k.retry, ["p"]).call(NOW)])
    r.lpush(k.jobs("p"), b"garbage in a queue")
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("p", lambda j: None)
    pool.start()
    try:
        until(lambda: r.zcard(k.dead) == 3, what="three buried records")
    finally:
        pool.stop()
    recs = {d["args"]["raw_payload"]: d for d in dead_members(r, k)}
    assert_buried(recs["not json"], b"not json", "", k.retry, "")
    assert_buried(recs["garbage in a queue"], b"garbage in a queue", "p", k.jobs("p"), "")
    assert all(is_buried(d) for d in recs.values())


def test_pool_burial_is_the_shared_shape() -> None:
    job = buried_job(b"\x00x", "p", "malformed job payload in q: bad", 7)
    assert json.loads(job.encode()) == {"name": "p", "id": "malformed-" + hashlib.sha1(b"\x00x").hexdigest(),
                                        "t": 7, "args": {"raw_payload": "\x00x"}, "fails": 1,
                                        "err": "malformed job payload in q: bad", "failed_at": 7}


@pytest.fixture
def client(r: redis.Redis, ns: str) -> Client:
    return Client(r, ns, clock=lambda: NOW + 0.25)


@pytest.mark.parametrize("kind", list(UNWRITABLE))
def test_retry_dead_job_buries_what_cjson_cannot_write(client: Client, r: redis.Redis, ns: str, kind: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "mine")
    raw = UNWRITABLE[kind]
    r.zadd(k.dead, {raw: NOW - 9})
    with pytest.raises(UnretryableJob, match=r"not writable by cjson .*buried in its place"):
        client.retry_dead_job(NOW - 9, "aaaaaaaaaaaaaaaaaaaaaaaa")
    (rec,) = dead_members(r, k)
    assert_buried(rec, raw, "mine", k.dead, "cannot re-encode")
    assert r.llen(k.jobs("mine")) == 0


def test_retry_all_dead_buries_unwritable_and_requeues_the_rest(client: Client, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "mine")
    good = Job(name="mine", id="bbbbbbbbbbbbbbbbbbbbbbbb", enqueued_at=1, args={}, fails=4, last_err="x", failed_at=2)
    r.zadd(k.dead, {UNWRITABLE["1e999"]: NOW - 9, good.encode(): NOW - 8})
    assert client.retry_all_dead_jobs() == 1
    (queued,) = r.lrange(k.jobs("mine"), 0, -1)
    assert json.loads(queued)["id"] == good.id
    (rec,) = dead_members(r, k)
    assert_buried(rec, UNWRITABLE["1e999"], "mine", k.dead, "cannot re-encode")


# -- point 2: buried records are left in place by our retries ------------------------------------
def test_our_retry_leaves_buried_records_in_place(client: Client, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "p")
    rec = buried_job(b"garbage", "p", "malformed job payload in q: not a job", NOW - 9)
    r.zadd(k.dead, {rec.encode(): NOW - 9})
    with pytest.raises(UnretryableJob, match=r"cannot be retried: it is a buried malformed payload "
                                             r"\(malformed job payload in q: not a job\)"):
        client.retry_dead_job(NOW - 9, rec.id)
    assert client.retry_all_dead_jobs() == 0
    assert r.zrange(k.dead, 0, -1, withscores=True) == [(rec.encode(), NOW - 9)]
    assert r.llen(k.jobs("p")) == 0


def test_delete_skips_unreadable_members(client: Client, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    job = Job(name="p", id="cccccccccccccccccccccccc", enqueued_at=1, args={})
    r.zadd(k.dead, {b"not json": NOW - 9, job.encode(): NOW - 9})
    client.delete_dead_job(NOW - 9, job.id)
    assert r.zrange(k.dead, 0, -1) == [b"not json"]


# -- point 4: lock counts never below 0 -----------------------------------------------------------
def test_ack_never_leaves_a_lock_below_zero(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.lpush(k.in_progress(POOL, "p"), b"j1", b"j2")
    r.set(k.lock("p"), 1)
    r.hset(k.lock_info("p"), POOL, 0)
    execute(r, [ack_batch_call(k, POOL, ["p"], [(1, b"j1", 0, 0, b""), (1, b"j2", 0, 0, b"")])])
    assert r.llen(k.in_progress(POOL, "p")) == 0
    assert int(r.get(k.lock("p"))) == 0 and int(r.hget(k.lock_info("p"), POOL)) == 0


def test_reaper_scripts_never_leave_a_lock_below_zero(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.lpush(k.in_progress(POOL, "p"), b"j1")
    r.set(k.lock("p"), 0)
    (moved,) = execute(r, [reenqueue_in_progress_call(k, POOL, ["p"], 10)])
    assert moved == 1 and r.lrange(k.jobs("p"), 0, -1) == [b"j1"]
    assert int(r.get(k.lock("p"))) == 0 and int(r.hget(k.lock_info("p"), POOL)) == 0
    # a dead pool "holding" a negative count does not raise the lock of the others
    r.set(k.lock("q"), 3)
    r.hset(k.lock_info("q"), POOL, -2)
    execute(r, [reap_stale_locks_call(k, POOL, ["q"])])
    assert int(r.get(k.lock("q"))) == 3 and r.hget(k.lock_info("q"), POOL) is None


# -- point 4: a pool cut off from Redis holds back its reaper ------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_reaper_waits_a_full_window_after_its_own_outage(redis_server: Any, r: redis.Redis, ns: str) -> None:
    import asyncio

    k = Keys(ns)
    stale = "ffffffffffffffffffffffff"
    now = int(time.time())
    r.sadd(k.worker_pools, stale)
    r.hset(k.heartbeat(stale), mapping={"heartbeat_at": now - 60, "job_names": "p"})
    clock = FakeClock()
    reaper = Reaper(k, POOL, ["p"], clock=clock)

    async def reap() -> list[str]:
        client = aredis.Redis(port=redis_server.port)
        try:
            return (await reaper.reap(client, now)).dead_pools
        finally:
            await client.aclose()

    reaper.note_outage()
    clock.t += Reaper.QUIET_AFTER_OUTAGE - 1
    assert asyncio.run(reap()) == []  # cut off a moment ago: no judging
    assert r.sismember(k.worker_pools, stale)
    clock.t += 1
    assert asyncio.run(reap()) == [stale]  # a full window later
    assert not r.sismember(k.worker_pools, stale)


def test_pool_outage_holds_back_its_reaper(private_redis_server: Any, ns: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Wiring: the pool tells its reaper about an outage. With the window made very long,
    a stale pool that would be reaped at once is left alone after an outage."""
    monkeypatch.setattr(Reaper, "QUIET_AFTER_OUTAGE", 3600.0)
    srv = private_redis_server
    r = redis.Redis(port=srv.port)
    k = Keys(ns)
    ran: list[str] = []
    pool = WorkerPool(srv.url, ns, 1, first_reap=0.2, reap_period=0.2)
    pool.job("p", lambda j: ran.append(j.id))
    pool.start()
    try:
        srv.restart(downtime=1.0)
        r = redis.Redis(port=srv.port)
        job = Enqueuer(srv.url, ns).enqueue("p", {})
        until(lambda: ran == [job.id], what="the pool to work again")
        stale = "ffffffffffffffffffffffff"
        r.sadd(k.worker_pools, stale)
        r.hset(k.heartbeat(stale), mapping={"heartbeat_at": int(time.time()) - 60, "job_names": "p"})
        time.sleep(1.5)  # several reaper periods
        assert r.sismember(k.worker_pools, stale), "reaped right after its own outage"
    finally:
        pool.stop()
        r.close()


def test_pool_without_outage_reaps_a_stale_pool(redis_url: str, r: redis.Redis, ns: str) -> None:
    """The control of the test above: the same stale pool, no outage, gets reaped."""
    k = Keys(ns)
    stale = "ffffffffffffffffffffffff"
    r.sadd(k.worker_pools, stale)
    r.hset(k.heartbeat(stale), mapping={"heartbeat_at": int(time.time()) - 60, "job_names": "p"})
    pool = WorkerPool(redis_url, ns, 1, first_reap=0.2, reap_period=0.2)
    pool.job("p", lambda j: None)
    pool.start()
    try:
        until(lambda: not r.sismember(k.worker_pools, stale), what="the stale pool to be reaped")
    finally:
        pool.stop()


# -- point 9 -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [10**12, -(10**12), float("nan"), float("inf"), timedelta(days=366 * 101)])
def test_enqueue_in_refuses_absurd_delays(redis_url: str, r: redis.Redis, ns: str, delay: Any) -> None:
    enq = Enqueuer(redis_url, ns)
    with pytest.raises(ValueError, match=r"seconds_from_now must be within ±\d+ s \(100 years\)"):
        enq.enqueue_in("p", delay)
    with pytest.raises(ValueError, match=r"100 years"):
        enq.enqueue_unique_in("p", delay)
    assert r.zcard(Keys(ns).scheduled) == 0
    sj = enq.enqueue_in("p", timedelta(days=365 * 99))
    assert r.zscore(Keys(ns).scheduled, sj.job.encode()) == sj.run_at
    enq.close()


@pytest.mark.parametrize("method", ["enqueue", "enqueue_unique", "enqueue_in", "enqueue_many"])
def test_lone_surrogate_in_job_name_is_a_clear_error(redis_url: str, ns: str, method: str) -> None:
    enq = Enqueuer(redis_url, ns)
    call = {"enqueue": lambda: enq.enqueue("bad\ud800name", {}),
            "enqueue_unique": lambda: enq.enqueue_unique("bad\ud800name", {}),
            "enqueue_in": lambda: enq.enqueue_in("bad\ud800name", 5, {}),
            "enqueue_many": lambda: enq.enqueue_many([("ok", {}), ("bad\ud800name", {})])}[method]
    with pytest.raises(ValueError, match=r"job name 'bad\\ud800name' is not valid text: it holds a lone "
                                         r"surrogate \('\\ud800' at index 3\)") as info:
        call()
    assert not isinstance(info.value, UnicodeError)
    enq.close()


def test_lone_surrogate_in_registered_job_name_is_a_clear_error(redis_url: str, ns: str) -> None:
    pool = WorkerPool(redis_url, ns, 1)
    with pytest.raises(ValueError, match=r"job name 'x\\udfff' is not valid text: it holds a lone surrogate") as info:
        pool.job("x\udfff", lambda j: None)
    assert not isinstance(info.value, UnicodeError)


def test_reaper_logs_per_pool_counts(redis_server: Any, r: redis.Redis, ns: str,
                                     caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    k = Keys(ns)
    now = int(time.time())
    pools = {"aaaaaaaaaaaaaaaaaaaaaaaa": 2, "bbbbbbbbbbbbbbbbbbbbbbbb": 3}
    for pid, n in pools.items():
        r.sadd(k.worker_pools, pid)
        r.hset(k.heartbeat(pid), mapping={"heartbeat_at": now - 60, "job_names": "p"})
        r.lpush(k.in_progress(pid, "p"), *[f"{pid}-{i}".encode() for i in range(n)])

    async def reap() -> None:
        client = aredis.Redis(port=redis_server.port)
        try:
            await Reaper(k, POOL, ["p"]).reap(client, now)
        finally:
            await client.aclose()

    with caplog.at_level(logging.INFO, logger="gowork_compat.reaper"):
        asyncio.run(reap())
    lines = {rec.getMessage() for rec in caplog.records if rec.name == "gowork_compat.reaper"}
    assert lines == {f"reaped dead worker pool {pid} ({n} in-progress jobs requeued)" for pid, n in pools.items()}
