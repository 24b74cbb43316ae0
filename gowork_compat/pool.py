"""The worker pool: fetches jobs of its registered names from a gocraft/work namespace
and runs them, side by side with Go pools.

One engine (asyncio) does the work; :class:`WorkerPool` drives it from sync code (a
background thread with its own event loop: ``start()``, ``stop()``, ``drain()``) or from
asyncio (``async with pool:``, ``await pool.run()``, ``astart``/``astop``/``adrain``).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import unique
from ._redis import Call, RedisLike, aexecute, araw, async_client, bulk, raise_errors, unloaded
from .burial import burial_reason, buried_job
from .enqueuer import Dialect, check_name_text
from .heartbeat import BEAT_PERIOD, Heartbeat
from .job import Job, JobDecodeError, new_id
from .keys import Keys
from .observer import Observer
from .periodic import PERIOD, PERIOD_JITTER, PeriodicEnqueuer, PeriodicJob
from .reaper import FIRST_REAP, REAP_JITTER, REAP_PERIOD, Reaper
from .requeuer import REQUEUE_BATCH, REQUEUE_PERIOD, Requeuer
from .rescuer import RESCUE_PERIOD, Rescuer
from .sampler import PrioritySampler
from .scripts import ACK_BATCH, FETCH_BATCH, FETCH_KEYS_PER_JOB, Script, ack_keys, fetch_group_keys
from .worker import (
    Fate,
    JobOptions,
    JobType,
    _Step,
    decide_fate,
    default_backoff,
    error_text,
    middleware_step,
    run_chain,
    run_chain_in_thread,
    starts_sync,
)

__all__ = ["DEFAULT_SLEEP_BACKOFFS", "WorkerPool"]

log = logging.getLogger("gowork_compat.pool")

#: Go's idle sleeps between empty fetches, in milliseconds
DEFAULT_SLEEP_BACKOFFS: tuple[int, ...] = (0, 10, 100, 1000, 5000)
#: jobs moved into the in-progress list per fetch call (never more than free slots)
DEFAULT_FETCH_BATCH = 32
#: at most this many queues get a blocking watcher (one connection each); beyond it, polling
MAX_WATCHED_QUEUES = 16

F = TypeVar("F", bound=Callable[..., Any])

_OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


@dataclass
class _Running:
    job: Job
    worker_id: str
    group: int  # 1-based index into the pool's job-name groups


@dataclass
class _Ack:
    group: int
    raw: bytes
    fate: int
    score: int = 0
    member: bytes = b""


@dataclass
class _State:
    stopping: bool = False
    draining: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


class _Outage:
    """Logs a Redis outage once, and its end once."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False
        self.delay = 0.05

    def failed(self, exc: BaseException) -> float:
        if not self.down:
            log.warning("%s: Redis unreachable (%s); retrying until it is back", self.what, exc)
            self.down = True
        self.delay = min(self.delay * 2, 2.0)
        return self.delay

    def ok(self) -> None:
        if self.down:
            log.warning("%s: Redis is back", self.what)
        self.down = False
        self.delay = 0.05


class WorkerPool:
    """A pool of ``concurrency`` workers for one namespace.

    ``context`` (optional) is called once per job; its result is passed as the first
    argument to handlers and middleware that take one more parameter than ``(job)`` /
    ``(job, next)``: the role of Go's context struct.
    """

    def __init__(
        self,
        redis: RedisLike,
        namespace: str,
        concurrency: int = 10,
        *,
        context: Callable[[], Any] | None = None,
        sleep_backoffs: Sequence[int] | None = None,
        dialect: Dialect = "v0.5.1",
        fetch_batch: int = DEFAULT_FETCH_BATCH,
        grace_period: float = 30.0,
        reap_period: float = REAP_PERIOD,
        first_reap: float = FIRST_REAP,
        use_known_jobs: bool = True,
        wake_on_enqueue: bool = True,
        watch_timeout: float = 5.0,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be a positive int, got {concurrency!r}")
        backoffs = tuple(sleep_backoffs) if sleep_backoffs else DEFAULT_SLEEP_BACKOFFS
        if any((not isinstance(b, int)) or b < 0 for b in backoffs):
            raise ValueError("sleep_backoffs are non-negative milliseconds")
        if fetch_batch < 1:
            raise ValueError("fetch_batch must be at least 1")
        self._redis_arg = redis
        self.keys = Keys(namespace)
        self.namespace = namespace
        self.concurrency = concurrency
        self.context_factory = context
        self.sleep_backoffs = backoffs
        self.dialect: Dialect = dialect
        self.fetch_batch = fetch_batch
        self.grace_period = grace_period
        self.reap_period = reap_period
        self.first_reap = first_reap
        self.use_known_jobs = use_known_jobs
        self.wake_on_enqueue = wake_on_enqueue
        self.watch_timeout = watch_timeout
        self.pool_id = new_id()
        self.worker_ids = sorted(new_id() for _ in range(concurrency))
        self.job_types: dict[str, JobType] = {}
        self._middleware: list[_Step] = []
        self._periodic: list[PeriodicJob] = []
        self._started = False
        # engine state (set on start)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._st: _State | None = None
        self._startup_error: BaseException | None = None

    # -- registration -------------------------------------------------------------------
    @overload
    def job(self, name: str, handler: None = None, options: JobOptions | None = None,
            **opts: Any) -> Callable[[F], F]: ...

    @overload
    def job(self, name: str, handler: Callable[..., Any], options: JobOptions | None = None,
            **opts: Any) -> WorkerPool: ...

    def job(self, name: str, handler: Callable[..., Any] | None = None, options: JobOptions | None = None,
            **opts: Any) -> Callable[[F], F] | WorkerPool:
        """Register ``handler`` for job ``name``; usable as ``pool.job(name, fn)`` or as a
        decorator ``@pool.job(name, priority=5)``. Options: see :class:`JobOptions`."""
        if self._started:
            raise RuntimeError("register jobs before starting the pool")
        if not isinstance(name, str) or not name:
            raise ValueError("job name must be a non-empty str")
        check_name_text(name)
        if options is not None and opts:
            raise TypeError("pass either options=JobOptions(...) or keyword options, not both")
        o = (options or JobOptions(**opts)).validated()

        def register(fn: F) -> F:
            self.job_types[name] = JobType(name, fn, o)
            return fn

        if handler is None:
            return register
        register(handler)
        return self

    def middleware(self, fn: F) -> F:
        """Add middleware ``fn(job, next)`` (or ``fn(ctx, job, next)``); runs in the order added."""
        if self._started:
            raise RuntimeError("add middleware before starting the pool")
        self._middleware.append(middleware_step(fn))
        return fn

    def periodically_enqueue(self, spec: str, name: str) -> WorkerPool:
        """Enqueue job ``name`` at every fire time of cron ``spec`` (robfig/cron syntax of
        the pool's dialect: for v0.5.1 the first field is seconds)."""
        self._periodic.append(PeriodicEnqueuer.make(spec, name, self.dialect))
        return self

    # -- sync front end -----------------------------------------------------------------
    def start(self) -> None:
        """Start in a background thread; returns once the pool is registered in Redis."""
        if self._started:
            return
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._run(ready))
            except BaseException as exc:  # reported to start()
                self._startup_error = exc
            finally:
                ready.set()
                loop.close()

        self._thread = threading.Thread(target=main, name=f"gowork-pool-{self.pool_id[:6]}", daemon=True)
        self._thread.start()
        ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self, grace_period: float | None = None) -> None:
        """Stop fetching, let running jobs finish (up to the grace period), then return.
        Jobs still running after it stay in the in-progress list for a reaper."""
        loop, st = self._loop, self._st
        if loop is None or st is None or self._thread is None:
            return
        if grace_period is not None:
            self.grace_period = grace_period
        loop.call_soon_threadsafe(self._request_stop)
        self._thread.join()
        self._thread = None

    def drain(self) -> None:
        """Block until no job of this pool's names is waiting and none is running."""
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.adrain(), loop).result()

    def run_forever(self, handle_signals: bool = True) -> None:
        """Run in the calling thread until SIGTERM/SIGINT (or :meth:`stop` from another thread)."""
        async def main() -> None:
            loop = asyncio.get_running_loop()
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, self._request_stop)
            await self.run()

        asyncio.run(main())

    # -- asyncio front end --------------------------------------------------------------
    async def run(self) -> None:
        """Run in the current event loop until stopped."""
        await self._run(None)

    async def astart(self) -> None:
        ready = threading.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(ready))
        while not ready.is_set():
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def astop(self, grace_period: float | None = None) -> None:
        if grace_period is not None:
            self.grace_period = grace_period
        self._request_stop()
        if self._task is not None:
            await self._task
            self._task = None

    async def adrain(self) -> None:
        st = self._st
        if st is None:
            return
        st.drained.clear()
        st.draining = True
        st.wake.set()
        await st.drained.wait()

    async def __aenter__(self) -> WorkerPool:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    def _request_stop(self) -> None:
        if self._st is not None:
            self._st.stopping = True
            self._st.wake.set()

    # -- engine -------------------------------------------------------------------------
    async def _run(self, ready: threading.Event | None) -> None:
        if self._started:
            raise RuntimeError("pool already started")
        if not self.job_types:
            log.warning("worker pool %s starts with no job registered", self.pool_id)
        self._started = True
        self._loop = asyncio.get_running_loop()
        engine = _Engine(self)
        self._st = engine.st
        try:
            await engine.setup()
        except BaseException:
            self._started = False
            await engine.close()
            raise
        if ready is not None:
            ready.set()
        try:
            await engine.main()
        finally:
            await engine.close()
            self._started = False


class _Engine:
    def __init__(self, pool: WorkerPool) -> None:
        self.p = pool
        self.st = _State()
        self.keys = pool.keys
        # The engine's own connections (redis-py async clients are bound to one event loop),
        # always returning bytes: job payloads are compared byte for byte.
        base = async_client(pool._redis_arg).connection_pool
        kwargs = dict(base.connection_kwargs)
        kwargs["decode_responses"] = False
        self.client: aredis.Redis = aredis.Redis(connection_pool=aredis.ConnectionPool(
            connection_class=base.connection_class, **kwargs))
        self.names = sorted(pool.job_types)
        self.groups = {n: i + 1 for i, n in enumerate(self.names)}
        self.sampler: PrioritySampler[str] = PrioritySampler()
        for n in self.names:
            self.sampler.add(pool.job_types[n].options.priority, n)
        self.free_workers = list(pool.worker_ids)
        self.running: dict[str, _Running] = {}  # worker id -> running job
        self.acks: list[_Ack] = []
        self.observer = Observer(self.keys, pool.worker_ids)
        self.heartbeat = Heartbeat(self.keys, pool.pool_id, self.names, pool.concurrency, pool.worker_ids,
                                   int(time.time()))
        self.retrier = Requeuer(self.keys, self.keys.retry, self.names, use_known_jobs=pool.use_known_jobs)
        self.scheduler = Requeuer(self.keys, self.keys.scheduled, self.names, use_known_jobs=pool.use_known_jobs)
        self.reaper = Reaper(self.keys, pool.pool_id, self.names)
        self.rescuer = Rescuer(self.keys)
        self.periodic = PeriodicEnqueuer(self.keys, pool._periodic)
        self.executor = ThreadPoolExecutor(max_workers=pool.concurrency, thread_name_prefix="gowork-job")
        self.tasks: list[asyncio.Task[None]] = []
        self.job_tasks: set[asyncio.Task[None]] = set()
        self.ack_keys = ack_keys(self.keys, pool.pool_id, self.names)
        self.observer_event = asyncio.Event()
        self.closing = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.threads: _Threads | None = _Threads(self, pool.concurrency)
        self.prepare_hot_path()
        self.watchers = _Watchers(self, pool.watch_timeout if pool.wake_on_enqueue else 0.0)

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
        loops: list[tuple[str, Callable[[], Any], Callable[[], float], float]] = [
            ("heartbeat", self.beat, lambda: BEAT_PERIOD, BEAT_PERIOD),
            ("requeuer", self.requeue, lambda: REQUEUE_PERIOD, 0.0),
            ("rescuer", lambda: self.rescuer.run_once(self.client, int(time.time())), lambda: RESCUE_PERIOD, 0.5),
            # Go: every 10 min plus 0-30 s; a shorter reap_period gets proportionally less jitter
            ("reaper", self.reap,
             lambda: self.p.reap_period * (1 + random.uniform(0, REAP_JITTER / REAP_PERIOD)), self.p.first_reap),
        ]
        if self.p._periodic:
            loops.append(("periodic", self.enqueue_periodic, lambda: PERIOD + random.uniform(0, PERIOD_JITTER), 0.0))
        for name, fn, period, first in loops:
            self.tasks.append(asyncio.create_task(self.background(name, fn, period, first)))
        self.tasks.append(asyncio.create_task(self.observe_loop()))

    async def close(self) -> None:
        # Let background loops finish their current round trip (cancelling redis-py in the
        # middle of a command can leave the connection hanging), then cancel stragglers.
        self.closing.set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=5.0)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        await self.watchers.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.threads is not None:
            self.threads.close()
        try:
            # the pool was passed in explicitly, so aclose() alone would leave it connected
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

    async def background(self, name: str, fn: Callable[[], Any], period: Callable[[], float], first: float) -> None:
        outage = _Outage(name)
        delay = first
        while not await self.pause(delay):
            try:
                await fn()
                outage.ok()
                delay = period()
            except _OUTAGE as exc:
                self.reaper.note_outage()
                delay = outage.failed(exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed", name)
                delay = period()

    async def beat(self) -> None:
        await aexecute(self.client, self.heartbeat.beat_calls(int(time.time())))

    async def requeue(self) -> None:
        while True:
            now = int(time.time())
            moved = await aexecute(self.client, [self.retrier.call(now), self.scheduler.call(now)])
            if max(int(m) for m in moved) < REQUEUE_BATCH:
                return

    async def reap(self) -> None:
        await self.reaper.reap(self.client, int(time.time()))

    async def enqueue_periodic(self) -> None:
        now = int(time.time())
        last = await self.client.get(self.keys.last_periodic_enqueue)
        last_i: int | None
        try:
            last_i = int(last) if last is not None else None
        except ValueError:
            last_i = None
        if self.periodic.should_enqueue(last_i, now):
            await aexecute(self.client, self.periodic.enqueue_calls(now))

    async def observe_loop(self) -> None:
        outage = _Outage("observer")
        while not self.closing.is_set():
            waiter = asyncio.ensure_future(self.observer_event.wait())
            closer = asyncio.ensure_future(self.closing.wait())
            await asyncio.wait((waiter, closer), timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            closer.cancel()
            self.observer_event.clear()
            await self.flush_observations(outage)
            if await self.pause(1.0):  # at most one write per second, as Go's observer
                return

    async def flush_observations(self, outage: _Outage | None = None) -> None:
        if not self.observer.pending:
            return
        dirty = set(self.observer._dirty)
        calls = self.observer.flush_calls()
        try:
            await aexecute(self.client, calls)
            if outage:
                outage.ok()
        except _OUTAGE as exc:
            self.observer.mark_dirty_again(dirty)
            if outage:
                await self.pause(outage.failed(exc))

    # -- the fetch / run / acknowledge loop -------------------------------------------------
    def prepare_hot_path(self) -> None:
        """Pre-encode the fixed parts of the fetch and acknowledge commands."""
        k, pid = self.keys, self.p.pool_id
        self._ack_head = (b"$7\r\nEVALSHA\r\n" + bulk(ACK_BATCH.sha) + bulk(len(self.ack_keys))
                          + b"".join(bulk(x) for x in self.ack_keys) + bulk(pid))
        self._ack_argc = 3 + len(self.ack_keys) + 1
        self._fetch_group = {n: b"".join(bulk(x) for x in fetch_group_keys(k, pid, n)) for n in self.names}
        self._fetch_head = b"$7\r\nEVALSHA\r\n" + bulk(FETCH_BATCH.sha) + bulk(FETCH_KEYS_PER_JOB * len(self.names))
        self._fetch_argc = 3 + FETCH_KEYS_PER_JOB * len(self.names) + 2
        self._fetch_tail = bulk(pid)
        self._fates = {Fate.DONE: bulk(0), Fate.RETRY: bulk(1), Fate.DEAD: bulk(2)}
        self._zero = bulk(0)
        self._empty = bulk(b"")

    def ack_packed(self, acks: list[_Ack]) -> bytes:
        parts = [b"*%d\r\n" % (self._ack_argc + 5 * len(acks)), self._ack_head]
        fates, zero, empty = self._fates, self._zero, self._empty
        for a in acks:
            parts.append(bulk(a.group))
            parts.append(bulk(a.raw))
            parts.append(fates[a.fate])
            if a.fate == Fate.DONE:
                parts.append(zero)
                parts.append(empty)
            else:
                parts.append(bulk(a.score))
                parts.append(bulk(a.member))
        return b"".join(parts)

    def fetch_packed(self, want: int) -> bytes:
        order = self.sampler.sample()
        self._order = order
        groups = self._fetch_group
        return b"".join((b"*%d\r\n" % self._fetch_argc, self._fetch_head, *[groups[n] for n in order],
                         self._fetch_tail, bulk(want)))

    async def hot_round_trip(self, acks: list[_Ack], want: int) -> Any:
        """Acknowledge ``acks`` and fetch up to ``want`` jobs in one round trip; returns the
        fetch reply (or None when nothing was fetched)."""
        packed: list[bytes] = []
        scripts: list[Script] = []
        if acks:
            packed.append(self.ack_packed(acks))
            scripts.append(ACK_BATCH)
        if want:
            packed.append(self.fetch_packed(want))
            scripts.append(FETCH_BATCH)
        replies = await araw(self.client, packed)
        for i in unloaded(scripts, replies):  # Redis restarted or flushed: load and run again
            await self.client.script_load(scripts[i].source)
            (replies[i],) = await araw(self.client, [packed[i]])
        return raise_errors(replies)[-1] if want else None

    async def main(self) -> None:
        st = self.st
        idle = 0
        outage = _Outage("fetcher")
        stop_deadline: float | None = None
        while True:
            if st.stopping and stop_deadline is None:
                stop_deadline = time.monotonic() + max(self.p.grace_period, 0.0)
            free = len(self.free_workers)
            want = 0 if (st.stopping or not self.names) else min(free, self.p.fetch_batch)
            acks, self.acks = self.acks, []
            fetched: list[Any] = []
            if acks or want:
                try:
                    reply = await self.hot_round_trip(acks, want)
                    outage.ok()
                except _OUTAGE as exc:
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
                await self.dispatch(fetched)
                continue
            if st.stopping:
                if not self.running and not self.acks:
                    break
                if stop_deadline is not None and time.monotonic() >= stop_deadline and not self.acks:
                    log.warning("stopping with %d jobs still running: left in the in-progress list for a reaper",
                                len(self.running))
                    break
                await self.sleep_or_wake(0.05 if self.acks else min(0.5, max(0.0, stop_deadline - time.monotonic())
                                                                    if stop_deadline else 0.5))
                continue
            if want and not self.running and not self.acks and st.draining:
                st.draining = False
                st.drained.set()
            if want:
                idle += 1
                delay = self.p.sleep_backoffs[min(idle, len(self.p.sleep_backoffs) - 1)] / 1000.0
                if empties and self.watchers.watch([self._order[g - 1] for g in empties]) == len(self.names):
                    # every queue is empty and watched: a job's arrival wakes us at once
                    delay = max(delay, self.p.sleep_backoffs[-1] / 1000.0)
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
        unfinished = bool(self.running)
        # observations: clear finished slots
        for wid in list(self.p.worker_ids):
            if wid not in self.running:
                self.observer.done(wid)
        calls = self.observer.flush_calls()
        if not unfinished:
            calls += self.heartbeat.remove_calls()
        # else: keep the heartbeat hash (and its job names) so that a reaper, Go's or ours,
        # requeues the unfinished jobs once the heartbeat is 10 s old.
        try:
            if calls:
                await aexecute(self.client, calls)
        except _OUTAGE as exc:
            log.warning("could not clean up on stop: %s", exc)
        for t in self.job_tasks:
            t.cancel()

    async def dispatch(self, fetched: list[Any]) -> None:
        pairs = [(fetched[i], int(fetched[i + 1])) for i in range(0, len(fetched), 2)]
        jobs: list[tuple[Job | None, bytes, int, str]] = []
        unique: list[Job] = []
        for raw, idx in pairs:
            name = self._order[idx - 1]
            group = self.groups[name]
            try:
                job = Job.decode(raw)
                job.dequeued_from = self.keys.jobs(name)
                job.in_progress_queue = self.keys.in_progress(self.p.pool_id, name)
                jobs.append((job, raw, group, ""))
                if job.unique:
                    unique.append(job)
            except JobDecodeError as exc:
                jobs.append((None, raw, group, str(exc)))
        replaced: dict[int, Job] = {}
        if unique:
            replaced = await self.take_unique_keys(unique)
        now = int(time.time())
        for maybe_job, raw, group, problem in jobs:
            if maybe_job is None:
                self.bury_malformed(raw, group, self.names[group - 1], problem, now)
                continue
            job = replaced.get(id(maybe_job), maybe_job)
            wid = self.free_workers.pop()
            run = _Running(job, wid, group)
            self.running[wid] = run
            self.launch(run)

    async def take_unique_keys(self, jobs: list[Job]) -> dict[int, Job]:
        """Delete the unique keys of fetched unique jobs (GET first: with upstream master's
        unique-by-key the key holds the job with the newest args)."""
        found, calls = unique.take_calls(self.keys, jobs)
        if not calls:
            return {}
        try:
            replies = await aexecute(self.client, calls)
        except _OUTAGE as exc:
            log.warning("could not clear unique keys: %s", exc)
            return {}
        return unique.newer_jobs(jobs, found, replies)

    def bury_malformed(self, raw: bytes, group: int, name: str, problem: str, now: int) -> None:
        """A payload Go could not decode would sit in the in-progress list forever; put a
        readable dead job in its place (the original bytes kept in args.raw_payload)."""
        dead = buried_job(raw, name, burial_reason(self.keys.jobs(name), problem or "not a job"), now)
        log.error("job payload in %s is malformed (%s): moved to the dead set", self.keys.jobs(name), problem)
        self.acks.append(_Ack(group, raw, Fate.DEAD, now, dead.encode()))

    def begin(self, run: _Running) -> Any:
        """Observation and check-in wiring before a job runs; returns its context object."""
        job, wid = run.job, run.worker_id
        if self.observer.started(wid, job, int(time.time())):
            self.observer_event.set()
        loop = self.loop

        def checkin(message: str, _wid: str = wid, _jid: str = job.id) -> None:
            def note() -> None:
                if self.observer.checkin(_wid, _jid, message, int(time.time())):
                    self.observer_event.set()
            if threading.get_ident() == self.loop_thread:
                note()
            else:
                loop.call_soon_threadsafe(note)

        job._checkin = checkin
        return self.p.context_factory() if self.p.context_factory is not None else None

    def launch(self, run: _Running) -> None:
        jt = self.p.job_types.get(run.job.name)
        if jt is None:
            self.finish(run, None, RuntimeError("stray job: no handler"))
            return
        if self.threads is not None and starts_sync(self.p._middleware, jt):
            try:
                ctx = self.begin(run)
            except Exception as exc:  # the context factory failed: the job fails
                self.finish(run, jt, exc)
                return
            self.threads.submit(run, jt, ctx)
            return
        t = asyncio.create_task(self.execute_async(run, jt))
        self.job_tasks.add(t)
        t.add_done_callback(self.job_tasks.discard)

    async def execute_async(self, run: _Running, jt: JobType) -> None:
        err: BaseException | None = None
        try:
            ctx = self.begin(run)
            await run_chain(run.job, ctx, self.p._middleware, jt, self.loop, self.executor)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a handler's failure, whatever it raised
            err = exc
        self.finish(run, jt, err)

    def finish(self, run: _Running, jt: JobType | None, err: BaseException | None) -> None:
        """On the loop: record the outcome, queue the acknowledgement, free the worker."""
        job, wid = run.job, run.worker_id
        if jt is not None and self.observer.done(wid):
            self.observer_event.set()
        raw = job.raw or b""
        if err is None:
            ack = _Ack(run.group, raw, Fate.DONE)
        else:
            now = int(time.time())
            job.failed(error_text(err), now)
            fate = decide_fate(jt, job)
            if fate == Fate.RETRY:
                assert jt is not None
                try:
                    delay = jt.backoff_seconds(job)
                except Exception:
                    log.exception("backoff of job %s failed; using the default", job.name)
                    delay = default_backoff(job)
                ack = _Ack(run.group, raw, fate, now + delay, job.encode())
            elif fate == Fate.DEAD:
                ack = _Ack(run.group, raw, fate, now, job.encode())
            else:
                ack = _Ack(run.group, raw, Fate.DONE)
        del self.running[wid]
        self.free_workers.append(wid)
        self.acks.append(ack)
        self.st.wake.set()


class _Threads:
    """Long-lived worker threads for chains that start with a plain function. Finished
    jobs are handed back to the loop in batches (one wake-up for many jobs)."""

    def __init__(self, engine: _Engine, count: int) -> None:
        self.engine = engine
        self.inbox: queue.SimpleQueue[tuple[_Running, JobType, Any] | None] = queue.SimpleQueue()
        self.done: collections.deque[tuple[_Running, JobType, BaseException | None]] = collections.deque()
        self.notify_pending = False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.work, name=f"gowork-job-{i}", daemon=True)
                        for i in range(count)]
        for t in self.threads:
            t.start()

    def submit(self, run: _Running, jt: JobType, ctx: Any) -> None:
        self.inbox.put((run, jt, ctx))

    def work(self) -> None:
        e = self.engine
        while True:
            item = self.inbox.get()
            if item is None:
                return
            run, jt, ctx = item
            err: BaseException | None = None
            try:
                run_chain_in_thread(run.job, ctx, e.p._middleware, jt, e.loop, e.executor)
            except BaseException as exc:  # a handler's failure, whatever it raised
                err = exc
            with self.lock:
                self.done.append((run, jt, err))
                if self.notify_pending:
                    continue
                self.notify_pending = True
            try:
                e.loop.call_soon_threadsafe(self.collect)
            except RuntimeError:  # loop closed: the pool stopped without waiting for us
                return

    def collect(self) -> None:
        with self.lock:
            items = list(self.done)
            self.done.clear()
            self.notify_pending = False
        for run, jt, err in items:
            self.engine.finish(run, jt, err)

    def close(self) -> None:
        for _ in self.threads:
            self.inbox.put(None)


class _Watchers:
    """Wakes the fetcher the moment a job lands in an empty queue.

    For each queue found empty, one connection blocks in ``BLMOVE q q RIGHT RIGHT``: it
    returns as soon as the list has an element and moves the tail element onto the tail
    of the same list, i.e. leaves the list exactly as it was. Go pools see nothing. An
    idle pool thus picks up a job within a round trip while sending one command per
    empty queue per ``timeout`` seconds. Needs Redis >= 6.2 (otherwise: plain polling).
    """

    def __init__(self, engine: _Engine, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout
        self.enabled = timeout > 0
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.clients: dict[str, aredis.Redis] = {}
        self.ids: dict[str, int] = {}

    def watch(self, names: list[str]) -> int:
        """Start watching these empty queues; returns how many queues are watched now."""
        if not self.enabled or self.engine.closing.is_set():
            return 0
        for n in names:
            if n not in self.tasks and len(self.tasks) < MAX_WATCHED_QUEUES:
                t = asyncio.create_task(self._watch(n))
                self.tasks[n] = t
                t.add_done_callback(self._forget(n))
        return len(self.tasks)

    def _forget(self, name: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_t: asyncio.Task[None]) -> None:
            self.tasks.pop(name, None)
        return done

    def _client(self, name: str) -> aredis.Redis:
        c = self.clients.get(name)
        if c is None:
            base = self.engine.client.connection_pool
            kwargs = dict(base.connection_kwargs)
            kwargs["socket_timeout"] = None  # the server-side timeout bounds the wait
            c = aredis.Redis(connection_pool=aredis.ConnectionPool(
                connection_class=base.connection_class, max_connections=1, **kwargs))
            self.clients[name] = c
        return c

    async def _watch(self, name: str) -> None:
        e = self.engine
        queue_key = e.keys.jobs(name)
        client = self._client(name)
        try:
            if name not in self.ids:
                self.ids[name] = int(await client.client_id())
            while not e.closing.is_set():
                got = await client.blmove(
                    queue_key, queue_key, self.timeout, "RIGHT", "RIGHT")  # type: ignore[arg-type]
                if got is not None:
                    e.st.wake.set()
                    return
        except _OUTAGE:
            return  # the fetcher notices the outage and backs off; we start again later
        except Exception as exc:  # e.g. a Redis without BLMOVE
            log.info("not blocking on queues (%s): falling back to polling", exc)
            self.enabled = False

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        if tasks:
            for cid in self.ids.values():
                try:
                    await self.engine.client.execute_command("CLIENT", "UNBLOCK", cid)  # type: ignore[no-untyped-call]
                except Exception:
                    break
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for t in pending:
                t.cancel()
        for c in self.clients.values():
            try:
                await asyncio.wait_for(c.connection_pool.disconnect(), timeout=1.0)
            except Exception:
                pass
