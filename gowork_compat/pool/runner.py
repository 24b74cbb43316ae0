"""The runner: what happens to one job from the moment it is fetched until its
acknowledgement is queued.

* job options and job types, the middleware chain (``def`` and ``async def`` steps may be
  mixed: sync parts run in worker threads, async parts on the pool's event loop);
* the worker threads for chains that start with a plain function (finished jobs are
  handed back to the loop in batches: one wake-up for many jobs);
* timeouts (beyond Go) and cancellation;
* the fate of a finished job (done, retry with Go's backoff, dead), written so that a
  job that cannot be written back goes dead with the reason and never strands others.

:mod:`gowork_compat.worker` re-exports the public names.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import queue
import random
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..burial import burial_reason, buried_job
from ..contracts import ContractViolation
from ..job import Job
from .common import Ack, Running, describe, log

if TYPE_CHECKING:
    from .engine import Engine

__all__ = [
    "Backoff",
    "Fate",
    "JobOptions",
    "JobOutcome",
    "JobTimeout",
    "JobType",
    "PoolError",
    "default_backoff",
    "run_chain",
]

#: seconds until the next try, given the job after its failure was recorded (fails >= 1)
Backoff = Callable[[Job], int]

Handler = Callable[..., Any]
Middleware = Callable[..., Any]

MAX_PRIORITY = 100_000


def default_backoff(job: Job, rng: random.Random | None = None) -> int:
    """gocraft/work's default: fails**4 + 15 + rand(0..29) * (fails + 1) seconds."""
    f = job.fails
    return f * f * f * f + 15 + (rng or random).randrange(30) * (f + 1)


@dataclass(frozen=True)
class JobOptions:
    """Per job-name options, as Go's ``JobOptions``.

    ``priority`` 1..100000 (default 1); ``max_fails`` tries before the job goes dead
    (default 4; 1 sends the first failure straight to dead); ``skip_dead`` drops exhausted
    jobs instead; ``max_concurrency`` caps jobs of this name running at once across every
    pool, Go's or Python's (0: no cap); ``backoff`` replaces the default retry delay.

    Beyond Go: ``timeout`` (seconds; None: the pool's ``job_timeout``, 0: none) fails a
    run that takes longer with ``timeout after N s``, then follows the retry policy. An
    async handler is cancelled; a sync handler's thread cannot be killed: its worker slot
    is given to the next job at once, a fresh thread takes its place, and whatever the
    old thread does afterwards (its result included) is ignored.
    """

    priority: int = 1
    max_fails: int = 4
    skip_dead: bool = False
    max_concurrency: int = 0
    backoff: Backoff | None = None
    timeout: float | None = None

    def validated(self) -> JobOptions:
        """These options checked, with Go's defaults for zeros (raises TypeError/ValueError)."""
        prio = self.priority or 1  # Go treats 0 as "use the default"
        fails = self.max_fails or 4
        for name, value in (("priority", prio), ("max_fails", fails), ("max_concurrency", self.max_concurrency)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"JobOptions.{name} must be an int, not {type(value).__name__}")
        if not 1 <= prio <= MAX_PRIORITY:
            raise ValueError(f"JobOptions.priority must be between 1 and {MAX_PRIORITY}, got {prio}")
        if fails < 1:
            raise ValueError(f"JobOptions.max_fails must be at least 1, got {fails}")
        if self.max_concurrency < 0:
            raise ValueError(f"JobOptions.max_concurrency must be >= 0, got {self.max_concurrency}")
        if self.backoff is not None and not callable(self.backoff):
            raise TypeError("JobOptions.backoff must be callable (job) -> seconds")
        return JobOptions(prio, fails, bool(self.skip_dead), self.max_concurrency, self.backoff,
                          check_timeout(self.timeout, "JobOptions.timeout"))


def check_timeout(value: float | None, what: str) -> float | None:
    """None stays None (use the default); a positive number of seconds; 0 means none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds or None, not {type(value).__name__}")
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {value!r}")
    return float(value)


class JobTimeout(Exception):
    """A job ran longer than its timeout (its ``err``: ``timeout after N s``)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timeout after {seconds:g} s")
        self.seconds = seconds


def _wants_context(fn: Callable[..., Any], plain_arity: int) -> bool:
    """True when ``fn`` takes the context object before the usual parameters."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    params = [p for p in sig.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    if any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values()):
        return False
    if len(params) == plain_arity + 1:
        return True
    if len(params) == plain_arity:
        return False
    kind = "handler" if plain_arity == 1 else "middleware"
    shape = "(job)" if plain_arity == 1 else "(job, next)"
    raise TypeError(
        f"a {kind} takes {shape} or (context, {shape[1:]}; {getattr(fn, '__qualname__', fn)!r} takes "
        f"{len(params)} required positional parameters"
    )


def _is_async(fn: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


@dataclass
class _Step:
    fn: Callable[..., Any]
    is_async: bool
    with_ctx: bool


@dataclass
class JobType:
    name: str
    handler: Handler
    options: JobOptions
    step: _Step = field(init=False)

    def __post_init__(self) -> None:
        if not callable(self.handler):
            raise TypeError(f"handler for job {self.name!r} is not callable")
        self.step = _Step(self.handler, _is_async(self.handler), _wants_context(self.handler, 1))

    def backoff_seconds(self, job: Job) -> int:
        fn = self.options.backoff or default_backoff
        return int(fn(job))


def middleware_step(fn: Middleware) -> _Step:
    if not callable(fn):
        raise TypeError("middleware must be callable")
    return _Step(fn, _is_async(fn), _wants_context(fn, 2))


def starts_sync(middleware: list[_Step], jt: JobType) -> bool:
    """True when the chain's first step is a plain function: the whole chain can then be
    run from a worker thread with :func:`run_chain_in_thread`."""
    return not (middleware[0] if middleware else jt.step).is_async


def run_chain_in_thread(job: Job, ctx: Any, middleware: list[_Step], jt: JobType,
                        loop: asyncio.AbstractEventLoop, executor: Executor) -> None:
    """Run the chain from a worker thread (its async steps go to ``loop``)."""
    if not middleware:  # the common case, without building the chain
        st = jt.step
        _raise_returned(st.fn(ctx, job) if st.with_ctx else st.fn(job))
        return
    _chain(job, ctx, middleware, jt, loop, executor)[0](0)


async def run_chain(
    job: Job,
    ctx: Any,
    middleware: list[_Step],
    jt: JobType,
    loop: asyncio.AbstractEventLoop,
    executor: Executor,
) -> None:
    """Run middleware then the handler on the event loop; an exception (or a returned
    exception) is the job's failure."""
    if not middleware and jt.step.is_async:
        st = jt.step
        _raise_returned(await (st.fn(ctx, job) if st.with_ctx else st.fn(job)))
        return
    await _chain(job, ctx, middleware, jt, loop, executor)[1](0)


def _chain(
    job: Job,
    ctx: Any,
    middleware: list[_Step],
    jt: JobType,
    loop: asyncio.AbstractEventLoop,
    executor: Executor,
) -> tuple[Callable[[int], None], Callable[[int], Awaitable[None]]]:
    steps = [*middleware, jt.step]

    def call_sync(i: int) -> None:
        st = steps[i]
        if st.is_async:
            asyncio.run_coroutine_threadsafe(call_async(i), loop).result()
            return
        if i == len(steps) - 1:
            res = st.fn(ctx, job) if st.with_ctx else st.fn(job)
        else:
            def nxt() -> None:
                call_sync(i + 1)
            res = st.fn(ctx, job, nxt) if st.with_ctx else st.fn(job, nxt)
        _raise_returned(res)

    async def call_async(i: int) -> None:
        st = steps[i]
        if not st.is_async:
            await loop.run_in_executor(executor, call_sync, i)
            return
        if i == len(steps) - 1:
            res = await (st.fn(ctx, job) if st.with_ctx else st.fn(job))
        else:
            async def anxt() -> None:
                await call_async(i + 1)
            res = await (st.fn(ctx, job, anxt) if st.with_ctx else st.fn(job, anxt))
        _raise_returned(res)

    return call_sync, call_async


def _raise_returned(res: object) -> None:
    if isinstance(res, BaseException):
        raise res
    if inspect.isawaitable(res):
        raise TypeError("a sync handler returned an awaitable: declare it with 'async def'")


class PoolError(Exception):
    """A failure the pool itself gives a job (not its handler's): its ``err`` is the
    message alone, as Go's pools write theirs (e.g. ``stray job: no handler``)."""


def error_text(exc: BaseException) -> str:
    """The text stored as the job's ``err``: the exception's type and message, as
    ``ZeroDivisionError: division by zero`` (Go stores ``err.Error()``, a bare string; a
    Python message alone hides the type, and ``KeyError``'s repr adds quotes). The pool's
    own failures (timeouts, stray jobs) keep their plain message."""
    if isinstance(exc, (JobTimeout, PoolError)):
        return str(exc)
    name = type(exc).__name__
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = str(exc.args[0])  # str(KeyError) is the repr of its key: quotes added
    else:
        text = str(exc)
    return f"{name}: {text}" if text else name


def log_failure(job: Job, err: BaseException, fate: int, delay: int = 0) -> None:
    """Log a handler's failure with its traceback through ``gowork_compat.pool``: a
    warning when the job is retried, an error when it goes dead (or is dropped)."""
    tb = None if isinstance(err, (JobTimeout, PoolError)) else (type(err), err, err.__traceback__)
    if fate == Fate.RETRY:
        log.warning("job %s (%s) failed (try %d), retried in %d s: %s", job.id, job.name, job.fails, delay,
                    error_text(err), exc_info=tb)
    else:
        what = "moved to the dead set" if fate == Fate.DEAD else "dropped (skip_dead)"
        log.error("job %s (%s) failed (try %d), %s: %s", job.id, job.name, job.fails, what, error_text(err),
                  exc_info=tb)


class Fate:
    """What happens to a finished job: acknowledged only, retried, dead, or dropped."""

    DONE = 0
    RETRY = 1
    DEAD = 2


def decide_fate(jt: JobType | None, job: Job) -> int:
    """After a failure was recorded on ``job``: Go's jobFate."""
    if jt is not None:
        if jt.options.max_fails - job.fails > 0:
            return Fate.RETRY
        if jt.options.skip_dead:
            return Fate.DONE
    return Fate.DEAD


AsyncHandler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class JobOutcome:
    """What a worker would do with a job after one run (see ``WorkerPool.run_job``).

    ``fate``: ``"done"`` (succeeded), ``"retry"`` (failed; retried in ``retry_in``
    seconds), ``"dead"`` (failed; moved to the dead set) or ``"dropped"`` (failed with
    ``skip_dead``); ``err``: the text a worker stores in the job's ``err`` ("" on success);
    ``exception``: what the chain raised (None on success); ``job``: the job after the
    run, with its ``fails``, ``last_err`` and ``failed_at`` updated as a worker would.
    """

    fate: str
    err: str
    retry_in: int | None
    exception: BaseException | None
    job: Job

    @property
    def ok(self) -> bool:
        """True when the handler succeeded."""
        return self.fate == "done"


def outcome_of(jt: JobType, job: Job, err: BaseException | None) -> JobOutcome:
    """The outcome a worker records for ``job`` after a run that raised ``err`` (or not)."""
    if err is None:
        return JobOutcome("done", "", None, None, job)
    job.failed(error_text(err), int(time.time()))
    fate = decide_fate(jt, job)
    if fate == Fate.RETRY:
        return JobOutcome("retry", job.last_err, jt.backoff_seconds(job), err, job)
    return JobOutcome("dead" if fate == Fate.DEAD else "dropped", job.last_err, None, err, job)


# --------------------------------------------------------------------------- the runner

class Threads:
    """Long-lived worker threads for chains that start with a plain function."""

    def __init__(self, runner: Runner, count: int) -> None:
        self.runner = runner
        self.count = count
        self.inbox: queue.SimpleQueue[tuple[Running, JobType, Any] | None] = queue.SimpleQueue()
        self.done: collections.deque[tuple[Running, JobType, BaseException | None]] = collections.deque()
        self.notify_pending = False
        self.lock = threading.Lock()
        self.serial = 0
        self.threads = [self.spawn() for _ in range(count)]

    def spawn(self) -> threading.Thread:
        self.serial += 1
        t = threading.Thread(target=self.work, name=f"gowork-job-{self.serial}", daemon=True)
        t.start()
        return t

    def submit(self, run: Running, jt: JobType, ctx: Any) -> None:
        self.inbox.put((run, jt, ctx))

    def work(self) -> None:
        r = self.runner
        loop = r.loop
        while True:
            item = self.inbox.get()
            if item is None:
                return
            run, jt, ctx = item
            err: BaseException | None = None
            try:
                run_chain_in_thread(run.job, ctx, r.middleware, jt, loop, r.executor)
            except BaseException as exc:  # a handler's failure, whatever it raised
                err = exc
            with self.lock:
                if run.abandoned:
                    return  # timed out: a fresh thread took this one's place, its result is dropped
                run.completed = True
                self.done.append((run, jt, err))
                if self.notify_pending:
                    continue
                self.notify_pending = True
            try:
                loop.call_soon_threadsafe(self.collect)
            except RuntimeError:  # loop closed: the pool stopped without waiting for us
                return

    def abandon(self, run: Running) -> bool:
        """On the loop, when ``run`` timed out: True when its thread is given up (and a
        fresh one started); False when its result is already on the way."""
        with self.lock:
            if run.completed:
                return False
            run.abandoned = True
        self.threads = [t for t in self.threads if t.is_alive()]
        self.threads.append(self.spawn())
        return True

    def collect(self) -> None:
        with self.lock:
            items = list(self.done)
            self.done.clear()
            self.notify_pending = False
        finish = self.runner.finish
        for run, jt, err in items:
            try:
                finish(run, jt, err)
            except Exception:  # never strand the others of the batch
                log.exception("could not record the outcome of job %s", run.job.id)

    def close(self, timeout: float) -> None:
        """Ask every thread to end once idle; wait up to ``timeout`` seconds for them."""
        for _ in range(self.count):
            self.inbox.put(None)
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        busy = sum(t.is_alive() for t in self.threads)
        if busy:
            log.warning("%d worker threads still busy after stop (handlers that do not return); left behind", busy)


class Runner:
    """Worker slots, running jobs and their outcomes, for one engine."""

    def __init__(self, engine: Engine) -> None:
        p = engine.p
        self.engine = engine
        self.loop = engine.loop
        self.loop_thread = threading.get_ident()
        self.observer = engine.observer
        self.middleware: list[_Step] = p._middleware
        self.job_types = p.job_types
        self.context_factory = p.context_factory
        self.contracts = getattr(p, "contracts", None)
        self.free_workers = list(p.worker_ids)
        self.running: dict[str, Running] = {}  # worker id -> running job
        self.job_tasks: dict[asyncio.Task[None], Running] = {}
        self.executor = ThreadPoolExecutor(max_workers=p.concurrency, thread_name_prefix="gowork-job")
        self.threads = Threads(self, p.concurrency)
        #: effective timeout by job name (only names that have one)
        self.timeouts: dict[str, float] = {}
        for name, jt in p.job_types.items():
            t = jt.options.timeout if jt.options.timeout is not None else p.job_timeout
            if t:
                self.timeouts[name] = t
        if p._job_hooks:  # metrics, job logs: only then is anything added per job
            from ..jobhooks import install

            install(self, p, p._job_hooks)

    def begin(self, run: Running) -> Any:
        """Observation and check-in wiring before a job runs; returns its context object."""
        job, wid = run.job, run.worker_id
        e = self.engine
        if self.observer.started(wid, job, int(time.time())):
            e.observer_event.set()
        loop = self.loop

        def checkin(message: str, _wid: str = wid, _jid: str = job.id) -> None:
            def note() -> None:
                if self.observer.checkin(_wid, _jid, message, int(time.time())):
                    e.observer_event.set()
            if threading.get_ident() == self.loop_thread:
                note()
            else:
                loop.call_soon_threadsafe(note)

        job._checkin = checkin
        return self.context_factory() if self.context_factory is not None else None

    def launch(self, run: Running) -> None:
        jt = self.job_types.get(run.job.name)
        if jt is None:
            self.finish(run, None, PoolError("stray job: no handler"))
            return
        if self.contracts is not None:
            try:
                self.contracts.check(run.job.name, run.job.args)
            except ContractViolation as exc:  # never started: dead at once, whatever max_fails says
                self.finish(run, None, exc)
                return
        timeout = self.timeouts.get(jt.name) if self.timeouts else None
        if starts_sync(self.middleware, jt):
            try:
                ctx = self.begin(run)
            except Exception as exc:  # the context factory failed: the job fails
                self.finish(run, jt, exc)
                return
            self.threads.submit(run, jt, ctx)
            if timeout:
                run.timer = self.loop.call_later(timeout, self.thread_timed_out, run, jt, timeout)
            return
        t = self.loop.create_task(self.execute_async(run, jt, timeout))
        self.job_tasks[t] = run
        t.add_done_callback(self.forget_task)

    def forget_task(self, t: asyncio.Task[None]) -> None:
        self.job_tasks.pop(t, None)

    def thread_timed_out(self, run: Running, jt: JobType, timeout: float) -> None:
        run.timer = None
        if run.finished or not self.threads.abandon(run):
            return
        log.warning("job %s (%s) timed out after %g s; its thread is left to finish on its own and a fresh "
                    "thread takes its slot", run.job.id, run.job.name, timeout)
        self.finish(run, jt, JobTimeout(timeout))

    def async_timed_out(self, run: Running, task: asyncio.Task[None]) -> None:
        run.timer = None
        if not run.finished:
            run.abandoned = True
            task.cancel()

    async def execute_async(self, run: Running, jt: JobType, timeout: float | None) -> None:
        err: BaseException | None = None
        try:
            if timeout:
                task = asyncio.current_task()
                assert task is not None
                run.timer = self.loop.call_later(timeout, self.async_timed_out, run, task)
            ctx = self.begin(run)
            await run_chain(run.job, ctx, self.middleware, jt, self.loop, self.executor)
        except asyncio.CancelledError:
            if not run.abandoned:
                raise  # the pool is stopping: the job stays in the in-progress list for a reaper
            uncancel = getattr(asyncio.current_task(), "uncancel", None)
            if uncancel is not None:
                uncancel()
        except BaseException as exc:  # a handler's failure, whatever it raised
            err = exc
        if run.abandoned and timeout:  # also when the handler swallowed the cancellation
            err = JobTimeout(timeout)
        self.finish(run, jt, err)

    def finish(self, run: Running, jt: JobType | None, err: BaseException | None) -> None:
        """On the loop: record the outcome, queue the acknowledgement, free the worker."""
        if run.finished:
            return
        run.finished = True
        if run.timer is not None:
            run.timer.cancel()
            run.timer = None
        job, wid = run.job, run.worker_id
        e = self.engine
        if jt is not None and self.observer.done(wid):
            e.observer_event.set()
        raw = job.raw or b""
        if err is None:
            ack = Ack(run.group, raw, Fate.DONE)
        else:
            try:
                ack = failure_ack(run, jt, err)
            except Exception as exc:  # e.g. args the handler changed into something JSON cannot hold
                ack = unwritable_ack(run, err, exc)
        del self.running[wid]
        self.free_workers.append(wid)
        e.acks.append(ack)
        e.st.wake.set()

    async def cancel_all(self, timeout: float) -> None:
        """Cancel the async jobs still running (the pool is stopping): they stay in the
        in-progress list for a reaper."""
        tasks = list(self.job_tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    def close(self, timeout: float) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.threads.close(timeout)


def failure_ack(run: Running, jt: JobType | None, err: BaseException) -> Ack:
    job = run.job
    raw = job.raw or b""
    now = int(time.time())
    job.failed(error_text(err), now)
    fate = Fate.DEAD if isinstance(err, ContractViolation) else decide_fate(jt, job)
    if fate == Fate.RETRY:
        assert jt is not None
        try:
            delay = jt.backoff_seconds(job)
        except Exception:
            log.exception("backoff of job %s failed; using the default", job.name)
            delay = default_backoff(job)
        member = job.encode()
        log_failure(job, err, fate, delay)
        return Ack(run.group, raw, fate, now + delay, member)
    if fate == Fate.DEAD:
        member = job.encode()
        log_failure(job, err, fate)
        return Ack(run.group, raw, fate, now, member)
    log_failure(job, err, fate)
    return Ack(run.group, raw, Fate.DONE)


def unwritable_ack(run: Running, err: BaseException, problem: Exception) -> Ack:
    """The job failed and cannot be written back as it is now: dead, with the reason; its
    args as fetched when they can be written, else the payload's bytes (as a burial)."""
    job = run.job
    raw = job.raw or b""
    now = int(time.time())
    reason = f"{error_text(err)}; the job could not be written back ({describe(problem)})"
    log.error("job %s (%s) failed and could not be written back (%s): moved to the dead set: %s",
              job.id, job.name, describe(problem), error_text(err),
              exc_info=(type(err), err, err.__traceback__))
    try:
        dead = Job.decode(raw)
        dead.fails = max(job.fails, 1)
        dead.last_err = reason
        dead.failed_at = now
        member = dead.encode()
    except Exception:  # not even the payload as fetched can be written back: a burial
        member = buried_job(raw, job.name, burial_reason(job.in_progress_queue or job.dequeued_from, reason),
                            now).encode()
    return Ack(run.group, raw, Fate.DEAD, now, member)
