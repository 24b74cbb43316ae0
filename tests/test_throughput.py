"""Our pools' throughput counters (keys Go never reads): the batch acknowledgement adds
each batch's finished and failed jobs per job name to the minute's hash, with a TTL; the
client and the web UI read them back per minute."""

from __future__ import annotations

import time

import redis

from gowork_compat.client import Client
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool
from gowork_compat.scripts import STATS_TTL
from gowork_compat.webui import create_app
from tests.conftest import until
from tests.test_webui import TestClient


def boom(job: Job) -> None:
    raise RuntimeError("boom")


def test_pool_counts_processed_and_failed_per_minute(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    enq = Enqueuer(redis_url, ns)
    enq.enqueue_many([("ok_job", {"i": i}) for i in range(30)] + [("bad_job", {"i": i}) for i in range(4)])
    pool = WorkerPool(redis_url, ns, concurrency=4)
    pool.job("ok_job", lambda job: None)
    pool.job("bad_job", boom, max_fails=1)
    before = int(time.time())
    pool.start()
    try:
        until(lambda: r.zcard(k.dead) == 4 and r.llen(k.jobs("ok_job")) == 0, what="the jobs to finish")
        until(lambda: not any(r.llen(key) for key in r.keys(k.prefix + "jobs:*:inprogress")), what="the acks")
    finally:
        pool.stop(grace_period=5)
    keys = sorted(r.keys(k.stats_prefix + "*"))
    assert keys and all(int(key.rsplit(b":", 1)[1]) % 60 == 0 for key in keys)
    assert all(int(key.rsplit(b":", 1)[1]) >= before - before % 60 for key in keys)
    totals: dict[bytes, int] = {}
    for key in keys:
        assert 0 < r.ttl(key) <= STATS_TTL
        for field, value in r.hgetall(key).items():
            totals[field] = totals.get(field, 0) + int(value)
    assert totals == {b"processed:ok_job": 30, b"processed:bad_job": 4, b"failed:bad_job": 4}

    rows = Client(redis_url, ns).throughput(5)
    assert len(rows) == 5 and rows[-1].minute == int(time.time()) // 60 * 60
    assert sum(sum(m.processed.values()) for m in rows) == 34
    assert sum(m.failed.get("bad_job", 0) for m in rows) == 4
    with TestClient(create_app(redis_url, ns)) as c:
        body = c.get("/throughput?minutes=5").json()
        assert [m["t"] for m in body] == [m.minute for m in rows]
        assert sum(m["processed"] for m in body) == 34 and sum(m["failed"] for m in body) == 4
        assert c.get("/throughput?minutes=0").status_code == 400
        assert c.get("/throughput?minutes=x").status_code == 400


def test_the_counters_key_follows_the_namespace(r: redis.Redis) -> None:
    assert Keys("").stats(120) == "gowork:stats:120"
    assert Keys("{app}:").stats(60) == "{app}:gowork:stats:60"
