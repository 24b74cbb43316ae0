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
    assert body == {"namespace": ns, "redis": f"redis://:***@127.0.0.1:{port}/0"}
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
