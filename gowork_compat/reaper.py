"""The dead-pool reaper: finds pools (Go's or Python's) whose heartbeat stopped, puts
their in-progress jobs back on the queues and gives back the locks they held.

Timing as Go's: first run :data:`FIRST_REAP` seconds after start, then every
:data:`REAP_PERIOD` seconds plus up to :data:`REAP_JITTER` seconds.

Beyond Go: a dead pool whose heartbeat hash is gone has its in-progress lists requeued
too (for every job name this pool knows or finds in known_jobs); Go only cleans the
locks then, stranding those jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis.asyncio as aredis

from ._redis import Call, aexecute
from .heartbeat import DEAD_AFTER
from .keys import Keys
from .scripts import REAP_STALE_LOCKS, REENQUEUE_IN_PROGRESS

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


class Reaper:
    def __init__(self, keys: Keys, own_pool_id: str, job_names: Iterable[str]) -> None:
        self.keys = keys
        self.own_pool_id = own_pool_id
        self.job_names = sorted(job_names)

    async def reap(self, client: aredis.Redis, now: int) -> ReapReport:
        k = self.keys
        report = ReapReport()
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
            if job_types:
                report.requeued += await self._requeue(client, pool_id, job_types)
                await client.delete(k.heartbeat(pool_id))
            await client.srem(k.worker_pools, pool_id)
            lock_types = job_types or self.job_names
            if lock_types:
                lock_keys = [x for n in lock_types for x in (k.lock(n), k.lock_info(n))]
                await aexecute(client, [Call(pool_id, script=REAP_STALE_LOCKS, keys=lock_keys)])
            log.info("reaped dead worker pool %s (%d in-progress jobs requeued)", pool_id, report.requeued)
        return report

    async def _requeue(self, client: aredis.Redis, pool_id: str, job_types: list[str]) -> int:
        k = self.keys
        keys = [x for n in job_types for x in (k.in_progress(pool_id, n), k.jobs(n), k.lock(n), k.lock_info(n))]
        total = 0
        while True:
            (moved,) = await aexecute(client, [Call(pool_id, REENQUEUE_BATCH, script=REENQUEUE_IN_PROGRESS,
                                                    keys=keys)])
            total += int(moved)
            if int(moved) < REENQUEUE_BATCH:
                return total
