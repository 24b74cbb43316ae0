"""The engine: one asyncio loop that fetches, runs and acknowledges jobs, plus its
background loops and the heartbeat thread; built on start, closed on stop."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import redis.asyncio as aredis

from .._redis import Call, aexecute, clone_async, clone_sync
from ..heartbeat import BEAT_PERIOD, Heartbeat
from ..observer import Observer
from ..periodic import PeriodicEnqueuer
from ..reaper import Reaper
from ..requeuer import Requeuer
from ..rescuer import Rescuer
from ..sampler import PrioritySampler
from .background import (
    BackgroundLoop,
    ObserverLoop,
    PeriodicLoop,
    ReaperLoop,
    RequeuerLoop,
    RescuerLoop,
    run_loop,
)
from .common import OUTAGE, Ack, Outage, State, log
from .fetch import Fetcher
from .liveness import Liveness
from .runner import Runner
from .watchers import Watchers

if TYPE_CHECKING:
    from .api import WorkerPool

__all__ = ["Engine"]

#: seconds the heartbeat thread's connection waits for Redis when the pool's has no timeout
HEARTBEAT_SOCKET_TIMEOUT = 5.0


class Engine:
    def __init__(self, pool: WorkerPool) -> None:
        self.p = pool
        self.st = State()
        self.keys = pool.keys
        self.loop = asyncio.get_running_loop()
        # The engine's own connections (redis-py async clients are bound to one event loop),
        # always returning bytes: job payloads are compared byte for byte.
        self.client: aredis.Redis = clone_async(pool.redis, pool.namespace, decode_responses=False)
        self.names = sorted(pool.job_types)
        self.groups = {n: i + 1 for i, n in enumerate(self.names)}
        self.sampler: PrioritySampler[str] = PrioritySampler()
        for n in self.names:
            self.sampler.add(pool.job_types[n].options.priority, n)
        self.acks: list[Ack] = []
        self.observer = Observer(self.keys, pool.worker_ids)
        self.observer_event = asyncio.Event()
        self.closing = asyncio.Event()
        self.heartbeat = Heartbeat(self.keys, pool.pool_id, self.names, pool.concurrency, pool.worker_ids,
                                   int(time.time()))
        self.reaper = Reaper(self.keys, pool.pool_id, self.names)
        self.periodic = PeriodicEnqueuer(self.keys, pool._periodic)
        self.tasks: list[asyncio.Task[None]] = []
        self.runner = Runner(self)
        self.fetcher = Fetcher(self)
        self.watchers = Watchers(self, pool.watch_timeout if pool.wake_on_enqueue else 0.0)
        self.liveness: Liveness | None = None

    def background_loops(self) -> list[BackgroundLoop]:
        p, k = self.p, self.keys
        loops: list[BackgroundLoop] = [
            RequeuerLoop(self.client,
                         Requeuer(k, k.retry, self.names, use_known_jobs=p.use_known_jobs),
                         Requeuer(k, k.scheduled, self.names, use_known_jobs=p.use_known_jobs)),
            RescuerLoop(self.client, Rescuer(k)),
            ReaperLoop(self.client, self.reaper, p.reap_period, p.first_reap),
        ]
        if p._periodic:
            loops.append(PeriodicLoop(self.client, self.periodic))
        loops.append(ObserverLoop(self.client, self.observer, self.observer_event))
        return loops

    # -- lifecycle ------------------------------------------------------------------------
    async def setup(self) -> None:
        k = self.keys
        calls: list[Call] = []
        for n in self.names:
            calls.append(Call("SET", k.max_concurrency(n), self.p.job_types[n].options.max_concurrency))
        if self.names:
            calls.append(Call("SADD", k.known_jobs, *self.names))
        calls += self.heartbeat.beat_calls(int(time.time()))
        await aexecute(self.client, calls)
        beat_client = clone_sync(self.p.redis, self.p.namespace, decode_responses=False)
        settings = beat_client.connection_pool.connection_kwargs
        for name in ("socket_timeout", "socket_connect_timeout"):
            if settings.get(name) is None:
                settings[name] = HEARTBEAT_SOCKET_TIMEOUT
        jobs = self.runner.job_tasks

        def job_of(task: asyncio.Task[None]) -> str | None:
            run = jobs.get(task)
            return run.job.name if run is not None else None

        self.liveness = Liveness(beat_client, self.heartbeat, self.loop, period=BEAT_PERIOD,
                                 block_warning=self.p.block_warning, job_of=job_of,
                                 on_outage=self.reaper.note_outage)
        self.liveness.start()
        for bg in self.background_loops():
            self.tasks.append(asyncio.create_task(run_loop(self, bg)))

    async def close(self) -> None:
        # Let background loops finish their current round trip (cancelling redis-py in the
        # middle of a command can leave the connection hanging), then cancel stragglers.
        self.closing.set()
        if self.liveness is not None:
            self.liveness.stop(timeout=2 * HEARTBEAT_SOCKET_TIMEOUT)
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=5.0)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        await self.watchers.close()
        self.runner.close(timeout=1.0)
        try:
            # the pool was made here, so aclose() alone would leave it connected
            await asyncio.wait_for(self.client.connection_pool.disconnect(), timeout=2.0)
        except Exception:
            pass
        self.st.stopped.set()

    async def pause(self, seconds: float) -> bool:
        """Sleep unless the engine closes first; True when it is closing."""
        if self.closing.is_set():
            return True
        try:
            await asyncio.wait_for(self.closing.wait(), timeout=max(seconds, 0.0))
        except asyncio.TimeoutError:
            return False
        return True

    # -- the fetch / run / acknowledge loop -------------------------------------------------
    async def main(self) -> None:
        st = self.st
        runner, fetcher, watchers = self.runner, self.fetcher, self.watchers
        free_workers, running = runner.free_workers, runner.running
        backoffs = self.p.sleep_backoffs
        idle = 0
        outage = Outage("fetcher")
        unsure = False  # a fetch was sent and its reply lost: see Fetcher.reconcile
        while True:
            stop_deadline = st.deadline
            if unsure and not st.stopping and free_workers:
                try:
                    unsure = await fetcher.reconcile() > 0
                except OUTAGE as exc:
                    await self.sleep_or_wake(outage.failed(exc))
                    continue
                except Exception:
                    log.exception("could not check the in-progress lists after an outage")
                    unsure = False
            want = 0 if (st.stopping or not self.names) else min(len(free_workers), self.p.fetch_batch)
            acks, self.acks = self.acks, []
            fetched: list[Any] = []
            if acks or want:
                try:
                    reply = await fetcher.round_trip(acks, want)
                    outage.ok()
                except OUTAGE as exc:
                    unsure = unsure or want > 0
                    self.acks = acks + self.acks  # never drop an acknowledgement...
                    if stop_deadline is not None and time.monotonic() > stop_deadline + self.p.grace_period:
                        # ...unless stopping with Redis gone for good: the jobs stay in the
                        # in-progress list, and a reaper runs them again.
                        log.error("stopping while Redis is unreachable: %d finished jobs not acknowledged",
                                  len(self.acks))
                        break
                    await self.sleep_or_wake(outage.failed(exc))
                    continue
                except Exception:
                    log.exception("fetch/acknowledge failed")
                    unsure = unsure or want > 0
                    self.acks = acks + self.acks
                    await self.sleep_or_wake(1.0)
                    continue
                if want:
                    fetched = reply or []
            empties: list[int] = []
            if fetched and fetched[0] == 0:
                empties = [int(g) for g in fetched[1:]]
                fetched = []
            if fetched:
                idle = 0
                await fetcher.dispatch(fetched)
                continue
            if st.stopping:
                if not running and not self.acks:
                    break
                if stop_deadline is not None and time.monotonic() >= stop_deadline and not self.acks:
                    log.warning("stopping with %d jobs still running: left in the in-progress list for a reaper",
                                len(running))
                    break
                await self.sleep_or_wake(0.05 if self.acks else min(0.5, max(0.0, stop_deadline - time.monotonic())
                                                                    if stop_deadline else 0.5))
                continue
            if want and not running and not self.acks and st.draining:
                st.draining = False
                st.drained.set()
            if want:
                idle += 1
                delay = backoffs[min(idle, len(backoffs) - 1)] / 1000.0
                order = fetcher.order
                if empties and watchers.watch([order[g - 1] for g in empties]) == len(self.names):
                    # every queue is empty and watched: a job's arrival wakes us at once
                    delay = max(delay, backoffs[-1] / 1000.0)
            else:
                delay = 5.0  # no free worker: a finished job wakes us
            if self.acks:
                continue
            await self.sleep_or_wake(delay)
        await self.shutdown()

    async def sleep_or_wake(self, delay: float) -> None:
        st = self.st
        if st.wake.is_set():
            st.wake.clear()
            return
        if delay <= 0:
            await asyncio.sleep(0)
            return
        try:
            await asyncio.wait_for(st.wake.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass
        st.wake.clear()

    async def shutdown(self) -> None:
        runner = self.runner
        # async handlers still running at the end of the grace period are cancelled; their
        # jobs (and those of sync handlers still running) stay in the in-progress list
        await runner.cancel_all(timeout=1.0)
        unfinished = bool(runner.running)
        # no beat after this point: with jobs left, the heartbeat must go stale for a reaper
        if self.liveness is not None:
            self.liveness.stop(timeout=2 * HEARTBEAT_SOCKET_TIMEOUT)
        for wid in list(self.p.worker_ids):
            if wid not in runner.running:
                self.observer.done(wid)
        calls = self.observer.flush_calls()
        if not unfinished:
            calls += self.heartbeat.remove_calls()
        # else: keep the heartbeat hash (and its job names) so that a reaper, Go's or ours,
        # requeues the unfinished jobs once the heartbeat is 10 s old.
        try:
            if calls:
                await aexecute(self.client, calls)
        except OUTAGE as exc:
            log.warning("could not clean up on stop: %s", exc)
