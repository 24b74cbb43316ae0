"""Interop with upstream gocraft/work **master** (unique-by-key, ``unique_key``, robfig/cron
v3 specs, ``WorkerPoolOptions.SleepBackoffs``), which the module proxy does not serve: the harness is built with ``-tags
gowork_master`` against a local checkout named by GOWORK_MASTER_SRC (a ``replace`` in a
temporary copy of go-harness/go.mod; nothing in the repository changes). Without it, every
test here is skipped with that reason. Local processes only (not in container mode).

    git clone https://github.com/gocraft/work /tmp/gocraft-work-master
    GOWORK_MASTER_SRC=/tmp/gocraft-work-master python3 -m pytest -rs tests/interop/test_master_interop.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.harness import Harness, LocalLauncher, build_harness
from gowork_compat.job import Job
from gowork_compat.periodic import HORIZON
from gowork_compat.pool import WorkerPool
from tests.conftest import RedisServer, until
from tests.interop.harness import HARNESS_DIR, ROOT, docker_mode
from tests.interop.test_backoffs_interop import Monitor, assert_cadence, cadence_timeout, high, idle_pools, wait_fetches

MASTER_SRC = os.environ.get("GOWORK_MASTER_SRC", "")
SKIP_REASON = ("master interop needs GOWORK_MASTER_SRC naming a gocraft/work master checkout "
               "(the module proxy serves only v0.5.1)")

pytestmark = [pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def master_bin() -> Iterator[Path]:
    if not MASTER_SRC:
        pytest.skip(SKIP_REASON)
    if docker_mode():
        pytest.skip("master interop runs with local processes only")
    src = Path(MASTER_SRC)
    if not (src / "go.mod").is_file() or not (src / "worker_pool.go").is_file():
        pytest.fail(f"GOWORK_MASTER_SRC={MASTER_SRC} is no gocraft/work checkout")
    with tempfile.TemporaryDirectory(prefix="gowork-master-") as tmp:
        yield build_harness(HARNESS_DIR, Path(tmp) / "gowork-harness-master", tags=["gowork_master"],
                            replace={"github.com/gocraft/work": src})


@pytest.fixture
def go(master_bin: Path, redis_server: RedisServer, ns: str) -> Harness:
    return Harness(master_bin, "127.0.0.1", redis_server.port, ns, LocalLauncher(binary=master_bin, cwd=ROOT))


def worker_config(*names: str) -> dict[str, object]:
    return {"concurrency": 2, "jobs": {n: {"behavior": {"kind": "succeed"}} for n in names}}


def test_master_build_has_the_by_key_methods(go: Harness) -> None:
    (reply,) = go.enqueue([{"method": "EnqueueUniqueByKey", "name": "bk", "args": {"v": 1}, "key": {"k": 1}}])
    assert "error" not in reply, reply
    assert reply["job"]["unique_key"]


def test_unique_key_field_matches_go(go: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    args = {"email": "<a>@b", "n": 3, "list": [1, {"x": None}]}
    (reply,) = go.enqueue([{"method": "EnqueueUnique", "name": "uk", "args": args}])
    go_job = json.loads(r.lindex(f"{ns}:jobs:uk", 0) or b"{}")
    assert go_job["id"] == reply["job"]["id"] and go_job["unique_key"]
    enq = Enqueuer(redis_url, ns, dialect="master")
    ours, _ = enq.planner.plan_enqueue_unique("uk", args)
    assert ours.unique_key == go_job["unique_key"]
    assert enq.enqueue_unique("uk", args) is None  # Go's key, seen as a duplicate
    # by key: the same key from both sides, and the same unique_key field
    (byk,) = go.enqueue([{"method": "EnqueueUniqueByKey", "name": "uk2", "args": {"v": 1}, "key": {"user": 7}}])
    theirs = json.loads(r.lindex(f"{ns}:jobs:uk2", 0) or b"{}")
    mine, _ = enq.planner.plan_enqueue_unique("uk2", {"v": 2}, {"user": 7}, by_key=True)
    assert mine.unique_key == theirs["unique_key"] == byk["job"]["unique_key"]


def test_unique_by_key_go_then_python_newest_args_run_in_python(go: Harness, redis_url: str, ns: str,
                                                                 r: redis.Redis) -> None:
    (first,) = go.enqueue([{"method": "EnqueueUniqueByKey", "name": "gbk", "args": {"v": 1}, "key": {"k": "a"}}])
    assert first["job"] is not None
    enq = Enqueuer(redis_url, ns, dialect="master")
    assert enq.enqueue_unique_by_key("gbk", {"v": 2}, {"k": "a"}) is None  # duplicate: replaces the args
    (dup,) = go.enqueue([{"method": "EnqueueUniqueByKey", "name": "gbk", "args": {"v": 3}, "key": {"k": "a"}}])
    assert dup["job"] is None
    seen: list[Job] = []
    pool = WorkerPool(redis_url, ns, concurrency=1, dialect="master")
    pool.job("gbk", seen.append)
    pool.start()
    try:
        until(lambda: seen, 15, "the Python master pool to run the job")
        time.sleep(0.3)
    finally:
        pool.stop()
    # one run, of the newest job (Go's last duplicate), read from the unique key like Go's worker does
    assert len(seen) == 1 and seen[0].args == {"v": 3} and seen[0].unique_key
    assert enq.enqueue_unique_by_key("gbk", {"v": 4}, {"k": "a"}) is not None  # the key was released


def test_unique_by_key_python_then_go_newest_args_run_in_go(go: Harness, redis_url: str, ns: str,
                                                             r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns, dialect="master")
    first = enq.enqueue_unique_by_key("pbk", {"v": 1}, {"k": "b"})
    assert first is not None
    (dup,) = go.enqueue([{"method": "EnqueueUniqueByKey", "name": "pbk", "args": {"v": 2}, "key": {"k": "b"}}])
    assert dup["job"] is None, "Go master accepted a duplicate of a Python unique-by-key job"
    assert enq.enqueue_unique_by_key("pbk", {"v": 3}, {"k": "b"}) is None
    with go.start_worker(worker_config("pbk")) as w:
        ev = w.wait_for(lambda e: e.get("event") == "job_start", 15)
        w.wait_for(lambda e: e.get("event") == "job_end", 15)
        time.sleep(0.3)
        assert len(w.events("job_start")) == 1
    assert ev["args"] == {"v": 3}  # the newest job (Python's last duplicate), read from the unique key
    assert r.exists(first.unique_key) == 0  # Go's worker released the key Python wrote


def _periodic(r: redis.Redis, ns: str) -> dict[str, int]:
    return {json.loads(m)["id"]: int(s) for m, s in r.zrange(f"{ns}:scheduled", 0, -1, withscores=True)}


def test_five_field_cron_v3_periodic_members_match_go(master_bin: Path, redis_server: RedisServer,
                                                      redis_url: str, r: redis.Redis, ns: str) -> None:
    """Five fields are minute-first on master (cron v3): the same periodic jobs, ids and fire
    times from a Go master pool and a Python master pool."""
    spec = "*/2 * * * *"
    go = Harness(master_bin, "127.0.0.1", redis_server.port, ns + "-go", LocalLauncher(binary=master_bin, cwd=ROOT))
    t0 = int(time.time())
    with go.start_worker({"concurrency": 1, "jobs": {"pm": {"behavior": {"kind": "succeed"}}},
                          "periodic": [{"spec": spec, "name": "pm"}]}):
        theirs = until(lambda: _periodic(r, ns + "-go"), 15, "Go's periodic enqueue")
    pool = WorkerPool(redis_url, ns + "-py", concurrency=1, dialect="master")
    pool.job("pm", lambda job: None)
    pool.periodically_enqueue(spec, "pm")
    pool.start()
    try:
        ours = until(lambda: _periodic(r, ns + "-py"), 15, "Python's periodic enqueue")
    finally:
        pool.stop()
    t1 = int(time.time())
    window = range(t1 + 5, t0 + HORIZON - 5)  # fire times both horizons cover
    assert all(s % 120 == 0 for s in theirs.values()), theirs  # minutes, not seconds
    both_go = {i: s for i, s in theirs.items() if s in window}
    both_py = {i: s for i, s in ours.items() if s in window}
    assert both_go == both_py and both_go
    assert all(i == f"periodic:pm:{spec}:{s}" for i, s in both_py.items())


SLEEP_BACKOFFS = (0, 200, 600, 1500)  # not the default; each step at least twice the one before


def test_sleep_backoffs_match_go(master_bin: Path, private_redis_server: RedisServer, ns: str) -> None:
    """The same non-default SleepBackoffs in a Go master pool and a Python pool, both idle:
    the gaps between each one's empty fetches (server timestamps) follow the configured
    sequence on Go's side (the oracle) and on ours; a job enqueued while both sleep the
    last, longest step is picked up within that step."""
    port = private_redis_server.port
    go = Harness(master_bin, "127.0.0.1", port, ns + "-go", LocalLauncher(binary=master_bin, cwd=ROOT))
    pool = WorkerPool(private_redis_server.url, ns + "-py", 1, dialect="master", sleep_backoffs=SLEEP_BACKOFFS,
                      wake_on_enqueue=False)  # sleep like Go instead of watching the queue
    started: list[float] = []
    pool.job("nap", lambda job: started.append(time.time()))
    go_config = {"concurrency": 1, "jobs": {"nap": {}}, "sleep_backoffs": list(SLEEP_BACKOFFS)}
    n = len(SLEEP_BACKOFFS)  # every step once, then the last again: 200, 600, 1500, 1500 ms
    last = SLEEP_BACKOFFS[-1]
    monitor = Monitor(port)
    try:
        with idle_pools(go, go_config, pool, monitor, "nap") as (w, times):
            go_times, py_times = wait_fetches(times, n + 1, cadence_timeout(SLEEP_BACKOFFS, n))
            assert_cadence("Go master", go_times, SLEEP_BACKOFFS, n)
            assert_cadence("Python", py_times, SLEEP_BACKOFFS, n)
            # both sleep the last step now: a job waits for the next fetch, at most `last` ms
            enqueued = time.time()
            for side in (go.namespace, pool.namespace):
                Enqueuer(private_redis_server.url, side, dialect="master").enqueue("nap", {})
            go_start = w.wait_for(lambda e: e.get("event") == "job_start", 10)["ts_ns"] / 1e9
            until(lambda: started, 10, "the Python pool to run the job")
            go_times, py_times = times()
        for side, t, fetches in (("Go master", go_start, go_times), ("Python", started[0], py_times)):
            assert (t - enqueued) * 1000 <= high(last), f"{side}: job picked up {t - enqueued:.3f} s after enqueue"
            # the fetch that found the job came on the cadence, the last step after the one before
            before = [f for f in fetches if f <= t]
            assert len(before) > n + 1, f"{side}: no fetch between the enqueue and the job's start"
            assert_cadence(side, before, SLEEP_BACKOFFS, len(before) - 1)
            assert t - before[-1] <= 0.25, f"{side}: job started {t - before[-1]:.3f} s after the fetch that found it"
    finally:
        monitor.close()
