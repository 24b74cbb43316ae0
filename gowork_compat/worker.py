"""Running one job: job options, the middleware chain, and the job's fate afterwards.

The code lives in :mod:`gowork_compat.pool.runner`; this module keeps its names
importable from here.
"""

from __future__ import annotations

from .pool.runner import (
    MAX_PRIORITY,
    AsyncHandler,
    Backoff,
    Fate,
    Handler,
    JobOptions,
    JobTimeout,
    JobType,
    Middleware,
    _chain,
    _is_async,
    _raise_returned,
    _Step,
    _wants_context,
    decide_fate,
    default_backoff,
    error_text,
    middleware_step,
    run_chain,
    run_chain_in_thread,
    starts_sync,
)

__all__ = [
    "Backoff",
    "Fate",
    "JobOptions",
    "JobTimeout",
    "JobType",
    "default_backoff",
    "run_chain",
]

_reexported = (MAX_PRIORITY, AsyncHandler, Handler, Middleware, _chain, _is_async, _raise_returned, _Step,
               _wants_context, decide_fate, error_text, middleware_step, run_chain_in_thread, starts_sync)
