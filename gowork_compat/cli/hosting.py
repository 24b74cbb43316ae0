"""Hosting a Python WorkerPool for ``gowork worker``: import it from the user's code, run it
until SIGTERM/SIGINT (:meth:`WorkerPool.aserve`), stop it gracefully. Only public pool API:
``aserve``, ``redis`` (for the "cannot reach Redis" message) and the ``concurrency`` setter.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from redis import exceptions as rex

from ..pool import WorkerPool
from .connection import _Ctx, check_url, redact
from .errors import EXIT_RUNTIME, PROG, CLIError, _usage_error
from .ops import prepare_worker
from .render import _say

__all__ = ["cmd_worker", "configure_logging", "load_pool"]


def load_pool(target: str, app_dir: str = ".") -> WorkerPool:
    """The WorkerPool at ``module:attr`` (a pool, or a zero-argument callable returning one)."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise _usage_error(f"worker target {target!r} must be MODULE:ATTR, e.g. myapp.jobs:pool")
    path = str(Path(app_dir).resolve())
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            raise _usage_error(f"cannot import {module_name!r}: no module named {missing!r} "
                               f"(searched {path} and sys.path; see --app-dir)") from exc
        raise CLIError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:
        raise CLIError(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise _usage_error(f"{module_name!r} has no attribute {attr_path!r}") from None
    if isinstance(obj, WorkerPool):
        return obj
    if callable(obj):
        try:
            made = obj()
        except Exception as exc:
            raise CLIError(f"{target}() failed: {type(exc).__name__}: {exc}") from exc
        if isinstance(made, WorkerPool):
            return made
        raise _usage_error(f"{target}() returned {type(made).__name__}, not a WorkerPool")
    raise _usage_error(f"{target} is a {type(obj).__name__}, neither a WorkerPool nor a function returning one")


async def _serve_pool(pool: WorkerPool) -> None:
    started: list[bool] = []

    def on_signal(name: str, count: int) -> None:
        # aserve has already acted (stop requested, or the grace period ended); telling may
        # fail (stderr's reader gone) and must not matter.
        if count == 1:
            _say(f"{PROG}: {name}: stopping; running jobs get up to {pool.grace_period:g} s to finish "
                 "(send it again to exit now)", sys.stderr)
        else:
            _say(f"{PROG}: {name} again: exiting now; jobs still running are left for a reaper", sys.stderr)
            os._exit(EXIT_RUNTIME)

    def on_started() -> None:
        started.append(True)
        names = ", ".join(sorted(pool.job_types)) or "(no job registered)"
        _say(f"{PROG}: worker pool {pool.pool_id} started: namespace {pool.namespace!r}, "
             f"concurrency {pool.concurrency}, jobs: {names}")

    try:
        await pool.aserve((signal.SIGTERM, signal.SIGINT), on_started=on_started, on_signal=on_signal)
    except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
        if started:
            raise CLIError(f"worker pool {pool.pool_id} stopped by itself: {exc}") from exc
        where = pool.redis if isinstance(pool.redis, str) else "the pool's Redis"
        raise CLIError(f"cannot reach Redis at {redact(where)}: {exc}") from exc
    _say(f"{PROG}: worker pool {pool.pool_id} stopped")


#: the library's loggers (``gowork_compat.pool``, ``gowork_compat.periodic``, ...)
LIBRARY_LOGGER = "gowork_compat"


def configure_logging(level: str, all_level: str | None = None) -> None:
    """``--log-level`` sets the library's loggers only; every other logger (asyncio's,
    redis-py's, the application's) logs at ``--log-level-all`` (default info), so debug
    lines of asyncio and redis-py stay out unless asked for. One stderr handler on the root."""
    logging.basicConfig(level=(all_level or "info").upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lib = logging.getLevelName(level.upper())
    if all_level is not None:
        lib = min(lib, logging.getLevelName(all_level.upper()))
    logging.getLogger(LIBRARY_LOGGER).setLevel(lib)


def cmd_worker(ctx: _Ctx) -> int:
    a = ctx.args
    if ctx.url_given:
        check_url(ctx.url)
    if a.concurrency is not None and a.concurrency < 1:
        raise _usage_error(f"--concurrency must be at least 1, got {a.concurrency}")
    if ctx.url_given:
        os.environ["REDIS_URL"] = ctx.url
    if ctx.namespace is not None:
        os.environ["GOWORK_NAMESPACE"] = ctx.namespace
    if a.concurrency is not None:
        os.environ["GOWORK_CONCURRENCY"] = str(a.concurrency)
    pool = load_pool(a.target, a.app_dir)
    if ctx.namespace_flag and ctx.namespace is not None and pool.namespace != ctx.namespace:
        raise _usage_error(f"{a.target} works on namespace {pool.namespace!r}, not {ctx.namespace!r} (--namespace)")
    if a.concurrency is not None and a.concurrency != pool.concurrency:
        pool.concurrency = a.concurrency
    if a.grace_period is not None:
        pool.grace_period = a.grace_period
    configure_logging(a.log_level, a.log_level_all)
    prepare_worker(pool, a)  # --log-format, --metrics-port
    asyncio.run(_serve_pool(pool))
    return 0
