"""The rescuer: dead entries Go's requeuer made for names it does not run go back on their
queue, exactly as the requeuer should have put them there. (Against real Go pools:
tests/interop/test_rescue_interop.py.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis
import redis.asyncio as aredis

from gowork_compat._redis import execute
from gowork_compat.burial import buried_job
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.requeuer import Requeuer
from gowork_compat.rescuer import Rescuer, RescueReport

NOW = 1_700_000_000
LIVE = "0123456789abcdef01234567"


def run_once(port: int, rescuer: Rescuer, now: int) -> RescueReport:
    async def main() -> RescueReport:
        client = aredis.Redis(port=port)
        try:
            return await rescuer.run_once(client, now)
        finally:
            await client.aclose()
    return asyncio.run(main())


def beat(r: redis.Redis, k: Keys, pool_id: str, names: str, at: int) -> None:
    r.sadd(k.worker_pools, pool_id)
    r.hset(k.heartbeat(pool_id), mapping={"heartbeat_at": at, "job_names": names})


JOBS = [
    Job(name="x", id="aaaaaaaaaaaaaaaaaaaaaaaa", enqueued_at=NOW - 50, args={"f": 0.1, "l": [1, "a"], "s": "a/b"}),
    Job(name="x", id="bbbbbbbbbbbbbbbbbbbbbbbb", enqueued_at=NOW - 50, args={"n": 1}, fails=2, last_err="boom",
        failed_at=NOW - 9),
    Job(name="y", id="cccccccccccccccccccccccc", enqueued_at=NOW - 50, args=None, unique=True),
]


@pytest.mark.parametrize("zset", ["scheduled", "retry"])
def test_rescued_job_is_what_the_requeuer_should_have_queued(redis_server: Any, r: redis.Redis, ns: str,
                                                            zset: str) -> None:
    killed, should = Keys(ns + "-killed"), Keys(ns + "-should")
    for k in (killed, should):
        r.zadd(getattr(k, zset), {j.encode(): NOW - 1 for j in JOBS})
    # what Go's requeuer does in a pool without x and y (the same script steps as Go's)...
    execute(r, [Requeuer(killed, getattr(killed, zset), ["other"], use_known_jobs=False).call(NOW, limit=10)])
    assert r.zcard(killed.dead) == 3
    # ...and what it should have done
    execute(r, [Requeuer(should, getattr(should, zset), ["x", "y"], use_known_jobs=False).call(NOW + 1, limit=10)])
    beat(r, killed, LIVE, "x,y", NOW)
    report = run_once(redis_server.port, Rescuer(killed), NOW + 1)
    assert report.rescued == 3 and r.zcard(killed.dead) == 0
    for name in ("x", "y"):
        got = [json.loads(m) for m in r.lrange(killed.jobs(name), 0, -1)]
        want = [json.loads(m) for m in r.lrange(should.jobs(name), 0, -1)]
        for g, w in zip(sorted(got, key=lambda d: d["id"]), sorted(want, key=lambda d: d["id"])):
            if "fails" in w:  # a retried job: Go overwrote its previous error; the rest is restored
                assert g.pop("err") == "unknown job when requeueing" and g.pop("failed_at") == NOW
                w.pop("err"), w.pop("failed_at")
            assert g == w
        assert len(got) == len(want)


def test_only_names_of_live_pools_and_only_go_kills(redis_server: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    killed = {n: Job(name=n, id=f"{i:024d}", enqueued_at=NOW - 5, args={}, last_err="unknown job when requeueing",
                     failed_at=NOW - 1) for i, n in enumerate(["live", "stale_only", "nobody"])}
    really_dead = Job(name="live", id="d" * 24, enqueued_at=NOW - 5, args={}, fails=4, last_err="boom",
                      failed_at=NOW - 1)
    buried = buried_job(b"junk unknown job when requeueing", "live", "malformed job payload in q: x", NOW - 1)
    r.zadd(k.dead, {j.encode(): NOW - 1 for j in [*killed.values(), really_dead, buried]})
    beat(r, k, LIVE, "live", NOW)
    beat(r, k, "f" * 24, "stale_only", NOW - 11)  # its heartbeat is too old: not live
    report = run_once(redis_server.port, Rescuer(k), NOW)
    assert report.rescued == 1
    assert [json.loads(m)["id"] for m in r.lrange(k.jobs("live"), 0, -1)] == [killed["live"].id]
    left = {json.loads(m)["id"] for m in r.zrange(k.dead, 0, -1)}
    assert left == {killed["stale_only"].id, killed["nobody"].id, really_dead.id, buried.id}


def test_looks_only_at_recent_entries(redis_server: Any, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    beat(r, k, LIVE, "x", NOW)
    old = Job(name="x", id="a" * 24, enqueued_at=1, args={}, last_err="unknown job when requeueing", failed_at=1)
    r.zadd(k.dead, {old.encode(): NOW - 3601})
    rescuer = Rescuer(k, batch=2)
    assert run_once(redis_server.port, rescuer, NOW).rescued == 0  # before its first look-back
    recent = [Job(name="x", id=f"{i:024d}", enqueued_at=1, args={}, last_err="unknown job when requeueing",
                  failed_at=NOW) for i in range(5)]
    r.zadd(k.dead, {j.encode(): NOW + 1 for j in recent})
    assert run_once(redis_server.port, rescuer, NOW + 2).rescued == 5  # paged in batches of 2
    assert r.zrange(k.dead, 0, -1) == [old.encode()]
