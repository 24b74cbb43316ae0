"""Client / AsyncClient against a real redis-server (Go parity is in
tests/interop/test_client_interop.py)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aredis

from gowork_compat._redis import execute
from gowork_compat.client import (
    PAGE_SIZE,
    AsyncClient,
    Client,
    ClientPlanner,
    DeadFilter,
    DeadJob,
    JobNotFound,
    RetryJob,
    ScheduledJob,
    UnknownJobName,
    UnreadableEntry,
    job_json,
    parse_int,
    parse_uint,
)
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.enqueuer import ScheduledJob as EnqueuedScheduledJob
from gowork_compat.job import Job
from gowork_compat.keys import Keys

NOW = 1_700_000_000


def clock() -> float:
    return NOW + 0.25


@pytest.fixture(params=["sync", "async", "resp2"])
def client(request: pytest.FixtureRequest, redis_server: Any, ns: str) -> Iterator[Any]:
    """The same test against Client (RESP3 and RESP2 connections) and AsyncClient (run
    through a proxy that makes every coroutine method blocking)."""
    if request.param == "sync":
        c = Client(redis.Redis(port=redis_server.port), ns, clock=clock)
        yield c
        c.redis.close()
    elif request.param == "resp2":
        c = Client(redis.Redis(port=redis_server.port, protocol=2), ns, clock=clock)
        yield c
        c.redis.close()
    else:
        loop = asyncio.new_event_loop()
        ac = AsyncClient(aredis.Redis(port=redis_server.port), ns, clock=clock)

        class Blocking:
            def __getattr__(self, name: str) -> Any:
                attr = getattr(ac, name)
                if not asyncio.iscoroutinefunction(attr):
                    return attr

                def call(*args: Any, **kwargs: Any) -> Any:
                    return loop.run_until_complete(attr(*args, **kwargs))
                return call

        yield Blocking()
        loop.run_until_complete(ac.redis.aclose())
        loop.close()


def job(name: str, jid: str, t: int = NOW - 100, args: dict[str, Any] | None = None, **extra: Any) -> Job:
    return Job(name=name, id=jid, enqueued_at=t, args={"n": 1} if args is None else args, **extra)


def add_zset(r: redis.Redis, key: str, *items: tuple[int, Job]) -> None:
    for score, j in items:
        r.zadd(key, {j.encode(): score})


# -- strconv ---------------------------------------------------------------------------------
def test_go_strconv() -> None:
    assert parse_int("-12") == -12 and parse_int("+7") == 7
    for bad in ("", " 1", "1 ", "1_0", "0x1", "1.0", "١"):
        with pytest.raises(ValueError, match="invalid syntax"):
            parse_int(bad)
    with pytest.raises(ValueError, match=r'ParseInt: parsing "9223372036854775808": value out of range'):
        parse_int("9223372036854775808")
    assert parse_uint("18446744073709551615") == 2**64 - 1
    with pytest.raises(ValueError, match="ParseUint"):
        parse_uint("-1")
    assert parse_uint("0" * 5000 + "7") == 7  # Go accepts leading zeros


@pytest.mark.parametrize("parse", [parse_int, parse_uint])
def test_thousands_of_digits_are_out_of_range_not_pythons_message(parse: Any) -> None:
    with pytest.raises(ValueError, match=r'value out of range') as caught:
        parse("9" * 5000)
    assert "5000 characters" in str(caught.value) and "4300" not in str(caught.value)
    assert len(str(caught.value)) < 120


# -- views ----------------------------------------------------------------------------------
def test_heartbeats_sorted_and_parsed_as_go(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.worker_pools, "pool-b", "pool-a", "pool-c")
    r.hset(k.heartbeat("pool-b"), mapping={
        "heartbeat_at": NOW, "started_at": NOW - 60, "job_names": "zeta,alpha,mid", "concurrency": 3,
        "host": "box", "pid": 42, "worker_ids": "w3,w1,w2", "unknown": "ignored"})
    r.hset(k.heartbeat("pool-a"), mapping={"job_names": "", "host": "other"})
    # pool-c: in the set, no hash (Go still lists it)
    beats = client.worker_pool_heartbeats()
    assert [b.worker_pool_id for b in beats] == ["pool-a", "pool-b", "pool-c"]
    assert beats[1].to_json() == {
        "worker_pool_id": "pool-b", "started_at": NOW - 60, "heartbeat_at": NOW,
        "job_names": ["alpha", "mid", "zeta"], "concurrency": 3, "host": "box", "pid": 42,
        "worker_ids": ["w1", "w2", "w3"]}
    assert list(beats[1].to_json()) == ["worker_pool_id", "started_at", "heartbeat_at", "job_names",
                                        "concurrency", "host", "pid", "worker_ids"]
    assert beats[0].job_names == [""]  # strings.Split("", ",")
    assert beats[0].worker_ids is None and beats[2].to_json()["job_names"] is None


def test_heartbeat_with_bad_number_fails_like_go(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.worker_pools, "p")
    r.hset(k.heartbeat("p"), mapping={"concurrency": "-1"})
    with pytest.raises(ValueError, match=r'strconv\.ParseUint: parsing "-1"'):
        client.worker_pool_heartbeats()


def test_worker_observations(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.worker_pools, "p2", "p1")
    r.hset(k.heartbeat("p1"), mapping={"worker_ids": "b,a"})
    r.hset(k.heartbeat("p2"), mapping={"worker_ids": "c"})
    r.hset(k.worker_observation("b"), mapping={
        "job_name": "mail", "job_id": "j1", "started_at": NOW - 5, "args": '{"to":"x"}',
        "checkin": "half way", "checkin_at": NOW - 1})
    obs = client.worker_observations()
    assert [o.worker_id for o in obs] == ["a", "b", "c"]
    assert [o.is_busy for o in obs] == [False, True, False]
    assert obs[1].to_json() == {
        "worker_id": "b", "is_busy": True, "job_name": "mail", "job_id": "j1", "started_at": NOW - 5,
        "args_json": '{"to":"x"}', "checkin": "half way", "checkin_at": NOW - 1}
    assert obs[0].to_json() == {"worker_id": "a", "is_busy": False, "job_name": "", "job_id": "",
                                "started_at": 0, "args_json": "", "checkin": "", "checkin_at": 0}


def test_queues_count_and_latency(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "b", "a", "empty", "broken")
    r.lpush(k.jobs("a"), job("a", "1", t=NOW - 30).encode())  # oldest: the right end
    r.lpush(k.jobs("a"), job("a", "2", t=NOW - 3).encode())
    r.lpush(k.jobs("b"), job("b", "3", t=NOW - 7).encode())
    r.lpush(k.jobs("broken"), b"{not json")
    got = [q.to_json() for q in client.queues()]
    assert got == [
        {"job_name": "a", "count": 2, "latency": 30},
        {"job_name": "b", "count": 1, "latency": 7},
        {"job_name": "broken", "count": 1, "latency": 0},  # Go panics here
        {"job_name": "empty", "count": 0, "latency": 0},
    ]


@pytest.mark.parametrize("kind", ["retry", "scheduled", "dead"])
def test_zset_pages(client: Any, r: redis.Redis, ns: str, kind: str) -> None:
    key = getattr(Keys(ns), kind)
    jobs = [(NOW + i, job("x", f"id{i:02}", fails=1, last_err="boom", failed_at=NOW)) for i in range(45)]
    add_zset(r, key, *reversed(jobs))
    view = getattr(client, f"{kind}_jobs")
    page1, count = view(1)
    assert count == 45 and len(page1) == PAGE_SIZE
    assert [j.job.id for j in page1] == [f"id{i:02}" for i in range(20)]
    assert view(0)[0] == page1 and view(-3)[0] == page1  # Go: page 0 is page 1
    page3, _ = view(3)
    assert [j.job.id for j in page3] == [f"id{i:02}" for i in range(40, 45)]
    assert view(4) == ([], 45)
    cls, field = {"retry": (RetryJob, "retry_at"), "scheduled": (ScheduledJob, "run_at"),
                  "dead": (DeadJob, "died_at")}[kind]
    assert isinstance(page1[0], cls)
    assert page1[0].to_json() == {field: NOW, "name": "x", "id": "id00", "t": NOW - 100, "args": {"n": 1},
                                  "fails": 1, "err": "boom", "failed_at": NOW}
    assert next(iter(page1[0].to_json())) == field


def test_scheduled_job_is_the_enqueuers_type() -> None:
    sj = ScheduledJob(run_at=5, job=job("a", "1"))
    assert isinstance(sj, EnqueuedScheduledJob)


def test_unreadable_members_do_not_blank_a_page(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    good_a, good_b = job("a", "ja"), job("b", "jb")
    add_zset(r, k.dead, (NOW - 10, good_a), (NOW + 2, good_b))
    r.zadd(k.dead, {b'{"id": 5}': NOW, b"\xff not json": NOW + 1, b'{"broken": ': NOW + 1})
    page, count = client.dead_jobs(1)
    assert count == 5
    assert [type(x).__name__ for x in page] == ["DeadJob", "UnreadableEntry", "UnreadableEntry",
                                                "UnreadableEntry", "DeadJob"]
    bad = page[1]
    assert isinstance(bad, UnreadableEntry)
    assert (bad.where, bad.raw, bad.score) == ("dead", b'{"id": 5}', str(NOW)) and bad.error
    out = page[2].to_json()
    assert out["unreadable"] is True and out["where"] == "dead"
    assert base64.b64decode(out["raw_base64"]) in (b"\xff not json", b'{"broken": ')
    # each can be deleted by its bytes, leaving its neighbours
    for entry in page[1:4]:
        client.delete_unreadable("dead", entry.raw)
    with pytest.raises(JobNotFound, match="nothing deleted"):
        client.delete_unreadable("dead", bad.raw)
    assert [d.job.id for d in client.dead_jobs(1)[0]] == ["ja", "jb"]


def test_unreadable_in_retry_scheduled_and_queue(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    add_zset(r, k.retry, (NOW, job("a", "r1")))
    r.zadd(k.retry, {job("a", "r2").encode(): NOW + 0.5})  # a score Go cannot read as int64
    r.zadd(k.scheduled, {b"[]": NOW})
    r.lpush(k.jobs("q"), job("q", "q1").encode(), b"garbage", job("q", "q2").encode())
    (ok, frac), _ = client.retry_jobs(1)
    assert ok.job.id == "r1" and isinstance(frac, UnreadableEntry) and frac.score == str(NOW + 0.5)
    ((sched,), _) = client.scheduled_jobs(1)
    assert isinstance(sched, UnreadableEntry) and sched.where == "scheduled"
    queued, count = client.queued_jobs("q")
    assert count == 3 and isinstance(queued[1], UnreadableEntry) and queued[1].job_name == "q"
    assert [j.id for j in (queued[0], queued[2])] == ["q1", "q2"]
    client.delete_unreadable("retry", frac.raw)
    client.delete_unreadable("scheduled", sched.raw)
    client.delete_unreadable("queue", b"garbage", "q")
    assert r.zcard(k.retry) == 1 and r.zcard(k.scheduled) == 0 and r.llen(k.jobs("q")) == 2
    with pytest.raises(ValueError, match="needs its job name"):
        client.delete_unreadable("queue", b"garbage")
    with pytest.raises(ValueError, match="where must be one of"):
        client.delete_unreadable("known_jobs", b"x")


def test_job_json_is_go_shape() -> None:
    j = Job(name="", id="i", enqueued_at=3, args=None)
    assert json.dumps(job_json(j)) == '{"id": "i", "t": 3, "args": null}'
    big = Job(name="n", id="i", enqueued_at=3, args={"big": 2**60 + 1, "l": [2**55 + 1, 1]}, unique=True)
    out = job_json(big)
    assert out["args"] == {"big": float(2**60), "l": [float(2**55), 1]}  # Go's float64 view
    assert list(out) == ["name", "id", "t", "args", "unique"]


def test_queued_jobs_oldest_first(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    for i in range(25):
        r.lpush(k.jobs("q"), job("q", f"j{i:02}").encode())
    page1, count = client.queued_jobs("q", 1)
    assert count == 25 and [j.id for j in page1] == [f"j{i:02}" for i in range(20)]
    page2, _ = client.queued_jobs("q", 2)
    assert [j.id for j in page2] == [f"j{i:02}" for i in range(20, 25)]
    assert client.queued_jobs("q", 3) == ([], 25)
    assert client.queued_jobs("none") == ([], 0)


# -- actions --------------------------------------------------------------------------------
def test_delete_dead_and_retry_job(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    add_zset(r, k.dead, (NOW, job("a", "1")), (NOW, job("a", "2")), (NOW + 1, job("a", "3")))
    add_zset(r, k.retry, (NOW, job("a", "1")))
    client.delete_dead_job(NOW, "2")
    assert [Job.decode(m).id for m in r.zrange(k.dead, 0, -1)] == ["1", "3"]
    with pytest.raises(JobNotFound, match=r"^nothing deleted$"):
        client.delete_dead_job(NOW + 1, "1")  # right id, wrong time
    client.delete_retry_job(NOW, "1")
    assert r.exists(k.retry) == 0
    with pytest.raises(JobNotFound, match=r"^nothing deleted$"):
        client.delete_retry_job(NOW, "1")


def test_delete_scheduled_unique_job_removes_unique_key(client: Any, redis_url: str, r: redis.Redis,
                                                        ns: str) -> None:
    k = Keys(ns)
    enq = Enqueuer(redis_url, ns)
    sj = enq.enqueue_unique_in("u", 60, {"a": 1})
    plain = enq.enqueue_in("p", 60, {"a": 1})
    assert sj is not None and r.exists(k.unique("u", {"a": 1}))
    client.delete_scheduled_job(sj.run_at, sj.job.id)
    assert not r.exists(k.unique("u", {"a": 1}))
    client.delete_scheduled_job(plain.run_at, plain.job.id)
    assert r.exists(k.scheduled) == 0
    with pytest.raises(JobNotFound, match="nothing deleted"):
        client.delete_scheduled_job(plain.run_at, plain.job.id)
    # upstream master's unique-by-key: the job carries its key
    by_key = Enqueuer(redis_url, ns, dialect="master").enqueue_unique_in_by_key("k", 60, {"a": 2}, {"who": 7})
    assert by_key is not None and r.exists(by_key.job.unique_key)
    client.delete_scheduled_job(by_key.run_at, by_key.job.id)
    assert not r.exists(by_key.job.unique_key)


def test_retry_dead_job(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "known")
    dead = job("known", "1", args={"x": "y"}, fails=4, last_err="boom", failed_at=NOW - 9)
    add_zset(r, k.dead, (NOW - 9, dead))
    client.retry_dead_job(NOW - 9, "1")
    assert r.zcard(k.dead) == 0
    (raw,) = r.lrange(k.jobs("known"), 0, -1)
    assert json.loads(raw) == {"name": "known", "id": "1", "t": NOW, "args": {"x": "y"}}
    with pytest.raises(JobNotFound, match=r"^nothing retried$"):
        client.retry_dead_job(NOW - 9, "1")


def test_retry_dead_job_of_unknown_name_stays_dead(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    add_zset(r, k.dead, (NOW - 9, job("stranger", "1", fails=1, last_err="x", failed_at=NOW - 9)))
    with pytest.raises(UnknownJobName, match="nothing retried"):
        client.retry_dead_job(NOW - 9, "1")
    ((raw, score),) = r.zrange(k.dead, 0, -1, withscores=True)
    assert score == NOW + 5
    got = json.loads(raw)
    assert got["err"] == "unknown job when requeueing" and got["failed_at"] == NOW and got["fails"] == 1


def test_retry_all_dead_jobs(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "a", "b")
    pipe = r.pipeline()
    for i in range(2100):  # three script calls of up to 1000
        pipe.zadd(k.dead, {job("a" if i % 2 else "b", f"{i}", fails=1).encode(): NOW - 1000 + (i % 900)})
    pipe.execute()
    add_zset(r, k.dead, (NOW - 5, job("gone", "u")), (NOW + 100, job("a", "future")))
    assert client.retry_all_dead_jobs() == 2100
    assert r.llen(k.jobs("a")) == 1050 and r.llen(k.jobs("b")) == 1050
    left = {json.loads(m)["id"]: s for m, s in r.zrange(k.dead, 0, -1, withscores=True)}
    assert left == {"u": NOW + 5, "future": NOW + 100}
    assert client.retry_all_dead_jobs() == 0


def test_delete_all_dead_jobs(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    add_zset(r, k.dead, (NOW, job("a", "1")))
    client.delete_all_dead_jobs()
    assert r.exists(k.dead) == 0
    client.delete_all_dead_jobs()  # nothing there: fine, as Go


# -- beyond Go ------------------------------------------------------------------------------
def test_pause_unpause(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    assert not client.is_paused("a")
    client.pause("a")
    assert client.is_paused("a") and r.get(k.paused("a")) == b"1"
    client.unpause("a")
    assert not client.is_paused("a") and not r.exists(k.paused("a"))


def test_locks_and_reset_lock(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "capped", "free")
    r.set(k.lock("capped"), 7)
    r.hset(k.lock_info("capped"), mapping={"live": 2, "stale": 3, "gone": 2, "live0": 0})
    r.set(k.max_concurrency("capped"), 3)
    r.set(k.paused("free"), "1")
    r.sadd(k.worker_pools, "live", "stale", "live0")
    r.hset(k.heartbeat("live"), "heartbeat_at", NOW - 2)
    r.hset(k.heartbeat("live0"), "heartbeat_at", NOW)
    r.hset(k.heartbeat("stale"), "heartbeat_at", NOW - 60)
    locks = client.locks()
    assert [lk.to_json() for lk in locks] == [
        {"job_name": "capped", "lock": 7, "lock_info": {"gone": 2, "live": 2, "live0": 0, "stale": 3},
         "max_concurrency": 3, "paused": False},
        {"job_name": "free", "lock": 0, "lock_info": {}, "max_concurrency": 0, "paused": True},
    ]
    after = client.reset_lock("capped")
    assert after.lock == 2 and after.lock_info == {"live": 2, "live0": 0}
    assert r.get(k.lock("capped")) == b"2"
    assert client.lock("free").paused


def test_sync_client_accepts_url_and_async_client(redis_url: str, r: redis.Redis, ns: str) -> None:
    r.sadd(Keys(ns).known_jobs, "x")
    for conn in (redis_url, aredis.Redis.from_url(redis_url)):
        made = Client(conn, ns)
        assert made.known_jobs() == ["x"]
        made.close()
    given = Client(r, ns)
    given.close()  # not ours to close
    assert given.known_jobs() == ["x"] and r.ping()

    async def main() -> list[str]:
        ac = AsyncClient(redis_url, ns)
        try:
            return await ac.known_jobs()
        finally:
            await ac.aclose()
    assert asyncio.run(main()) == ["x"]


def test_scripts_reload_after_script_flush(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    add_zset(r, k.dead, (NOW, job("a", "1")), (NOW, job("a", "2")))
    r.script_flush()
    client.delete_dead_job(NOW, "1")
    r.script_flush()
    client.delete_dead_job(NOW, "2")
    assert r.exists(k.dead) == 0


# -- dead jobs by filter (the queries the CLI and web UI use) ------------------------------------
UNKNOWN = "unknown job when requeueing"


def dead_mix(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "py_only", "other")
    add_zset(r, k.dead,
             (NOW - 30, job("py_only", "p1", fails=1, last_err=UNKNOWN)),
             (NOW - 20, job("py_only", "p2", fails=1, last_err=UNKNOWN)),
             (NOW - 10, job("py_only", "p3", fails=25, last_err="boom")),
             (NOW - 5, job("other", "o1", fails=1, last_err=UNKNOWN)),
             (NOW - 4, job("gone_name", "g1", fails=1, last_err=UNKNOWN)))
    r.zadd(k.dead, {b"not a job": NOW})


def test_counts_and_find_dead_jobs(client: Any, r: redis.Redis, ns: str) -> None:
    dead_mix(r, ns)
    add_zset(r, Keys(ns).retry, (NOW, job("a", "r")))
    assert client.counts().to_json() == {"retry": 1, "scheduled": 0, "dead": 6}
    ids = lambda found: [d.job.id for d in found]  # noqa: E731
    assert ids(client.find_dead_jobs()) == ["p1", "p2", "p3", "o1", "g1"]
    assert ids(client.find_dead_jobs(DeadFilter(job_name="py_only"))) == ["p1", "p2", "p3"]
    assert ids(client.find_dead_jobs(DeadFilter(error="unknown job"))) == ["p1", "p2", "o1", "g1"]
    assert ids(client.find_dead_jobs(DeadFilter(job_name="py_only", error=UNKNOWN))) == ["p1", "p2"]
    assert ids(client.find_dead_jobs(DeadFilter(job_id="o1"))) == ["o1"]
    assert client.find_dead_jobs(DeadFilter(job_name="nope")) == []


def test_retry_dead_jobs_where(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    dead_mix(r, ns)
    res = client.retry_dead_jobs_where(DeadFilter(error=UNKNOWN))
    assert res.to_json() == {"matched": 4, "done": 3, "unknown_name": 1, "gone": 0, "kept": 0}
    assert sorted(Job.decode(m).id for m in r.lrange(k.jobs("py_only"), 0, -1)) == ["p1", "p2"]
    (o1,) = [Job.decode(m) for m in r.lrange(k.jobs("other"), 0, -1)]
    assert (o1.id, o1.fails, o1.last_err, o1.enqueued_at) == ("o1", 0, "", NOW)
    # left dead, untouched: the other error, and the name no pool registers
    left = {Job.decode(m).id: (s, Job.decode(m).last_err) for m, s in r.zrange(k.dead, 0, -1, withscores=True)
            if m != b"not a job"}
    assert left == {"p3": (NOW - 10, "boom"), "g1": (NOW - 4, UNKNOWN)}


def test_delete_dead_jobs_where(client: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    dead_mix(r, ns)
    res = client.delete_dead_jobs_where(DeadFilter(job_name="py_only", error=UNKNOWN))
    assert res.to_json() == {"matched": 2, "done": 2, "unknown_name": 0, "gone": 0, "kept": 0}
    assert sorted(m for m in r.zrange(k.dead, 0, -1)) == sorted(
        [job("py_only", "p3", fails=25, last_err="boom").encode(),
         job("other", "o1", fails=1, last_err=UNKNOWN).encode(),
         job("gone_name", "g1", fails=1, last_err=UNKNOWN).encode(), b"not a job"])


@pytest.mark.parametrize("action", ["retry", "delete"])
def test_filtered_action_with_a_racing_taker_neither_loses_nor_doubles(r: redis.Redis, ns: str,
                                                                      action: str) -> None:
    """Between the search and the per-job scripts another client takes a matched job (as a
    pool or a second UI would): that job is counted as gone, not requeued a second time."""
    k = Keys(ns)
    r.sadd(k.known_jobs, "py_only")
    jobs = [job("py_only", f"j{i}", fails=1, last_err=UNKNOWN) for i in range(5)]
    add_zset(r, k.dead, *((NOW - 10 + i, j) for i, j in enumerate(jobs)))
    planner = ClientPlanner(ns, clock=clock)
    plan = (planner.plan_retry_dead_jobs_where(DeadFilter(error=UNKNOWN)) if action == "retry"
            else planner.plan_delete_dead_jobs_where(DeadFilter(error=UNKNOWN)))
    calls = next(plan)
    raced = False
    try:
        while True:
            if calls[0].script is not None and not raced:  # the search is over: race it
                Client(r, ns, clock=clock).retry_dead_job(NOW - 8, "j2")
                raced = True
            calls = plan.send(execute(r, calls))
    except StopIteration as stop:
        res = stop.value
    assert raced
    assert (res.matched, res.done, res.gone) == (5, 4, 1)
    queued = [Job.decode(m).id for m in r.lrange(k.jobs("py_only"), 0, -1)]
    if action == "retry":
        assert sorted(queued) == ["j0", "j1", "j2", "j3", "j4"]  # each exactly once
    else:
        assert queued == ["j2"]
    assert r.zcard(k.dead) == 0



def test_filtered_actions_count_members_sharing_a_score_and_id(client: Any, r: redis.Redis, ns: str) -> None:
    """The client scripts act on every member with a score and id: two such members are two
    jobs done by one call, not one done and one gone."""
    k = Keys(ns)
    r.sadd(k.known_jobs, "a")
    add_zset(r, k.dead, (NOW, job("a", "same", args={"v": 1}, last_err=UNKNOWN)),
             (NOW, job("a", "same", args={"v": 2}, last_err=UNKNOWN)))
    res = client.retry_dead_jobs_where(DeadFilter(job_name="a"))
    assert res.to_json() == {"matched": 2, "done": 2, "unknown_name": 0, "gone": 0, "kept": 0}
    assert r.llen(k.jobs("a")) == 2 and r.zcard(k.dead) == 0
    add_zset(r, k.dead, (NOW, job("a", "same", args={"v": 1})), (NOW, job("a", "same", args={"v": 2})))
    res = client.delete_dead_jobs_where(DeadFilter(job_id="same"))
    assert res.to_json() == {"matched": 2, "done": 2, "unknown_name": 0, "gone": 0, "kept": 0}


def test_filtered_retry_leaves_buried_records_and_counts_them(client: Any, r: redis.Redis, ns: str) -> None:
    from gowork_compat.burial import buried_job

    k = Keys(ns)
    r.sadd(k.known_jobs, "p")
    rec = buried_job(b"garbage", "p", "malformed job payload in q: not a job", NOW - 9)
    r.zadd(k.dead, {rec.encode(): NOW - 9})
    add_zset(r, k.dead, (NOW - 8, job("p", "ok", last_err="boom")))
    res = client.retry_dead_jobs_where(DeadFilter(job_name="p"))
    assert res.to_json() == {"matched": 2, "done": 1, "unknown_name": 0, "gone": 0, "kept": 1}
    assert r.zrange(k.dead, 0, -1) == [rec.encode()] and r.llen(k.jobs("p")) == 1

