"""Python enqueues, the real Go gocraft/work pool runs (and the reverse for uniqueness)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gowork_compat import gojson
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.keys import Keys
from tests.conftest import until
from tests.interop.harness import Harness, WorkerProcess
from tests.schemas import validate

ARGS: dict[str, Any] = {
    "user_id": 123,
    "email": "a<b>&c@example.com",
    "ratio": 0.5,
    "big": 1e21,
    "tiny": 1e-7,
    "nested": {"list": [1, "two", None, True, {"x": -0.0}], "empty": {}, "arr": []},
    "unicode": "héllo \u2028 𝄞 \x01",
}


def go_views(harness: Harness, batch: list[dict[str, Any] | None]) -> list[Any]:
    """The args as Go sees them, asked of Go: each value written as JSON by the standard
    library (not by the codec under test), decoded by Go's encoding/json into interface{}
    (numbers as float64) and marshalled again, as a Go handler's args would print."""
    replies = harness.json([{"op": "marshal", "input": json.dumps(a)} for a in batch])
    assert all("out" in x for x in replies), replies
    return [json.loads(x["out"]) for x in replies]


def go_view(harness: Harness, args: dict[str, Any] | None) -> Any:
    (view,) = go_views(harness, [args])
    return view


def worker_config(*names: str, **job: Any) -> dict[str, Any]:
    return {"concurrency": 4, "jobs": {n: {"behavior": {"kind": "succeed"}, **job} for n in names}}


def test_enqueue_runs_on_go_worker(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns)
    job = enq.enqueue("py_plain", ARGS)
    raw = r.lrange(Keys(ns).jobs("py_plain"), 0, -1)
    assert raw == [job.encode()]
    validate("job", json.loads(raw[0]))
    with harness.start_worker(worker_config("py_plain")) as w:
        ev = w.wait_for(lambda e: e.get("event") == "job_start" and e["id"] == job.id)
        assert ev["name"] == "py_plain"
        assert ev["args"] == go_view(harness, ARGS)
        assert ev["t"] == job.enqueued_at
        assert not ev.get("unique")
        w.wait_for(lambda e: e.get("event") == "job_end" and e["id"] == job.id)
    assert r.llen(Keys(ns).jobs("py_plain")) == 0
    assert r.sismember(Keys(ns).known_jobs, "py_plain")


def test_enqueue_bytes_equal_go_enqueuer(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    """The same job enqueued by Go and by Python: identical bytes but for id and time."""
    (resp,) = harness.enqueue([{"method": "Enqueue", "name": "same", "args": ARGS}])
    go_job = resp["job"]
    py = Enqueuer(redis_url, ns).enqueue("same", ARGS)
    go_raw, py_raw = r.lrange(Keys(ns).jobs("same"), 0, -1)[::-1]
    swapped = py_raw.replace(py.id.encode(), go_job["id"].encode()).replace(
        b'"t":%d' % py.enqueued_at, b'"t":%d' % go_job["t"])
    assert swapped == go_raw


def test_enqueue_in_waits_for_its_time(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns)
    sj = enq.enqueue_in("py_later", 3, {"n": 1})
    assert sj.run_at == sj.job.enqueued_at + 3
    assert r.zscore(Keys(ns).scheduled, sj.job.encode()) == sj.run_at
    with harness.start_worker(worker_config("py_later")) as w:
        ev = w.wait_for(lambda e: e.get("event") == "job_start", timeout=15)
        ran_at = ev["ts_ns"] / 1e9
        assert ran_at >= sj.run_at, "Go ran the scheduled job before its time"
        assert ev["id"] == sj.job.id and ev["args"] == {"n": 1}


def test_enqueue_unique_python_then_go(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns)
    first = enq.enqueue_unique("uniq", {"a": 1, "b": "x"})
    assert first is not None
    assert enq.enqueue_unique("uniq", {"b": "x", "a": 1}) is None  # same args, other key order
    (go,) = harness.enqueue([{"method": "EnqueueUnique", "name": "uniq", "args": {"a": 1, "b": "x"}}])
    assert go["job"] is None, "Go accepted a duplicate of a Python unique job"
    ukey = Keys(ns).unique("uniq", {"a": 1, "b": "x"})
    assert r.get(ukey) == b"1" and 86000 < r.ttl(ukey) <= 86400
    with harness.start_worker(worker_config("uniq")) as w:
        ev = w.wait_for(lambda e: e.get("event") == "job_start")
        assert ev["id"] == first.id and ev["unique"] is True
        w.wait_for(lambda e: e.get("event") == "job_end")
    # Go's worker deleted the unique key Python computed: both sides agree on its bytes
    assert r.exists(ukey) == 0
    assert enq.enqueue_unique("uniq", {"a": 1, "b": "x"}) is not None


def test_enqueue_unique_go_then_python(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    args = {"email": "<x>@y", "n": 2.5, "list": [3, {"k": None}]}
    (go,) = harness.enqueue([{"method": "EnqueueUnique", "name": "guniq", "args": args}])
    assert go["job"] is not None
    enq = Enqueuer(redis_url, ns)
    assert enq.enqueue_unique("guniq", args) is None, "Python accepted a duplicate of a Go unique job"
    assert enq.enqueue_unique_in("guniq", 60, args) is None
    assert enq.enqueue_unique("guniq", {**args, "n": 3}) is not None


def test_enqueue_unique_in_both_directions(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns)
    sj = enq.enqueue_unique_in("uin", 2, {"k": "v"})
    assert sj is not None
    (go,) = harness.enqueue([{"method": "EnqueueUniqueIn", "name": "uin", "in": 2, "args": {"k": "v"}}])
    assert go["job"] is None
    (go2,) = harness.enqueue([{"method": "EnqueueUniqueIn", "name": "uin", "in": 1, "args": {"k": "w"}}])
    assert go2["job"] is not None
    assert enq.enqueue_unique_in("uin", 5, {"k": "w"}) is None
    with harness.start_worker(worker_config("uin")) as w:
        w.wait_for(lambda e: e.get("event") == "job_start" and e["id"] == sj.job.id, timeout=15)
        w.wait_for(lambda e: e.get("event") == "job_start" and e["id"] == go2["job"]["id"], timeout=15)


def test_bulk_enqueue_runs_in_order_on_go(harness: Harness, redis_url: str, ns: str) -> None:
    enq = Enqueuer(redis_url, ns)
    jobs = enq.enqueue_many(("bulk", {"i": i}) for i in range(200))
    with harness.start_worker({"concurrency": 1, "jobs": {"bulk": {"behavior": {"kind": "succeed"}}}}) as w:
        w.wait_jobs(200, timeout=30)
        seen = [e["args"]["i"] for e in w.events("job_start")]
    assert seen == list(range(200)), "a single Go worker must see bulk jobs in enqueue order"
    assert len({j.id for j in jobs}) == 200


def test_go_int64_args_reach_python_as_ints(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    """Go enqueuing real int64s writes plain digits, which our codec reproduces."""
    (go,) = harness.enqueue([{"method": "Enqueue", "name": "ints", "args": {"n": 9007199254740993},
                              "args_int": True}])
    raw = r.lrange(Keys(ns).jobs("ints"), 0, -1)[0]
    assert b'"n":9007199254740993' in raw
    job = go["job"]
    assert gojson.dumps(job["args"]) == b'{"n":9007199254740993}'


_leaf = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
_value = st.recursive(_leaf, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4)), max_leaves=12)
_args = st.dictionaries(st.text(max_size=8), _value, max_size=5)
ROUND_TRIP_EXAMPLES = int(os.environ.get("GOWORK_ROUNDTRIP_EXAMPLES", "60"))


@pytest.fixture
def round_trip_worker(harness: Harness) -> Iterator[WorkerProcess]:
    """One Go pool for every example of the round-trip property."""
    with harness.start_worker({"concurrency": 8, "jobs": {"rt": {"behavior": {"kind": "succeed"}}}}) as w:
        yield w


@settings(max_examples=ROUND_TRIP_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=st.lists(_args, min_size=1, max_size=8))
def test_random_args_round_trip_through_go_worker(harness: Harness, redis_url: str,
                                                  round_trip_worker: WorkerProcess,
                                                  batch: list[dict[str, Any]]) -> None:
    """Random args from Python reach a Go handler exactly as Go reads the same values."""
    jobs = Enqueuer(redis_url, harness.namespace).enqueue_many(("rt", a) for a in batch)
    want = {j.id for j in jobs}
    events = until(lambda: [e for e in round_trip_worker.events("job_start") if e["id"] in want]
                   if want <= {e["id"] for e in round_trip_worker.events("job_start")} else None,
                   timeout=20, what="the batch on the Go worker")
    seen = {e["id"]: e["args"] for e in events}
    for job, args, view in zip(jobs, batch, go_views(harness, list(batch))):
        assert seen[job.id] == view, f"args changed on the way to Go: {args!r}"
