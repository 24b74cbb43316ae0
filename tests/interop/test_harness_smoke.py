"""The Go harness itself works: each subcommand against the real gocraft/work v0.5.1."""

from __future__ import annotations

import json
import time

import httpx
import redis

from gowork_compat.keys import Keys
from tests.conftest import free_port
from tests.interop.harness import Harness


def _job_cfg(**behavior: object) -> dict[str, object]:
    return {"behavior": {"kind": "succeed", **behavior}}


def test_go_enqueue_runs_on_go_worker(harness: Harness, r: redis.Redis) -> None:
    args = {"s": "héllo <&>", "n": 7, "f": 1.5, "list": [1, "a", None], "obj": {"k": True}}
    (resp,) = harness.enqueue([{"method": "Enqueue", "name": "smoke", "args": args}])
    assert "error" not in resp
    job = resp["job"]
    assert job["name"] == "smoke" and job["args"] == args and len(job["id"]) == 24
    assert r.llen(Keys(harness.namespace).jobs("smoke")) == 1

    with harness.start_worker({"concurrency": 2, "middleware": True, "jobs": {"smoke": _job_cfg()}}) as w:
        assert w.pool_id and r.sismember(Keys(harness.namespace).worker_pools, w.pool_id)
        start = w.wait_for(lambda e: e.get("event") == "job_start")
        (end,) = w.wait_jobs(1)
        mw = w.wait_for(lambda e: e.get("event") == "middleware")
    assert start["id"] == job["id"] == end["id"] == mw["id"]
    assert start["args"] == args and start["t"] == job["t"] and start["fails"] == 0
    assert end["result"] == "ok" and end["ts_ns"] >= start["ts_ns"]
    assert w.events("garbage") == []
    assert r.llen(Keys(harness.namespace).jobs("smoke")) == 0


def test_enqueue_replies(harness: Harness) -> None:
    big = 2**60 + 1  # exact as int64, rounded as float64
    plain, ints, later, uniq, dup, bykey = harness.enqueue([
        {"method": "Enqueue", "name": "a", "args": {"n": big}},
        {"method": "Enqueue", "name": "a", "args": {"n": big, "l": [big]}, "args_int": True},
        {"method": "EnqueueIn", "name": "a", "in": 100, "args": None},
        {"method": "EnqueueUnique", "name": "u", "args": {"x": 1}},
        {"method": "EnqueueUnique", "name": "u", "args": {"x": 1}},
        {"method": "EnqueueUniqueByKey", "name": "u", "args": {"x": 1}, "key": {"x": 1}},
    ])
    # float64 in Go: printed as the shortest digits that round-trip, not the int64 value
    assert plain["job"]["args"]["n"] != big and float(plain["job"]["args"]["n"]) == float(big)
    assert ints["job"]["args"] == {"n": big, "l": [big]}
    assert later["job"]["args"] is None and later["run_at"] == later["job"]["t"] + 100
    assert uniq["job"]["unique"] is True and dup == {"job": None}
    assert bykey == {"error": "unsupported: gocraft/work v0.5.1 has no EnqueueUniqueByKey"}


def test_json_ops(harness: Harness, r: redis.Redis) -> None:
    marshal = [b'{"b":1,"a":"<&>"}', b"1e21", b"1.0", b'"\\u2028"', b"[1E400]", b"null"]
    replies = harness.json([{"op": "marshal", "input": x} for x in marshal]
                           + [{"op": "encode", "input": b'{"z":[],"y":{}}'},
                              {"op": "job", "input": b'{"fails":2,"args":null,"id":"i","name":"","t":5}'},
                              {"op": "unique_key", "input": b'{"b":2,"a":"<"}', "ns": harness.namespace,
                               "name": "u"},
                              {"op": "unique_key", "input": b"null", "ns": "ns:", "name": "u"},
                              {"op": "nope", "input": b"1"}])
    outs = [x.get("out", x.get("error")) for x in replies]
    assert outs[:5] == [b'{"a":"\\u003c\\u0026\\u003e","b":1}', b"1e+21", b"1", b'"\\u2028"',
                        "json: cannot unmarshal number 1E400 into Go value of type float64"]
    assert outs[5:8] == [b"null", b'{"y":{},"z":[]}\n', b'{"id":"i","t":5,"args":null,"fails":2}']
    key = outs[8]
    assert isinstance(key, bytes) and key.decode() == Keys(harness.namespace).unique("u", {"b": 2, "a": "<"})
    assert outs[9] == b"ns:unique:u:"
    assert outs[10] == 'harness: unknown op "nope"'

    # the computed key is the one a real EnqueueUnique sets
    harness.enqueue([{"method": "EnqueueUnique", "name": "u", "args": {"b": 2, "a": "<"}}])
    assert r.exists(key) == 1


def test_client_views(harness: Harness) -> None:
    harness.enqueue([{"method": "Enqueue", "name": "q1", "args": {}}] * 3)
    queues = harness.client("Queues")
    assert "error" not in queues
    assert [(q["job_name"], q["count"]) for q in queues["result"]] == [("q1", 3)]
    dead = harness.client("DeadJobs", page=1)
    assert dead == {"result": [], "count": 0}
    assert harness.client("WorkerPoolHeartbeats") == {"result": []}  # empty views are [], not null
    assert harness.client("DeleteAllDeadJobs") == {"result": None}


def test_bench_enqueue(harness: Harness, r: redis.Redis) -> None:
    res = harness.bench_enqueue(40, ["b1", "b2"], concurrency=3, args={"i": 1})
    assert res["count"] == 40 and res["seconds"] > 0 and "error" not in res
    keys = Keys(harness.namespace)
    assert r.llen(keys.jobs("b1")) == r.llen(keys.jobs("b2")) == 20
    raw = r.lindex(keys.jobs("b1"), 0)
    assert raw is not None and json.loads(raw)["args"] == {"i": 1}


def test_worker_stop_drain_and_signals(harness: Harness, r: redis.Redis) -> None:
    keys = Keys(harness.namespace)
    harness.enqueue([{"method": "Enqueue", "name": "slow", "args": None}] * 4)
    w = harness.start_worker({"concurrency": 4, "quiet": True,
                              "jobs": {"slow": _job_cfg(kind="sleep", sleep_ms=200, checkin="busy")}})
    with w:
        w.drain()
        assert r.llen(keys.jobs("slow")) == 0
        assert w.events("job_start") == []  # quiet
        assert w.stop() == 0
        w.wait_for(lambda e: e.get("event") == "exited")  # the reader thread may lag the exit
        assert w.events()[-2:] == [{"event": "stopped"}, {"event": "exited"}]
    assert not r.sismember(keys.worker_pools, w.pool_id)

    with harness.start_worker({"jobs": {"x": _job_cfg()}}) as w2:
        w2.terminate()
        w2.wait_for(lambda e: e.get("event") == "exited")
        deadline = time.monotonic() + 5
        while w2.returncode is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert w2.returncode == 0 and w2.events("stopped")


def test_worker_exit_after_and_upstream_logs_stay_off_stdout(harness: Harness, r: redis.Redis) -> None:
    (resp,) = harness.enqueue([{"method": "Enqueue", "name": "boom", "args": {"a": 1}}])
    with harness.start_worker({"exit_after": 1, "jobs": {"boom": {"behavior": {"kind": "panic"}}}}) as w:
        done = w.wait_for(lambda e: e.get("event") == "done")
        w.wait_for(lambda e: e.get("event") == "exited")
        assert done["count"] == 1 and done["last_end_ns"] >= done["first_start_ns"] > 0
        (end,) = w.events("job_end")
        assert end["result"] == "panic"
        assert w.events("garbage") == []
        assert "ERROR: runJob.panic - harness panic" in w.stderr_tail()
    (retry,) = r.zrange(Keys(harness.namespace).retry, 0, -1)
    assert isinstance(retry, bytes)
    job = json.loads(retry)
    assert job["id"] == resp["job"]["id"] and job["fails"] == 1 and job["err"] == "harness panic"


def test_webui_serves_upstream_api(harness: Harness) -> None:
    harness.enqueue([{"method": "Enqueue", "name": "web", "args": None}])
    with harness.start_webui(free_port()) as ui:
        resp = httpx.get(ui.url + "/queues", timeout=5)
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("application/json")
        assert [(q["job_name"], q["count"]) for q in resp.json()] == [("web", 1)]
    assert ui.proc.poll() is not None
