from __future__ import annotations

import asyncio
import json

import pytest
import redis
import redis.asyncio as aredis

from gowork_compat.enqueuer import AsyncEnqueuer, EnqueuePlanner, Enqueuer
from gowork_compat.keys import Keys, namespace_prefix


def test_namespace_prefix_rules() -> None:
    assert namespace_prefix("work") == "work:"
    assert namespace_prefix("work:") == "work:"
    assert namespace_prefix("") == ""
    assert Keys("").jobs("x") == "jobs:x"
    assert Keys("a:b").in_progress("p", "n") == "a:b:jobs:n:p:inprogress"
    assert Keys("ns").unique("n", {"b": 1, "a": "<"}) == 'ns:unique:n:{"a":"\\u003c","b":1}\n'
    assert Keys("ns").unique("n", None) == "ns:unique:n:"


def test_enqueue_writes_go_bytes_and_known_jobs(r: redis.Redis, redis_url: str, ns: str) -> None:
    enq = Enqueuer(redis_url, ns)
    job = enq.enqueue("mail", {"to": "a@b"})
    raw = r.lindex(Keys(ns).jobs("mail"), 0)
    assert raw == b'{"name":"mail","id":"%s","t":%d,"args":{"to":"a@b"}}' % (job.id.encode(), job.enqueued_at)
    assert r.smembers(Keys(ns).known_jobs) == {b"mail"}
    assert job.encode() == raw
    assert len(job.id) == 24 and int(job.id, 16) >= 0


def test_known_jobs_written_once_per_300s(r: redis.Redis, ns: str) -> None:
    now = [1000.0]
    planner = EnqueuePlanner(ns, clock=lambda: now[0])
    assert planner.known_jobs_call(["a"]) is not None
    assert planner.known_jobs_call(["a"]) is None
    now[0] += 299
    assert planner.known_jobs_call(["a"]) is None
    now[0] += 1
    assert planner.known_jobs_call(["a"]) is not None
    _, calls = planner.plan_enqueue("b", None)
    assert [c.args[0] for c in calls] == ["LPUSH", "SADD"]
    _, calls = planner.plan_enqueue("b", None)
    assert [c.args[0] for c in calls] == ["LPUSH"]


def test_enqueue_nil_args_is_null(r: redis.Redis, redis_url: str, ns: str) -> None:
    job = Enqueuer(redis_url, ns).enqueue("n")
    assert json.loads(r.lindex(Keys(ns).jobs("n"), 0) or b"")["args"] is None
    assert job.args is None


def test_enqueue_in_and_unique_in(r: redis.Redis, redis_url: str, ns: str) -> None:
    enq = Enqueuer(redis_url, ns)
    sj = enq.enqueue_in("later", 30, {"a": 1})
    assert r.zscore(Keys(ns).scheduled, sj.job.encode()) == sj.run_at == sj.job.enqueued_at + 30
    u = enq.enqueue_unique_in("later", 10, {"a": 1})
    assert u is not None and u.job.unique
    assert enq.enqueue_unique_in("later", 10, {"a": 1}) is None
    assert enq.enqueue_unique("later", {"a": 1}) is None  # same key for queue and schedule
    assert r.zcard(Keys(ns).scheduled) == 2


def test_master_dialect_adds_unique_key_and_refreshes(r: redis.Redis, redis_url: str, ns: str) -> None:
    enq = Enqueuer(redis_url, ns, dialect="master")
    job = enq.enqueue_unique("m", {"a": 1})
    assert job is not None
    key = Keys(ns).unique("m", {"a": 1})
    assert job.unique_key == key
    assert json.loads(r.lindex(Keys(ns).jobs("m"), 0) or b"")["unique_key"] == key
    r.expire(key, 100)
    assert enq.enqueue_unique("m", {"a": 1}) is None
    assert r.ttl(key) > 86000, "master refreshes the TTL on a duplicate"
    old = Enqueuer(redis_url, ns)
    r.expire(key, 100)
    assert old.enqueue_unique("m", {"a": 1}) is None
    assert r.ttl(key) <= 100, "v0.5.1 leaves the TTL alone"


def test_unique_by_key_stores_the_newest_job(r: redis.Redis, redis_url: str, ns: str) -> None:
    enq = Enqueuer(redis_url, ns)
    first = enq.enqueue_unique_by_key("k", {"v": 1}, {"user": 7})
    assert first is not None
    assert enq.enqueue_unique_by_key("k", {"v": 2}, {"user": 7}) is None
    key = Keys(ns).unique("k", {"user": 7})
    stored = json.loads(r.get(key) or b"")
    assert stored["args"] == {"v": 2} and stored["unique_key"] == key
    assert r.llen(Keys(ns).jobs("k")) == 1


def test_bulk_groups_by_name_and_keeps_order(r: redis.Redis, redis_url: str, ns: str) -> None:
    enq = Enqueuer(redis_url, ns)
    jobs = enq.enqueue_many([("a", {"i": i}) if i % 3 else ("b", {"i": i}) for i in range(2500)])
    a = [json.loads(x)["args"]["i"] for x in reversed(r.lrange(Keys(ns).jobs("a"), 0, -1))]
    b = [json.loads(x)["args"]["i"] for x in reversed(r.lrange(Keys(ns).jobs("b"), 0, -1))]
    assert a == [i for i in range(2500) if i % 3]
    assert b == [i for i in range(2500) if not i % 3]
    assert len({j.id for j in jobs}) == 2500
    assert r.smembers(Keys(ns).known_jobs) == {b"a", b"b"}
    assert enq.enqueue_many([]) == []


def test_accepts_client_objects_of_both_kinds(redis_server: object, ns: str, r: redis.Redis) -> None:
    port = r.connection_pool.connection_kwargs["port"]
    sync_from_async = Enqueuer(aredis.Redis(port=port), ns)
    sync_from_async.enqueue("x", {})

    async def main() -> None:
        a = AsyncEnqueuer(redis.Redis(port=port), ns)
        await a.enqueue("x", {"a": 1})
        assert await a.enqueue_unique("x", {"u": 1}) is not None
        assert await a.enqueue_unique("x", {"u": 1}) is None
        jobs = await asyncio.gather(*(a.enqueue("y", {"i": i}) for i in range(100)))
        assert len(jobs) == 100
        many = await a.enqueue_many([("z", None)] * 10)
        assert len(many) == 10
        await a.aclose()

    asyncio.run(main())
    assert r.llen(Keys(ns).jobs("x")) == 3 and r.llen(Keys(ns).jobs("y")) == 100
    with pytest.raises(TypeError,
                       match=r"^expected a Redis URL, redis\.Redis, redis\.asyncio\.Redis or a RedisCluster, got int"):
        Enqueuer(42, ns)  # type: ignore[arg-type]


def test_redis_down_is_a_clear_error(ns: str) -> None:
    from tests.conftest import free_port
    enq = Enqueuer(f"redis://127.0.0.1:{free_port()}/0", ns)
    with pytest.raises(redis.exceptions.ConnectionError, match=r"^Error 111 connecting to 127\.0\.0\.1:"):
        enq.enqueue("x", {})
    # the known-jobs cache did not record the failed SADD
    assert enq.planner.known_jobs_call(["x"]) is not None


def test_scripts_are_reloaded_after_a_flush(r: redis.Redis, redis_url: str, ns: str) -> None:
    """NOSCRIPT (a restarted or flushed Redis) costs a reload, not an error, on both front ends."""
    enq = Enqueuer(redis_url, ns)
    assert enq.enqueue_unique("u", {"a": 1}) is not None
    r.script_flush()
    assert enq.enqueue_unique("u", {"a": 2}) is not None
    assert enq.enqueue_unique("u", {"a": 2}) is None

    async def main() -> None:
        a = AsyncEnqueuer(redis_url, ns)
        r.script_flush()
        assert await a.enqueue_unique_in("u", 5, {"a": 3}) is not None
        await a.aclose()

    asyncio.run(main())
    assert r.llen(Keys(ns).jobs("u")) == 2 and r.zcard(Keys(ns).scheduled) == 1
