"""The web UI's actions beyond upstream over HTTP, against a real redis-server: which
namespace and Redis it shows, deleting queued jobs, running retry and scheduled jobs now
(each one atomic script: a second try finds nothing, 404), purging a queue with a typed
confirmation, resetting a lock."""

from __future__ import annotations

import time

import redis

from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.webui import create_app, redis_location
from tests.test_webui import NOW, TestClient, job


def test_info_names_namespace_and_redis_without_password(redis_url: str, ns: str) -> None:
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    with TestClient(create_app(f"redis://:s3cret@127.0.0.1:{port}/0", ns)) as c:
        body = c.get("/info").json()
    assert body == {"namespace": ns, "redis": f"redis://:***@127.0.0.1:{port}/0", "namespaces": [ns]}
    assert redis_location(redis.Redis(host="127.0.0.1", port=int(port), db=3, password="x")) == \
        f"redis://127.0.0.1:{port}/3"
    assert "pw" not in redis_location("redis://u:pw@h:1/0?password=pw")


def test_delete_queued_job(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    jobs = [job("mail", f"q{i}") for i in range(3)]
    unique = Job(name="mail", id="u1", enqueued_at=NOW, args={"a": 1}, unique=True)
    for j in [*jobs, unique]:
        r.lpush(k.jobs("mail"), j.encode())
    with TestClient(create_app(redis_url, ns)) as c:
        assert c.post("/delete_queued_job/q1/mail").json() == {"status": "ok"}
        assert [Job.decode(m).id for m in r.lrange(k.jobs("mail"), 0, -1)] == ["u1", "q2", "q0"]
        again = c.post("/delete_queued_job/q1/mail")
        assert again.status_code == 404 and again.json() == {"error": "nothing deleted"}
        assert c.post("/delete_queued_job/u1/mail").status_code == 200
        assert c.post("/delete_queued_job/q0/other").status_code == 404
    assert [Job.decode(m).id for m in r.lrange(k.jobs("mail"), 0, -1)] == ["q2", "q0"]


def test_run_retry_and_scheduled_jobs_now(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    rj = job("sms", "r1", fails=1, last_err="x", failed_at=NOW).encode()
    sj = job("mail", "s1").encode()
    r.zadd(k.retry, {rj: NOW + 60})
    r.zadd(k.scheduled, {sj: NOW + 600})
    with TestClient(create_app(redis_url, ns)) as c:
        assert c.post(f"/run_retry_job_now/{NOW + 60}/r1").json() == {"status": "ok"}
        assert r.lrange(k.jobs("sms"), 0, -1) == [rj] and r.zcard(k.retry) == 0  # bytes unchanged, as Go's requeuer
        assert c.post(f"/run_retry_job_now/{NOW + 60}/r1").status_code == 404  # never doubled
        assert c.post(f"/enqueue_scheduled_job_now/{NOW + 1}/s1").status_code == 404  # wrong time: untouched
        assert c.post(f"/enqueue_scheduled_job_now/{NOW + 600}/s1").json() == {"status": "ok"}
        assert r.lrange(k.jobs("mail"), 0, -1) == [sj] and r.zcard(k.scheduled) == 0
        assert c.post("/run_retry_job_now/soon/r1").status_code == 400


def test_purge_queue_needs_the_typed_name(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    for i in range(5):
        r.lpush(k.jobs("mail"), job("mail", f"q{i}").encode())
    with TestClient(create_app(redis_url, ns)) as c:
        for body in ({}, {"confirm": "mai"}, {"confirm": "MAIL"}):
            refused = c.post("/purge_queue/mail", json=body)
            assert refused.status_code == 400 and "type the job name" in refused.json()["error"]
        assert c.post("/purge_queue/mail", content=b"not json").status_code == 400
        assert r.llen(k.jobs("mail")) == 5
        assert c.post("/purge_queue/mail", json={"confirm": "mail"}).json() == {"status": "ok", "purged": 5}
        assert not r.exists(k.jobs("mail"))
        assert c.post("/purge_queue/mail", json={"confirm": "mail"}).json()["purged"] == 0


def test_reset_lock_drops_dead_pools_share(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    r.set(k.lock("mail"), 7)
    r.hset(k.lock_info("mail"), mapping={"gone-pool": 5, "live": 2})
    r.sadd(k.worker_pools, "live")
    r.hset(k.heartbeat("live"), mapping={"heartbeat_at": int(time.time())})
    with TestClient(create_app(redis_url, ns)) as c:
        body = c.post("/reset_lock/mail").json()
    assert body["lock"] == 2 and body["lock_info"] == {"live": 2}
    assert r.get(k.lock("mail")) == b"2"


def test_job_detail(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    dead = job("mail", "d1", fails=3, last_err="smtp: 550", failed_at=NOW - 9)
    r.zadd(k.dead, {dead.encode(): NOW - 9})
    r.lpush(k.jobs("mail"), job("mail", "q1").encode(), job("mail", "q2").encode())
    r.sadd(k.worker_pools, "pool1")
    r.hset(k.heartbeat("pool1"), mapping={"heartbeat_at": NOW, "worker_ids": "w1,w2"})
    r.hset(k.worker_observation("w2"), mapping={"job_name": "mail", "job_id": "q1", "started_at": NOW,
                                                "args": "{}", "checkin": "half way"})
    with TestClient(create_app(redis_url, ns)) as c:
        for path in (f"/job/dead/d1?score={NOW - 9}", "/job/dead/d1"):
            body = c.get(path).json()
            assert body["where"] == "dead" and body["score"] == NOW - 9
            assert body["job"] == {"died_at": NOW - 9, "name": "mail", "id": "d1", "t": NOW - 50,
                                   "args": {"to": "<a@b>"}, "fails": 3, "err": "smtp: 550", "failed_at": NOW - 9}
            assert body["raw"] == dead.encode().decode() and body["running"] == []
        queued = c.get("/job/queue/q1?job_name=mail").json()
        assert queued["where"] == "queue" and queued["job"]["id"] == "q1"
        (w,) = queued["running"]
        assert w["worker_id"] == "w2" and w["worker_pool_id"] == "pool1" and w["checkin"] == "half way"
        assert c.get(f"/job/dead/d1?score={NOW}").status_code == 404
        assert c.get("/job/retry/d1").status_code == 404
        assert c.get("/job/queue/q1").status_code == 400
        assert c.get("/job/elsewhere/q1").status_code == 400
        assert c.get("/job/dead/d1?score=x").status_code == 400


def test_search_is_bounded_and_paged(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    q = k.jobs("mail")
    r.rpush(q, *[Job(name="mail", id=f"q{i}", enqueued_at=NOW, args={"to": f"user{i}@x"}).encode()
                 for i in range(25_000)])  # rpush: q0 is the newest, q24999 the oldest
    r.zadd(k.retry, {Job(name="sms", id=f"r{i}", enqueued_at=NOW, args={"n": i}).encode(): NOW + i
                     for i in range(50)})
    with TestClient(create_app(redis_url, ns)) as c:
        first = c.get("/search/queue", params={"job_name": "mail", "by": "args", "q": "user1"}).json()
        # the oldest first: user19999 .. is met before user1; a page holds 20 matches
        assert len(first["jobs"]) == 20 and first["cursor"] > 0 and first["scanned"] <= 10_000
        ids, cursor, pages = [j["id"] for j in first["jobs"]], first["cursor"], 1
        while cursor:
            page = c.get("/search/queue", params={"job_name": "mail", "by": "args", "q": "user1",
                                                  "cursor": cursor}).json()
            assert page["scanned"] <= 10_000
            ids += [j["id"] for j in page["jobs"]]
            cursor, pages = page["cursor"], pages + 1
        want = {f"q{i}" for i in range(25_000) if f"user{i}@".startswith("user1")}
        assert sorted(ids) == sorted(want) and len(ids) == len(want) and pages > 2
        found, cursor, pages = [], 0, 0
        while True:  # q77 is among the newest: the last of three bounded pages finds it
            byid = c.get("/search/queue", params={"job_name": "mail", "q": "q77", "cursor": cursor}).json()
            found += [j["id"] for j in byid["jobs"]]
            cursor, pages = byid["cursor"], pages + 1
            if not cursor:
                break
        assert found == ["q77"] and pages == 3
        retry = c.get("/search/retry", params={"by": "args", "q": '"n":4'}).json()
        assert [(j["id"], j["retry_at"]) for j in retry["jobs"]] == [("r4", NOW + 4)] + \
            [(f"r{i}", NOW + i) for i in range(40, 50)]
        assert retry["cursor"] == 0
        assert c.get("/search/retry", params={"q": "r3"}).json()["jobs"][0]["id"] == "r3"
        assert c.get("/search/retry", params={"by": "name", "q": "x"}).status_code == 400
        assert c.get("/search/retry").status_code == 400
