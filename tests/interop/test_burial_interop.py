"""Records we bury survive Go's retry: they always carry a string name, so Go's retry
scripts never fail after their ZREM (which lost the payload)."""

from __future__ import annotations

import json

import redis

from gowork_compat._redis import execute
from gowork_compat.keys import Keys
from gowork_compat.requeuer import Requeuer
from tests.interop.harness import Harness

UNWRITABLE = b'{"name":"mine","id":"aaaaaaaaaaaaaaaaaaaaaaaa","t":1,"args":{"v":1e999},"fails":1}'


def payloads(r: redis.Redis, k: Keys) -> set[str]:
    """Every raw_payload still stored in the dead set or the queues."""
    out: set[str] = set()
    members = list(r.zrange(k.dead, 0, -1))
    for q in r.keys(k.jobs_prefix + "*"):
        if r.type(q) == b"list":
            members += r.lrange(q, 0, -1)
    for m in members:
        d = json.loads(m)
        if isinstance(d.get("args"), dict) and "raw_payload" in d["args"]:
            out.add(d["args"]["raw_payload"])
    return out


def test_go_retry_does_not_delete_our_buried_records(harness: Harness, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "mine")
    r.zadd(k.retry, {b"not json": 1, UNWRITABLE: 1})
    execute(r, [Requeuer(k, k.retry, ["mine"]).call(100, limit=10)])
    assert payloads(r, k) == {"not json", UNWRITABLE.decode()}
    recs = [json.loads(m) for m, _ in r.zrange(k.dead, 0, -1, withscores=True)]
    for rec in recs:
        resp = harness.client("RetryDeadJob", died_at=100, job_id=rec["id"])
        assert "error" not in resp or "nothing" in resp.get("error", ""), resp
    assert payloads(r, k) == {"not json", UNWRITABLE.decode()}
    resp = harness.client("RetryAllDeadJobs")
    assert "error" not in resp, resp
    assert payloads(r, k) == {"not json", UNWRITABLE.decode()}
