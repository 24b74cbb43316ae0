"""The batch scripts leave Redis exactly as the Go-shaped single-step scripts would."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from gowork_compat._redis import execute
from gowork_compat.keys import Keys
from gowork_compat.scripts import ack_batch_call, fetch_batch_call, fetch_call

POOL = "0123456789abcdef01234567"
NAMES = ["a", "b", "c", "d"]


def build(r: redis.Redis, k: Keys) -> None:
    r.lpush(k.jobs("a"), *[f"a{i}".encode() for i in range(7)])
    r.lpush(k.jobs("b"), *[f"b{i}".encode() for i in range(5)])
    r.set(k.max_concurrency("b"), 3)
    r.set(k.lock("b"), 1)
    r.hset(k.lock_info("b"), "other-pool", 1)
    r.lpush(k.jobs("c"), b"c0", b"c1")
    r.set(k.paused("c"), "1")
    r.set(k.max_concurrency("a"), 0)


def snapshot(r: redis.Redis, k: Keys) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(r.scan_iter(match=k.prefix + "*")):
        name = key.decode()[len(k.prefix):]
        t = r.type(key)
        if t == b"list":
            out[name] = r.lrange(key, 0, -1)
        elif t == b"hash":
            out[name] = r.hgetall(key)
        elif t == b"zset":
            out[name] = r.zrange(key, 0, -1, withscores=True)
        else:
            out[name] = r.get(key)
    return out


@pytest.mark.parametrize("want", [1, 2, 4, 9, 20])
def test_batch_fetch_equals_single_fetches(r: redis.Redis, ns: str, want: int) -> None:
    one, many = Keys(ns + "-single"), Keys(ns + "-batch")
    build(r, one)
    build(r, many)
    singles: list[tuple[bytes, int]] = []
    for _ in range(want):
        (res,) = execute(r, [fetch_call(one, POOL, NAMES)])
        if res is None:
            break
        singles.append((res[0], NAMES.index(res[1].decode().rsplit(":", 1)[1]) + 1))
    (batch,) = execute(r, [fetch_batch_call(many, POOL, NAMES, want)])
    pairs = [(batch[i], int(batch[i + 1])) for i in range(0, len(batch), 2)] if batch and batch[0] != 0 else []
    assert pairs == singles
    assert snapshot(r, one) == snapshot(r, many)


def test_batch_fetch_reports_empty_queues(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.lpush(k.jobs("c"), b"held")
    r.set(k.paused("c"), "1")
    (res,) = execute(r, [fetch_batch_call(k, POOL, NAMES, 5)])
    assert res[0] == 0 and sorted(res[1:]) == [1, 2, 4]


def test_batch_ack_equals_go_multi(r: redis.Redis, ns: str) -> None:
    go, ours = Keys(ns + "-go"), Keys(ns + "-py")
    for k in (go, ours):
        r.lpush(k.in_progress(POOL, "a"), b"j1", b"j2", b"j3")
        r.lpush(k.in_progress(POOL, "b"), b"k1")
        r.set(k.lock("a"), 3)
        r.set(k.lock("b"), 1)
        r.hset(k.lock_info("a"), POOL, 3)
        r.hset(k.lock_info("b"), POOL, 1)
    acks = [("a", b"j1", 0, 0, b""), ("a", b"j3", 1, 100, b"j3-retry"), ("b", b"k1", 2, 50, b"k1-dead"),
            ("a", b"missing", 0, 0, b"")]
    for name, raw, fate, score, member in acks:  # what Go sends after each job
        pipe = r.pipeline(transaction=True)
        pipe.lrem(go.in_progress(POOL, name), 1, raw)
        pipe.decr(go.lock(name))
        pipe.hincrby(go.lock_info(name), POOL, -1)
        if fate == 1:
            pipe.zadd(go.retry, {member: score})
        elif fate == 2:
            pipe.zadd(go.dead, {member: score})
        pipe.execute()
    batch = [(1 if name == "a" else 2, raw, fate, score, member) for name, raw, fate, score, member in acks]
    execute(r, [ack_batch_call(ours, POOL, ["a", "b"], batch)])
    (stats,) = r.keys(ours.stats_prefix + "*")  # beyond Go: the minute's counters, in a key Go never reads
    assert r.hgetall(stats) == {b"processed:a": b"3", b"failed:a": b"1", b"processed:b": b"1", b"failed:b": b"1"}
    r.delete(stats)
    assert snapshot(r, go) == snapshot(r, ours)
    assert r.zrange(ours.retry, 0, -1, withscores=True) == r.zrange(go.retry, 0, -1, withscores=True)
    assert r.zrange(ours.dead, 0, -1) == [b"k1-dead"]
