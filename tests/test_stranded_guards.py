"""Exact checks of the reaper's recovery of stranded in-progress lists (issue 8: lists of
pools that are in no set): which keys are read as in-progress lists, which pools count as
gone, what one requeue call moves and gives back, and when a reap pass requeues. Fast, so
that the mutation pass (scripts/mutation.py) runs them for every mutant of that code; the
pool-level and Go-level proofs are tests/test_stranded.py and
tests/interop/test_stranded_interop.py.

The tests use a database of their own on the session's redis-server (flushed before and
after), so that SCAN walks a keyspace they control."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aredis

from gowork_compat.heartbeat import DEAD_AFTER
from gowork_compat.keys import Keys
from gowork_compat.reaper import (
    STRANDED_SCAN_CALLS,
    STRANDED_SCAN_COUNT,
    Reaper,
    Stranded,
    find_stranded,
    in_progress_pattern,
    parse_in_progress_key,
    requeue_stranded,
)
from gowork_compat.scripts import REQUEUE_STRANDED
from tests.conftest import RedisServer

DB = 11
NOW = 1_700_000_000


@pytest.fixture
def rdb(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=redis_server.port, db=DB)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def arun(r: redis.Redis, fn: Callable[[aredis.Redis], Awaitable[Any]], cls: type[aredis.Redis] = aredis.Redis) -> Any:
    async def go() -> Any:
        client = cls(port=r.connection_pool.connection_kwargs["port"], db=DB)
        try:
            return await fn(client)
        finally:
            await client.aclose()
    return asyncio.run(go())


def scan_calls(r: redis.Redis) -> int:
    return int(r.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))


def test_in_progress_keys_are_read_exactly() -> None:
    k = Keys("ns")
    known = {"a", "a:b", "q"}
    assert parse_in_progress_key(k, "ns:jobs:a:p1:inprogress", known) == Stranded("a", "p1")
    assert parse_in_progress_key(k, k.in_progress("p1", "a:b"), known) == Stranded("a:b", "p1")
    assert parse_in_progress_key(k, "ns:jobs:a:b:p1:inprogress", {"a"}) is None  # pool ids have no colon
    for key in ("ns:jobs:a::inprogress",         # no pool id
                "ns:jobs:a:inprogress",          # no pool id either (the queue of job "a:inprogress")
                "ns:jobs:zz:p1:inprogress",      # a job name nobody knows
                "ns:jobs:a:p1:inprogres",        # not an in-progress list
                "ns:jobs:a:p1:INPROGRESS",
                "zz:jobs:a:p1:inprogress",       # another namespace (of the same length)
                "ns:jobs:a:p1"):
        assert parse_in_progress_key(k, key, known) is None, key
    # the queue of a job named "q:x:inprogress" is not pool x's in-progress list of "q"
    assert parse_in_progress_key(k, k.jobs("q:x:inprogress"), known | {"q:x:inprogress"}) is None


def test_scan_pattern_escapes_the_namespace(rdb: redis.Redis) -> None:
    assert in_progress_pattern(Keys("ns")) == "ns:jobs:*:inprogress"
    weird = Keys("nX*?[x]\\")
    assert in_progress_pattern(weird) == "nX\\*\\?\\[x\\]\\\\:jobs:*:inprogress"
    # Redis reads it back as the namespace itself: the lists of that namespace are found
    rdb.sadd(weird.known_jobs, "a")
    rdb.lpush(weird.in_progress("gone", "a"), b"{}")
    found, cursor = arun(rdb, lambda c: find_stranded(c, weird, now=NOW))
    assert found == [Stranded("a", "gone")] and cursor == 0


def _list(r: redis.Redis, k: Keys, pool: str, name: str, n: int = 1) -> None:
    r.lpush(k.in_progress(pool, name), *[f"{pool}-{name}-{i}".encode() for i in range(n)])


def test_find_stranded_judges_pools_as_go_would(rdb: redis.Redis) -> None:
    """Gone: in no set and no heartbeat younger than the dead-pool window (judged at ``now``,
    or the present time when it is not given). Job names: known_jobs and the caller's."""
    k = Keys("ns")
    rdb.sadd(k.known_jobs, "a", "b", "")      # an empty member names no job
    rdb.sadd(k.worker_pools, "live", "")       # ... nor a pool
    _list(rdb, k, "g1", "a", 2)                # a name from known_jobs
    _list(rdb, k, "g2", "c")                   # a name of the caller's only
    _list(rdb, k, "live", "a")                 # in worker_pools (no heartbeat needed)
    _list(rdb, k, "fresh", "a")                # in no set, heartbeat 5 s old: alive
    rdb.hset(k.heartbeat("fresh"), mapping={"heartbeat_at": NOW - 5})
    _list(rdb, k, "stale", "a")                # heartbeat exactly a window old: gone
    rdb.hset(k.heartbeat("stale"), mapping={"heartbeat_at": NOW - DEAD_AFTER})
    _list(rdb, k, "later", "a")                # heartbeat of the present time: alive whatever ``now`` says
    rdb.hset(k.heartbeat("later"), mapping={"heartbeat_at": int(time.time()) + 3600})
    _list(rdb, k, "XXXX", "a")                 # a pool of any name, with an empty worker_pools member
    _list(rdb, k, "g1", "XXXX")                # a name nobody knows, with an empty known_jobs member
    _list(rdb, k, "g1", "")                    # ... and the empty name itself
    # lock_info counts alone (in insertion order: a bad count does not hide the ones after it)
    rdb.hset(k.lock_info("b"), mapping={"junk": "x", "g3": 1, "g4": 0, "": 2, "live": 3})
    expected = [Stranded("a", "XXXX"), Stranded("a", "g1"), Stranded("a", "stale"), Stranded("b", "g3"),
                Stranded("c", "g2")]
    assert arun(rdb, lambda c: find_stranded(c, k, ["c"], NOW)) == (expected, 0)
    # at the present time (no ``now``): "fresh" beat long ago, "later" still counts as alive
    found, cursor = arun(rdb, lambda c: find_stranded(c, k, ["c"]))
    assert (found, cursor) == (sorted([*expected, Stranded("a", "fresh")]), 0)
    # nothing known: nothing looked at
    assert arun(rdb, lambda c: find_stranded(c, Keys("other"), now=NOW)) == ([], 0)


def test_find_stranded_walks_the_keyspace_in_bounded_calls(rdb: redis.Redis) -> None:
    k = Keys("ns")
    rdb.sadd(k.known_jobs, "w")
    pools = [f"p{i:02d}" for i in range(12)]
    for p in pools:
        _list(rdb, k, p, "w")
    everything = [Stranded("w", p) for p in pools]
    # one SCAN call per ``max_calls``; the cursor resumes the walk
    union: set[Stranded] = set()
    cursor, calls = 0, 0
    while True:
        before = scan_calls(rdb)
        found, cursor = arun(rdb, functools.partial(find_stranded, keys=k, now=NOW, cursor=cursor, max_calls=1,
                                                    count=1))
        assert scan_calls(rdb) - before == 1
        union |= set(found)
        calls += 1
        if cursor == 0:
            break
        assert calls < 100, "the walk does not end"
    assert sorted(union) == everything and calls > 1
    # enough calls: the whole walk in one go, starting from the beginning
    assert arun(rdb, lambda c: find_stranded(c, k, now=NOW, max_calls=1000, count=1)) == (everything, 0)
    # the defaults walk a few hundred keys in a single SCAN call
    rdb.mset({f"ns:filler:{i}": i for i in range(300)})
    before = scan_calls(rdb)
    assert arun(rdb, lambda c: find_stranded(c, k, now=NOW)) == (everything, 0)
    assert scan_calls(rdb) - before == 1
    assert (STRANDED_SCAN_CALLS, STRANDED_SCAN_COUNT) == (Reaper.SCAN_CALLS, Reaper.SCAN_COUNT) == (20, 1000)


class _Racing(aredis.Redis):
    """A real client; the pool named ``racer`` starts (joins worker_pools, beats) right before
    the requeue script's call number ``after + 1`` for it (the race the script re-checks)."""

    racer = "racer"
    after = 0
    script_calls = 0

    async def evalsha(self, sha: str, numkeys: int, *args: Any) -> Any:
        if sha == REQUEUE_STRANDED.sha and args[numkeys] == self.racer:
            type(self).script_calls += 1
            if type(self).script_calls > self.after:
                await self.sadd(args[0], self.racer)
                await self.hset(args[1], "heartbeat_at", 2 ** 40)
        return await super().evalsha(sha, numkeys, *args)


def test_requeue_stranded_moves_in_batches_and_gives_back_locks(rdb: redis.Redis) -> None:
    k = Keys("ns")
    _list(rdb, k, "g", "w", 3)
    rdb.set(k.lock("w"), 5)                      # 3 of them this pool's, 2 of a live pool's
    rdb.hset(k.lock_info("w"), mapping={"g": 3, "live": 2})
    # at the present time (no ``now``), in batches of 2
    assert arun(rdb, lambda c: requeue_stranded(c, k, Stranded("w", "g"), batch=2)) == (3, 3)
    assert rdb.lrange(k.jobs("w"), 0, -1) == [b"g-w-2", b"g-w-1", b"g-w-0"]
    assert not rdb.exists(k.in_progress("g", "w"))
    assert int(rdb.get(k.lock("w")) or 0) == 2 and rdb.hgetall(k.lock_info("w")) == {b"live": b"2"}

    # judged at ``now``: a heartbeat of the present time is stale a window later
    beat = int(time.time())
    _list(rdb, k, "h", "w")
    rdb.hset(k.heartbeat("h"), mapping={"heartbeat_at": beat})
    assert arun(rdb, lambda c: requeue_stranded(c, k, Stranded("w", "h"), beat + DEAD_AFTER - 1)) is None
    assert arun(rdb, lambda c: requeue_stranded(c, k, Stranded("w", "h"), beat + DEAD_AFTER)) == (1, 0)

    # a pool in worker_pools is left alone: None, nothing moved
    _list(rdb, k, "m", "w")
    rdb.sadd(k.worker_pools, "m")
    assert arun(rdb, lambda c: requeue_stranded(c, k, Stranded("w", "m"), NOW)) is None
    assert rdb.llen(k.in_progress("m", "w")) == 1 and rdb.llen(k.jobs("w")) == 4

    # a pool that joins worker_pools between two batches keeps the rest; what moved is told
    _list(rdb, k, "racer", "w", 3)
    _Racing.racer, _Racing.after, _Racing.script_calls = "racer", 1, 0
    assert arun(rdb, lambda c: requeue_stranded(c, k, Stranded("w", "racer"), NOW, batch=2), _Racing) == (2, 0)
    assert rdb.llen(k.in_progress("racer", "w")) == 1 and rdb.llen(k.jobs("w")) == 6


def _reap(rdb: redis.Redis, reaper: Reaper, now: int, cls: type[aredis.Redis] = aredis.Redis) -> Any:
    return arun(rdb, lambda c: reaper.reap(c, now), cls)


def test_reaper_requeues_stranded_lists_a_window_after_it_first_saw_them(
        rdb: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    k = Keys("ns")
    rdb.sadd(k.known_jobs, "w")
    gone = [f"g{i:02d}" for i in range(1, 13)]   # a dozen lists alone, so that a scan missing some is seen
    for p in gone:
        _list(rdb, k, p, "w", 2)
    _list(rdb, k, "gk", "w", 2)                   # a list with its lock counts: (2 moved, 2 released)
    rdb.hset(k.lock_info("w"), "gk", 2)
    rdb.hset(k.lock_info("w"), "gl", 1)           # a lock count alone: (0 moved, 1 released)
    _list(rdb, k, "gx", "w")                      # a list alone: (1 moved, 0 released)
    _list(rdb, k, "g00", "w")                     # starts right before its requeue: left alone
    _list(rdb, k, "own", "w")                     # this pool's own list: never
    _list(rdb, k, "live", "w")                    # a live pool's: never
    rdb.hset(k.lock_info("w"), "live", 1)
    rdb.sadd(k.worker_pools, "live", "dead")
    rdb.hset(k.heartbeat("live"), mapping={"heartbeat_at": NOW + 1000, "job_names": "w"})
    rdb.hset(k.heartbeat("dead"), mapping={"heartbeat_at": NOW - 60, "job_names": "w"})
    _list(rdb, k, "dead", "w")                    # a dead pool in the set: the dead-pool pass's
    rdb.hset(k.lock_info("w"), "dead", 1)
    rdb.set(k.lock("w"), 2 + 1 + 1 + 1)
    reaper = Reaper(k, "own", ["w"])
    _Racing.racer, _Racing.after, _Racing.script_calls = "g00", 0, 0

    first = _reap(rdb, reaper, NOW, _Racing)
    assert (first.dead_pools, first.requeued, first.stranded) == (["dead"], 1, {})
    _list(rdb, k, "a-late", "w")                  # first seen 5 s later (and sorted first)
    assert _reap(rdb, reaper, NOW + 5, _Racing).stranded == {}
    assert _reap(rdb, reaper, NOW + DEAD_AFTER - 1, _Racing).stranded == {}
    with caplog.at_level(logging.WARNING, logger="gowork_compat.reaper"):
        due = _reap(rdb, reaper, NOW + DEAD_AFTER, _Racing)
    assert due.stranded == {**{f"w@{p}": 2 for p in gone}, "w@gk": 2, "w@gl": 0, "w@gx": 1}
    assert due.requeued == 2 * len(gone) + 2 + 1 and due.stranded_locks_released == 2 + 1
    assert due.dead_pools == [] and due.per_pool == {}
    logged = sorted(m.getMessage() for m in caplog.records
                    if m.name == "gowork_compat.reaper" and m.levelno == logging.WARNING)
    assert logged == sorted(
        [f"requeued 2 jobs stranded in the in-progress list of gone pool {p} (job w; 0 lock counts given back)"
         for p in gone]
        + ["requeued 2 jobs stranded in the in-progress list of gone pool gk (job w; 2 lock counts given back)",
           "requeued 0 jobs stranded in the in-progress list of gone pool gl (job w; 1 lock counts given back)",
           "requeued 1 jobs stranded in the in-progress list of gone pool gx (job w; 0 lock counts given back)"])
    assert rdb.llen(k.jobs("w")) == 1 + 2 * len(gone) + 2 + 1
    for p in ("g00", "own", "live", "a-late"):
        assert rdb.llen(k.in_progress(p, "w")) == 1, p
    assert int(rdb.get(k.lock("w")) or 0) == 1 and rdb.hgetall(k.lock_info("w")) == {b"live": b"1"}
    late = _reap(rdb, reaper, NOW + 5 + DEAD_AFTER, _Racing)
    assert late.stranded == {"w@a-late": 1} and late.dead_pools == [] and rdb.llen(k.in_progress("g00", "w")) == 1


def test_reaper_forgets_lists_gone_since_a_full_walk(rdb: redis.Redis) -> None:
    """A list seen once, gone at the next full walk and back later is judged from when it
    came back (its pool may have run again meanwhile)."""
    k = Keys("ns")
    rdb.sadd(k.known_jobs, "w")
    reaper = Reaper(k, "own", ["w"])
    _list(rdb, k, "g", "w")
    assert _reap(rdb, reaper, NOW).stranded == {}
    rdb.delete(k.in_progress("g", "w"))
    assert _reap(rdb, reaper, NOW + 1).stranded == {}
    _list(rdb, k, "g", "w")
    assert _reap(rdb, reaper, NOW + DEAD_AFTER).stranded == {}
    assert _reap(rdb, reaper, NOW + 2 * DEAD_AFTER).stranded == {"w@g": 1}


def test_reaper_remembers_lists_across_the_passes_of_one_walk(rdb: redis.Redis) -> None:
    """A keyspace walked over several passes (here one key per SCAN): a list is seen once
    per walk, and requeued when seen again a window or more later."""
    k = Keys("ns")
    rdb.sadd(k.known_jobs, "w")
    rdb.mset({f"ns:filler:{i}": i for i in range(6)})
    _list(rdb, k, "g", "w")
    reaper = Reaper(k, "own", ["w"])
    reaper.SCAN_CALLS = reaper.SCAN_COUNT = 1
    passes = 0
    while True:
        before = scan_calls(rdb)
        report = _reap(rdb, reaper, NOW + passes * DEAD_AFTER)
        assert scan_calls(rdb) - before == 1
        if report.stranded:
            break
        passes += 1
        assert passes < 50, "never requeued"
    assert report.stranded == {"w@g": 1} and passes >= 2  # seen at one pass of a walk, again a walk later


def test_reaper_judges_heartbeats_at_the_time_it_is_given(rdb: redis.Redis) -> None:
    """A pool in no set whose last heartbeat is of the present time is gone a window later
    by the reaper's clock (``now``), in the scan and in the requeue script alike."""
    k = Keys("ns")
    rdb.sadd(k.known_jobs, "w")
    beat = int(time.time())
    rdb.hset(k.heartbeat("h"), mapping={"heartbeat_at": beat, "job_names": "w"})
    _list(rdb, k, "h", "w")
    reaper = Reaper(k, "own", ["w"])
    assert _reap(rdb, reaper, beat + DEAD_AFTER - 1).stranded == {}  # alive: not even seen
    assert _reap(rdb, reaper, beat + DEAD_AFTER).stranded == {}      # gone: seen
    assert _reap(rdb, reaper, beat + 2 * DEAD_AFTER - 1).stranded == {}
    assert _reap(rdb, reaper, beat + 2 * DEAD_AFTER).stranded == {"w@h": 1}
