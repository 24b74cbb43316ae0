"""Exact checks of the client's and doctor's script calls (gowork_compat/scripts.py):
the KEYS/ARGV layout each builder produces, and what the script then does on Redis (the
keys it changes, its reply). Fast (real redis-server from the fixtures, no pool, no
doctor run), so that the mutation pass (scripts/mutation.py) runs them for every mutant of
the builders; tests/test_client.py and tests/test_doctor.py prove the same repairs end to
end."""

from __future__ import annotations

import redis

from gowork_compat._redis import execute
from gowork_compat.burial import buried_job
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.scripts import (
    BURY_QUEUED,
    CLIENT_DELETE_QUEUED_JOB,
    CLIENT_PURGE_QUEUE,
    CLIENT_ZSET_JOB_NOW,
    KNOWN_JOB_PRUNE,
    LOCK_RECOUNT,
    UNIQUE_DROP,
    UNIQUE_EXTEND,
    bury_queued_call,
    delete_queued_job_call,
    known_job_prune_call,
    lock_recount_call,
    purge_queue_call,
    unique_drop_call,
    unique_extend_call,
    zset_job_now_call,
)

NOW = 1_700_000_000


def _job(name: str, job_id: str) -> bytes:
    return Job(name=name, id=job_id, enqueued_at=NOW, args={"n": job_id}).encode()


def _server_ms(r: redis.Redis) -> int:
    sec, usec = r.time()
    return int(sec) * 1000 + int(usec) // 1000


def test_bury_queued_moves_the_exact_payload_to_the_dead_set(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    raw, other = b"{not a job", b"{not a job either"
    record = buried_job(raw, "w", "why", NOW).encode()
    call = bury_queued_call(k, k.jobs("w"), raw, NOW, record)
    assert call.script is BURY_QUEUED and call.args == (raw, NOW, record)
    assert list(call.keys) == [k.jobs("w"), k.dead]
    r.rpush(k.jobs("w"), other, raw, other)
    assert execute(r, [call]) == [1]
    assert r.lrange(k.jobs("w"), 0, -1) == [other, other]
    assert r.zrange(k.dead, 0, -1, withscores=True) == [(record, float(NOW))]
    # gone meanwhile (a pool fetched it): nothing buried a second time
    assert execute(r, [bury_queued_call(k, k.jobs("w"), raw, NOW + 1, record)]) == [0]
    assert r.zrange(k.dead, 0, -1, withscores=True) == [(record, float(NOW))]


def test_delete_queued_job_removes_the_one_with_that_id(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    a, b, c = _job("w", "a" * 24), _job("w", "b" * 24), _job("w", "c" * 24)
    call = delete_queued_job_call(k.jobs("w"), "b" * 24)
    assert call.script is CLIENT_DELETE_QUEUED_JOB and call.args == ("b" * 24,)
    assert list(call.keys) == [k.jobs("w")]
    r.rpush(k.jobs("w"), a, b, c)
    assert execute(r, [call]) == [[1, b]]
    assert r.lrange(k.jobs("w"), 0, -1) == [a, c]
    assert execute(r, [call]) == [[0, b""]]
    assert r.lrange(k.jobs("w"), 0, -1) == [a, c]


def test_zset_job_now_moves_the_member_to_its_queue(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    due, same_score, later = _job("w", "a" * 24), _job("w", "b" * 24), _job("v", "a" * 24)
    call = zset_job_now_call(k, k.retry, NOW, "a" * 24)
    assert call.script is CLIENT_ZSET_JOB_NOW and call.args == (k.jobs_prefix, NOW, "a" * 24)
    assert type(call.args[1]) is int and list(call.keys) == [k.retry]
    assert zset_job_now_call(k, k.scheduled, 7.0, "x").args[1:] == (7, "x")  # type: ignore[arg-type]
    r.zadd(k.retry, {due: NOW, same_score: NOW, later: NOW + 1})
    assert execute(r, [call]) == [[1, 1]]
    assert r.lrange(k.jobs("w"), 0, -1) == [due] and not r.exists(k.jobs("v"))
    assert r.zrange(k.retry, 0, -1, withscores=True) == [(same_score, float(NOW)), (later, float(NOW + 1))]
    assert execute(r, [call]) == [[0, 0]]


def test_purge_queue_only_when_the_names_agree(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    call = purge_queue_call(k, "w", "typed")
    assert call.script is CLIENT_PURGE_QUEUE and call.args == ("typed", "w")
    assert list(call.keys) == [k.jobs("w")]
    r.rpush(k.jobs("w"), b"1", b"2", b"3")
    r.rpush(k.jobs("v"), b"4")
    assert execute(r, [call]) == [-1]
    assert r.llen(k.jobs("w")) == 3
    assert execute(r, [purge_queue_call(k, "w", "w")]) == [3]
    assert not r.exists(k.jobs("w")) and r.lrange(k.jobs("v"), 0, -1) == [b"4"]


def test_lock_recount_counts_live_pools_in_progress_lists(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    call = lock_recount_call(k, "w", ["p1", "p2"], NOW, 10)
    assert call.script is LOCK_RECOUNT and call.args == (k.prefix + "worker_pools:", NOW, 10, "p1", "p2")
    assert list(call.keys) == [k.lock("w"), k.lock_info("w"), k.worker_pools, k.in_progress("p1", "w"),
                               k.in_progress("p2", "w")]
    r.set(k.lock("w"), 9)
    # p1: counted 5, holds 2; p2: no entry, holds 1; live: another live pool (kept);
    # stale: heartbeat too old; gone: not in worker_pools
    r.hset(k.lock_info("w"), mapping={"p1": 5, "live": 3, "stale": 4, "gone": 6})
    r.rpush(k.in_progress("p1", "w"), b"x", b"y")
    r.rpush(k.in_progress("p2", "w"), b"z")
    r.rpush(k.in_progress("live", "w"), b"not counted")
    r.sadd(k.worker_pools, "p1", "p2", "live", "stale")
    r.hset(k.heartbeat("live"), "heartbeat_at", NOW - 9)
    r.hset(k.heartbeat("stale"), "heartbeat_at", NOW - 10)
    assert execute(r, [call]) == [[9, 6, 4]]
    assert int(r.get(k.lock("w")) or -1) == 6
    assert r.hgetall(k.lock_info("w")) == {b"p1": b"2", b"p2": b"1", b"live": b"3"}
    # no pool given: the entries of pools without a fresh heartbeat go (p1, p2 never beat),
    # the lock is what the live entries hold; an unset lock reads -1
    r.delete(k.lock("w"))
    none = lock_recount_call(k, "w", [], NOW + 5, 20)
    assert none.args == (k.prefix + "worker_pools:", NOW + 5, 20) and len(none.keys) == 3
    assert execute(r, [none]) == [[-1, 3, 2]]
    assert int(r.get(k.lock("w")) or -1) == 3 and r.hgetall(k.lock_info("w")) == {b"live": b"3"}


def test_unique_drop_deletes_only_the_key_that_was_seen(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    key, forever, missing = k.unique("w", {"a": 1}), k.unique("w", {"a": 2}), k.unique("w", {"a": 3})
    call = unique_drop_call(key, 123)
    assert call.script is UNIQUE_DROP and call.args == (123, 250) and list(call.keys) == [key]
    assert unique_drop_call(key, 123, 9).args == (123, 9)
    expiry = _server_ms(r) + 100_000
    r.set(key, "1")
    r.pexpireat(key, expiry)
    r.set(forever, "1")
    assert execute(r, [unique_drop_call(key, expiry + 1000)]) == [0]        # set again since: kept
    assert execute(r, [unique_drop_call(key, expiry + 100, 50)]) == [0]
    assert execute(r, [unique_drop_call(forever, expiry)]) == [0]
    assert r.exists(key, forever) == 2
    assert execute(r, [unique_drop_call(key, expiry + 100)]) == [1]
    assert execute(r, [unique_drop_call(forever, -1)]) == [1]
    assert r.exists(key, forever) == 0
    assert execute(r, [unique_drop_call(missing, -1)]) == [0]


def test_unique_extend_never_shortens_nor_creates(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    key, missing = k.unique("w", {"a": 1}), k.unique("w", {"a": 2})
    call = unique_extend_call(key, 456)
    assert call.script is UNIQUE_EXTEND and call.args == (456,) and list(call.keys) == [key]
    now_ms = _server_ms(r)
    r.set(key, "1", px=10_000)
    until = now_ms + 100_000
    assert execute(r, [unique_extend_call(key, until)]) == [1]
    assert r.pexpiretime(key) == until
    assert execute(r, [unique_extend_call(key, until - 50_000)]) == [0]
    assert r.pexpiretime(key) == until
    assert execute(r, [unique_extend_call(missing, until)]) == [0] and not r.exists(missing)


def test_known_job_prune_only_with_an_empty_queue(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    call = known_job_prune_call(k, "idle")
    assert call.script is KNOWN_JOB_PRUNE and call.args == ("idle",)
    assert list(call.keys) == [k.known_jobs, k.jobs("idle")]
    r.sadd(k.known_jobs, "idle", "busy")
    r.rpush(k.jobs("busy"), b"job")
    assert execute(r, [known_job_prune_call(k, "busy")]) == [0]
    assert execute(r, [call]) == [1]
    assert r.smembers(k.known_jobs) == {b"busy"}
    assert execute(r, [call]) == [0]
