"""Exact checks of code that decides what reaches Redis, outside a started pool: the
worker's take of unique keys and the client's release of them, the client's lock reset
and dead-job retry calls, poison burial records, the acknowledgement of a job that cannot
be written back, and the middleware chain. Fast (real redis-server from the fixtures, no
pool), so that the mutation pass (scripts/mutation.py) runs them for every mutant; the pool
and interop suites prove the same behaviours end to end."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from gowork_compat._redis import execute
from gowork_compat.burial import BURIED_ID_PREFIX, UnretryableJob, burial_reason, buried_job, is_buried
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool.common import Running
from gowork_compat.pool.runner import (
    Fate,
    JobOptions,
    JobType,
    middleware_step,
    run_chain,
    run_chain_in_thread,
    unwritable_ack,
)
from gowork_compat.scripts import CLIENT_RESET_LOCK, reset_lock_call, retry_dead_job_call, retry_dead_job_result
from gowork_compat.unique import enqueue_unique_call, key_of, newer_jobs, plan_unique, release_call, take_calls

NOW = 1_700_000_000


def _fetched(r: redis.Redis, k: Keys, name: str) -> Job:
    """The job a worker fetches from the queue (its bytes and queues kept)."""
    raw = r.rpop(k.jobs(name))
    assert isinstance(raw, bytes)
    job = Job.decode(raw)
    job.dequeued_from, job.in_progress_queue = k.jobs(name), k.in_progress("p", name)
    return job


def test_worker_takes_unique_keys_and_runs_the_newest_args(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    plans = [plan_unique(k, "v0.5.1", "a", {"x": 1}, None, False, "1" * 24, NOW),
             plan_unique(k, "master", "b", {"v": 1}, {"user": 7}, True, "2" * 24, NOW),
             plan_unique(k, "master", "c", {"v": 1}, None, False, "3" * 24, NOW),
             plan_unique(k, "master", "d", {"v": 1}, {"user": 8}, True, "4" * 24, NOW)]
    assert execute(r, [enqueue_unique_call(k, u) for u in plans]) == [b"ok"] * 4
    newest = plan_unique(k, "master", "b", {"v": 2}, {"user": 7}, True, "5" * 24, NOW + 1)
    assert execute(r, [enqueue_unique_call(k, newest)]) == [b"dup"]  # the key now holds the newest job
    r.set(plans[3].key, b"not a job")                                    # a key holding garbage: ignored
    jobs = [_fetched(r, k, n) for n in "abcd"]
    unkeyed = Job(name="e", id="6" * 24, enqueued_at=NOW, args={"f": float("nan")}, unique=True)  # no key
    # the order of a fetch: one without a key and one holding garbage before the replaced one
    fetched = [unkeyed, jobs[3], jobs[0], jobs[1], jobs[2]]
    found, calls = take_calls(k, fetched)
    keys = [k.unique("d", {"user": 8}), k.unique("a", {"x": 1}), k.unique("b", {"user": 7}), k.unique("c", {"v": 1})]
    assert found == ["", *keys]
    assert [c.args for c in calls] == [(op, key) for key in keys for op in ("GET", "DEL")]
    replies = execute(r, calls)
    assert not any(r.exists(key) for key in keys)
    newer = newer_jobs(fetched, found, replies)
    assert list(newer) == [id(jobs[1])]
    b = newer[id(jobs[1])]
    assert (b.id, b.args, b.unique_key) == ("5" * 24, {"v": 2}, keys[2])
    # acknowledged as the entry actually in the in-progress list
    assert (b.raw, b.dequeued_from, b.in_progress_queue) == (jobs[1].raw, k.jobs("b"), k.in_progress("p", "b"))
    # replies from a client that decodes them: the same
    decoded = [x.decode() if isinstance(x, bytes) else x for x in replies]
    again = newer_jobs(fetched, found, decoded)
    assert list(again) == [id(jobs[1])] and again[id(jobs[1])].args == {"v": 2}
    # a key already gone (another worker took it) replaces nothing
    assert newer_jobs(jobs[1:2], keys[2:3], [None, 0]) == {}


def test_unique_keys_as_workers_and_clients_find_them() -> None:
    k = Keys("ns")
    plain = Job(name="n", id="i", enqueued_at=1, args={"a": "<"}, unique=True)
    assert key_of(k, plain) == 'ns:unique:n:{"a":"\\u003c"}\n'
    assert key_of(k, Job(name="n", id="i", enqueued_at=1, args=None, unique=True)) == "ns:unique:n:"
    master = Job(name="n", id="i", enqueued_at=1, args={"a": 1}, unique=True, unique_key="ns:unique:n:custom")
    assert key_of(k, master) == "ns:unique:n:custom"
    assert release_call(k, Job(name="n", id="i", enqueued_at=1, args={})) is None
    plain_release = release_call(k, plain)
    assert plain_release is not None and plain_release.args == ("DEL", 'ns:unique:n:{"a":"\\u003c"}\n')
    master_release = release_call(k, master)
    assert master_release is not None and master_release.args == ("DEL", "ns:unique:n:custom")


def test_lock_reset_keeps_live_pools_counts(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    call = reset_lock_call(k, "w", NOW, 10)
    assert call.script is CLIENT_RESET_LOCK and call.args == (k.prefix + "worker_pools:", NOW, 10)
    assert list(call.keys) == [k.lock("w"), k.lock_info("w"), k.worker_pools]
    r.set(k.lock("w"), 9)
    r.hset(k.lock_info("w"), mapping={"live": 2, "old": 3, "gone": 4})
    r.sadd(k.worker_pools, "live", "old")
    r.hset(k.heartbeat("live"), "heartbeat_at", NOW - 9)
    r.hset(k.heartbeat("old"), "heartbeat_at", NOW - 10)
    assert execute(r, [call]) == [[9, 2, 2]]
    assert int(r.get(k.lock("w")) or -1) == 2 and r.hgetall(k.lock_info("w")) == {b"live": b"2"}


def test_dead_job_retry_results(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    job = Job(name="w", id="7" * 24, enqueued_at=1, args={}, fails=4, last_err="x", failed_at=NOW)
    r.zadd(k.dead, {job.encode(): NOW})
    reply = execute(r, [retry_dead_job_call(k, ["w"], NOW + 1, NOW, job.id)])[0]
    assert retry_dead_job_result(reply, job.id) == (1, 1)
    assert retry_dead_job_result([0, 0, 0, b""], "none") == (0, 0)
    assert retry_dead_job_result([0, 2], "old") == (0, 2)  # an older script's reply: two numbers
    buried = buried_job(b"{oops", "w", burial_reason(k.jobs("w"), "not JSON"), NOW).encode()
    r.zadd(k.dead, {buried: NOW})
    reply = execute(r, [retry_dead_job_call(k, ["w"], NOW + 1, NOW, json.loads(buried)["id"])])[0]
    with pytest.raises(UnretryableJob, match=r"^dead job malformed-[0-9a-f]{40} cannot be retried: it is a buried "
                                             r"malformed payload \(malformed job payload in .*:jobs:w: not JSON\); "
                                             r"it was left in the dead set \(delete it, or enqueue a repaired copy "
                                             r"of args\.raw_payload\)$"):
        retry_dead_job_result(reply, json.loads(buried)["id"])
    with pytest.raises(UnretryableJob, match=r"^dead job j cannot be retried: it is odd; it was left"):
        retry_dead_job_result([0, 1, 1, "odd"], "j")


def test_burial_records_have_one_shape() -> None:
    assert burial_reason("ns:jobs:w", "not JSON") == "malformed job payload in ns:jobs:w: not JSON"
    assert burial_reason("ns:jobs:w", "malformed job payload: bad t") == "malformed job payload in ns:jobs:w: bad t"
    assert burial_reason("k", "x malformed job payload: y") == "malformed job payload in k: x malformed job payload: y"
    raw = b"\xff{not json"
    rec = buried_job(raw, "w", "why", NOW)
    assert json.loads(rec.encode()) == {
        "name": "w", "id": BURIED_ID_PREFIX + hashlib.sha1(raw).hexdigest(), "t": NOW,
        "args": {"raw_payload": "\ufffd{not json"}, "fails": 1, "err": "why", "failed_at": NOW}
    assert BURIED_ID_PREFIX == "malformed-"
    assert is_buried(json.loads(rec.encode()))
    for other in ({"id": "malformed-1", "args": {"x": 1}}, {"id": "malformed-1", "args": ["raw_payload"]},
                  {"id": "other-1", "args": {"raw_payload": ""}}, {"id": 1, "args": {"raw_payload": ""}},
                  {"args": {"raw_payload": ""}}, {"id": "malformed-1"}, [("id", "malformed-1")], None):
        assert not is_buried(other), other
    assert is_buried({"id": "malformed-", "args": {"raw_payload": None}})


def test_a_failure_that_cannot_be_written_back_goes_dead_with_the_reason(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("time.time", lambda: NOW + 0.5)
    raw = Job(name="n", id="i", enqueued_at=1, args={"a": 1}, fails=2, last_err="old").encode()
    job = Job.decode(raw)
    job.args = {"a": object()}  # what the handler left: not JSON
    problem = TypeError("not JSON")
    boom = ValueError("boom")
    ack = unwritable_ack(Running(job=job, worker_id="w", group=3), boom, problem)
    assert (ack.group, ack.raw, ack.fate, ack.score) == (3, raw, Fate.DEAD, NOW)
    dead = Job.decode(ack.member)
    assert (dead.name, dead.id, dead.args, dead.fails, dead.failed_at) == ("n", "i", {"a": 1}, 2, NOW)
    assert dead.last_err == "ValueError: boom; the job could not be written back (TypeError: not JSON)"
    assert [m.getMessage() for m in caplog.records] == [
        "job i (n) failed and could not be written back (TypeError: not JSON): moved to the dead set: "
        "ValueError: boom"]
    exc_info = caplog.records[0].exc_info
    assert exc_info is not None and exc_info[:2] == (ValueError, boom)  # the handler's traceback is logged
    # a job that never failed before counts one failure
    fresh = Job.decode(Job(name="n", id="j", enqueued_at=1, args={}).encode())
    assert Job.decode(unwritable_ack(Running(job=fresh, worker_id="w", group=1), KeyError("k"),
                                     problem).member).fails == 1
    # bytes that are not even a job: buried, with where they came from
    odd = Job(name="n", id="k", enqueued_at=1, args={})
    odd.raw, odd.in_progress_queue, odd.dequeued_from = b"\x00garbage", "ns:jobs:n:p:inprogress", "ns:jobs:n"
    ack = unwritable_ack(Running(job=odd, worker_id="w", group=1), ValueError("boom"), problem)
    assert (ack.raw, ack.fate, ack.score) == (b"\x00garbage", Fate.DEAD, NOW)
    assert json.loads(ack.member) == json.loads(buried_job(
        b"\x00garbage", "n", burial_reason("ns:jobs:n:p:inprogress", "ValueError: boom; the job could not be "
                                           "written back (TypeError: not JSON)"), NOW).encode())
    odd.in_progress_queue = ""
    ack = unwritable_ack(Running(job=odd, worker_id="w", group=1), ValueError("boom"), problem)
    assert json.loads(ack.member)["err"].startswith("malformed job payload in ns:jobs:n: ValueError: boom")
    odd.raw = None
    assert unwritable_ack(Running(job=odd, worker_id="w", group=1), ValueError("b"), problem).raw == b""


@pytest.fixture
def loop_and_executor() -> Iterator[tuple[asyncio.AbstractEventLoop, ThreadPoolExecutor]]:
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gowork-test")
    yield loop, executor
    executor.shutdown(wait=True)
    loop.close()


def _where() -> str:
    """T: a thread of the pool's executor; M: the main thread (the loop's here); O: other."""
    name = threading.current_thread().name
    return "T" if name.startswith("gowork-test") else "M" if name == "MainThread" else "O"


def _steps(trace: list[str]) -> dict[str, Any]:
    """Middleware and handlers of every shape: sync or async, with or without the context."""
    def sync_plain(job: Job, nxt: Any) -> None:
        trace.append(f"sync_plain:-:{job.id}:{_where()}")
        nxt()

    def sync_ctx(ctx: Any, job: Job, nxt: Any) -> None:
        trace.append(f"sync_ctx:{ctx}:{job.id}:{_where()}")
        nxt()

    async def async_plain(job: Job, nxt: Any) -> None:
        trace.append(f"async_plain:-:{job.id}:{_where()}")
        await nxt()

    async def async_ctx(ctx: Any, job: Job, nxt: Any) -> None:
        trace.append(f"async_ctx:{ctx}:{job.id}:{_where()}")
        await nxt()

    def h_sync_plain(job: Job) -> None:
        trace.append(f"h_sync_plain:-:{job.id}:{_where()}")

    def h_sync_ctx(ctx: Any, job: Job) -> None:
        trace.append(f"h_sync_ctx:{ctx}:{job.id}:{_where()}")

    async def h_async_plain(job: Job) -> None:
        trace.append(f"h_async_plain:-:{job.id}:{_where()}")

    async def h_async_ctx(ctx: Any, job: Job) -> None:
        trace.append(f"h_async_ctx:{ctx}:{job.id}:{_where()}")

    return {f.__name__: f for f in (sync_plain, sync_ctx, async_plain, async_ctx, h_sync_plain, h_sync_ctx,
                                     h_async_plain, h_async_ctx)}


def test_middleware_chain_runs_in_order_across_sync_and_async_steps(
        loop_and_executor: tuple[asyncio.AbstractEventLoop, ThreadPoolExecutor]) -> None:
    """Every step gets the job (and the context when it takes one); sync steps run in the
    pool's executor, async ones on the loop."""
    loop, executor = loop_and_executor
    trace: list[str] = []
    job = Job(name="n", id="i", enqueued_at=1, args={"a": 1})
    fns = _steps(trace)
    mw = [middleware_step(fns[n]) for n in ("sync_plain", "async_ctx", "async_plain", "sync_ctx")]
    head = ["sync_plain:-:i:T", "async_ctx:C:i:M", "async_plain:-:i:M", "sync_ctx:C:i:T"]
    for h in ("h_sync_plain", "h_sync_ctx", "h_async_plain", "h_async_ctx"):
        jt = JobType("n", fns[h], JobOptions().validated())
        ctx = "C" if h.endswith("ctx") else "-"
        last = f"{h}:{ctx}:i:{'M' if 'async' in h else 'T'}"
        trace.clear()
        loop.run_until_complete(run_chain(job, "C", mw, jt, loop, executor))
        assert trace == [*head, last], h
        trace.clear()  # from a worker thread of the pool, while the loop runs
        loop.run_until_complete(loop.run_in_executor(executor, run_chain_in_thread, job, "C", mw, jt, loop,
                                                     executor))
        assert trace == [*head, last], h
        trace.clear()  # no middleware: the handler alone, where it belongs
        loop.run_until_complete(run_chain(job, "C", [], jt, loop, executor))
        assert trace == [last], h
        if "async" not in h:
            trace.clear()
            run_chain_in_thread(job, "C", [], jt, loop, executor)
            assert trace == [f"{h}:{ctx}:i:M"], h
        # an async middleware before a handler of each shape
        trace.clear()
        loop.run_until_complete(run_chain(job, "C", mw[1:3], jt, loop, executor))
        assert trace == [*head[1:3], last], h
    # a middleware that stops the chain: the handler does not run
    trace.clear()
    jt = JobType("n", fns["h_sync_plain"], JobOptions().validated())
    loop.run_until_complete(run_chain(job, None, [middleware_step(lambda j, nxt: None)], jt, loop, executor))
    assert trace == []


def test_middleware_chain_failures(loop_and_executor: tuple[asyncio.AbstractEventLoop, ThreadPoolExecutor]) -> None:
    loop, executor = loop_and_executor
    job = Job(name="n", id="i", enqueued_at=1, args={})
    trace: list[str] = []
    fns = _steps(trace)
    steps = [middleware_step(fns["sync_plain"]), middleware_step(fns["async_ctx"])]
    returned = JobType("n", lambda j: ValueError("returned"), JobOptions().validated())
    with pytest.raises(ValueError, match=r"^returned$"):
        loop.run_until_complete(run_chain(job, None, steps, returned, loop, executor))
    assert trace == ["sync_plain:-:i:T", "async_ctx:None:i:M"]

    async def araises(j: Job) -> None:
        raise KeyError("k")
    with pytest.raises(KeyError, match="'k'"):
        loop.run_until_complete(run_chain(job, None, steps, JobType("n", araises, JobOptions().validated()), loop,
                                          executor))

    async def areturns(j: Job) -> Exception:
        return RuntimeError("async returned")
    with pytest.raises(RuntimeError, match=r"^async returned$"):
        loop.run_until_complete(run_chain(job, None, [], JobType("n", areturns, JobOptions().validated()), loop,
                                          executor))
    with pytest.raises(RuntimeError, match=r"^async returned$"):  # ... also after a middleware
        loop.run_until_complete(run_chain(job, None, steps, JobType("n", areturns, JobOptions().validated()), loop,
                                          executor))

    class Later:
        def __await__(self) -> Iterator[None]:
            yield None

    def sync_returns_awaitable(j: Job) -> Any:
        return Later()
    with pytest.raises(TypeError, match=r"^a sync handler returned an awaitable: declare it with 'async def'$"):
        run_chain_in_thread(job, None, [], JobType("n", sync_returns_awaitable, JobOptions().validated()), loop,
                            executor)
    with pytest.raises(ValueError, match=r"^mw$"):
        loop.run_until_complete(run_chain(job, None, [middleware_step(lambda j, nxt: ValueError("mw"))],
                                          JobType("n", lambda j: None, JobOptions().validated()), loop, executor))
    with pytest.raises(TypeError, match=r"^middleware must be callable$"):
        middleware_step("not callable")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^a middleware takes \(job, next\) or \(context, job, next\)"):
        middleware_step(lambda j: None)
    step = middleware_step(lambda ctx, j, nxt: None)
    assert (step.is_async, step.with_ctx) == (False, True)


def test_unique_key_values_and_refresh_flags_are_gos(r: redis.Redis, ns: str) -> None:
    """v0.5.1 stores "1" under the key and never refreshes it; master refreshes; unique-by-key
    stores the job itself; only master's jobs carry unique_key."""
    k = Keys(ns)
    old = plan_unique(k, "v0.5.1", "a", {"x": 1}, None, False, "1" * 24, NOW)
    new = plan_unique(k, "master", "a", {"x": 2}, None, False, "2" * 24, NOW)
    by_key = plan_unique(k, "master", "a", {"x": 3}, {"u": 1}, True, "3" * 24, NOW)
    assert (old.stored, old.refresh, old.job.unique_key) == ("1", "0", "")
    assert b"unique_key" not in old.raw and old.raw == old.job.encode()
    assert (new.stored, new.refresh, new.job.unique_key) == ("1", "1", k.unique("a", {"x": 2}))
    assert (by_key.stored, by_key.refresh) == (by_key.raw.decode(), "1") and by_key.key == k.unique("a", {"u": 1})
    assert execute(r, [enqueue_unique_call(k, u) for u in (old, new, by_key)]) == [b"ok"] * 3
    assert r.get(old.key) == b"1" and r.get(new.key) == b"1" and r.get(by_key.key) == by_key.raw


def test_dead_job_retry_reasons_keep_undecodable_bytes() -> None:
    with pytest.raises(UnretryableJob, match="^dead job j cannot be retried: it is a \N{REPLACEMENT CHARACTER}; it "
                                             r"was left"):
        retry_dead_job_result([0, 1, 1, b"a \xff"], "j")
    with pytest.raises(UnretryableJob, match=r"^dead job  cannot be retried"):
        retry_dead_job_result([0, 1, 1, b"x"])


def test_requeue_call_without_known_jobs() -> None:
    from gowork_compat.scripts import REQUEUE_DUE, requeue_due_call
    call = requeue_due_call(Keys("ns"), "ns:retry", ["a"], NOW, 5)
    assert call.script is REQUEUE_DUE and call.args == ("ns:jobs:", NOW, 5, "")
    assert list(call.keys) == ["ns:retry", "ns:dead", "ns:jobs:a"]


def test_job_records_read_as_go_reads_them() -> None:
    from gowork_compat.job import MAX_ARG_INT, JobDecodeError
    assert Job.decode(b'{"id":"i","t":1,"args":null}').name == ""
    assert Job.decode(b'{"id":"i","t":-0,"args":{}}').name == ""  # the member-wise reading
    assert Job.decode(b'{"id":"i","id":"j","t":1,"args":{}}').name == ""  # ... after the fast one gave up
    assert Job.decode(b' \r\n\t{"id":"i","t":-0,"args":{}}').id == "i"  # JSON's whitespace before the object
    # arrays are not jobs, also when their numbers need the member-wise reading (Go: an
    # UnmarshalTypeError); they used to fail with a TypeError, or pass as a job when made of pairs
    for raw in (b"[-0]", b' [["name","x"],["id","i"],["t",-0],["args",{}]]', b"[1e999]"):
        with pytest.raises(JobDecodeError, match=r"^malformed job payload: not a JSON object \(got array\)$"):
            Job.decode(raw)
    with pytest.raises(JobDecodeError, match=r"^malformed job payload: not a JSON object \(got number\)$"):
        Job.decode(b"-0")
    big = float(MAX_ARG_INT)
    job = Job(name="n", id="i", enqueued_at=1, args={"hi": big, "lo": -big, "over": big * 2})
    assert (job.arg_int("hi"), job.arg_int("lo"), job.arg_error()) == (MAX_ARG_INT, -MAX_ARG_INT, None)
    assert job.arg_int("over") == 0 and job.arg_error() is not None


def test_five_field_specs_of_v051_are_explained_once(caplog: pytest.LogCaptureFixture,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from gowork_compat.periodic import PeriodicEnqueuer, warn_five_fields
    monkeypatch.setattr("gowork_compat.periodic._warned", set())  # this test may run twice in one process
    spec = "*/13 2 * * *"
    with caplog.at_level(logging.WARNING, logger="gowork_compat.periodic"):
        PeriodicEnqueuer.make(spec, "x", "master")  # minute-first there: nothing to explain
        PeriodicEnqueuer.make("*/13 2 * * * *", "x", "v0.5.1")
        PeriodicEnqueuer.make("@every 13s", "x", "v0.5.1")
        assert caplog.records == []
        PeriodicEnqueuer.make(spec, "x", "v0.5.1")
        assert not warn_five_fields(spec)  # once per spec and process
    assert [m.getMessage() for m in caplog.records] == [
        "cron spec '*/13 2 * * *' has 5 fields: gocraft/work v0.5.1 (robfig/cron v1) reads them as second minute "
        "hour day-of-month month (second=*/13 minute=2 hour=* day-of-month=* month=*, any weekday), not as the "
        "usual minute-based cron; for the minute-based meaning write the 6-field spec '0 */13 2 * * *' (seconds "
        "first)"]
    assert not warn_five_fields("@daily") and not warn_five_fields("1 2 3 4 5 6")
    assert not warn_five_fields("@a b c d e")  # a descriptor, whatever follows
    assert warn_five_fields("1 2 3 4 5") is True and len(caplog.records) == 2


def test_outcomes_a_worker_would_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """WorkerPool.run_job's outcome: the fate, err text, retry delay and job as a worker
    writes them."""
    from gowork_compat.pool.runner import outcome_of, starts_sync
    monkeypatch.setattr("time.time", lambda: NOW + 0.5)

    def jt(**opts: Any) -> JobType:
        return JobType("n", lambda j: None, JobOptions(**opts).validated())

    def job(fails: int = 0) -> Job:
        return Job(name="n", id="i", enqueued_at=1, args={}, fails=fails)

    ok = outcome_of(jt(), job(), None)
    assert (ok.fate, ok.err, ok.retry_in, ok.exception, ok.ok, ok.job.fails) == ("done", "", None, None, True, 0)
    err = ValueError("boom")
    retry = outcome_of(jt(max_fails=2, backoff=lambda j: 30 + j.fails), job(), err)
    assert (retry.fate, retry.err, retry.retry_in, retry.exception, retry.ok) == ("retry", "ValueError: boom", 31,
                                                                                   err, False)
    assert (retry.job.fails, retry.job.last_err, retry.job.failed_at) == (1, "ValueError: boom", NOW)
    dead = outcome_of(jt(max_fails=2), job(1), err)
    assert (dead.fate, dead.err, dead.retry_in, dead.exception, dead.job.fails) == ("dead", "ValueError: boom", None,
                                                                                    err, 2)
    dropped = outcome_of(jt(max_fails=2, skip_dead=True), job(1), KeyError("k"))
    assert (dropped.fate, dropped.err, dropped.retry_in) == ("dropped", "KeyError: k", None)

    async def ahandler(j: Job) -> None:
        return None

    async def amw(j: Job, nxt: Any) -> None:
        await nxt()
    sync_jt, async_jt = jt(), JobType("n", ahandler, JobOptions().validated())
    assert starts_sync([], sync_jt) and not starts_sync([], async_jt)
    assert not starts_sync([middleware_step(amw)], sync_jt)
    assert starts_sync([middleware_step(lambda j, nxt: nxt())], async_jt)
