"""Exact checks of the protocol's small parts: key names, heartbeat and periodic commands,
periodic ids, the backoff formula and job fates. The expected values are facts of
gocraft/work v0.5.1's source (redis.go, heartbeater.go, periodic_enqueuer.go, worker.go);
the interop suite proves the same behaviours against the running Go code. These tests are
fast so that the mutation pass (scripts/mutation.sh, benchmarks/mutation.md) can run them
for every mutant."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timezone
from typing import Any

import pytest
import redis
import redis.asyncio as aredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gowork_compat.heartbeat import Heartbeat
from gowork_compat.job import Job
from gowork_compat.keys import Keys, namespace_prefix
from gowork_compat.periodic import PeriodicEnqueuer, local_zone, periodic_job_id
from gowork_compat.reaper import REENQUEUE_BATCH, Reaper
from gowork_compat.requeuer import REQUEUE_BATCH, Requeuer
from gowork_compat.scripts import REQUEUE_DUE
from gowork_compat.worker import Fate, JobOptions, JobType, decide_fate, default_backoff


@pytest.mark.parametrize(("ns", "prefix"), [("", ""), ("work", "work:"), ("work:", "work:"), ("a:b", "a:b:")])
def test_every_key_is_gos(ns: str, prefix: str) -> None:
    k = Keys(ns)
    assert namespace_prefix(ns) == k.prefix == prefix
    assert k.namespace == ns
    assert k.jobs_prefix == prefix + "jobs:"
    assert k.known_jobs == prefix + "known_jobs"
    assert k.retry == prefix + "retry"
    assert k.dead == prefix + "dead"
    assert k.scheduled == prefix + "scheduled"
    assert k.worker_pools == prefix + "worker_pools"
    assert k.last_periodic_enqueue == prefix + "last_periodic_enqueue"
    assert k.stats(1_700_000_040) == k.stats_prefix + "1700000040" == prefix + "gowork:stats:1700000040"
    assert k.heartbeat("p1") == prefix + "worker_pools:p1"
    assert k.worker_observation("w1") == prefix + "worker:w1"
    assert k.jobs("n") == prefix + "jobs:n"
    assert k.in_progress("p1", "n") == prefix + "jobs:n:p1:inprogress"
    assert k.paused("n") == prefix + "jobs:n:paused"
    assert k.lock("n") == prefix + "jobs:n:lock"
    assert k.lock_info("n") == prefix + "jobs:n:lock_info"
    assert k.max_concurrency("n") == prefix + "jobs:n:max_concurrency"
    assert k.unique("n", None) == prefix + "unique:n:"
    assert k.unique("n", {"b": 1, "a": "<é>"}) == prefix + 'unique:n:{"a":"\\u003cé\\u003e","b":1}\n'
    assert k.job_name_from_queue(prefix + "jobs:n") == "n"
    assert k.job_name_from_queue(prefix + "jobs:") == ""
    assert k.job_name_from_queue("other:jobs:n") is None


def test_heartbeat_commands() -> None:
    hb = Heartbeat(Keys("ns"), "pool1", ["b", "a"], 3, ["w2", "w1"], 1700000000)
    (sadd, hset) = hb.beat_calls(1700000005)
    assert sadd.args == ("SADD", "ns:worker_pools", "pool1")
    assert hset.args == ("HSET", "ns:worker_pools:pool1", "heartbeat_at", 1700000005, "started_at", 1700000000,
                         "job_names", "a,b", "concurrency", 3, "worker_ids", "w1,w2",
                         "host", hb.host, "pid", hb.pid)
    assert isinstance(hb.host, str) and hb.host and hb.pid > 0
    (srem, delete) = hb.remove_calls()
    assert srem.args == ("SREM", "ns:worker_pools", "pool1")
    assert delete.args == ("DEL", "ns:worker_pools:pool1")


def test_heartbeat_host_when_the_hostname_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> str:
        raise OSError("no hostname")
    monkeypatch.setattr("socket.gethostname", broken)
    assert Heartbeat(Keys("ns"), "p", [], 1, [], 0).host == "hostname_errored"


def test_periodic_ids_and_due_rule() -> None:
    assert periodic_job_id("tick", "*/2 * * * * *", 1700000000) == "periodic:tick:*/2 * * * * *:1700000000"
    pe = PeriodicEnqueuer(Keys("ns"), [], zone=timezone.utc)
    # Go: due when last_periodic_enqueue < now - 2 (seconds), or when it is missing
    assert pe.should_enqueue(None, 100)
    assert pe.should_enqueue(97, 100)
    assert not pe.should_enqueue(98, 100)
    assert not pe.should_enqueue(100, 100)


def test_periodic_calls_cover_the_horizon_exactly() -> None:
    now = 1_699_999_980  # a whole minute: fire times at now + 60, 120, 180; now + 240 is past the horizon
    spec = "0 * * * * *"
    pe = PeriodicEnqueuer(Keys("ns"), [PeriodicEnqueuer.make(spec, "x", "v0.5.1")], zone=timezone.utc)
    calls = pe.enqueue_calls(now)
    assert calls[-1].args == ("SET", "ns:last_periodic_enqueue", now)
    zadds = [c.args for c in calls[:-1]]
    assert all(a[0] == "ZADD" and a[1] == "ns:scheduled" for a in zadds)
    assert [a[2] for a in zadds] == [now + 60, now + 120, now + 180]
    for a in zadds:
        job = Job.decode(a[3])
        assert (job.name, job.id, job.enqueued_at, job.args) == ("x", periodic_job_id("x", spec, a[2]), a[2], None)
        assert a[3] == Job(name="x", id=job.id, enqueued_at=a[2], args=None).encode()


def test_periodic_horizon_ends_before_now_plus_four_minutes() -> None:
    now = 1_700_000_000
    pe = PeriodicEnqueuer(Keys(""), [PeriodicEnqueuer.make("*/20 * * * * *", "t", "v0.5.1")], zone=timezone.utc)
    epochs = [c.args[2] for c in pe.enqueue_calls(now)[:-1]]
    assert epochs == list(range(now + 20, now + 240, 20))  # now + 240 is beyond Go's horizon
    # the dialect is passed on: five fields are minute-first on master, second-first on v0.5.1
    master = PeriodicEnqueuer(Keys(""), [PeriodicEnqueuer.make("*/2 * * * *", "t", "master")], zone=timezone.utc)
    assert [c.args[2] for c in master.enqueue_calls(now)[:-1]] == [t for t in range(now + 1, now + 240)
                                                                   if t % 120 == 0]


class _Fixed(random.Random):
    def __init__(self, value: int) -> None:
        super().__init__()
        self.value = value
        self.bounds: list[int] = []

    def randrange(self, *args: Any, **kwargs: Any) -> int:  # type: ignore[override]
        self.bounds.append(args[0])
        return self.value


@pytest.mark.parametrize("fails", [0, 1, 2, 5, 13])
def test_default_backoff_is_gos_formula(fails: int) -> None:
    job = Job(name="n", id="i", enqueued_at=1, args={}, fails=fails)
    for step in (0, 1, 29):
        rng = _Fixed(step)
        assert default_backoff(job, rng) == fails ** 4 + 15 + step * (fails + 1)
        assert rng.bounds == [30]
    values = {default_backoff(job) for _ in range(2000)}
    assert values == {fails ** 4 + 15 + s * (fails + 1) for s in range(30)}


def test_fates_are_gos() -> None:
    def jt(**opts: Any) -> JobType:
        return JobType("n", lambda j: None, JobOptions(**opts).validated())

    def job(fails: int) -> Job:
        return Job(name="n", id="i", enqueued_at=1, args={}, fails=fails)

    assert decide_fate(jt(max_fails=3), job(2)) == Fate.RETRY
    assert decide_fate(jt(max_fails=3), job(3)) == Fate.DEAD
    assert decide_fate(jt(max_fails=3), job(4)) == Fate.DEAD
    assert decide_fate(jt(max_fails=3, skip_dead=True), job(3)) == Fate.DONE
    assert decide_fate(jt(max_fails=3, skip_dead=True), job(2)) == Fate.RETRY
    assert decide_fate(None, job(0)) == Fate.DEAD
    assert (Fate.DONE, Fate.RETRY, Fate.DEAD) == (0, 1, 2)
    assert jt(backoff=lambda j: 7.9).backoff_seconds(job(1)) == 7
    assert 16 <= jt().backoff_seconds(job(1)) <= 16 + 29 * 2


def test_periodic_zone_defaults_to_gos_local_zone() -> None:
    assert PeriodicEnqueuer(Keys("ns"), [], zone=timezone.utc).zone is timezone.utc
    assert PeriodicEnqueuer(Keys("ns"), []).zone == local_zone() is not None


def test_requeuer_call_layout() -> None:
    k = Keys("ns")
    requeuer = Requeuer(k, k.retry, ["b", "a"])
    assert requeuer.zset_key == "ns:retry" and requeuer.keys is k
    call = requeuer.call(1700000000)
    assert call.args == ("ns:jobs:", 1700000000, REQUEUE_BATCH, "ns:known_jobs")
    assert call.script is REQUEUE_DUE
    assert call.keys == ["ns:retry", "ns:dead", "ns:jobs:a", "ns:jobs:b"]
    only_own = Requeuer(k, k.scheduled, ["a"], use_known_jobs=False).call(5, limit=7)
    assert only_own.args == ("ns:jobs:", 5, 7, "") and only_own.keys == ["ns:scheduled", "ns:dead", "ns:jobs:a"]


NOW = 1_700_000_000


def _pool(r: redis.Redis, k: Keys, pool: str, beat_at: Any, names: str | None, jobs: dict[str, int]) -> None:
    r.sadd(k.worker_pools, pool)
    fields: dict[str, Any] = {}
    if beat_at is not None:
        fields["heartbeat_at"] = beat_at
    if names is not None:
        fields["job_names"] = names
    if fields:
        r.hset(k.heartbeat(pool), mapping=fields)
    for name, n in jobs.items():
        r.lpush(k.in_progress(pool, name), *[f"{pool}-{name}-{i}".encode() for i in range(n)])
        r.incrby(k.lock(name), n)
        r.hset(k.lock_info(name), pool, n)


def test_reaper_decisions_are_gos(r: redis.Redis, ns: str, caplog: pytest.LogCaptureFixture) -> None:
    """Go's findDeadPools and reap: alive when the heartbeat is younger than 10 s; a pool with
    a heartbeat time but no job names is skipped; dead pools get their in-progress jobs
    requeued (by their heartbeat's names, or ours and known_jobs when the hash is gone, which
    Go does not do), their heartbeat deleted, their membership and lock counts removed."""
    k = Keys(ns)
    r.sadd(k.known_jobs, "kn")
    _pool(r, k, "own", NOW - 100, "a", {"a": 1})                  # ourselves: never reaped
    _pool(r, k, "live", NOW - 9, "a", {"a": 2})                   # 9 s old: alive
    _pool(r, k, "nonames", NOW - 100, None, {"a": 1})             # heartbeat time, no names: skipped
    _pool(r, k, "dead", NOW - 10, "a,b", {"a": 3, "b": 1})        # 10 s old: dead
    _pool(r, k, "garbled", "soon", "b", {"b": 2})                 # unreadable time: dead
    _pool(r, k, "gone", None, None, {"a": 1, "kn": 2, "XXXX": 1})  # no hash: our names + known_jobs
    r.sadd(k.worker_pools, "")                                      # garbage members: ignored
    r.sadd(k.known_jobs, "")
    r.lpush(k.in_progress("gone", ""), b"nameless")
    with caplog.at_level(logging.INFO, logger="gowork_compat.reaper"):
        report = asyncio.run(_reap(r, k, ["a", "b"]))
    assert sorted(report.dead_pools) == ["dead", "garbled", "gone"]
    logged = sorted(m.getMessage() for m in caplog.records if m.name == "gowork_compat.reaper")
    assert logged == [f"reaped dead worker pool {p} ({n} in-progress jobs requeued)"
                      for p, n in (("dead", 4), ("garbled", 2), ("gone", 3))]
    assert report.requeued == 3 + 1 + 2 + 1 + 2
    assert report.per_pool == {"dead": 4, "garbled": 2, "gone": 3} and not report.held_back
    assert sorted(x.decode() for x in r.smembers(k.worker_pools)) == ["", "live", "nonames", "own"]
    assert r.lrange(k.in_progress("gone", ""), 0, -1) == [b"nameless"] and r.llen(k.jobs("")) == 0
    for p in ("dead", "garbled", "gone"):
        assert not r.exists(k.heartbeat(p))
    for p in ("own", "live", "nonames"):
        assert r.exists(k.heartbeat(p))
    assert sorted(r.lrange(k.jobs("a"), 0, -1)) == sorted([b"dead-a-0", b"dead-a-1", b"dead-a-2", b"gone-a-0"])
    assert sorted(r.lrange(k.jobs("b"), 0, -1)) == sorted([b"dead-b-0", b"garbled-b-0", b"garbled-b-1"])
    assert sorted(r.lrange(k.jobs("kn"), 0, -1)) == [b"gone-kn-0", b"gone-kn-1"]
    assert r.llen(k.in_progress("gone", "XXXX")) == 1 and r.llen(k.jobs("XXXX")) == 0  # a name nobody knows
    # locks: what the live, own and skipped pools hold stays; the dead pools' is given back
    assert int(r.get(k.lock("a")) or 0) == 1 + 2 + 1
    assert {f.decode(): int(v) for f, v in r.hgetall(k.lock_info("a")).items()} == {"own": 1, "live": 2, "nonames": 1}
    assert int(r.get(k.lock("b")) or 0) == 0 and r.hgetall(k.lock_info("b")) == {}
    assert int(r.get(k.lock("kn")) or 0) == 0 and r.hgetall(k.lock_info("kn")) == {}
    # a second pass finds nothing more
    again = asyncio.run(_reap(r, k, ["a", "b"]))
    assert again.dead_pools == [] and again.requeued == 0


def test_reaper_cleans_locks_of_a_dead_pool_without_names(r: redis.Redis, ns: str) -> None:
    """A dead pool without heartbeat and with no in-progress jobs: Go only removes it and
    gives back the locks of its own job names (lock never below 0)."""
    k = Keys(ns)
    r.sadd(k.worker_pools, "ghost")
    r.set(k.lock("a"), 1)
    r.hset(k.lock_info("a"), mapping={"ghost": 3, "other": 1})
    report = asyncio.run(_reap(r, k, ["a"]))
    assert report.dead_pools == ["ghost"] and report.requeued == 0 and report.per_pool == {"ghost": 0}
    assert int(r.get(k.lock("a"))) == 0
    assert r.hgetall(k.lock_info("a")) == {b"other": b"1"}
    assert not r.sismember(k.worker_pools, "ghost")


def test_reaper_requeues_in_batches(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    _pool(r, k, "big", NOW - 60, "a", {"a": REENQUEUE_BATCH + 3})
    report = asyncio.run(_reap(r, k, ["a"]))
    assert report.requeued == REENQUEUE_BATCH + 3 == r.llen(k.jobs("a"))
    assert int(r.get(k.lock("a"))) == 0


def test_reaper_reads_any_client_and_undecodable_ids(r: redis.Redis, ns: str) -> None:
    """Pool ids are read as UTF-8 with replacement, from clients that decode or not."""
    k = Keys(ns)
    _pool(r, k, "dead", NOW - 60, "a", {"a": 1})
    report = asyncio.run(_reap(r, k, ["a"], decode=True))
    assert report.dead_pools == ["dead"] and report.requeued == 1
    assert r.lrange(k.jobs("a"), 0, -1) == [b"dead-a-0"]
    r.sadd(k.worker_pools, b"\xffbad")
    report = asyncio.run(_reap(r, k, ["a"]))
    assert report.dead_pools == ["\ufffdbad"] and report.requeued == 0


async def _reap(r: redis.Redis, k: Keys, names: list[str], decode: bool = False) -> Any:
    port = r.connection_pool.connection_kwargs["port"]
    client = aredis.Redis(port=port, decode_responses=decode)
    try:
        return await Reaper(k, "own", names).reap(client, NOW)
    finally:
        await client.aclose()


class _SortedSets(aredis.Redis):
    """SMEMBERS in sorted order, so that a test can put skipped pools before dead ones."""

    async def smembers(self, name: Any) -> Any:  # type: ignore[override]
        return sorted(await super().smembers(name))


def test_reaper_goes_on_after_pools_it_skips(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    _pool(r, k, "a-live", NOW - 1, "a", {"a": 1})
    _pool(r, k, "b-nonames", NOW - 60, None, {"a": 1})
    _pool(r, k, "c-dead", NOW - 60, "a", {"a": 1})

    async def reap() -> Any:
        client = _SortedSets(port=r.connection_pool.connection_kwargs["port"])
        try:
            return await Reaper(k, "own", ["a"]).reap(client, NOW)
        finally:
            await client.aclose()

    report = asyncio.run(reap())
    assert report.dead_pools == ["c-dead"] and report.requeued == 1


def test_failure_acknowledgements_follow_gos_fate(monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """What the pool writes after a failure (Go's jobFate and terminateAndRetry/Dead):
    retry at now + backoff, dead at now, dropped with skip_dead; the job carries fails+1,
    the error text and failed_at = now."""
    from gowork_compat.pool.common import Running
    from gowork_compat.pool.runner import error_text, failure_ack

    monkeypatch.setattr("time.time", lambda: NOW + 0.75)
    payload = Job(name="n", id="i", enqueued_at=1, args={"a": 1}).encode()

    def run(fails: int) -> Running:
        job = Job.decode(payload)
        job.fails = fails
        return Running(job=job, worker_id="w", group=2)

    def jt(**opts: Any) -> JobType:
        return JobType("n", lambda j: None, JobOptions(**opts).validated())

    ack = failure_ack(run(0), jt(max_fails=3, backoff=lambda j: 7 + j.fails), ValueError("boom"))
    assert (ack.group, ack.raw, ack.fate, ack.score) == (2, payload, Fate.RETRY, NOW + 8)
    retried = Job.decode(ack.member)
    assert (retried.fails, retried.last_err, retried.failed_at, retried.args) == (1, "ValueError: boom", NOW, {"a": 1})

    ack = failure_ack(run(1), jt(max_fails=3), ValueError("boom"))
    assert ack.fate == Fate.RETRY and ack.score - NOW in {2 ** 4 + 15 + s * 3 for s in range(30)}

    def broken(job: Job) -> int:
        raise RuntimeError("no backoff")
    with caplog.at_level(logging.ERROR, logger="gowork_compat"):
        ack = failure_ack(run(1), jt(max_fails=3, backoff=broken), ValueError("boom"))
    assert ack.fate == Fate.RETRY and ack.score - NOW in {2 ** 4 + 15 + s * 3 for s in range(30)}
    assert any(r.getMessage() == "backoff of job n failed; using the default" for r in caplog.records)

    ack = failure_ack(run(2), jt(max_fails=3), KeyError("k"))
    assert (ack.group, ack.raw, ack.fate, ack.score) == (2, payload, Fate.DEAD, NOW)
    dead = Job.decode(ack.member)
    assert (dead.fails, dead.last_err, dead.failed_at) == (3, "KeyError: k", NOW)

    ack = failure_ack(run(2), jt(max_fails=3, skip_dead=True), ValueError("boom"))
    assert (ack.group, ack.raw, ack.fate, ack.score, ack.member) == (2, payload, Fate.DONE, 0, b"")
    ack = failure_ack(run(0), None, ValueError("stray"))
    assert (ack.fate, ack.score, Job.decode(ack.member).last_err) == (Fate.DEAD, NOW, "ValueError: stray")

    assert error_text(ValueError("x")) == "ValueError: x"
    from gowork_compat.pool.runner import JobTimeout, PoolError
    assert error_text(PoolError("stray job: no handler")) == "stray job: no handler"
    assert error_text(JobTimeout(2.5)) == "timeout after 2.5 s"
    assert error_text(KeyError("k", "l")) == "KeyError: ('k', 'l')"
    assert error_text(KeyError()) == "KeyError"
    assert error_text(ValueError()) == "ValueError"


def test_reaper_holds_back_after_its_own_outage(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    _pool(r, k, "dead", NOW - 60, "a", {"a": 1})
    clock = [100.0]
    reaper = Reaper(k, "own", ["a"], clock=lambda: clock[0])
    assert reaper.QUIET_AFTER_OUTAGE == 15

    async def reap() -> Any:
        client = aredis.Redis(port=r.connection_pool.connection_kwargs["port"])
        try:
            return await reaper.reap(client, NOW)
        finally:
            await client.aclose()

    reaper.note_outage()
    clock[0] = 114.9
    held = asyncio.run(reap())
    assert held.held_back is True and held.dead_pools == [] and r.sismember(k.worker_pools, "dead")
    clock[0] = 115.0
    done = asyncio.run(reap())
    assert done.held_back is False and done.dead_pools == ["dead"]


def test_reaper_notes_its_own_outage() -> None:
    clock = [50.0]
    reaper = Reaper(Keys("ns"), "own", [], clock=lambda: clock[0])
    dead = aredis.Redis(port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))  # fails at once

    async def reap() -> Any:
        try:
            return await reaper.reap(dead, NOW)
        finally:
            await dead.aclose()

    with pytest.raises(redis.exceptions.ConnectionError, match=r"^Error \d+ connecting to localhost:1"):
        asyncio.run(reap())
    clock[0] = 64.0
    assert asyncio.run(Reaper.reap(reaper, dead, NOW)).held_back


def test_periodic_run_once_respects_another_pools_pass(r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    pe = PeriodicEnqueuer(k, [PeriodicEnqueuer.make("0 * * * * *", "x", "v0.5.1")], zone=timezone.utc)

    async def once(now: int) -> bool:
        client = aredis.Redis(port=r.connection_pool.connection_kwargs["port"])
        try:
            return await pe.run_once(client, now)
        finally:
            await client.aclose()

    now = 1_699_999_980
    assert asyncio.run(once(now)) is True
    assert int(r.get(k.last_periodic_enqueue)) == now and r.zcard(k.scheduled) == 3
    assert asyncio.run(once(now + 2)) is False  # another pass 2 s ago: Go's rule says not yet
    r.set(k.last_periodic_enqueue, "garbage")
    assert asyncio.run(once(now + 3)) is True and int(r.get(k.last_periodic_enqueue)) == now + 3
    r.delete(k.last_periodic_enqueue)
    assert asyncio.run(once(now + 4)) is True


def test_failure_ack_of_a_job_without_its_bytes() -> None:
    from gowork_compat.pool.common import Running
    from gowork_compat.pool.runner import failure_ack
    jt = JobType("n", lambda j: None, JobOptions(max_fails=1).validated())
    ack = failure_ack(Running(job=Job(name="n", id="i", enqueued_at=1, args={}), worker_id="w", group=1), jt,
                      ValueError("x"))
    assert ack.raw == b"" and ack.fate == Fate.DEAD


def test_reaper_counts_nothing_for_a_dead_pool_with_no_names(r: redis.Redis, ns: str) -> None:
    """No heartbeat names, no names of ours, no known_jobs: removed, nothing requeued."""
    k = Keys(ns)
    r.sadd(k.worker_pools, "ghost")
    _pool(r, k, "blank", NOW - 60, "", {})
    report = asyncio.run(_reap(r, k, []))
    assert sorted(report.dead_pools) == ["blank", "ghost"]
    assert report.requeued == 0 and report.per_pool == {"blank": 0, "ghost": 0}
    assert r.smembers(k.worker_pools) == set()


def test_failure_ack_of_a_contract_violation_and_its_log(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Args that break their contract: dead at once (whatever max_fails says), with the
    violation's text; every fate is logged with what happens to the job."""
    from gowork_compat.contracts import ContractViolation, Violation
    from gowork_compat.pool.common import Running
    from gowork_compat.pool.runner import failure_ack

    monkeypatch.setattr("time.time", lambda: NOW)
    payload = Job(name="n", id="i", enqueued_at=1, args={"a": 1}).encode()

    def run(fails: int) -> Running:
        job = Job.decode(payload)
        job.fails = fails
        return Running(job=job, worker_id="w", group=1)

    jt = JobType("n", lambda j: None, JobOptions(max_fails=3, backoff=lambda j: 8).validated())
    bad = ContractViolation("n", [Violation("n", "/a", "1 is not a string")])
    ack = failure_ack(run(0), jt, bad)
    assert (ack.fate, ack.score) == (Fate.DEAD, NOW)
    assert Job.decode(ack.member).last_err == "ContractViolation: args of job 'n' break its contract at /a: " \
                                              "1 is not a string"
    with caplog.at_level(logging.WARNING, logger="gowork_compat"):
        caplog.clear()
        failure_ack(run(0), jt, ValueError("boom"))
        failure_ack(run(2), jt, KeyError("k"))
        skip = JobType("n", lambda j: None, JobOptions(max_fails=3, skip_dead=True).validated())
        failure_ack(run(2), skip, ValueError("gone"))
    assert [(m.levelno, m.getMessage()) for m in caplog.records] == [
        (logging.WARNING, "job i (n) failed (try 1), retried in 8 s: ValueError: boom"),
        (logging.ERROR, "job i (n) failed (try 3), moved to the dead set: KeyError: k"),
        (logging.ERROR, "job i (n) failed (try 3), dropped (skip_dead): ValueError: gone")]
