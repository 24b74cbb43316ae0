"""Exact checks of the protocol's small parts: key names, heartbeat and periodic commands,
periodic ids, the backoff formula and job fates. The expected values are facts of
gocraft/work v0.5.1's source (redis.go, heartbeater.go, periodic_enqueuer.go, worker.go);
the interop suite proves the same behaviours against the running Go code. These tests are
fast so that the mutation pass (scripts/mutation.sh, benchmarks/mutation.md) can run them
for every mutant."""

from __future__ import annotations

import random
from datetime import timezone
from typing import Any

import pytest

from gowork_compat.heartbeat import Heartbeat
from gowork_compat.job import Job
from gowork_compat.keys import Keys, namespace_prefix
from gowork_compat.periodic import PeriodicEnqueuer, periodic_job_id
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
