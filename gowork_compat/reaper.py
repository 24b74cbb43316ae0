"""The dead-pool reaper: finds pools (Go's or Python's) whose heartbeat stopped, puts
their in-progress jobs back on the queues and gives back the locks they held.

Timing as Go's: first run :data:`FIRST_REAP` seconds after start, then every
:data:`REAP_PERIOD` seconds plus up to :data:`REAP_JITTER` seconds.

Beyond Go: a dead pool whose heartbeat hash is gone has its in-progress lists requeued
too (for every job name this pool knows or finds in known_jobs); Go only cleans the
locks then, stranding those jobs. A pool that was itself cut off from Redis (told with
:meth:`Reaper.note_outage`) judges no other pool until a full dead-pool window has passed
since: the others could not beat either, and need that window to beat again. Lock counts
are never left below 0.
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
from .scripts import reap_stale_locks_call, reenqueue_in_progress_call

__all__ = ["FIRST_REAP", "REAP_JITTER", "REAP_PERIOD", "ReapReport", "Reaper"]

log = logging.getLogger("gowork_compat.reaper")

FIRST_REAP = 10.0
REAP_PERIOD = 600.0
REAP_JITTER = 30.0
#: jobs moved back per script call
REENQUEUE_BATCH = 500


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


class Reaper:
    #: seconds after this pool's last failed contact with Redis before it judges others: a
    #: dead-pool window plus one beat (the others' first beat after the outage)
    QUIET_AFTER_OUTAGE = DEAD_AFTER + BEAT_PERIOD

    def __init__(self, keys: Keys, own_pool_id: str, job_names: Iterable[str],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keys = keys
        self.own_pool_id = own_pool_id
        self.job_names = sorted(job_names)
        self.clock = clock
        self._quiet_until = float("-inf")

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
        k = self.keys
        pools = [_s(p) or "" for p in await client.smembers(k.worker_pools)]
        pools = [p for p in pools if p and p != self.own_pool_id]
        if not pools:
            return report
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
        return report

    async def _requeue(self, client: aredis.Redis, pool_id: str, job_types: list[str]) -> int:
        call = reenqueue_in_progress_call(self.keys, pool_id, job_types, REENQUEUE_BATCH)
        total = 0
        while True:
            (moved,) = await aexecute(client, [call])
            total += int(moved)
            if int(moved) < REENQUEUE_BATCH:
                return total
