"""The pool's background loops, each a class with one ``run_once`` pass and its period:
the requeuer (due retries and scheduled jobs back onto their queues), the dead-pool
reaper, the periodic enqueuer, and the observer (worker observations, at most one
write a second). The heartbeat beats from a thread of its own (:mod:`.liveness`).

:func:`run_loop` runs one of them until the engine closes: one outage message per
outage, and no exception (from one bad job or anything else) ends a loop.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

import redis.asyncio as aredis

from .._redis import aexecute
from ..observer import Observer
from ..periodic import PERIOD, PERIOD_JITTER, PeriodicEnqueuer
from ..reaper import REAP_JITTER, REAP_PERIOD, Reaper
from ..requeuer import REQUEUE_BATCH, REQUEUE_PERIOD, Requeuer
from ..rescuer import RESCUE_PERIOD, Rescuer
from .common import OUTAGE, Outage, log

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["BackgroundLoop", "ObserverLoop", "PeriodicLoop", "ReaperLoop", "RequeuerLoop", "RescuerLoop",
           "run_loop"]


class BackgroundLoop:
    """One periodic duty of a pool: ``run_once`` every ``period()`` seconds, the first
    time after ``first`` seconds."""

    name = "loop"
    first = 0.0

    def period(self) -> float:
        raise NotImplementedError

    async def run_once(self) -> None:
        raise NotImplementedError


class RequeuerLoop(BackgroundLoop):
    """Due jobs of the retry and scheduled sets back onto their queues (Go: every second)."""

    name = "requeuer"

    def __init__(self, client: aredis.Redis, retrier: Requeuer, scheduler: Requeuer) -> None:
        self.client = client
        self.retrier = retrier
        self.scheduler = scheduler

    def period(self) -> float:
        return REQUEUE_PERIOD

    async def run_once(self) -> None:
        while True:
            now = int(time.time())
            moved = await aexecute(self.client, [self.retrier.call(now), self.scheduler.call(now)])
            if max(int(m) for m in moved) < REQUEUE_BATCH:
                return


class RescuerLoop(BackgroundLoop):
    """Dead entries Go's requeuer killed for not knowing their name, back where they belong
    (see :mod:`gowork_compat.rescuer`)."""

    name = "rescuer"
    first = 0.5

    def __init__(self, client: aredis.Redis, rescuer: Rescuer) -> None:
        self.client = client
        self.rescuer = rescuer

    def period(self) -> float:
        return RESCUE_PERIOD

    async def run_once(self) -> None:
        await self.rescuer.run_once(self.client, int(time.time()))


class ReaperLoop(BackgroundLoop):
    """Dead pools' in-progress jobs back onto their queues (Go: every 10 min plus 0-29 whole
    seconds; a shorter ``reap_period`` gets proportionally less jitter)."""

    name = "reaper"

    def __init__(self, client: aredis.Redis, reaper: Reaper, reap_period: float, first_reap: float) -> None:
        self.client = client
        self.reaper = reaper
        self.reap_period = reap_period
        self.first = first_reap

    def period(self) -> float:
        return self.reap_period + random.randrange(int(REAP_JITTER)) * self.reap_period / REAP_PERIOD

    async def run_once(self) -> None:
        await self.reaper.reap(self.client, int(time.time()))


class PeriodicLoop(BackgroundLoop):
    """Cron fire times into the scheduled set (Go: every 2 min plus 0-29 whole seconds); the decision
    lives in :meth:`gowork_compat.periodic.PeriodicEnqueuer.run_once`."""

    name = "periodic"

    def __init__(self, client: aredis.Redis, periodic: PeriodicEnqueuer) -> None:
        self.client = client
        self.periodic = periodic

    def period(self) -> float:
        return PERIOD + random.randrange(int(PERIOD_JITTER))

    async def run_once(self) -> None:
        await self.periodic.run_once(self.client, int(time.time()))


class ObserverLoop(BackgroundLoop):
    """Worker observations: written when a slot's first observation is due (woken by the
    engine), else at most once a second, as Go's observer."""

    name = "observer"

    def __init__(self, client: aredis.Redis, observer: Observer, event: asyncio.Event) -> None:
        self.client = client
        self.observer = observer
        self.event = event

    def period(self) -> float:
        return 1.0

    async def wait(self, closing: asyncio.Event) -> None:
        """Until an observation is due now, a second passes, or the engine closes."""
        waiter = asyncio.ensure_future(self.event.wait())
        closer = asyncio.ensure_future(closing.wait())
        await asyncio.wait((waiter, closer), timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        closer.cancel()
        self.event.clear()

    async def run_once(self) -> None:
        if not self.observer.pending:
            return
        dirty = self.observer.dirty()
        calls = self.observer.flush_calls()
        try:
            await aexecute(self.client, calls)
        except BaseException:
            self.observer.mark_dirty_again(dirty)
            raise


async def run_loop(engine: Engine, loop: BackgroundLoop) -> None:
    """Run ``loop`` until the engine closes."""
    outage = Outage(loop.name)
    delay = loop.first
    observer = loop if isinstance(loop, ObserverLoop) else None
    while True:
        if observer is not None:
            if await engine.pause(delay):
                return
            await observer.wait(engine.closing)
        elif await engine.pause(delay):
            return
        try:
            await loop.run_once()
            outage.ok()
            delay = loop.period()
        except OUTAGE as exc:
            engine.reaper.note_outage()  # cut off from Redis: judge no other pool for a while
            delay = outage.failed(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed", loop.name)
            delay = loop.period()
