"""gowork doctor / repair against a real redis-server: every kind of finding, the dry run,
the repairs, and the re-checks that keep a repair from undoing a change made meanwhile."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis

from gowork_compat._redis import execute
from gowork_compat.cli import main
from gowork_compat.doctor import diagnose, repair
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.scripts import known_job_prune_call, unique_drop_call
from gowork_compat.unique import key_of

GONE = "aaaaaaaaaaaaaaaaaaaaaaaa"
UNLISTED = "bbbbbbbbbbbbbbbbbbbbbbbb"
LIVE = "cccccccccccccccccccccccc"


def snapshot(r: redis.Redis, ns: str) -> dict[bytes, Any]:
    return {key: r.dump(key) for key in r.scan_iter(match=ns + ":*")}


def broken_namespace(r: redis.Redis, redis_url: str, ns: str) -> dict[str, Any]:
    k = Keys(ns)
    now = int(time.time())
    enq = Enqueuer(redis_url, ns)
    stranded = [Job("work", f"s{i}", now, {"i": i}).encode() for i in range(3)]
    # a gone pool in the set, stale heartbeat, 2 jobs in progress that its lock counts
    r.sadd(k.worker_pools, GONE)
    r.hset(k.heartbeat(GONE), mapping={"heartbeat_at": now - 3600, "job_names": "work", "worker_ids": "w1"})
    r.lpush(k.in_progress(GONE, "work"), *stranded[:2])
    # a pool Go's reaper never sees: heartbeat hash, not in the set, 1 job in progress
    r.hset(k.heartbeat(UNLISTED), mapping={"heartbeat_at": now - 3600, "job_names": "work"})
    r.lpush(k.in_progress(UNLISTED, "work"), stranded[2])
    r.set(k.lock("work"), 3)
    r.hset(k.lock_info("work"), mapping={GONE: 2, UNLISTED: 1})
    # a live pool with one job running, and a lock that forgot it
    r.sadd(k.worker_pools, LIVE)
    r.hset(k.heartbeat(LIVE), mapping={"heartbeat_at": now, "job_names": "busy", "worker_ids": "wlive"})
    r.lpush(k.in_progress(LIVE, "busy"), Job("busy", "b1", now, None).encode())
    r.set(k.lock("busy"), 7)
    r.hset(k.lock_info("busy"), LIVE, 7)
    r.sadd(k.known_jobs, "work", "busy")
    # unique keys: held by a queued job, orphaned, and too short for its scheduled job
    held = enq.enqueue_unique("uq", {"a": 1})
    assert held is not None
    r.set(k.unique("uq", {"a": 2}), "1", ex=86400)
    far = Job("uq", "far", now, {"a": 3}, unique=True)
    r.zadd(k.scheduled, {far.encode(): now + 3 * 86400})
    r.set(key_of(k, far), "1", ex=86400)
    # observations, known_jobs, malformed entries
    r.hset(k.worker_observation("wlive"), mapping={"job_name": "busy"})
    r.hset(k.worker_observation("wgone"), mapping={"job_name": "work"})
    r.sadd(k.known_jobs, "ghost")
    r.lpush(k.jobs("bad"), b"not json \xff")
    r.zadd(k.retry, {b"garbage": now})
    return {"stranded": stranded, "held": held, "far": far}


def kinds(report: Any) -> list[tuple[str, str]]:
    return sorted((f.kind, f.key) for f in report.findings)


def test_doctor_finds_every_kind(r: redis.Redis, redis_url: str, ns: str) -> None:
    k = Keys(ns)
    b = broken_namespace(r, redis_url, ns)
    report = diagnose(redis_url, ns)
    found = kinds(report)
    assert ("gone_pool", k.heartbeat(GONE)) in found
    assert ("gone_pool", k.heartbeat(UNLISTED)) in found
    assert ("lock_drift", k.lock("busy")) in found
    assert ("orphaned_unique", k.unique("uq", {"a": 2})) in found
    assert ("short_unique_ttl", key_of(k, b["far"])) in found
    assert ("stale_observation", k.worker_observation("wgone")) in found
    assert ("stale_observation", k.worker_observation("wlive")) not in found
    assert ("empty_known_job", k.known_jobs) in found
    assert ("malformed", k.jobs("bad")) in found
    assert ("malformed", k.retry) in found
    assert not any(key == k.unique("uq", {"a": 1}) for _, key in found), "a held unique key is not orphaned"
    gone = next(f for f in report.findings if f.key == k.heartbeat(GONE))
    assert gone.data["stranded"] == {"work": 2} and gone.data["lock_info"] == {"work": "2"}
    ghost = [f for f in report.findings if f.kind == "empty_known_job"]
    assert [f.data["job_name"] for f in ghost] == ["ghost"]


def test_repair_dry_run_writes_nothing_then_yes_fixes(r: redis.Redis, redis_url: str, ns: str) -> None:
    k = Keys(ns)
    b = broken_namespace(r, redis_url, ns)
    before = snapshot(r, ns)
    dry = repair(redis_url, ns)
    assert dry.actions and all(a.get("dry_run") for a in dry.actions)
    assert snapshot(r, ns) == before
    done = repair(redis_url, ns, dry_run=False)
    assert all(a["done"] for a in done.actions), done.actions
    # stranded jobs back on their queue, exactly once; locks given back; pools removed
    assert sorted(r.lrange(k.jobs("work"), 0, -1)) == sorted(b["stranded"])
    assert r.get(k.lock("work")) == b"0" and r.hgetall(k.lock_info("work")) == {}
    assert not r.exists(k.heartbeat(GONE), k.heartbeat(UNLISTED), k.in_progress(GONE, "work"))
    assert r.smembers(k.worker_pools) == {LIVE.encode()}
    # the live pool's lock recounted from its in-progress list
    assert r.get(k.lock("busy")) == b"1" and r.hgetall(k.lock_info("busy")) == {LIVE.encode(): b"1"}
    assert not r.exists(k.unique("uq", {"a": 2}))
    assert r.exists(k.unique("uq", {"a": 1}))
    assert r.ttl(key_of(k, b["far"])) > 3 * 86400
    assert not r.exists(k.worker_observation("wgone")) and r.exists(k.worker_observation("wlive"))
    assert not r.sismember(k.known_jobs, "ghost") and r.sismember(k.known_jobs, "busy")
    assert r.llen(k.jobs("bad")) == 0
    (dead,) = r.zrange(k.dead, 0, -1)
    rec = json.loads(dead)
    assert rec["id"].startswith("malformed-") and rec["args"]["raw_payload"].startswith("not json")
    assert r.zrange(k.retry, 0, -1) == [b"garbage"], "report-only entries stay"
    # what is left: the malformed retry entry only (the requeued 'work' queue is fine)
    assert kinds(diagnose(redis_url, ns)) == [("malformed", k.retry)]


def test_repair_rechecks_at_the_moment_it_writes(r: redis.Redis, redis_url: str, ns: str) -> None:
    k = Keys(ns)
    key = k.unique("again", {"x": 1})
    r.set(key, "1", ex=100)
    r.sadd(k.known_jobs, "later")
    report = diagnose(redis_url, ns)
    seen = next(f for f in report.findings if f.kind == "orphaned_unique")
    # meanwhile the key expired and a new unique enqueue set it again; a job of 'later' came
    r.delete(key)
    r.set(key, "1", ex=86400)
    r.lpush(k.jobs("later"), Job("later", "l1", int(time.time()), None).encode())
    out = repair(redis_url, ns, report, dry_run=False)
    assert r.exists(key) and r.sismember(k.known_jobs, "later")
    results = {a["kind"]: a for a in out.actions}
    assert not results["orphaned_unique"]["done"] and not results["empty_known_job"]["done"]
    # and the scripts do act on what they were told about
    c = redis.Redis.from_url(redis_url)
    assert execute(c, [unique_drop_call(key, int(seen.data["expiry_ms"]))]) == [0]
    r.delete(k.jobs("later"))
    assert execute(c, [known_job_prune_call(k, "later")]) == [1]


def test_repair_leaves_a_pool_that_beats_again(r: redis.Redis, redis_url: str, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.worker_pools, GONE)
    r.hset(k.heartbeat(GONE), mapping={"heartbeat_at": int(time.time()) - 60, "job_names": "work"})
    r.lpush(k.in_progress(GONE, "work"), b"{}")
    report = diagnose(redis_url, ns)
    assert any(f.kind == "gone_pool" for f in report.findings)
    r.hset(k.heartbeat(GONE), "heartbeat_at", int(time.time()))  # it was only cut off for a while
    out = repair(redis_url, ns, report, dry_run=False)
    act = next(a for a in out.actions if a["kind"] == "gone_pool")
    assert not act["done"] and "alive" in act["result"]
    assert r.llen(k.in_progress(GONE, "work")) == 1


def test_zero_lock_info_of_a_stopped_pool(r: redis.Redis, redis_url: str, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "w")
    r.lpush(k.jobs("w"), Job("w", "j", int(time.time()), None).encode())
    r.set(k.lock("w"), 0)
    r.hset(k.lock_info("w"), mapping={GONE: 0})
    report = diagnose(redis_url, ns)
    assert [(f.kind, f.data["pool_id"]) for f in report.findings] == [("stale_lock_info", GONE)]
    repair(redis_url, ns, report, dry_run=False)
    assert r.hgetall(k.lock_info("w")) == {} and r.llen(k.jobs("w")) == 1
    assert diagnose(redis_url, ns).findings == []


def test_cli_doctor_and_repair(r: redis.Redis, redis_url: str, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "ghost")
    assert main(["--redis", redis_url, "-n", ns, "doctor"]) == 5
    out = capsys.readouterr().out
    assert "empty_known_job" in out and "ghost" in out
    assert main(["--redis", redis_url, "-n", ns, "repair", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["actions"] == [{"kind": "empty_known_job", "key": k.known_jobs, "fix": data["actions"][0]["fix"],
                                "done": False, "dry_run": True}]
    assert r.sismember(k.known_jobs, "ghost")
    assert main(["--redis", redis_url, "-n", ns, "repair", "--yes"]) == 0
    assert "removed" in capsys.readouterr().out
    assert not r.sismember(k.known_jobs, "ghost")
    assert main(["--redis", redis_url, "-n", ns, "doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
