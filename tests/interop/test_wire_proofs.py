"""Claims of spec/README.md that had no Go-backed proof (see spec/PROOFS.md), each proven
against the real gocraft/work v0.5.1 through the Go harness: job fates at every fail count,
the bytes a requeuer writes, the bytes and scores of every Enqueue method, namespace
spelling, and the Python reaper's dead-pool window on a real Go pool's heartbeat.
Each test takes a few seconds."""

from __future__ import annotations

import json
import math
import re
import signal
import time
from typing import Any

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.keys import Keys
from tests.conftest import until
from tests.interop.harness import Harness
from tests.interop.test_go_proofs import other_ns, stopped_at_end


def _raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _members(r: redis.Redis, key: str) -> list[tuple[bytes, float]]:
    return [(m, s) for m, s in r.zrange(key, 0, -1, withscores=True)]


# -- fates ----------------------------------------------------------------------------------

FATE_JOBS: dict[str, Any] = {
    "dflt": {"max_fails": 0, "backoff_seconds": 3600, "behavior": {"kind": "fail", "error": "e"}},  # Go: 0 means 4
    "three": {"max_fails": 3, "backoff_seconds": 3600, "behavior": {"kind": "fail", "error": "e"}},
    "one": {"max_fails": 1, "backoff_seconds": 3600, "behavior": {"kind": "fail", "error": "e"}},
    "skip": {"max_fails": 2, "skip_dead": True, "backoff_seconds": 3600, "behavior": {"kind": "fail", "error": "e"}},
    "fine": {"max_fails": 2, "behavior": {"kind": "succeed"}},
}
FAILS_BEFORE = range(0, 6)


def _fate_inputs(r: redis.Redis, ns: str) -> int:
    k = Keys(ns)
    n = 0
    for name in FATE_JOBS:
        for f in FAILS_BEFORE:
            body: dict[str, Any] = {"name": name, "id": f"{name}-{f}", "t": 1_700_000_000, "args": {"f": f}}
            if f:
                body.update(fails=f, err="earlier", failed_at=1_700_000_100)
            r.lpush(k.jobs(name), _raw(body))
            n += 1
    return n


def _fate_state(r: redis.Redis, ns: str, err_prefix: str) -> dict[str, Any]:
    """Retry and dead members as raw bytes (failed_at masked, score kept relative to it), the
    queues, in-progress lists and locks."""
    k = Keys(ns)
    out: dict[str, Any] = {}
    for zset in ("retry", "dead"):
        rows = []
        for m, score in _members(r, getattr(k, zset)):
            failed_at = json.loads(m)["failed_at"]
            text = m.decode().replace(f'"failed_at":{failed_at}', '"failed_at":T')
            text = text.replace(f'"err":"{err_prefix}', '"err":"')
            rows.append((text, int(score) - failed_at))
        out[zset] = sorted(rows)
    for name in FATE_JOBS:
        out[name] = (r.lrange(k.jobs(name), 0, -1), sum(r.llen(key) for key in r.keys(k.jobs(name) + ":*:inprogress")),
                     r.get(k.lock(name)))
    return out


@pytest.mark.timeout(60)
def test_fates_at_every_fail_count_match_a_go_pool(harness: Harness, r: redis.Redis) -> None:
    """Jobs with 0 to 5 earlier failures under max_fails 0 (Go's default, 4), 3 and 1, with
    skip_dead and succeeding: the retry and dead sets a Go pool leaves equal ours byte for
    byte (the failure text aside: ours is "Type: message")."""
    ends = {}
    for side in ("go", "py"):
        h = other_ns(harness, side)
        total = _fate_inputs(r, h.namespace)
        start = h.start_worker if side == "go" else h.start_python_worker
        with start({"concurrency": 4, "jobs": FATE_JOBS}) as w:
            w.wait_jobs(total, timeout=30)
            k = Keys(h.namespace)
            until(lambda k=k: all(int(r.get(k.lock(n)) or 0) == 0 for n in FATE_JOBS), what="every ack")
            w.stop()
        ends[side] = _fate_state(r, h.namespace, "RuntimeError: " if side == "py" else "")
    go, py = ends["go"], ends["py"]
    # the fates are those of the spec: retried while fails < max_fails, then dead (or gone: skip_dead)
    assert len(go["retry"]) == 3 + 2 + 0 + 1 and len(go["dead"]) == 3 + 4 + 6 + 0
    assert py == go


# -- requeuer bytes ---------------------------------------------------------------------------

REQUEUE_ARGS: list[Any] = [
    {"html": "<a href='/x'>&amp;</a>", "path": "/a/b", "ls": "\u2028\u2029", "del": "\u007f"},
    {"f": 0.1, "pi": 3.141592653589793, "big": 1e21, "int": 12345678901234567, "tiny": 1e-7, "neg0": -0.0},
    {"empty_list": [], "empty_obj": {}, "nested": [[], {"k": [1, "two", None, True, False]}]},
    {"unicode": "h\u00e9llo \U0001d11e", "esc": "\"q\" \\ \t\n", "n": None},
    None,
]


def _requeue_inputs(r: redis.Redis, ns: str, now: int) -> None:
    k = Keys(ns)
    for i, args in enumerate(REQUEUE_ARGS):
        r.zadd(k.scheduled, {_raw({"name": "rq", "id": f"s{i}", "t": now - 100, "args": args}): now - 50 + i})
        r.zadd(k.retry, {_raw({"name": "rq", "id": f"r{i}", "t": now - 100, "args": args, "fails": 2,
                               "err": "x</y>", "failed_at": now - 60}): now - 40 + i})


@pytest.mark.timeout(60)
def test_requeued_jobs_have_the_bytes_a_go_requeuer_writes(harness: Harness, r: redis.Redis) -> None:
    """Due scheduled and retry jobs (HTML characters, "/", U+2028, DEL, floats of more than 14
    digits, big integers, empty arrays, nil args) requeued by a Go pool and by a Python pool
    onto a paused queue: the queues hold the same bytes, each set's jobs in the same order, `t`
    aside."""
    now = int(time.time())
    ends = {}
    for side in ("go", "py"):
        h = other_ns(harness, side)
        k = Keys(h.namespace)
        r.set(k.paused("rq"), "1")
        _requeue_inputs(r, h.namespace, now)
        start = h.start_worker if side == "go" else h.start_python_worker
        with start({"concurrency": 1, "jobs": {"rq": {"behavior": {"kind": "succeed"}}}}) as w:
            until(lambda k=k: r.llen(k.jobs("rq")) == 2 * len(REQUEUE_ARGS), what=f"{side}: every job requeued")
            w.stop()
        assert r.zcard(k.scheduled) == r.zcard(k.retry) == 0
        queue = r.lrange(k.jobs("rq"), 0, -1)
        ts = {json.loads(m)["t"] for m in queue}
        assert len(ts) <= 2 and all(now <= t <= now + 30 for t in ts), f"{side}: t is the time of the requeue"
        # the two sets are requeued by loops of their own: compare each set's jobs in queue order
        ends[side] = {z: [re.sub(rb'"t":\d+', b'"t":T', m) for m in queue if json.loads(m)["id"][0] == z]
                      for z in "sr"}
    assert ends["py"] == ends["go"]
    assert any(b"\\/" in m for m in ends["go"]["r"]), "the cjson pass is part of what is compared"


# -- enqueue bytes, scores and keys -----------------------------------------------------------

ENQ_ARGS: dict[str, Any] = {"to": "a<b>&c", "n": 7, "f": 0.5, "l": [1, None, {"z": "\u2028"}]}


def _swap(raw: bytes, src: dict[str, Any], dst: dict[str, Any]) -> bytes:
    return raw.replace(b'"id":"%s"' % src["id"].encode(), b'"id":"%s"' % dst["id"].encode()).replace(
        b'"t":%d' % src["t"], b'"t":%d' % dst["t"])


def test_every_enqueue_method_writes_go_bytes_scores_and_keys(harness: Harness, redis_url: str, ns: str,
                                                               r: redis.Redis) -> None:
    """EnqueueIn, EnqueueUnique and EnqueueUniqueIn by Go and by Python (other args each, so
    both uniques are accepted): the same job bytes but for id and `t`, the same score offset
    from `t`, the unique key holding "1" with Go's TTL, known_jobs updated."""
    k = Keys(ns)
    enq = Enqueuer(redis_url, ns)
    go_args = {**ENQ_ARGS, "side": "go"}
    py_args = {**ENQ_ARGS, "side": "py"}
    (g_in, g_u, g_uin) = harness.enqueue([
        {"method": "EnqueueIn", "name": "e_in", "in": 30, "args": go_args},
        {"method": "EnqueueUnique", "name": "e_u", "args": go_args},
        {"method": "EnqueueUniqueIn", "name": "e_uin", "in": 30, "args": go_args},
    ])
    p_in = enq.enqueue_in("e_in", 30, py_args)
    p_u = enq.enqueue_unique("e_u", py_args)
    p_uin = enq.enqueue_unique_in("e_uin", 30, py_args)
    assert p_u is not None and p_uin is not None

    def scheduled(job_id: str) -> tuple[bytes, float]:
        (hit,) = [(m, s) for m, s in _members(r, k.scheduled) if json.loads(m)["id"] == job_id]
        return hit

    for go, py in ((g_in, p_in.job), (g_uin, p_uin.job)):
        g_raw, g_score = scheduled(go["job"]["id"])
        p_raw, p_score = scheduled(py.id)
        py_d = json.loads(p_raw)
        assert _swap(p_raw, py_d, go["job"]).replace(b'"py"', b'"go"') == g_raw
        assert p_score - py_d["t"] == g_score - go["job"]["t"] == 30
    g_raw, p_raw = r.lrange(k.jobs("e_u"), 0, -1)[::-1]
    assert _swap(p_raw, json.loads(p_raw), g_u["job"]).replace(b'"py"', b'"go"') == g_raw
    assert b'"unique":true' in g_raw
    for name in ("e_u", "e_uin"):
        go_key, py_key = k.unique(name, go_args), k.unique(name, py_args)
        assert r.get(go_key) == r.get(py_key) == b"1"
        assert abs(r.ttl(go_key) - r.ttl(py_key)) <= 1 and r.ttl(go_key) > 86_000
    assert {b"e_in", b"e_u", b"e_uin"} <= r.smembers(k.known_jobs)


def test_a_namespace_with_or_without_its_colon_is_one_namespace(harness: Harness, redis_url: str, ns: str,
                                                               r: redis.Redis) -> None:
    """Go enqueues into "<ns>:", Python into "<ns>" and the reverse: one queue, and a Python
    pool on either spelling runs all four jobs."""
    colon = Harness(harness.binary, harness.redis_host, harness.redis_port, ns + ":")
    (g1,) = colon.enqueue([{"method": "Enqueue", "name": "c", "args": {"i": 1}}])
    (g2,) = harness.enqueue([{"method": "Enqueue", "name": "c", "args": {"i": 2}}])
    p1 = Enqueuer(redis_url, ns).enqueue("c", {"i": 3})
    p2 = Enqueuer(redis_url, ns + ":").enqueue("c", {"i": 4})
    assert r.llen(f"{ns}:jobs:c") == 4 and not r.exists(f"{ns}::jobs:c")
    assert Keys(ns + ":").jobs("c") == Keys(ns).jobs("c")
    with colon.start_python_worker({"concurrency": 2, "jobs": {"c": {"behavior": {"kind": "succeed"}}}}) as w:
        w.wait_jobs(4, timeout=15)
        w.stop()
    assert {e["id"] for e in w.events("job_start")} == {g1["job"]["id"], g2["job"]["id"], p1.id, p2.id}


# -- the dead-pool window on a Go heartbeat -----------------------------------------------------

SET_IF_EXISTS = "if redis.call('exists', KEYS[1]) == 1 then redis.call('hset', KEYS[1], 'heartbeat_at', ARGV[1]) end"


@pytest.mark.timeout(60)
def test_python_reaper_judges_a_go_heartbeat_by_gos_window(harness: Harness, r: redis.Redis) -> None:
    """A Go pool mid-job, frozen (SIGSTOP) so that its heartbeat hash stays as Go wrote it but
    for `heartbeat_at`, which the test holds at an age. Held between 8 and 9 s old for 1.5 s
    (five reaper passes): the Python reaper leaves the pool, its job and its lock alone, as
    Go's reaper would (dead means 10 s). Held between 10 and 11 s old: it reaps the pool at
    its next pass, the job back on the queue and the lock at 0."""
    k = Keys(harness.namespace)
    Enqueuer(f"redis://{harness.addr}/0", harness.namespace).enqueue("gslow", {"x": 1})
    go = harness.start_worker({"concurrency": 1, "jobs": {"gslow": {"behavior": {"kind": "sleep",
                                                                                "sleep_ms": 60_000}}}})
    beat = k.heartbeat(go.pool_id)

    def hold(age: int, seconds: float) -> None:
        """Keep heartbeat_at between ``age`` - 1 and ``age`` seconds old for ``seconds``, or
        until the pool is reaped (never writing a hash the reaper deleted)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and r.sismember(k.worker_pools, go.pool_id):
            r.eval(SET_IF_EXISTS, 1, beat, math.ceil(time.time()) - age)
            time.sleep(0.05)

    with stopped_at_end(go):
        go.wait_for(lambda e: e.get("event") == "job_start")
        go.proc.send_signal(signal.SIGSTOP)
        r.hset(beat, "heartbeat_at", int(time.time()))
        py = harness.start_python_worker({"concurrency": 1, "first_reap": 0.1, "reap_period": 0.3,
                                          "jobs": {"other": {"behavior": {"kind": "succeed"}}}})
        with stopped_at_end(py):
            hold(9, 1.5)
            assert r.sismember(k.worker_pools, go.pool_id), "a Go pool with a heartbeat under 10 s old was reaped"
            assert r.llen(k.in_progress(go.pool_id, "gslow")) == 1 and int(r.get(k.lock("gslow")) or 0) == 1
            hold(11, 5.0)
            assert not r.sismember(k.worker_pools, go.pool_id), "a Go pool 10 s without heartbeat was not reaped"
            assert r.llen(k.jobs("gslow")) == 1 and r.llen(k.in_progress(go.pool_id, "gslow")) == 0
            assert int(r.get(k.lock("gslow")) or 0) == 0 and r.hget(k.lock_info("gslow"), go.pool_id) is None
            assert not r.exists(beat)


# -- priorities -------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_priorities_share_one_worker_as_on_a_go_pool(harness: Harness, r: redis.Redis) -> None:
    """One worker, two full queues of priorities 9 and 1: over the first 300 jobs a Go pool
    runs the high-priority name about 9 times in 10 (Go's weighted order); ours within 0.1 of
    Go's share (4 standard deviations of the difference)."""
    share = {}
    for side in ("go", "py"):
        h = other_ns(harness, side)
        k = Keys(h.namespace)
        for name in ("hi", "lo"):
            r.lpush(k.jobs(name), *[_raw({"name": name, "id": f"{name}{i}", "t": 1, "args": {}}) for i in range(400)])
        jobs = {"hi": {"priority": 9, "behavior": {"kind": "succeed"}},
                "lo": {"priority": 1, "behavior": {"kind": "succeed"}}}
        start = h.start_worker if side == "go" else h.start_python_worker
        with start({"concurrency": 1, "jobs": jobs}) as w:
            w.wait_jobs(300, timeout=40)
            w.stop()
        names = [e["name"] for e in w.events("job_start")][:300]
        assert r.llen(k.jobs("hi")) > 0 and r.llen(k.jobs("lo")) > 0, "both queues stayed full"
        share[side] = names.count("hi") / len(names)
    assert 0.8 <= share["go"] <= 0.97, share
    assert abs(share["py"] - share["go"]) <= 0.1, share


# -- unique keys while the job runs -----------------------------------------------------------------

def test_unique_key_is_released_before_the_handler_runs_as_in_go(harness: Harness, redis_url: str,
                                                                   r: redis.Redis) -> None:
    """A unique job running on a Go pool and on a Python pool: while the handler runs, the
    unique key is gone on both, so a duplicate enqueued meanwhile is accepted by either
    language's enqueuer."""
    for side in ("go", "py"):
        h = other_ns(harness, side)
        enq = Enqueuer(redis_url, h.namespace)
        assert enq.enqueue_unique("u", {"k": 1}) is not None
        ukey = Keys(h.namespace).unique("u", {"k": 1})
        assert r.exists(ukey)
        start = h.start_worker if side == "go" else h.start_python_worker
        with start({"concurrency": 1, "jobs": {"u": {"behavior": {"kind": "sleep", "sleep_ms": 700}}}}) as w:
            w.wait_for(lambda e: e.get("event") == "job_start")
            assert not r.exists(ukey), f"{side}: the unique key is held while the job runs"
            (dup,) = h.enqueue([{"method": "EnqueueUnique", "name": "u", "args": {"k": 1}}])
            assert dup["job"] is not None, f"{side}: Go's enqueuer refused a duplicate of a running job"
            assert enq.enqueue_unique("u", {"k": 1}) is None, "Go's duplicate holds the key again"
            w.stop()


# -- observations ----------------------------------------------------------------------------------

def test_observation_hash_fields_ttl_and_removal_match_go(harness: Harness, redis_url: str, r: redis.Redis) -> None:
    """A job with a check-in running on a Go pool and on a Python pool: the busy worker's
    observation hash has the same fields and Go's 24 h TTL, and is gone shortly after the job
    ends (Go deletes it when its observer finds the worker idle)."""
    seen = {}
    for side in ("go", "py"):
        h = other_ns(harness, side)
        k = Keys(h.namespace)
        Enqueuer(redis_url, h.namespace).enqueue("o", {"a": "<b>"})
        start = h.start_worker if side == "go" else h.start_python_worker
        # the check-in comes first; both observers write at most once a second, so the job runs on
        # long enough for that write to be seen on a loaded machine (1.5 s was not always)
        cfg = {"concurrency": 1, "jobs": {"o": {"behavior": {"kind": "sleep", "sleep_ms": 4000, "checkin": "half"}}}}
        with start(cfg) as w:
            w.wait_for(lambda e: e.get("event") == "job_start")
            key = until(lambda k=k: next((x for x in r.scan_iter(match=k.worker_observation("*"))
                                          if r.hget(x, "checkin") == b"half"), None), what=f"{side}: a check-in")
            obs = r.hgetall(key)
            ttl = r.ttl(key)
            w.wait_for(lambda e: e.get("event") == "job_end")
            until(lambda key=key: not r.exists(key), timeout=3, what=f"{side}: the idle worker's hash deleted")
            w.stop()
        assert 86_000 < ttl <= 86_400, (side, ttl)
        seen[side] = (sorted(obs), obs[b"job_name"], obs[b"args"], obs[b"checkin"])
    assert seen["py"] == seen["go"]
