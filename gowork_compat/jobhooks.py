"""Per-job observers of a :class:`~gowork_compat.pool.WorkerPool`: what Prometheus metrics
(:mod:`gowork_compat.metrics`) and JSON job logs (:mod:`gowork_compat.logfmt`) hang on.

A pool with no hook runs exactly the code it runs without this module: the runner's
``launch`` and ``finish`` are only wrapped (once, at start) when a hook was added with
:func:`add_job_hook`. Hooks run on the pool's event loop; they must be quick and must not
raise (an exception is logged and dropped).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from .job import Job

if TYPE_CHECKING:
    from .pool.api import WorkerPool
    from .pool.common import Running
    from .pool.runner import JobType, Runner

__all__ = ["JobHook", "add_job_hook", "install"]

log = logging.getLogger("gowork_compat.pool")

#: outcomes passed to :meth:`JobHook.finished`
SUCCEEDED, RETRIED, DEAD, DROPPED = "succeeded", "retried", "dead", "dropped"


class JobHook(Protocol):
    def started(self, job: Job, pool_id: str, waited: float | None) -> None:
        """A job starts; ``waited``: seconds since its enqueue time ``t`` (None: unknown)."""

    def finished(self, job: Job, pool_id: str, outcome: str, duration: float, error: BaseException | None) -> None:
        """A job ended: ``outcome`` is succeeded, retried, dead or dropped (failed with
        skip_dead); ``duration`` in seconds."""


def add_job_hook(pool: WorkerPool, hook: JobHook) -> None:
    """Observe every job ``pool`` runs (add before the pool starts)."""
    if pool._started:
        raise RuntimeError("add job hooks before starting the pool")
    pool._job_hooks.append(hook)


def install(runner: Runner, pool: WorkerPool, hooks: list[Any]) -> None:
    """Wrap ``runner.launch`` / ``runner.finish`` to call ``hooks`` (at engine start)."""
    from .pool.runner import Fate

    launch, finish = runner.launch, runner.finish
    engine = runner.engine
    pool_id = pool.pool_id
    starts: dict[Running, float] = {}
    hooks = list(hooks)

    def hooked_launch(run: Running) -> None:
        job = run.job
        now = time.time()
        starts[run] = time.perf_counter()
        waited = now - job.enqueued_at if job.enqueued_at else None
        for h in hooks:
            try:
                h.started(job, pool_id, waited)
            except Exception:
                log.exception("job hook %r failed", h)
        launch(run)

    def hooked_finish(run: Running, jt: JobType | None, err: BaseException | None) -> None:
        if run.finished:
            finish(run, jt, err)
            return
        finish(run, jt, err)
        began = starts.pop(run, None)
        duration = time.perf_counter() - began if began is not None else 0.0
        if err is None:
            outcome = SUCCEEDED
        else:
            pending = engine.acks  # finish() just queued this job's acknowledgement
            fate = pending[-1].fate if pending else Fate.DEAD
            outcome = RETRIED if fate == Fate.RETRY else DEAD if fate == Fate.DEAD else DROPPED
        for h in hooks:
            try:
                h.finished(run.job, pool_id, outcome, duration, err)
            except Exception:
                log.exception("job hook %r failed", h)

    runner.launch = hooked_launch  # type: ignore[method-assign]
    runner.finish = hooked_finish  # type: ignore[method-assign]
