"""The dead-pool reaper: finds pools (Go's or Python's) whose heartbeat stopped, puts
their in-progress jobs back on the queues and gives back the locks they held.

Timing as Go's: first run :data:`FIRST_REAP` seconds after start, then every
:data:`REAP_PERIOD` seconds plus a whole number of seconds below :data:`REAP_JITTER` (as Go).

Beyond Go: a dead pool whose heartbeat hash is gone has its in-progress lists requeued
too (for every job name this pool knows or finds in known_jobs); Go only cleans the
locks then, stranding those jobs. A pool that was itself cut off from Redis (told with
:meth:`Reaper.note_outage`) judges no other pool until a full dead-pool window has passed
since: the others could not beat either, and need that window to beat again. Lock counts
are never left below 0.

Beyond Go, *stranded* in-progress lists: a Go worker whose acknowledgement (LREM) fails --
Redis restarting or unreachable -- only logs it, so the job stays in its pool's in-progress
list with the lock raised; once that pool stops it leaves worker_pools and no reaper (Go's
or the dead-pool pass above) looks at the list again. Each reap pass also looks for
in-progress lists (and lock_info counts) of pools that are in no set and have no fresh
heartbeat (:func:`find_stranded`), and requeues those still stranded a dead-pool window
after they were first seen (:func:`requeue_stranded`, one atomic script that re-checks
worker_pools membership and heartbeat age, so a live pool's list is never touched).

Cost per pass, bounded: SMEMBERS of known_jobs and worker_pools, at most
:data:`STRANDED_SCAN_CALLS` SCAN calls of COUNT :data:`STRANDED_SCAN_COUNT` over
``<ns>:jobs:*:inprogress`` (a larger keyspace is walked over several passes, resuming the
cursor), one HGETALL of lock_info per known job name and one HGET per candidate pool, all
pipelined; then one script call per stranded list found.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ._redis import aexecute
from .heartbeat import BEAT_PERIOD, DEAD_AFTER
from .keys import Keys
from .scripts import reap_stale_locks_call, reenqueue_in_progress_call, requeue_stranded_call

__all__ = ["FIRST_REAP", "REAP_JITTER", "REAP_PERIOD", "STRANDED_SCAN_CALLS", "STRANDED_SCAN_COUNT", "ReapReport",
           "Reaper", "Stranded", "find_stranded", "in_progress_pattern", "parse_in_progress_key",
           "requeue_stranded"]

log = logging.getLogger("gowork_compat.reaper")

FIRST_REAP = 10.0
REAP_PERIOD = 600.0
REAP_JITTER = 30.0
#: jobs moved back per script call
REENQUEUE_BATCH = 500
#: SCAN calls per reap pass looking for stranded in-progress lists, and the COUNT of each
STRANDED_SCAN_CALLS = 20
STRANDED_SCAN_COUNT = 1000


def _s(v: bytes | str | None) -> str | None:
    if v is None:
        return None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


@dataclass
class ReapReport:
    dead_pools: list[str] = field(default_factory=list)
    requeued: int = 0
    #: in-progress jobs requeued, per dead pool
    per_pool: dict[str, int] = field(default_factory=dict)
    #: True when the reaper judged nothing because its own pool was recently cut off
    held_back: bool = False
    #: stranded in-progress lists requeued (pools in no set): "<job name>@<pool id>" -> jobs moved
    stranded: dict[str, int] = field(default_factory=dict)
    #: lock counts given back for stranded pools
    stranded_locks_released: int = 0


@dataclass(frozen=True, order=True)
class Stranded:
    """An in-progress list (or lock_info count) of a pool that is in no set and has no
    fresh heartbeat."""

    job_name: str
    pool_id: str


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def in_progress_pattern(keys: Keys) -> str:
    """SCAN MATCH pattern of every in-progress list of the namespace."""
    return _glob_escape(keys.jobs_prefix) + "*:inprogress"


def parse_in_progress_key(keys: Keys, key: str, known: set[str]) -> Stranded | None:
    """(job name, pool id) of an in-progress list key, or None when it is not one for sure:
    the job name must be known (known_jobs or the pool's own), the pool id free of colons,
    and the key must not itself be the queue of a known job name."""
    suffix = ":inprogress"
    if not key.startswith(keys.jobs_prefix) or not key.endswith(suffix):
        return None
    middle = key[len(keys.jobs_prefix):-len(suffix)]
    if middle + suffix in known:
        return None  # a queue whose job name ends in ":inprogress": ambiguous, leave it
    name, sep, pool_id = middle.rpartition(":")
    if not sep or not pool_id or name not in known:
        return None
    return Stranded(name, pool_id)


async def find_stranded(client: aredis.Redis, keys: Keys, job_names: Iterable[str] = (), now: int | None = None,
                        *, cursor: int = 0, max_calls: int = STRANDED_SCAN_CALLS,
                        count: int = STRANDED_SCAN_COUNT) -> tuple[list[Stranded], int]:
    """In-progress lists and lock_info counts of pools that are in no set (not in
    worker_pools) and have no heartbeat younger than the dead-pool window, for job names in
    known_jobs or ``job_names``. Walks the keyspace with at most ``max_calls`` SCAN calls from
    ``cursor``; returns (what was found, the cursor to resume from: 0 once the walk is done).
    Read-only: what it returns may be requeued with :func:`requeue_stranded`, which checks
    again atomically. Usable by a doctor as well as by the reaper."""
    now = int(time.time()) if now is None else now
    known = {*job_names, *(_s(n) or "" for n in await client.smembers(keys.known_jobs))} - {""}
    if not known:
        return [], 0
    live = {_s(p) or "" for p in await client.smembers(keys.worker_pools)}
    found: set[Stranded] = set()
    pattern = in_progress_pattern(keys)
    for _ in range(max(1, max_calls)):
        cursor, batch = await client.scan(cursor=cursor, match=pattern, count=count)
        for raw in batch:
            s = parse_in_progress_key(keys, _s(raw) or "", known)
            if s is not None and s.pool_id not in live:
                found.add(s)
        if int(cursor) == 0:
            break
    names = sorted(known)
    pipe = client.pipeline(transaction=False)
    for n in names:
        pipe.hgetall(keys.lock_info(n))
    for n, held in zip(names, await pipe.execute()):
        for f, v in held.items():
            pool_id = _s(f) or ""
            try:
                count = int(_s(v) or "0")
            except ValueError:
                continue
            if count > 0 and pool_id and pool_id not in live:
                found.add(Stranded(n, pool_id))
    pools = sorted({s.pool_id for s in found})
    if not pools:
        return [], int(cursor)
    pipe = client.pipeline(transaction=False)
    for p in pools:
        pipe.hget(keys.heartbeat(p), "heartbeat_at")
    fresh = set()
    for p, beat in zip(pools, await pipe.execute()):
        try:
            if beat is not None and int(_s(beat) or "") + DEAD_AFTER > now:
                fresh.add(p)
        except ValueError:
            pass
    return sorted(s for s in found if s.pool_id not in fresh), int(cursor)


async def requeue_stranded(client: aredis.Redis, keys: Keys, stranded: Stranded, now: int | None = None,
                           batch: int = REENQUEUE_BATCH) -> tuple[int, int] | None:
    """Requeue a stranded in-progress list and give back its pool's lock counts, atomically
    re-checking that the pool is in no set and has no fresh heartbeat. Returns (jobs moved,
    lock counts released), or None when the pool turned out alive (nothing touched)."""
    now = int(time.time()) if now is None else now
    moved = released = 0
    while True:
        call = requeue_stranded_call(keys, stranded.pool_id, stranded.job_name, now, DEAD_AFTER, batch)
        (reply,) = await aexecute(client, [call])
        status, m, rel = (int(x) for x in reply)
        if status == 0:
            return None if moved == 0 and released == 0 else (moved, released)
        moved += m
        released += rel
        if m < batch:
            return moved, released


class Reaper:
    #: seconds after this pool's last failed contact with Redis before it judges others: a
    #: dead-pool window plus one beat (the others' first beat after the outage)
    QUIET_AFTER_OUTAGE = DEAD_AFTER + BEAT_PERIOD
    #: SCAN calls per pass and COUNT of each when looking for stranded lists (a larger keyspace
    #: is walked over several passes)
    SCAN_CALLS = STRANDED_SCAN_CALLS
    SCAN_COUNT = STRANDED_SCAN_COUNT

    def __init__(self, keys: Keys, own_pool_id: str, job_names: Iterable[str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keys = keys
        self.own_pool_id = own_pool_id
        self.job_names = sorted(job_names)
        self.clock = clock
        self._quiet_until = float("-inf")
        #: stranded lists -> unix time first seen (requeued once seen a dead-pool window ago)
        self._stranded_seen: dict[Stranded, int] = {}
        self._scan_cursor = 0

    def note_outage(self) -> None:
        """This pool just failed to reach Redis: hold back judging until a full window
        after it (call on every failed contact; the last one counts)."""
        self._quiet_until = self.clock() + self.QUIET_AFTER_OUTAGE

    async def reap(self, client: aredis.Redis, now: int) -> ReapReport:
        report = ReapReport()
        if self.clock() < self._quiet_until:
            report.held_back = True
            return report
        try:
            return await self._reap(client, now, report)
        except (ConnectionError, OSError, RedisConnectionError, RedisTimeoutError):
            self.note_outage()
            raise

    async def _reap(self, client: aredis.Redis, now: int, report: ReapReport) -> ReapReport:
        await self._reap_dead_pools(client, now, report)
        await self._reap_stranded(client, now, report)
        return report

    async def _reap_stranded(self, client: aredis.Redis, now: int, report: ReapReport) -> None:
        start = self._scan_cursor
        found, self._scan_cursor = await find_stranded(client, self.keys, self.job_names, now, cursor=start,
                                                       max_calls=self.SCAN_CALLS, count=self.SCAN_COUNT)
        found = [s for s in found if s.pool_id != self.own_pool_id]
        seen = self._stranded_seen
        if start == 0 and self._scan_cursor == 0:  # a full walk: forget what is gone
            for gone in set(seen) - set(found):
                del seen[gone]
        for s in found:
            first = seen.setdefault(s, now)
            if now - first < DEAD_AFTER:
                continue  # a pool may write its in-progress list before its first heartbeat: wait
            result = await requeue_stranded(client, self.keys, s, now)
            del seen[s]
            if result is None or result == (0, 0):
                continue
            moved, released = result
            report.stranded[f"{s.job_name}@{s.pool_id}"] = moved
            report.requeued += moved
            report.stranded_locks_released += released
            log.warning("requeued %d jobs stranded in the in-progress list of gone pool %s (job %s; %d lock "
                        "counts given back)", moved, s.pool_id, s.job_name, released)

    async def _reap_dead_pools(self, client: aredis.Redis, now: int, report: ReapReport) -> None:
        k = self.keys
        pools = [_s(p) or "" for p in await client.smembers(k.worker_pools)]
        pools = [p for p in pools if p and p != self.own_pool_id]
        if not pools:
            return
        pipe = client.pipeline(transaction=False)
        for p in pools:
            pipe.hmget(k.heartbeat(p), "heartbeat_at", "job_names")
        beats = await pipe.execute()
        known: list[str] | None = None
        for pool_id, (beat_at, names) in zip(pools, beats):
            beat = _s(beat_at)
            if beat is not None:
                try:
                    if int(beat) + DEAD_AFTER > now:
                        continue
                except ValueError:
                    pass  # unreadable heartbeat: treat as dead, like a missing one
            name_text = _s(names)
            if beat is not None and name_text is None:
                continue  # Go skips a pool with a heartbeat time but no job names
            report.dead_pools.append(pool_id)
            if name_text is not None:
                job_types = [n for n in name_text.split(",") if n]
            else:
                if known is None:
                    known = sorted({*self.job_names, *(_s(n) or "" for n in await client.smembers(k.known_jobs))}
                                   - {""})
                job_types = known
            requeued = 0
            if job_types:
                requeued = await self._requeue(client, pool_id, job_types)
                await client.delete(k.heartbeat(pool_id))
            report.requeued += requeued
            report.per_pool[pool_id] = requeued
            await client.srem(k.worker_pools, pool_id)
            lock_types = job_types or self.job_names
            if lock_types:
                await aexecute(client, [reap_stale_locks_call(k, pool_id, lock_types)])
            log.info("reaped dead worker pool %s (%d in-progress jobs requeued)", pool_id, requeued)

    async def _requeue(self, client: aredis.Redis, pool_id: str, job_types: list[str]) -> int:
        call = reenqueue_in_progress_call(self.keys, pool_id, job_types, REENQUEUE_BATCH)
        total = 0
        while True:
            (moved,) = await aexecute(client, [call])
            total += int(moved)
            if int(moved) < REENQUEUE_BATCH:
                return total
