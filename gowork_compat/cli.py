"""The ``gowork`` command: run Python worker pools, enqueue jobs and operate a
gocraft/work namespace shared with Go.

    gowork -n my-app enqueue send_email --args '{"to": "ada@example.com"}'
    gowork -n my-app inspect
    gowork worker myapp.jobs:pool

The connection comes from ``--redis`` (or ``REDIS_URL``), the namespace from
``--namespace``/``-n`` (or ``GOWORK_NAMESPACE``). Errors are one line on stderr,
``gowork: error: ...``; exit status 2 for bad usage or input, 1 for runtime and Redis
problems, 3 for a unique job refused as a duplicate. ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import ipaddress
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import redis
from redis import exceptions as rex

from . import __version__, gojson
from .client import Client, DeadJob, JobNotFound, RetryJob, ScheduledJob, UnknownJobName, job_json
from .enqueuer import Enqueuer
from .job import Job, new_id
from .keys import Keys
from .pool import WorkerPool

__all__ = ["CLIError", "main"]

PROG = "gowork"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
#: jobs per enqueue_many call (one round trip) in ``gowork bulk``
BULK_CHUNK = 1000
#: at most this many bad lines are listed by ``gowork bulk``
MAX_BAD_LINES = 20
#: table cells longer than this are cut (``--wide`` keeps them whole)
CELL_WIDTH = 60

EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_DUPLICATE = 3


class CLIError(Exception):
    """A failure reported as one line, ``gowork: error: <message>``, and exit ``code``."""

    def __init__(self, message: str, code: int = EXIT_RUNTIME) -> None:
        super().__init__(message)
        self.code = code


def _usage_error(message: str) -> CLIError:
    return CLIError(message, EXIT_USAGE)


# -- argument parsing --------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors in the CLI's format."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every subcommand takes, before or after its name (``suppress``: a
    subcommand's copy leaves the value alone unless given there)."""
    default: Any = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("connection")
    g.add_argument("--redis", metavar="URL", default=default,
                   help="redis://[[user]:password@]host[:port][/db], rediss://... (TLS) or "
                        f"unix:///path/to/socket?db=N (default: $REDIS_URL, else {DEFAULT_REDIS_URL})")
    g.add_argument("-n", "--namespace", metavar="NS", default=default,
                   help="the gocraft/work namespace, as the Go side's work.NewEnqueuer/NewWorkerPool "
                        "(default: $GOWORK_NAMESPACE)")
    g.add_argument("--debug", action="store_true", default=default,
                   help="show Python tracebacks instead of one-line errors")


def _sub(subs: Any, name: str, help_text: str, description: str, examples: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subs.add_parser(
        name, help=help_text, description=description, epilog="examples:\n" + examples,
        formatter_class=_Formatter, allow_abbrev=False)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG, formatter_class=_Formatter, allow_abbrev=False,
        description="Run Python worker pools and operate a gocraft/work namespace shared with Go workers.",
        epilog="""examples:
  export REDIS_URL=redis://localhost:6379/0 GOWORK_NAMESPACE=my-app
  gowork enqueue send_email --args '{"to": "ada@example.com"}'
  gowork bulk jobs.jsonl
  gowork inspect
  gowork worker myapp.jobs:pool --concurrency 20
  gowork dead retry --all
  gowork webui

exit status: 0 ok, 1 runtime or Redis error, 2 bad usage or input, 3 unique job not enqueued.
Run 'gowork COMMAND --help' for the options of a command.""",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__} (gowork-compat)")
    _global_options(parser, suppress=False)
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    # worker
    p = _sub(subs, "worker", "run a Python WorkerPool from your code",
             "Import MODULE and run its WorkerPool ATTR until SIGTERM or SIGINT.\n\n"
             "ATTR is a WorkerPool, or a function taking no argument that returns one. On the first\n"
             "signal the pool stops fetching and lets running jobs finish (up to the grace period;\n"
             "jobs still running are left for a reaper, Go's or ours); a second signal exits at once.\n"
             "The module is imported with the current directory (or --app-dir) on sys.path and, when\n"
             "--redis, --namespace or --concurrency are given, sees them as $REDIS_URL,\n"
             "$GOWORK_NAMESPACE and $GOWORK_CONCURRENCY.",
             """  gowork worker myapp.jobs:pool
  gowork worker myapp.jobs:make_pool --concurrency 50
  gowork --redis redis://cache:6379/2 worker --app-dir src myapp.jobs:pool""")
    p.add_argument("target", metavar="MODULE:ATTR", help="where the pool is, e.g. myapp.jobs:pool")
    p.add_argument("--concurrency", "-c", type=int, metavar="N", help="run N workers instead of the pool's own number")
    p.add_argument("--app-dir", default=".", metavar="DIR",
                   help="directory put first on sys.path before importing (default: the current one)")
    p.add_argument("--grace-period", type=float, metavar="SECONDS",
                   help="on stop, wait this long for running jobs (default: the pool's, 30 s)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                   help="logging level of the library's messages (default: info)")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_worker)

    # enqueue
    p = _sub(subs, "enqueue", "enqueue one job",
             "Enqueue one job, as Go's Enqueuer would, and print it as JSON.\n\n"
             "With --unique (or --unique-key) a job is not enqueued while one of the same name and args\n"
             "(or key) waits: then 'duplicate: not enqueued' goes to stderr and the exit status is 3.",
             """  gowork enqueue send_email --args '{"to": "ada@example.com", "n": 1}'
  gowork enqueue report --in 300
  gowork enqueue sync_crm --args '{"account": 42}' --unique
  gowork enqueue sync_crm --args '{"account": 42, "v": 2}' --unique-key '{"account": 42}'""")
    p.add_argument("name", metavar="NAME", help="the job name")
    p.add_argument("--args", metavar="JSON", help="the job's args, a JSON object (default: none, null)")
    p.add_argument("--in", dest="in_seconds", type=float, metavar="SECONDS",
                   help="schedule the job this many seconds from now (Go: EnqueueIn)")
    p.add_argument("--unique", action="store_true", help="EnqueueUnique: refuse a duplicate of a waiting job")
    p.add_argument("--unique-key", metavar="JSON",
                   help="unique on this JSON object instead of the args (upstream master's EnqueueUniqueByKey)")
    p.add_argument("--dialect", choices=["v0.5.1", "master"], default="v0.5.1",
                   help="which gocraft/work release the job bytes follow (default: v0.5.1)")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_enqueue)

    # bulk
    p = _sub(subs, "bulk", "enqueue many jobs from a JSON-lines file",
             "Enqueue the jobs of FILE (or stdin for '-'): one JSON object per line,\n"
             '{"name": "...", "args": {...}}; blank lines are skipped. Every line is checked first:\n'
             "if any is bad, the bad lines are listed with their numbers and nothing is enqueued\n"
             "(exit status 2). Then the jobs go out in chunks, one round trip each.",
             """  gowork bulk jobs.jsonl
  generate_jobs | gowork bulk - --progress
  printf '{"name":"resize","args":{"id":1}}\\n' | gowork bulk -""")
    p.add_argument("file", metavar="FILE", help="a JSON-lines file, or - for stdin")
    p.add_argument("--chunk-size", type=int, default=BULK_CHUNK, metavar="N",
                   help=f"jobs per round trip (default: {BULK_CHUNK})")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="show progress on stderr even when it is not a terminal")
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.add_argument("--dialect", choices=["v0.5.1", "master"], default="v0.5.1",
                   help="which gocraft/work release the job bytes follow (default: v0.5.1)")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_bulk)

    # inspect
    p = _sub(subs, "inspect", "show queues, pools, busy workers, retry/scheduled/dead jobs",
             "Show what the Go web UI shows: queues (waiting jobs, latency of the oldest, paused),\n"
             "worker pools (Go's and Python's) with their heartbeats, busy workers, and a page of the\n"
             "retry, scheduled and dead jobs. --json prints the objects of workwebui's JSON API.",
             """  gowork inspect
  gowork inspect queues
  gowork inspect dead --page 2
  gowork inspect retry --json | jq '.jobs[].id'""")
    p.add_argument("view", nargs="?", default="all", metavar="VIEW",
                   choices=["queues", "pools", "busy", "retry", "scheduled", "dead", "all"],
                   help="queues, pools, busy, retry, scheduled, dead or all (default: all)")
    p.add_argument("--page", type=int, default=1, metavar="N",
                   help="page of the retry/scheduled/dead lists (20 a page)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--wide", action="store_true", help=f"do not cut table cells at {CELL_WIDTH} characters")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_inspect)

    # dead
    p = _sub(subs, "dead", "retry or delete dead jobs",
             "Retry (put back on its queue) or delete dead jobs: one by id, or all of them.\n"
             "Without --died-at the job is looked up by id in the dead set.",
             """  gowork inspect dead
  gowork dead retry 8e4f1a2b3c4d5e6f7a8b9c0d
  gowork dead retry 8e4f1a2b3c4d5e6f7a8b9c0d --died-at 1732665600
  gowork dead delete --all""")
    _global_options(p, suppress=True)
    dsubs = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    dsubs.required = True
    for action, verb in (("retry", "put back on its queue"), ("delete", "delete")):
        d = _sub(dsubs, action, f"{action} one dead job, or all of them",
                 f"{action.capitalize()} a dead job ({verb}), or every dead job with --all.",
                 f"""  gowork dead {action} JOB_ID
  gowork dead {action} JOB_ID --died-at 1732665600
  gowork dead {action} --all""")
        d.add_argument("job_id", nargs="?", metavar="ID", help="the job id (see 'gowork inspect dead')")
        d.add_argument("--died-at", type=int, metavar="T", help="when it died (epoch seconds, the dead-set score)")
        d.add_argument("--all", action="store_true", help=f"{action} every dead job")
        _global_options(d, suppress=True)
        d.set_defaults(func=cmd_dead)

    # pause / unpause
    for name, what in (("pause", "stop every pool, Go's or Python's, from starting jobs of NAME"),
                       ("unpause", "let pools start jobs of NAME again")):
        p = _sub(subs, name, what, f"{what[0].upper()}{what[1:]} (the key <ns>:jobs:NAME:paused).",
                 f"  gowork {name} send_email")
        p.add_argument("name", metavar="NAME", help="the job name")
        _global_options(p, suppress=True)
        p.set_defaults(func=cmd_pause if name == "pause" else cmd_unpause)

    # webui
    p = _sub(subs, "webui", "serve the web UI and workwebui's JSON API",
             "Serve the web UI and upstream workwebui's JSON API for the namespace.\n"
             "Binds 127.0.0.1 unless --host says otherwise; warns when exposed without --basic-auth.",
             """  gowork webui
  gowork webui --port 8080 --basic-auth admin:s3cret
  GOWORK_WEBUI_AUTH=admin:s3cret gowork webui --host 0.0.0.0""")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=5040, help="port (default: 5040)")
    p.add_argument("--basic-auth", metavar="USER:PASS",
                   help="require HTTP basic auth with these credentials (default: $GOWORK_WEBUI_AUTH)")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_webui)

    # demo
    p = _sub(subs, "demo", "run the Go/Python demo on a throwaway redis-server",
             "Start a throwaway redis-server, a Go pool (the harness built from go-harness/) and a\n"
             "Python pool, and show them running each other's jobs. Needs redis-server and the harness.",
             """  gowork demo
  gowork demo --harness go-harness/gowork-harness""")
    p.add_argument("--harness", default=None, metavar="PATH",
                   help="the built Go harness (default: $GOWORK_HARNESS, else go-harness/gowork-harness)")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_demo)
    return parser


# -- connection ----------------------------------------------------------------------------
@dataclass
class _Ctx:
    """What a subcommand gets: its arguments and the resolved connection settings."""

    args: argparse.Namespace
    url: str
    url_given: bool
    namespace: str | None
    namespace_flag: bool

    def need_namespace(self) -> str:
        if self.namespace is None:
            raise _usage_error("no namespace: pass --namespace/-n NS or set GOWORK_NAMESPACE")
        return self.namespace

    def redis(self) -> redis.Redis:
        return connect(self.url)

    def client(self) -> Client:
        return Client(self.redis(), self.need_namespace())


#: the URL of the connection in use, for the "cannot reach Redis" message
_current_url: list[str] = []


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return url


def check_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise _usage_error(f"unsupported Redis URL {redact(url)!r}: use redis://, rediss:// (TLS) or unix://")


def connect(url: str) -> redis.Redis:
    """A client for ``url`` that gives up connecting after 5 s."""
    check_url(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5.0, socket_timeout=60.0)
    except ValueError as exc:
        raise _usage_error(f"bad Redis URL {redact(url)!r}: {exc}") from exc
    _current_url[:] = [url]
    return client


# -- output helpers ----------------------------------------------------------------------
def _out(text: str = "") -> None:
    print(text, flush=True)


def _note(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cut(text: str, wide: bool) -> str:
    text = text.replace("\n", "\\n")
    if wide or len(text) <= CELL_WIDTH:
        return text
    return text[:CELL_WIDTH - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Iterable[int] = ()) -> str:
    """Aligned columns, two spaces apart; columns in ``right`` are right-aligned."""
    if not rows:
        return "(none)"
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    right_set = set(right)
    lines = []
    for r in cells:
        parts = [c.rjust(widths[i]) if i in right_set else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _age(t: int, now: int) -> str:
    """``t`` relative to ``now``: '5s ago', 'in 2m', ..."""
    if t <= 0:
        return "-"
    d = now - t
    future = d < 0
    d = abs(d)
    if d < 60:
        s = f"{d}s"
    elif d < 3600:
        s = f"{d // 60}m{d % 60:02d}s"
    elif d < 86400:
        s = f"{d // 3600}h{d % 3600 // 60:02d}m"
    else:
        s = f"{d // 86400}d{d % 86400 // 3600:02d}h"
    return f"in {s}" if future else f"{s} ago"


def _args_text(job: Job) -> str:
    return "null" if job.args is None else _dumps(job.args)


# -- worker ------------------------------------------------------------------------------
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
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[str] = []

    def on_signal(name: str) -> None:
        received.append(name)
        if len(received) == 1:
            _note(f"{name}: stopping; running jobs get up to {pool.grace_period:g} s to finish "
                  "(send it again to exit now)")
            stop.set()
        else:
            _note(f"{name} again: exiting now; jobs still running are left for a reaper")
            os._exit(EXIT_RUNTIME)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig.name)
    try:
        await pool.astart()
    except (rex.ConnectionError, rex.TimeoutError, OSError) as exc:
        where = pool._redis_arg if isinstance(pool._redis_arg, str) else "the pool's Redis"
        raise CLIError(f"cannot reach Redis at {redact(where)}: {exc}") from exc
    names = ", ".join(sorted(pool.job_types)) or "(no job registered)"
    _out(f"{PROG}: worker pool {pool.pool_id} started: namespace {pool.namespace!r}, "
         f"concurrency {pool.concurrency}, jobs: {names}")
    # the pool's own task ends by itself only on an internal failure
    engine: asyncio.Task[None] | None = getattr(pool, "_task", None)
    waiter = asyncio.ensure_future(stop.wait())
    watched: set[asyncio.Future[Any]] = {waiter}
    if engine is not None:
        watched.add(engine)
    await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    if engine is not None and engine.done() and not stop.is_set():
        waiter.cancel()
        engine.result()
        raise CLIError(f"worker pool {pool.pool_id} stopped by itself")
    waiter.cancel()
    await pool.astop()
    _out(f"{PROG}: worker pool {pool.pool_id} stopped")


def cmd_worker(ctx: _Ctx) -> int:
    a = ctx.args
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
        pool.worker_ids = sorted(new_id() for _ in range(a.concurrency))
    if a.grace_period is not None:
        pool.grace_period = a.grace_period
    logging.basicConfig(level=a.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve_pool(pool))
    return 0


# -- enqueue -------------------------------------------------------------------------------
def _json_object(text: str, what: str) -> dict[str, Any] | None:
    try:
        value = gojson.loads(text)
    except gojson.GoJSONError as exc:
        raise _usage_error(f"{what} is not valid JSON: {_json_problem(exc)}") from exc
    if value is not None and not isinstance(value, dict):
        raise _usage_error(f"{what} must be a JSON object, not {_json_kind(value)}")
    return value


def _json_problem(exc: Exception) -> str:
    text = str(exc)
    return text[len("invalid JSON: "):] if text.startswith("invalid JSON: ") else text


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return "an object"


def _job_out(job: Job, run_at: int | None = None) -> dict[str, Any]:
    body = job_json(job)
    return body if run_at is None else {"run_at": run_at, **body}


def cmd_enqueue(ctx: _Ctx) -> int:
    a = ctx.args
    ns = ctx.need_namespace()
    if not a.name:
        raise _usage_error("the job name must not be empty")
    args = _json_object(a.args, "--args") if a.args is not None else None
    key = None
    if a.unique_key is not None:
        key = _json_object(a.unique_key, "--unique-key")
        if key is None:
            raise _usage_error("--unique-key must be a JSON object, not null")
    enq = Enqueuer(ctx.redis(), ns, dialect=a.dialect)
    try:
        result: Job | None
        run_at: int | None = None
        if key is not None:
            if a.in_seconds is not None:
                sj = enq.enqueue_unique_in_by_key(a.name, a.in_seconds, args, key)
                result, run_at = (sj.job, sj.run_at) if sj else (None, None)
            else:
                result = enq.enqueue_unique_by_key(a.name, args, key)
        elif a.unique:
            if a.in_seconds is not None:
                sj = enq.enqueue_unique_in(a.name, a.in_seconds, args)
                result, run_at = (sj.job, sj.run_at) if sj else (None, None)
            else:
                result = enq.enqueue_unique(a.name, args)
        elif a.in_seconds is not None:
            sj = enq.enqueue_in(a.name, a.in_seconds, args)
            result, run_at = sj.job, sj.run_at
        else:
            result = enq.enqueue(a.name, args)
    except (gojson.GoJSONError, TypeError) as exc:
        raise _usage_error(f"cannot enqueue {a.name!r}: {exc}") from exc
    finally:
        enq.close()
    if result is None:
        _note("duplicate: not enqueued (a job with the same name and "
              f"{'key' if key is not None else 'args'} is waiting)")
        return EXIT_DUPLICATE
    _out(_dumps(_job_out(result, run_at)))
    return 0


# -- bulk ----------------------------------------------------------------------------------
_BULK_KEYS = frozenset({"name", "args"})


def parse_bulk_line(raw: bytes) -> tuple[str, dict[str, Any] | None]:
    """One line of a bulk file as (name, args); ValueError saying what is wrong."""
    try:
        obj = gojson.loads(raw)
    except gojson.GoJSONError as exc:
        raise ValueError(f"invalid JSON: {_json_problem(exc)}") from None
    if not isinstance(obj, dict):
        raise ValueError(f'expected an object {{"name": ..., "args": {{...}}}}, got {_json_kind(obj)}')
    unknown = sorted(set(obj) - _BULK_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (only \"name\" and \"args\")")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError('"name" must be a non-empty string')
    args = obj.get("args")
    if args is not None and not isinstance(args, dict):
        raise ValueError(f'"args" must be an object or null, not {_json_kind(args)}')
    try:
        gojson.check_args(args)
    except gojson.GoJSONError as exc:
        raise ValueError(str(exc)) from None
    return name, args


class Progress:
    """A one-line progress bar on a stream (plain text and ``\\r``)."""

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and total > 0
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // self.total
        pct = 100 * done // self.total
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {done}/{self.total} jobs")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


def _read_lines(path: str) -> list[bytes]:
    try:
        if path == "-":
            return sys.stdin.buffer.read().splitlines()
        return Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise _usage_error(f"cannot read {path}: {exc.strerror or exc}") from exc


def cmd_bulk(ctx: _Ctx) -> int:
    a = ctx.args
    ns = ctx.need_namespace()
    if a.chunk_size < 1:
        raise _usage_error(f"--chunk-size must be at least 1, got {a.chunk_size}")
    source = "stdin" if a.file == "-" else a.file
    items: list[tuple[str, dict[str, Any] | None]] = []
    bad: list[str] = []
    nbad = 0
    for number, raw in enumerate(_read_lines(a.file), start=1):
        if not raw.strip():
            continue
        try:
            items.append(parse_bulk_line(raw))
        except ValueError as exc:
            nbad += 1
            if len(bad) < MAX_BAD_LINES:
                bad.append(f"{source}:{number}: {exc}")
    if nbad:
        for line in bad:
            print(line, file=sys.stderr)
        if nbad > len(bad):
            print(f"... and {nbad - len(bad)} more bad lines", file=sys.stderr)
        raise _usage_error(f"{nbad} bad line{'s' if nbad != 1 else ''} in {source}; nothing was enqueued")
    if not items:
        _out(f"nothing to enqueue: {source} has no job")
        return 0
    show = a.progress if a.progress is not None else sys.stderr.isatty()
    bar = Progress(len(items), sys.stderr, show)
    started = time.monotonic()
    enq = Enqueuer(ctx.redis(), ns, dialect=a.dialect)
    done = 0
    counts: dict[str, int] = {}
    try:
        for i in range(0, len(items), a.chunk_size):
            chunk = items[i:i + a.chunk_size]
            enq.enqueue_many(chunk)
            done += len(chunk)
            for name, _ in chunk:
                counts[name] = counts.get(name, 0) + 1
            bar.update(done)
    except (rex.RedisError, OSError) as exc:
        bar.close()
        raise CLIError(f"{_redis_problem(exc)} ({done} of {len(items)} jobs were enqueued)") from exc
    finally:
        bar.close()
        enq.close()
    took = time.monotonic() - started
    per_name = ", ".join(f"{n} {c}" for n, c in sorted(counts.items()))
    _out(f"enqueued {done} job{'s' if done != 1 else ''} in {took:.2f} s "
         f"({len(counts)} job name{'s' if len(counts) != 1 else ''}: {per_name})")
    return 0


# -- inspect -----------------------------------------------------------------------------
def _pages(count: int) -> int:
    return max(1, -(-count // 20))


def _paged_title(title: str, count: int, page: int) -> str:
    return f"{title}: {count} (page {page} of {_pages(count)})"


def _zset_rows(jobs: Sequence[RetryJob | ScheduledJob | DeadJob], now: int, wide: bool) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for item in jobs:
        if isinstance(item, RetryJob):
            t = item.retry_at
        elif isinstance(item, DeadJob):
            t = item.died_at
        else:
            t = item.run_at
        j = item.job
        row: list[Any] = [t, _age(t, now), j.name, j.id]
        if not isinstance(item, ScheduledJob):
            row += [j.fails, _cut(j.last_err, wide)]
        row.append(_cut(_args_text(j), wide))
        rows.append(row)
    return rows


def _inspect_text(client: Client, view: str, page: int, wide: bool) -> str:
    now = int(time.time())
    sections: list[str] = []
    if view in ("queues", "all"):
        queues = client.queues()
        paused = {lk.job_name: lk for lk in client.locks([q.job_name for q in queues])} if queues else {}
        rows = [[q.job_name, q.count, f"{q.latency}s", "yes" if paused[q.job_name].paused else "",
                 paused[q.job_name].lock or ""] for q in queues]
        sections.append("Queues:\n" + table(["JOB NAME", "WAITING", "LATENCY", "PAUSED", "RUNNING"], rows,
                                            right=(1, 2, 4)))
    if view in ("pools", "all"):
        beats = client.worker_pool_heartbeats()
        rows = [[hb.worker_pool_id, hb.host, hb.pid, hb.concurrency, _age(hb.started_at, now),
                 _age(hb.heartbeat_at, now), _cut(",".join(hb.job_names or []), wide)] for hb in beats]
        sections.append("Worker pools:\n" + table(
            ["POOL ID", "HOST", "PID", "CONCURRENCY", "STARTED", "HEARTBEAT", "JOBS"], rows, right=(2, 3)))
    if view in ("busy", "all"):
        busy = [ob for ob in client.worker_observations() if ob.is_busy]
        rows = [[ob.worker_id, ob.job_name, ob.job_id, _age(ob.started_at, now), _cut(ob.checkin, wide),
                 _cut(ob.args_json, wide)] for ob in busy]
        sections.append("Busy workers:\n" + table(["WORKER ID", "JOB NAME", "JOB ID", "STARTED", "CHECKIN", "ARGS"],
                                                  rows))
    if view in ("retry", "all"):
        retry, count = client.retry_jobs(page)
        sections.append(_paged_title("Retry jobs", count, page) + "\n" + table(
            ["RETRY AT", "WHEN", "JOB NAME", "JOB ID", "FAILS", "ERROR", "ARGS"], _zset_rows(retry, now, wide),
            right=(4,)))
    if view in ("scheduled", "all"):
        scheduled, count = client.scheduled_jobs(page)
        sections.append(_paged_title("Scheduled jobs", count, page) + "\n" + table(
            ["RUN AT", "WHEN", "JOB NAME", "JOB ID", "ARGS"], _zset_rows(scheduled, now, wide)))
    if view in ("dead", "all"):
        dead, count = client.dead_jobs(page)
        sections.append(_paged_title("Dead jobs", count, page) + "\n" + table(
            ["DIED AT", "WHEN", "JOB NAME", "JOB ID", "FAILS", "ERROR", "ARGS"], _zset_rows(dead, now, wide),
            right=(4,)))
    return "\n\n".join(sections)


def _inspect_json(client: Client, view: str, page: int) -> Any:
    out: dict[str, Any] = {}
    if view in ("queues", "all"):
        out["queues"] = [q.to_json() for q in client.queues()]
    if view in ("pools", "all"):
        out["worker_pools"] = [hb.to_json() for hb in client.worker_pool_heartbeats()]
    if view in ("busy", "all"):
        out["busy_workers"] = [ob.to_json() for ob in client.worker_observations() if ob.is_busy]
    if view in ("retry", "all"):
        retry, count = client.retry_jobs(page)
        out["retry_jobs"] = {"count": count, "jobs": [j.to_json() for j in retry]}
    if view in ("scheduled", "all"):
        scheduled, count = client.scheduled_jobs(page)
        out["scheduled_jobs"] = {"count": count, "jobs": [j.to_json() for j in scheduled]}
    if view in ("dead", "all"):
        dead, count = client.dead_jobs(page)
        out["dead_jobs"] = {"count": count, "jobs": [j.to_json() for j in dead]}
    if view == "all":
        return out
    (only,) = out.values()
    return only


def cmd_inspect(ctx: _Ctx) -> int:
    a = ctx.args
    if a.page < 1:
        raise _usage_error(f"--page must be at least 1, got {a.page}")
    client = ctx.client()
    try:
        if a.json:
            _out(json.dumps(_inspect_json(client, a.view, a.page), ensure_ascii=False, indent=2))
        else:
            _out(_inspect_text(client, a.view, a.page, a.wide))
    finally:
        client.close()
    return 0


# -- dead ----------------------------------------------------------------------------------
def find_dead(r: redis.Redis, namespace: str, job_id: str) -> list[int]:
    """The died-at scores of the dead jobs whose id is ``job_id``."""
    needle = job_id.encode("utf-8")
    found: list[int] = []
    for member, score in r.zscan_iter(Keys(namespace).dead, count=1000):
        if needle not in member:
            continue
        try:
            job = Job.decode(member)
        except ValueError:
            continue
        if job.id == job_id:
            found.append(int(score))
    return sorted(set(found))


def cmd_dead(ctx: _Ctx) -> int:
    a = ctx.args
    action: str = a.action
    if a.all and (a.job_id is not None or a.died_at is not None):
        raise _usage_error(f"'dead {action} --all' takes no job id or --died-at")
    if not a.all and a.job_id is None:
        raise _usage_error(f"'dead {action}' needs a job id, or --all")
    client = ctx.client()
    try:
        if a.all:
            if action == "retry":
                n = client.retry_all_dead_jobs()
                _out(f"requeued {n} dead job{'s' if n != 1 else ''}")
            else:
                n = int(client.redis.zcard(client.planner.keys.dead))
                client.delete_all_dead_jobs()
                _out(f"deleted {n} dead job{'s' if n != 1 else ''}")
            return 0
        job_id: str = a.job_id
        times = [a.died_at] if a.died_at is not None else find_dead(client.redis, client.namespace, job_id)
        if not times:
            raise CLIError(f"no dead job with id {job_id!r} in namespace {client.namespace!r}")
        for t in times:
            try:
                if action == "retry":
                    client.retry_dead_job(t, job_id)
                else:
                    client.delete_dead_job(t, job_id)
            except UnknownJobName as exc:
                raise CLIError(f"dead job {job_id!r} not retried: its job name is not in known_jobs, "
                               "so no pool would run it ({exc})") from exc
            except JobNotFound as exc:
                raise CLIError(f"no dead job with id {job_id!r} and died-at {t} ({exc})") from exc
            _out(f"{'requeued' if action == 'retry' else 'deleted'} dead job {job_id} (died at {t})")
    finally:
        client.close()
    return 0


# -- pause / unpause ---------------------------------------------------------------------------
def _pause(ctx: _Ctx, on: bool) -> int:
    name: str = ctx.args.name
    if not name:
        raise _usage_error("the job name must not be empty")
    client = ctx.client()
    try:
        if on:
            client.pause(name)
        else:
            client.unpause(name)
        known = name in client.known_jobs()
    finally:
        client.close()
    if on:
        _out(f"paused {name}: no pool will start its jobs until 'gowork unpause {name}'")
    else:
        _out(f"unpaused {name}")
    if not known:
        _note(f"note: {name!r} is not (yet) a known job name in namespace {ctx.namespace!r}")
    return 0


def cmd_pause(ctx: _Ctx) -> int:
    return _pause(ctx, True)


def cmd_unpause(ctx: _Ctx) -> int:
    return _pause(ctx, False)


# -- webui ---------------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_basic_auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise _usage_error("basic auth must be USER:PASSWORD with neither empty")
    return user, password


def cmd_webui(ctx: _Ctx) -> int:
    a = ctx.args
    ns = ctx.need_namespace()
    if not 0 <= a.port <= 65535:
        raise _usage_error(f"--port must be 0..65535, got {a.port}")
    auth_text = a.basic_auth if a.basic_auth is not None else os.environ.get("GOWORK_WEBUI_AUTH") or None
    auth = parse_basic_auth(auth_text) if auth_text is not None else None
    check_url(ctx.url)
    try:
        from .webui import create_app, serve
    except ImportError as exc:
        raise CLIError(f"the web UI needs starlette and uvicorn: pip install 'gowork-compat[web]' ({exc})") from exc

    def stopped(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    # A stop signal ends the command with status 0 and no traceback: before uvicorn runs,
    # and after it, as uvicorn shuts down and then raises the signal again for the
    # handler it found (this one).
    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        r = connect(ctx.url)
        try:
            r.ping()
        except (rex.ConnectionError, rex.TimeoutError) as exc:
            _note(f"warning: Redis at {redact(ctx.url)} is not reachable now ({exc}); "
                  "the UI shows errors until it is")
        finally:
            r.close()
        if not _is_loopback(a.host) and auth is None:
            _note(f"warning: serving on {a.host} without --basic-auth: anyone who can reach it can retry and "
                  "delete jobs")
        app = create_app(ctx.url, ns, basic_auth=auth)
        shown = f"[{a.host}]" if ":" in a.host else a.host
        _out(f"{PROG}: web UI for namespace {ns!r} on http://{shown}:{a.port}/ (Redis {redact(ctx.url)})")
        serve(app, a.host, a.port)
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


class _Stopped(BaseException):
    """A stop signal, after uvicorn has shut down."""


# -- demo ----------------------------------------------------------------------------------
def cmd_demo(ctx: _Ctx) -> int:
    from .demo import run_demo

    harness = ctx.args.harness or os.environ.get("GOWORK_HARNESS") or "go-harness/gowork-harness"
    return run_demo(harness)


# -- main ----------------------------------------------------------------------------------
def _context(args: argparse.Namespace) -> _Ctx:
    flag_url: str | None = getattr(args, "redis", None)
    env_url = os.environ.get("REDIS_URL") or None
    url = flag_url or env_url or DEFAULT_REDIS_URL
    flag_ns: str | None = getattr(args, "namespace", None)
    namespace = flag_ns if flag_ns is not None else (os.environ.get("GOWORK_NAMESPACE") or None)
    return _Ctx(args=args, url=url, url_given=bool(flag_url or env_url), namespace=namespace,
                namespace_flag=flag_ns is not None)


def _redis_problem(exc: BaseException) -> str:
    where = redact(_current_url[0]) if _current_url else "Redis"
    if isinstance(exc, rex.AuthenticationError) or (
            isinstance(exc, rex.ResponseError) and str(exc).split(" ", 1)[0] in ("NOAUTH", "WRONGPASS", "NOPERM")):
        return f"Redis at {where} refused the credentials: {exc}"
    if isinstance(exc, (rex.ConnectionError, rex.TimeoutError)):
        return f"cannot reach Redis at {where}: {exc}"
    return f"Redis at {where} answered with an error: {type(exc).__name__}: {exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    func: Callable[[_Ctx], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return func(_context(args))
    except CLIError as exc:
        if debug:
            raise
        _note(f"error: {exc}")
        return exc.code
    except KeyboardInterrupt:
        if debug:
            raise
        _note("interrupted")
        return 130
    except BrokenPipeError:
        # the reader went away (gowork inspect | head): say nothing more
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_RUNTIME
    except rex.RedisError as exc:
        if debug:
            raise
        _note(f"error: {_redis_problem(exc)}")
        return EXIT_RUNTIME
    except Exception as exc:
        if debug:
            raise
        _note(f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
