"""Running one job: job options, the middleware chain, and the job's fate afterwards.

Handlers and middleware may be ``def`` or ``async def``; a chain may mix them. Sync
parts run in the pool's thread pool, async parts on its event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from .job import Job

__all__ = [
    "Backoff",
    "Fate",
    "JobOptions",
    "JobType",
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
    """

    priority: int = 1
    max_fails: int = 4
    skip_dead: bool = False
    max_concurrency: int = 0
    backoff: Backoff | None = None

    def validated(self) -> JobOptions:
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
        return JobOptions(prio, fails, bool(self.skip_dead), self.max_concurrency, self.backoff)


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


def error_text(exc: BaseException) -> str:
    """The text stored as the job's ``err`` (Go stores ``err.Error()``)."""
    text = str(exc)
    return text if text else type(exc).__name__


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
