"""The public face of the pool: :class:`WorkerPool`, its registration methods and its
lifecycle, from sync code (a background thread with its own event loop: ``start()``,
``stop()``, ``drain()``, ``serve()``) or from asyncio (``async with pool:``,
``await pool.run()``, ``astart``/``astop``/``adrain``/``aserve``)."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, overload

from .._redis import RedisLike, check_namespace
from ..contracts import as_contracts
from ..enqueuer import ContractsArg, Dialect, check_name_text
from ..job import Job, new_id
from ..keys import Keys
from ..periodic import PeriodicEnqueuer, PeriodicJob
from ..reaper import FIRST_REAP, REAP_PERIOD
from .common import State, log
from .engine import Engine
from .runner import JobOptions, JobOutcome, JobType, _Step, check_timeout, middleware_step, outcome_of, run_chain

__all__ = ["DEFAULT_FETCH_BATCH", "DEFAULT_SLEEP_BACKOFFS", "WorkerPool"]

#: Go's idle sleeps between empty fetches, in milliseconds
DEFAULT_SLEEP_BACKOFFS: tuple[int, ...] = (0, 10, 100, 1000, 5000)
#: jobs moved into the in-progress list per fetch call (never more than free slots)
DEFAULT_FETCH_BATCH = 32
#: how long stop() waits beyond the grace period for the engine to wind down
STOP_MARGIN = 30.0

F = TypeVar("F", bound=Callable[..., Any])


def refuse_fake_redis(conn: object) -> None:
    """fakeredis cannot run a pool (its connections cannot be cloned for the engine's own
    event loop, blocking commands and Lua differ): refuse it at once instead of hanging."""
    if type(conn).__module__.split(".")[0] == "fakeredis":
        raise TypeError(
            "WorkerPool does not run on fakeredis (the pool needs a real Redis server: its own connections, "
            "blocking commands and Lua scripts). To unit-test handlers without Redis use "
            "pool.run_job(name, args), which runs the handler through the middleware chain and returns its "
            "outcome; for integration tests start a redis-server"
        )


class WorkerPool:
    """A pool of ``concurrency`` workers for one namespace, side by side with Go pools.

    Register handlers with :meth:`job`, middleware with :meth:`middleware`, cron jobs with
    :meth:`periodically_enqueue`; then run it from sync code (:meth:`start` / :meth:`stop`,
    :meth:`serve`) or asyncio (``async with pool:``, :meth:`run`). :meth:`run_job` runs one
    handler without Redis, for unit tests.

    Options:

    * ``redis`` -- a Redis URL, ``redis.Redis`` or ``redis.asyncio.Redis`` (its settings are
      copied: the pool opens connections of its own). fakeredis is refused.
    * ``namespace`` -- the gocraft/work namespace (Go's ``NewWorkerPool`` namespace).
    * ``concurrency`` -- worker slots, jobs run at once (default 10).
    * ``context`` -- called once per job; its result is passed as the first argument to
      handlers and middleware that take one more parameter than ``(job)`` /
      ``(job, next)``: the role of Go's context struct.
    * ``sleep_backoffs`` -- idle sleeps in milliseconds after 1, 2, ... empty fetches in
      a row (the last one repeats); Go's default ``(0, 10, 100, 1000, 5000)``.
    * ``dialect`` -- ``"v0.5.1"`` (default, Go's release: a 5-field cron spec starts with
      seconds) or ``"master"`` (upstream master: unique-by-key, minute-based cron).
    * ``fetch_batch`` -- jobs moved into the in-progress list per fetch round trip, never
      more than free slots (default 32; Go fetches one at a time).
    * ``grace_period`` -- seconds :meth:`stop` lets running jobs finish (default 30);
      unfinished jobs stay in the in-progress list for a reaper.
    * ``reap_period`` -- seconds between dead-pool reaper runs (Go: 10 minutes), each
      with a random jitter as Go's; ``first_reap`` -- seconds before the first run.
    * ``use_known_jobs`` -- register the job names in ``known_jobs`` at start (as Go
      does), so clients and web UIs list them.
    * ``wake_on_enqueue`` -- an idle pool watches its queues and fetches as soon as a job
      arrives instead of waiting out ``sleep_backoffs`` (beyond Go); ``watch_timeout`` --
      seconds each watch blocks before it looks again.
    * ``job_timeout`` -- default of :attr:`JobOptions.timeout` in seconds (None: none).
    * ``block_warning`` -- seconds an async handler may keep the event loop busy before a
      warning, once per job name (0: off).
    * ``contracts`` -- opt-in job contracts (JSON Schemas per job name, see
      :mod:`gowork_compat.contracts`): a job whose args break its contract goes to the dead
      set unrun, with the violation as its error (beyond Go; Go pools are not affected).
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
        job_timeout: float | None = None,
        block_warning: float = 1.0,
        contracts: ContractsArg = None,
    ) -> None:
        refuse_fake_redis(redis)
        backoffs = tuple(sleep_backoffs) if sleep_backoffs else DEFAULT_SLEEP_BACKOFFS
        if any((not isinstance(b, int)) or b < 0 for b in backoffs):
            raise ValueError("sleep_backoffs are non-negative milliseconds")
        if fetch_batch < 1:
            raise ValueError("fetch_batch must be at least 1")
        if isinstance(block_warning, bool) or not isinstance(block_warning, (int, float)) or block_warning < 0:
            raise ValueError(f"block_warning must be a number of seconds >= 0, got {block_warning!r}")
        self._started = False
        check_namespace(redis, namespace)
        self._redis_arg = redis
        self.keys = Keys(namespace)
        self.namespace = namespace
        self.concurrency = concurrency  # validated; makes the worker ids
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
        self.job_timeout = check_timeout(job_timeout, "job_timeout")
        self.block_warning = float(block_warning)
        #: Opt-in job contracts (None turns them off). A job whose args break its contract goes to the
        #: dead set unrun, with the violation as its error.
        self.contracts = as_contracts(contracts)
        self.pool_id = new_id()
        self.job_types: dict[str, JobType] = {}
        self._middleware: list[_Step] = []
        self._periodic: list[PeriodicJob] = []
        #: per-job observers (metrics, job logs): see gowork_compat.jobhooks; none: no per-job cost
        self._job_hooks: list[Any] = []
        # engine state (set on start)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task[None] | None = None
        self._st: State | None = None
        self._startup_error: BaseException | None = None
        self._on_ready: Callable[[], None] | None = None

    # -- settings -------------------------------------------------------------------------
    @property
    def redis(self) -> RedisLike:
        """The Redis connection the pool was given (URL or client)."""
        return self._redis_arg

    @property
    def concurrency(self) -> int:
        """Worker slots (jobs run at once). May be changed until the pool starts, e.g. by
        ``gowork worker --concurrency``; the pool gets new worker ids then."""
        return self._concurrency

    @concurrency.setter
    def concurrency(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"concurrency must be a positive int, got {value!r}")
        if self._started:
            raise RuntimeError("set the concurrency before starting the pool")
        self._concurrency = value
        self.worker_ids = sorted(new_id() for _ in range(value))

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

    # -- testing handlers without Redis ---------------------------------------------------
    def run_job(self, name: str, args: dict[str, Any] | None = None, *, fails: int = 0,
                job: Job | None = None) -> JobOutcome:
        """Run the handler registered for ``name`` once, through the middleware chain and the
        ``context`` factory, as a worker would, without Redis; returns its
        :class:`JobOutcome` (fate, ``err`` as stored, the retry delay). ``fails``: the
        failures the job already has (to test the ``max_fails`` edge); ``job``: a ready
        :class:`Job` instead of ``args``. Timeouts are not applied. From a running event
        loop use :meth:`arun_job`."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun_job(name, args, fails=fails, job=job))
        raise RuntimeError("run_job() was called from a running event loop: use 'await pool.arun_job(...)'")

    async def arun_job(self, name: str, args: dict[str, Any] | None = None, *, fails: int = 0,
                       job: Job | None = None) -> JobOutcome:
        """The asyncio twin of :meth:`run_job` (async steps run on the current loop)."""
        jt = self.job_types.get(name)
        if jt is None:
            raise KeyError(f"no handler registered for job {name!r}")
        if job is None:
            job = Job(name, new_id(), int(time.time()), dict(args) if args is not None else {}, fails=fails)
            job.raw = job.encode()
        loop = asyncio.get_running_loop()
        from concurrent.futures import ThreadPoolExecutor
        err: BaseException | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gowork-run-job") as executor:
            try:
                ctx = self.context_factory() if self.context_factory is not None else None
                await run_chain(job, ctx, self._middleware, jt, loop, executor)
            except Exception as exc:  # the handler's failure
                err = exc
        return outcome_of(jt, job, err)

    # -- sync front end -----------------------------------------------------------------
    def start(self) -> None:
        """Start in a background thread; returns once the pool is registered in Redis."""
        if self._started or self._thread is not None:
            return
        ready = threading.Event()
        self._startup_error = None

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

        thread = threading.Thread(target=main, name=f"gowork-pool-{self.pool_id[:6]}", daemon=True)
        self._thread = thread
        thread.start()
        ready.wait()
        error = self._startup_error
        if error is not None:
            thread.join(STOP_MARGIN)
            self._thread = self._loop = self._st = None
            self._startup_error = None
            raise error

    def stop(self, grace_period: float | None = None, timeout: float | None = None) -> None:
        """Stop fetching, let running jobs finish (up to the grace period), then return.
        Jobs still running after it stay in the in-progress list for a reaper (async ones
        are cancelled). Waits at most ``timeout`` seconds (default: the grace period plus
        30 s), then gives up on the engine (e.g. a handler that blocks its event loop); a
        no-op when the pool is not running (also after a failed start)."""
        loop, thread = self._loop, self._thread
        if loop is None or self._st is None or thread is None:
            return
        if grace_period is not None:
            self.grace_period = grace_period
        try:
            loop.call_soon_threadsafe(self._request_stop)
        except RuntimeError:  # the loop already ended
            pass
        limit = max(self.grace_period, 0.0) + STOP_MARGIN if timeout is None else timeout
        thread.join(limit)
        if thread.is_alive():
            log.error("worker pool %s did not stop within %g s; giving up on it", self.pool_id, limit)
        self._thread = None

    def drain(self, timeout: float | None = None) -> None:
        """Block until no job of this pool's names is waiting and none is running (at most
        ``timeout`` seconds: then :class:`TimeoutError`)."""
        loop = self._loop
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self.adrain(), loop).result(timeout)

    def serve(self, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT), *,
              on_started: Callable[[], None] | None = None,
              on_signal: Callable[[str, int], None] | None = None) -> None:
        """Run in the calling (main) thread until one of ``signals``, then stop: see
        :meth:`aserve`."""
        asyncio.run(self.aserve(signals, on_started=on_started, on_signal=on_signal))

    def run_forever(self, handle_signals: bool = True) -> None:
        """Run in the calling thread until SIGTERM/SIGINT (or :meth:`stop` from another thread)."""
        if handle_signals:
            self.serve()
        else:
            asyncio.run(self.run())

    # -- asyncio front end --------------------------------------------------------------
    async def run(self) -> None:
        """Run in the current event loop until stopped."""
        await self._run(None)

    async def astart(self) -> None:
        """Start on the running event loop; returns once the pool is registered in Redis."""
        ready = threading.Event()
        task = asyncio.get_running_loop().create_task(self._run(ready))
        self._task = task
        while not ready.is_set():
            if task.done():
                self._task = None
                task.result()
            await asyncio.sleep(0.005)

    async def astop(self, grace_period: float | None = None, timeout: float | None = None) -> None:
        """The asyncio twin of :meth:`stop`."""
        if grace_period is not None:
            self.grace_period = grace_period
        self._request_stop()
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task),
                                   max(self.grace_period, 0.0) + STOP_MARGIN if timeout is None else timeout)
        except asyncio.TimeoutError:
            log.error("worker pool %s did not stop in time; giving up on it", self.pool_id)
        self._task = None

    async def adrain(self) -> None:
        """The asyncio twin of :meth:`drain` (without its timeout: use ``asyncio.wait_for``)."""
        st = self._st
        if st is None:
            return
        st.drained.clear()
        st.draining = True
        st.wake.set()
        await st.drained.wait()

    async def aserve(self, signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGINT), *,
                     on_started: Callable[[], None] | None = None,
                     on_signal: Callable[[str, int], None] | None = None) -> None:
        """Start, run until one of ``signals`` arrives (or :meth:`astop`), then stop.

        The first signal stops fetching and gives running jobs the grace period; a second
        one ends the grace period at once (async handlers are cancelled; unfinished jobs
        stay in the in-progress list for a reaper). ``on_started()`` runs once the pool is
        registered, before its first fetch (its errors are logged);
        ``on_signal(name, count)`` after the stop was requested (its errors
        are logged, never in the way of stopping). A failure of the engine is raised."""
        loop = asyncio.get_running_loop()
        count = 0

        def received(sig: signal.Signals) -> None:
            nonlocal count
            count += 1
            if count == 1:
                self._request_stop()
            else:
                self._request_stop(now=True)
            if on_signal is not None:
                try:
                    on_signal(sig.name, count)
                except Exception:
                    log.exception("on_signal failed")

        installed: list[signal.Signals] = []
        try:
            for sig in signals:
                loop.add_signal_handler(sig, received, sig)
                installed.append(sig)
            self._on_ready = on_started  # called before the first fetch
            await self.astart()
            task = self._task
            if task is not None:
                await task
                self._task = None
        finally:
            self._on_ready = None
            for sig in installed:
                loop.remove_signal_handler(sig)

    async def __aenter__(self) -> WorkerPool:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    def _request_stop(self, now: bool = False) -> None:
        st = self._st
        if st is None:
            return
        deadline = time.monotonic() + (0.0 if now else max(self.grace_period, 0.0))
        if st.deadline is None or deadline < st.deadline:
            st.deadline = deadline
        st.stopping = True
        st.wake.set()

    # -- engine -------------------------------------------------------------------------
    async def _run(self, ready: threading.Event | None) -> None:
        if self._started:
            raise RuntimeError("pool already started")
        if not self.job_types:
            log.warning("worker pool %s starts with no job registered", self.pool_id)
        self._started = True
        self._loop = asyncio.get_running_loop()
        engine: Engine | None = None
        try:
            engine = Engine(self)
            self._st = engine.st
            await engine.setup()
        except BaseException:
            self._started = False
            if engine is not None:
                await engine.close()
            raise
        if ready is not None:
            ready.set()
        on_ready, self._on_ready = self._on_ready, None
        if on_ready is not None:  # registered, nothing fetched yet
            try:
                on_ready()
            except Exception:
                log.exception("on_started failed")
        try:
            await engine.main()
        finally:
            await engine.close()
            self._started = False
