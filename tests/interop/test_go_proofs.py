"""Claims we share with Go, each proven against the real gocraft/work v0.5.1 (the Go harness).

Every oracle here comes from a Go process: the retry scores a Go pool gives, the end state a
Go pool leaves, the reaping a Go reaper does, the fire times a Go periodic enqueuer writes.
The Python side runs the same inputs; the tests compare. Go's fixed timings (5 s heartbeat,
first reap 10 s after a pool starts, 10 s dead-pool window) are kept real, so the tests that
depend on them are few and each states its own timeout.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.keys import Keys
from tests.conftest import RedisServer, until
from tests.interop.harness import Harness, WorkerProcess

# Go's fixed timings (gocraft/work v0.5.1), used only to bound waits, never as oracles
GO_FIRST_REAP = 10.0  # the reaper's first pass comes this long after Start
GO_DEAD_AFTER = 10.0  # a heartbeat this old is dead


def other_ns(harness: Harness, suffix: str) -> Harness:
    """The same Go harness bound to a second namespace of the same Redis."""
    return Harness(harness.binary, harness.redis_host, harness.redis_port, f"{harness.namespace}-{suffix}")


def raw_job(name: str, i: int, fails: int = 0, **extra: Any) -> bytes:
    """A job payload as any enqueuer would write it (stdlib json: the input, not an oracle)."""
    body: dict[str, Any] = {"name": name, "id": f"{i:024x}", "t": 1_700_000_000 + i, "args": {"i": i}}
    if fails:
        body["fails"] = fails
    body.update(extra)
    return json.dumps(body, separators=(",", ":")).encode()


def state(r: redis.Redis, ns: str, pool_ids: list[str], err_prefix: str = "") -> dict[str, Any]:
    """Every key of ``ns`` but the heartbeats, pool ids replaced by "<pool>", times in
    retry/dead members replaced by their distance from ``failed_at``, ``err_prefix`` taken
    off the front of error texts."""

    def norm(text: str) -> str:
        for p in pool_ids:
            text = text.replace(p, "<pool>")
        return text

    def member(raw: bytes, score: float) -> tuple[str, float]:
        d = json.loads(raw)
        delta = score - d.get("failed_at", 0)
        d["failed_at"] = "<t>" if "failed_at" in d else None
        if err_prefix and str(d.get("err", "")).startswith(err_prefix):
            d["err"] = d["err"][len(err_prefix):]
        return json.dumps(d, sort_keys=True), delta

    out: dict[str, Any] = {}
    prefix = ns + ":"
    for key in r.scan_iter(match=prefix + "*"):
        name = norm(key.decode()[len(prefix):])
        if name == "worker_pools" or name.startswith("worker_pools:") or name.startswith("worker:"):
            continue
        if name.startswith("gowork:stats:"):  # our throughput counters (keys Go ignores)
            continue
        t = r.type(key)
        if t == b"list":
            out[name] = r.lrange(key, 0, -1)
        elif t == b"hash":
            out[name] = {norm(f.decode()): v for f, v in r.hgetall(key).items()}
        elif t == b"zset":
            out[name] = sorted(member(m, s) for m, s in r.zrange(key, 0, -1, withscores=True))
        elif t == b"set":
            out[name] = sorted(r.smembers(key))
        else:
            out[name] = r.get(key)
    return out


@contextlib.contextmanager
def stopped_at_end(*workers: WorkerProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for w in workers:
            w.kill()
            w.close()


# -- retries -------------------------------------------------------------------------------

RETRY_FAILS = (1, 3, 6)
RETRY_SAMPLES = 600  # per fail count: each of the 30 random steps is seen >= 3 times (p > 1 - 1e-6)


def retry_deltas(h: Harness, r: redis.Redis, start: Callable[[dict[str, Any]], WorkerProcess]) -> dict[int, list[int]]:
    """Fail RETRY_SAMPLES jobs at each fail count on a pool; return score - failed_at by fail count."""
    k = Keys(h.namespace)
    payloads = [raw_job("r", f * 10_000 + i, fails=f - 1) for f in RETRY_FAILS for i in range(RETRY_SAMPLES)]
    for i in range(0, len(payloads), 500):
        r.lpush(k.jobs("r"), *payloads[i:i + 500])
    cfg = {"concurrency": 10, "quiet": True, "jobs": {"r": {"max_fails": 100, "behavior": {"kind": "fail"}}}}
    with start(cfg) as w:
        until(lambda: r.zcard(k.retry) == len(payloads), timeout=60, what="every job in the retry set")
        w.stop()
    out: dict[int, list[int]] = {f: [] for f in RETRY_FAILS}
    for m, score in r.zrange(k.retry, 0, -1, withscores=True):
        d = json.loads(m)
        assert d["fails"] in out, f"a job failed again at once (fails={d['fails']}): retried without its backoff"
        out[d["fails"]].append(int(score) - d["failed_at"])
    return out


@pytest.mark.timeout(180)
def test_default_retry_backoff_follows_go_pool(harness: Harness, r: redis.Redis) -> None:
    """The retry-at scores of our failures have the distribution a Go pool's have at the same
    fail counts (default backoff: Go's formula, whatever it is, observed on Go)."""
    go = retry_deltas(other_ns(harness, "go"), r, other_ns(harness, "go").start_worker)
    py = retry_deltas(other_ns(harness, "py"), r, other_ns(harness, "py").start_python_worker)
    for f in RETRY_FAILS:
        g, p = Counter(go[f]), Counter(py[f])
        assert sum(g.values()) == sum(p.values()) == RETRY_SAMPLES
        # Go's value set, seen on Go: every Python delay is one of them (bar a clock tick
        # between failed_at and the score, which Go takes from two clock readings)
        outside = [v for v in p.elements() if v not in g and v - 1 not in g]
        assert len(outside) <= 2, f"fails={f}: Python delays Go never gives: {sorted(set(outside))[:10]}"
        # and the same spread: the values seen at least 3 times are the same on both sides
        assert {v for v, n in g.items() if n >= 3} == {v for v, n in p.items() if n >= 3}, f"fails={f}"
        assert min(p) >= min(g) and max(p) <= max(g) + 1, f"fails={f}"


# -- liveness ------------------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_go_reapers_never_reap_a_live_python_pool(harness: Harness, r: redis.Redis) -> None:
    """Four Go pools started 4 s apart reap at 10, 14, 18 and 22 s (Go's first reap): each
    reap removes a planted dead pool (so it did run) and leaves the beating Python pool, its
    in-progress job and its lock alone."""
    k = Keys(harness.namespace)
    Enqueuer(f"redis://{harness.addr}/0", harness.namespace).enqueue("slow", {"x": 1})
    py_cfg = {"concurrency": 1, "first_reap": 10_000, "reap_period": 10_000,
              "jobs": {"slow": {"behavior": {"kind": "sleep", "sleep_ms": 120_000}}}}
    go_cfg = {"concurrency": 1, "jobs": {"gonly": {"behavior": {"kind": "succeed"}}}}
    with contextlib.ExitStack() as stack:
        py = stack.enter_context(harness.start_python_worker(py_cfg))
        stack.callback(py.kill)  # its job never ends: no graceful stop
        py.wait_for(lambda e: e.get("event") == "job_start")
        until(lambda: r.llen(k.in_progress(py.pool_id, "slow")) == 1, what="the Python job in progress")
        ghost = "dead00000000000000000000"
        r.sadd(k.worker_pools, ghost)  # a pool without heartbeat: dead for every reaper
        first = time.monotonic()
        starts = [first + 4 * i for i in range(4)]
        reaps = 0
        deadline = first + 12 + GO_FIRST_REAP + 8
        while reaps < 4:
            assert time.monotonic() < deadline, f"only {reaps} Go reaps ran"
            if starts and time.monotonic() >= starts[0]:
                starts.pop(0)
                stack.enter_context(harness.start_worker(go_cfg))
            if not r.sismember(k.worker_pools, ghost):  # a Go reaper ran just now
                reaps += 1
                assert r.sismember(k.worker_pools, py.pool_id), f"Go reap {reaps} reaped the live Python pool"
                assert r.exists(k.heartbeat(py.pool_id))
                assert r.llen(k.in_progress(py.pool_id, "slow")) == 1 and r.llen(k.jobs("slow")) == 0
                assert int(r.get(k.lock("slow")) or 0) == 1
                ghost = f"dead{reaps:020d}"
                r.sadd(k.worker_pools, ghost)
            time.sleep(0.02)
        assert reaps == 4 and time.monotonic() - first >= 2 * GO_DEAD_AFTER, "several dead-pool windows"
        assert int(r.hget(k.lock_info("slow"), py.pool_id) or 0) == 1


@pytest.mark.timeout(90)
def test_python_pool_that_stops_beating_is_reaped_by_go_in_its_window(harness: Harness, r: redis.Redis) -> None:
    """SIGSTOP freezes a Python pool mid-job: a Go pool started next reaps it at its first
    reap (10 s after its start) and runs the job."""
    k = Keys(harness.namespace)
    job = Enqueuer(f"redis://{harness.addr}/0", harness.namespace).enqueue("slow", {"x": 2})
    py = harness.start_python_worker({"concurrency": 1, "first_reap": 10_000, "reap_period": 10_000,
                                      "jobs": {"slow": {"behavior": {"kind": "sleep", "sleep_ms": 120_000}}}})
    with stopped_at_end(py):
        py.wait_for(lambda e: e.get("event") == "job_start")
        py.proc.send_signal(signal.SIGSTOP)
        before = time.time()
        with harness.start_worker({"concurrency": 1, "jobs": {"slow": {"behavior": {"kind": "succeed"}}}}) as go:
            after = time.time()
            ev = go.wait_for(lambda e: e.get("event") == "job_start", timeout=GO_FIRST_REAP + 10)
        assert ev["id"] == job.id
        ran_at = ev["ts_ns"] / 1e9
        assert before + GO_FIRST_REAP - 1 <= ran_at <= after + GO_FIRST_REAP + 5, (
            f"reaped {ran_at - before:.1f} s after the Go pool started")
        assert not r.sismember(k.worker_pools, py.pool_id)
        assert not r.exists(k.heartbeat(py.pool_id))
        assert r.hget(k.lock_info("slow"), py.pool_id) is None
        assert int(r.get(k.lock("slow")) or 0) == 0


# -- fetch, acknowledgement, wake-on-enqueue -------------------------------------------------

END_STATE_JOBS: dict[str, Any] = {
    "hi": {"priority": 100, "behavior": {"kind": "succeed"}},
    "lo": {"priority": 1, "max_concurrency": 2, "behavior": {"kind": "succeed", "sleep_ms": 5}},
    "flaky": {"priority": 10, "max_fails": 3, "backoff_seconds": 3600, "behavior": {"kind": "fail", "error": "no"}},
    "doomed": {"priority": 10, "max_fails": 1, "behavior": {"kind": "fail", "error": "gone"}},
    "quiet": {"priority": 10, "max_fails": 1, "skip_dead": True, "behavior": {"kind": "fail"}},
    "held": {"priority": 50, "behavior": {"kind": "succeed"}},
}


def end_state_inputs(r: redis.Redis, ns: str, phase: int) -> int:
    """The same inputs for both pools; returns how many jobs will run."""
    k = Keys(ns)
    n = 0
    base = phase * 1000
    for name, count in (("hi", 40), ("lo", 30), ("flaky", 6), ("doomed", 4), ("quiet", 3)):
        r.lpush(k.jobs(name), *[raw_job(name, base + n + i) for i in range(count)])
        n += count
    r.lpush(k.jobs("hi"), raw_job("nobody", base + 999))  # no handler for its name: stray, dead
    n += 1
    r.lpush(k.jobs("held"), *[raw_job("held", base + 900 + i) for i in range(5)])  # paused: stays
    return n


@pytest.mark.timeout(120)
def test_batch_fetch_and_ack_leave_what_a_go_pool_leaves(harness: Harness, r: redis.Redis) -> None:
    """The same inputs run by a Go pool and by a Python pool (batch fetch, batch ack, woken by
    enqueue while idle): the end states are equal but for pool ids and times."""
    ends: dict[str, dict[str, Any]] = {}
    for side in ("go", "py"):
        h = other_ns(harness, side)
        k = Keys(h.namespace)
        r.set(k.paused("held"), "1")
        r.set(k.lock("lo"), 1)
        r.hset(k.lock_info("lo"), "another-pool", 1)  # a lock held elsewhere stays held
        total = end_state_inputs(r, h.namespace, 0)
        cfg = {"concurrency": 4, "jobs": END_STATE_JOBS}
        start = h.start_worker if side == "go" else h.start_python_worker
        with start(cfg) as w:
            w.wait_jobs(total - 1, timeout=60)  # the stray job runs no handler
            until(lambda k=k: all(r.llen(k.jobs(n)) == 0 for n in END_STATE_JOBS if n != "held"),
                  what="queues drained")
            time.sleep(1.5)  # idle: the Go pool sleeps between polls, the Python one watches
            total2 = end_state_inputs(r, h.namespace, 1)
            w.wait_jobs(total - 1 + total2 - 1, timeout=60)
            until(lambda k=k: r.zcard(k.dead) == 2 * 5, what="dead jobs")
            w.stop()
        # the one other difference is documented: our err is "Type: message" (Go's a bare message)
        ends[side] = state(r, h.namespace, [w.pool_id], err_prefix="RuntimeError: " if side == "py" else "")
    go, py = ends["go"], ends["py"]
    if "last_periodic_enqueue" in go and "last_periodic_enqueue" not in py:
        del go["last_periodic_enqueue"]  # Go's periodic enqueuer writes it even with no periodic jobs
    # the one documented divergence (spec: "The lock counter can drift"): Go acknowledges a job
    # whose name differs from its queue against its name's lock; ours against the queue's
    assert go.pop("jobs:nobody:lock") == b"-2" and go.pop("jobs:nobody:lock_info") == {"<pool>": b"-2"}
    assert (go["jobs:hi:lock"], go["jobs:hi:lock_info"]) == (b"2", {"<pool>": b"2"})
    assert (py["jobs:hi:lock"], py["jobs:hi:lock_info"]) == (b"0", {"<pool>": b"0"})
    go["jobs:hi:lock"], go["jobs:hi:lock_info"] = py["jobs:hi:lock"], py["jobs:hi:lock_info"]
    assert py.keys() == go.keys()
    for key in go:
        assert py[key] == go[key], key


@pytest.mark.timeout(90)
def test_go_pool_beside_an_idle_watching_python_pool_gets_its_share(harness: Harness, r: redis.Redis) -> None:
    """Both pools idle long enough for Go to poll at its slowest (5 s); then a burst: the
    Python pool's blocking watchers must not keep the jobs from the Go pool."""
    cfg = {"concurrency": 2, "quiet": False, "jobs": {"burst": {"behavior": {"kind": "succeed", "sleep_ms": 100}}}}
    py = harness.start_python_worker(cfg)
    go = harness.start_worker(cfg)
    with stopped_at_end(py, go):
        time.sleep(7)
        Enqueuer(f"redis://{harness.addr}/0", harness.namespace).enqueue_many(("burst", {"i": i}) for i in range(200))
        until(lambda: len(py.events("job_end")) + len(go.events("job_end")) == 200, timeout=40, what="200 jobs")
        go_ids = [e["id"] for e in go.events("job_start")]
        py_ids = [e["id"] for e in py.events("job_start")]
    assert len(set(go_ids + py_ids)) == 200 == len(go_ids) + len(py_ids)
    assert len(go_ids) >= 20, f"the Go pool ran only {len(go_ids)} of 200"


# -- cron -----------------------------------------------------------------------------------

@pytest.mark.timeout(90)
def test_go_and_python_periodic_enqueuers_both_write_one_job_per_fire_time(harness: Harness, r: redis.Redis) -> None:
    """A Go pool writes the fire times of the next 4 minutes; a Python pool started more than
    2 s later is due too and writes its own 4 minutes, overlapping Go's. Fire times only Go
    can have written (before the Python pass) and only Python can have written (beyond Go's
    horizon) both exist, and every fire time has exactly one job: the members are equal."""
    spec = "*/2 * * * * *"  # v0.5.1: seconds first
    k = Keys(harness.namespace)
    cfg = {"concurrency": 2, "jobs": {"tick": {"behavior": {"kind": "succeed"}}},
           "periodic": [{"spec": spec, "name": "tick"}]}
    with contextlib.ExitStack() as stack:
        go = stack.enter_context(harness.start_worker(cfg))
        go_pass = int(until(lambda: r.get(k.last_periodic_enqueue), what="Go's periodic pass"))
        until(lambda: time.time() >= go_pass + 3.2, what="Go's pass to be over 2 s old")
        go_horizon = [json.loads(m)["t"] for m in r.zrange(k.scheduled, 0, -1)]
        py = stack.enter_context(harness.start_python_worker(cfg))
        py_pass = int(until(lambda: int(r.get(k.last_periodic_enqueue) or 0) > go_pass and
                            r.get(k.last_periodic_enqueue), what="the Python pool's periodic pass"))
        time.sleep(4.5)
        go.stop()
        py.stop()
        ran = [e["t"] for w in (go, py) for e in w.events("job_start")]
        ran_ids = [e["id"] for w in (go, py) for e in w.events("job_start")]
    members = [json.loads(m) for m in r.zrange(k.scheduled, 0, -1)]
    members += [json.loads(m) for m in r.lrange(k.jobs("tick"), 0, -1)]
    times = [m["t"] for m in members] + ran
    dup = [t for t, n in Counter(times).items() if n > 1]
    assert not dup, f"fire times with more than one job: {dup[:5]}"
    assert len(ran_ids) == len(set(ran_ids))
    assert all(m["id"] == f"periodic:tick:{spec}:{m['t']}" for m in members), "ids as Go writes them"
    assert max(go_horizon) < go_pass + 240
    assert any(t > max(go_horizon) for t in times), "the Python pool wrote fire times"
    assert any(go_pass < t <= py_pass for t in times), "the Go pool wrote fire times"
    lo, hi = min(times), max(times)
    assert sorted(times) == list(range(lo, hi + 1, 2)), "a fire time is missing"
    assert lo <= go_pass + 2 and hi >= py_pass + 236
    assert ran, "the fire times that came due ran"


# -- reaper, requeuer and outages with a Go pool ---------------------------------------------

@pytest.mark.timeout(90)
def test_python_reaper_uses_known_jobs_for_a_go_pool_without_heartbeat(harness: Harness, r: redis.Redis) -> None:
    """A Go pool dies mid-job and its heartbeat hash is gone. The Python reaper (whose pool
    handles other names) requeues its jobs by the names in known_jobs; a Go pool runs them."""
    k = Keys(harness.namespace)
    resp = harness.enqueue([{"method": "Enqueue", "name": "gk", "args": {"i": i}} for i in range(3)])
    with harness.start_worker({"concurrency": 3, "jobs": {"gk": {"behavior": {"kind": "sleep",
                                                                              "sleep_ms": 60_000}}}}) as w:
        until(lambda: len(w.events("job_start")) == 3, what="3 Go jobs running")
        w.kill()
    r.delete(k.heartbeat(w.pool_id))
    assert r.sismember(k.known_jobs, "gk") and r.llen(k.in_progress(w.pool_id, "gk")) == 3
    py = harness.start_python_worker({"concurrency": 1, "first_reap": 0.5, "reap_period": 1,
                                      "jobs": {"other": {"behavior": {"kind": "succeed"}}}})
    with py:
        until(lambda: r.llen(k.jobs("gk")) == 3, what="the Python reaper to requeue the Go jobs")
        py.stop()
    assert not r.sismember(k.worker_pools, w.pool_id)
    assert int(r.get(k.lock("gk")) or 0) == 0 and r.hget(k.lock_info("gk"), w.pool_id) is None
    with harness.start_worker({"concurrency": 3, "jobs": {"gk": {"behavior": {"kind": "succeed"}}}}) as g:
        g.wait_jobs(3, timeout=10)  # well before this Go pool's own reaper (10 s)
        assert sorted(e["id"] for e in g.events("job_start")) == sorted(x["job"]["id"] for x in resp)


@pytest.mark.timeout(60)
def test_requeuers_known_names_and_unknown_names_against_go(harness: Harness, r: redis.Redis) -> None:
    """Due jobs of a name only known_jobs knows: the Python requeuer queues them (Go's own
    requeuer would bury them) and a Go pool runs them. Due jobs of a name nobody knows go dead
    with exactly the entry Go's requeuer writes."""
    ends = {}
    for side in ("go", "py"):
        h = other_ns(harness, side)
        k = Keys(h.namespace)
        r.zadd(k.scheduled, {raw_job("nobody", 7): 1})
        if side == "py":
            (resp,) = h.enqueue([{"method": "EnqueueIn", "name": "gonly", "in": 1, "args": {"a": 1}}])
        cfg = {"concurrency": 1, "jobs": {"other": {"behavior": {"kind": "succeed"}}}}
        start = h.start_worker if side == "go" else h.start_python_worker
        with start(cfg) as w:
            until(lambda k=k: r.zcard(k.dead) == 1, what=f"{side}: the unknown job dead")
            if side == "py":
                until(lambda k=k: r.llen(k.jobs("gonly")) == 1, what="the known-only job queued")
            w.stop()
        (member,) = r.zrange(k.dead, 0, -1, withscores=True)
        d = json.loads(member[0])
        ends[side] = (d, member[1] - d["failed_at"])
        d["failed_at"] = "<t>"
    assert ends["py"] == ends["go"]
    h = other_ns(harness, "py")
    with h.start_worker({"concurrency": 1, "jobs": {"gonly": {"behavior": {"kind": "succeed"}}}}) as g:
        ev = g.wait_for(lambda e: e.get("event") == "job_start")
    assert ev["id"] == resp["job"]["id"]


@pytest.mark.timeout(120)
def test_redis_restart_with_go_and_python_pools_in_one_namespace(private_redis_server: RedisServer,
                                                                 harness_bin: Path, ns: str) -> None:
    """Redis restarts under a Go pool and a Python pool sharing a namespace: both carry on
    afterwards and every acknowledged enqueue runs."""
    h = Harness(harness_bin, "127.0.0.1", private_redis_server.port, ns)
    cfg = {"concurrency": 2, "jobs": {"r": {"behavior": {"kind": "succeed", "sleep_ms": 100}}}}
    enq = Enqueuer(private_redis_server.url, ns)
    sent: list[str] = []

    def send(i: int) -> None:
        for _ in range(200):
            try:
                sent.append(enq.enqueue("r", {"i": i}).id)
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("Redis did not come back")

    def feed_until(pred: Callable[[], bool], what: str) -> None:
        """Enqueue bursts of 20 jobs, one a second (more than one pool runs at once, so that
        the Go pool polling at its slowest finds some), until ``pred`` holds (at most 30 s)."""
        deadline = time.monotonic() + 30
        while not pred():
            assert time.monotonic() < deadline, what
            for _ in range(20):
                send(len(sent))
            time.sleep(1)

    with h.start_worker(cfg) as go, h.start_python_worker(cfg) as py:
        def ran() -> set[str]:
            return {e["id"] for w in (go, py) for e in w.events("job_start")}
        feed_until(lambda: bool(go.events("job_start")) and bool(py.events("job_start")),
                   "both pools to run jobs before the restart")
        before = {w: len(w.events("job_start")) for w in (go, py)}
        private_redis_server.restart(downtime=1.0)
        feed_until(lambda: all(len(w.events("job_start")) > before[w] for w in (go, py)),
                   "both pools to run jobs after the restart")
        until(lambda: set(sent) <= ran(), timeout=40, what="every acknowledged job to run")
        go.stop()
        py.stop()
        assert go.returncode == 0 and py.returncode == 0
