"""The ``gowork`` argument parser: subcommands, their options, help and examples."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from .. import __version__
from ..client import parse_int
from .checks import add_check_commands
from .commands import (
    BULK_CHUNK,
    cmd_bulk,
    cmd_dead,
    cmd_demo,
    cmd_enqueue,
    cmd_inspect,
    cmd_pause,
    cmd_reset_lock,
    cmd_unpause,
    cmd_webui,
)
from .connection import DEFAULT_REDIS_URL
from .errors import EXIT_USAGE, PROG
from .hosting import cmd_worker
from .ops import add_parsers as _ops_parsers
from .ops import add_worker_options as _ops_worker_options
from .render import CELL_WIDTH
from .spread import cmd_namespaces

__all__ = ["build_parser"]


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
                   help="redis://[[user]:password@]host[:port][/db], rediss://... (TLS), "
                        "unix:///path/to/socket?db=N, redis+sentinel://host:port[,host:port]/service[/db] or "
                        f"redis+cluster://host:port[,host:port] (default: $REDIS_URL, else {DEFAULT_REDIS_URL})")
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


def _page_number(text: str) -> int:
    """An integer as Go's strconv reads it (a clear message for texts of thousands of digits)."""
    try:
        return parse_int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _big_ints_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-big-ints", action="store_true",
                   help="write integers beyond ±2**53 anyway (a Go worker reads them as float64, changed)")


def _dead_filter_options(d: argparse.ArgumentParser) -> None:
    d.add_argument("--job-name", metavar="NAME", help="only dead jobs of this job name")
    d.add_argument("--error", metavar="TEXT", help="only dead jobs whose last error contains TEXT")


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
  gowork dead retry --error 'unknown job when requeueing'
  gowork webui

exit status: 0 ok, 1 runtime or Redis error, 2 bad usage or input, 3 unique job not enqueued,
4 the web UI (or a metrics server) cannot listen on its address (port taken), 5 doctor found something.
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
                   help="logging level of the library's loggers, gowork_compat.* (default: info)")
    p.add_argument("--log-level-all", default=None, choices=["debug", "info", "warning", "error"],
                   help="logging level of every logger: your code's, asyncio's, redis-py's... (default: info; "
                        "--log-level still sets the library's)")
    _ops_worker_options(p)
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_worker)

    # enqueue
    p = _sub(subs, "enqueue", "enqueue one job",
             "Enqueue one job, as Go's Enqueuer would, and print it as stored: Go's JSON bytes (a\n"
             "scheduled job's run_at first).\n\n"
             "With --unique (or --unique-key) a job is not enqueued while one of the same name and args\n"
             "(or key) waits: then 'duplicate: not enqueued' goes to stderr and the exit status is 3.\n"
             "With --dialect master, a --unique-key duplicate replaces the waiting job's args (it says so).",
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
    _big_ints_option(p)
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_enqueue)

    # bulk
    p = _sub(subs, "bulk", "enqueue many jobs from a JSON-lines file or stdin",
             "Enqueue the jobs of FILE (or stdin for '-'): one JSON object per line,\n"
             '{"name": "...", "args": {...}}, optionally with "in": SECONDS (scheduled), "unique": true\n'
             'and "unique_key": {...} (as enqueue\'s --in, --unique, --unique-key); blank lines are\n'
             "skipped. The jobs go out in chunks, one round trip each.\n\n"
             "FILE: every line is checked first; if any is bad, the bad lines are listed with their\n"
             "numbers and nothing is enqueued (exit status 2).\n"
             "stdin: read as it arrives; a chunk goes out when full or when the input pauses. A bad\n"
             "line stops it (exit status 2): the jobs of the lines before it are enqueued, none after.",
             """  gowork bulk jobs.jsonl
  generate_jobs | gowork bulk - --progress
  printf '{"name":"resize","args":{"id":1}}\\n' | gowork bulk -
  printf '{"name":"report","in":300,"unique":true}\\n' | gowork bulk -""")
    p.add_argument("file", metavar="FILE", help="a JSON-lines file, or - for stdin")
    p.add_argument("--chunk-size", type=int, default=BULK_CHUNK, metavar="N",
                   help=f"jobs per round trip (default: {BULK_CHUNK})")
    prog = p.add_mutually_exclusive_group()
    prog.add_argument("--progress", dest="progress", action="store_true", default=None,
                      help="show progress on stderr even when it is not a terminal")
    prog.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    p.add_argument("--dialect", choices=["v0.5.1", "master"], default="v0.5.1",
                   help="which gocraft/work release the job bytes follow (default: v0.5.1)")
    _big_ints_option(p)
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
    p.add_argument("--page", type=_page_number, default=1, metavar="N",
                   help="page of the retry/scheduled/dead lists (20 a page)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("--wide", action="store_true", help=f"do not cut table cells at {CELL_WIDTH} characters")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_inspect)

    # dead
    p = _sub(subs, "dead", "list, retry or delete dead jobs",
             "List, retry (put back on its queue) or delete dead jobs: one by id, those matching\n"
             "--job-name and/or --error (a text the job's last error contains, e.g. Go's\n"
             "'unknown job when requeueing'), or all of them. Without --died-at a job id is looked\n"
             "up in the dead set. Filtered actions take one job at a time, atomically, so jobs a pool\n"
             "moves meanwhile are neither lost nor doubled; jobs whose name no pool registers stay dead.",
             """  gowork inspect dead
  gowork dead list --error 'unknown job when requeueing'
  gowork dead retry --job-name py_only --error 'unknown job when requeueing'
  gowork dead retry 8e4f1a2b3c4d5e6f7a8b9c0d
  gowork dead retry 8e4f1a2b3c4d5e6f7a8b9c0d --died-at 1732665600
  gowork dead delete --all""")
    _global_options(p, suppress=True)
    dsubs = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    dsubs.required = True
    d = _sub(dsubs, "list", "list the dead jobs matching a filter (all pages)",
             "List every dead job that matches --job-name and/or --error (all of them without a filter).",
             """  gowork dead list --job-name py_only
  gowork dead list --error 'unknown job when requeueing' --json""")
    _dead_filter_options(d)
    d.add_argument("--json", action="store_true", help="print JSON instead of a table")
    d.add_argument("--wide", action="store_true", help=f"do not cut table cells at {CELL_WIDTH} characters")
    _global_options(d, suppress=True)
    d.set_defaults(func=cmd_dead)
    for action, verb in (("retry", "put back on its queue"), ("delete", "delete")):
        d = _sub(dsubs, action, f"{action} one dead job, those matching a filter, or all of them",
                 f"{action.capitalize()} a dead job ({verb}), the dead jobs matching --job-name and/or\n"
                 "--error, or every dead job with --all.",
                 f"""  gowork dead {action} JOB_ID
  gowork dead {action} JOB_ID --died-at 1732665600
  gowork dead {action} --job-name send_email --error 'unknown job when requeueing'
  gowork dead {action} --all""")
        d.add_argument("job_id", nargs="?", metavar="ID", help="the job id (see 'gowork inspect dead')")
        d.add_argument("--died-at", type=int, metavar="T", help="when it died (epoch seconds, the dead-set score)")
        _dead_filter_options(d)
        d.add_argument("--all", action="store_true", help=f"{action} every dead job")
        _global_options(d, suppress=True)
        d.set_defaults(func=cmd_dead)

    add_check_commands(subs, _sub, _global_options)  # contracts check, validate

    # pause / unpause
    for name, what in (("pause", "stop every pool, Go's or Python's, from starting jobs of NAME"),
                       ("unpause", "let pools start jobs of NAME again")):
        p = _sub(subs, name, what, f"{what[0].upper()}{what[1:]} (the key <ns>:jobs:NAME:paused).",
                 f"  gowork {name} send_email")
        p.add_argument("name", metavar="NAME", help="the job name")
        _global_options(p, suppress=True)
        p.set_defaults(func=cmd_pause if name == "pause" else cmd_unpause)

    # reset-lock
    p = _sub(subs, "reset-lock", "repair the concurrency lock of job names (e.g. below 0)",
             "Recompute the concurrency lock of each NAME from the lock_info entries of live pools\n"
             "(entries of pools that are gone are removed). A lock left below 0 (after a Redis restart;\n"
             "Go's accounting does the same) lets more jobs run than max_concurrency allows, one left too\n"
             "high fewer; 'gowork inspect' marks a lock below 0 as a problem.",
             """  gowork reset-lock send_email
  gowork reset-lock send_email resize""")
    p.add_argument("names", nargs="+", metavar="NAME", help="the job name(s)")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_reset_lock)

    # webui
    p = _sub(subs, "webui", "serve the web UI and workwebui's JSON API",
             "Serve the web UI and upstream workwebui's JSON API for the namespace.\n"
             "Exit status 4 when it cannot listen on --host:--port (e.g. the port is taken).\n"
             "Binds 127.0.0.1 unless --host says otherwise; warns when exposed without basic auth.\n"
             "Answers only requests that name it by localhost, an IP address, --host or --allowed-host.",
             """  gowork webui
  gowork webui --port 8080 --basic-auth-file /run/secrets/gowork-webui
  GOWORK_WEBUI_AUTH=admin:s3cret gowork webui --host 0.0.0.0 --allowed-host jobs.internal
  gowork webui -n shard-0 --namespaces shard-1,shard-2   # one UI, a namespace switcher""")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=5040, help="port (default: 5040)")
    p.add_argument("--basic-auth-file", metavar="FILE",
                   help="require HTTP basic auth with the USER:PASS on the first line of FILE "
                        "(default: $GOWORK_WEBUI_AUTH)")
    p.add_argument("--basic-auth", metavar="USER:PASS",
                   help="the same from the command line, where every user sees it with ps (warned about)")
    p.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a host name clients reach the UI by (repeatable; default: $GOWORK_WEBUI_HOSTS, "
                        "comma-separated). Requests naming another host get 421 (DNS rebinding); "
                        "localhost, IP addresses and --host are always accepted")
    _global_options(p, suppress=True)
    p.add_argument("--namespaces", metavar="NS,NS", default="",
                   help="more namespaces the UI switches between (comma-separated; each under /ns/NAME/)")
    p.set_defaults(func=cmd_webui)

    # demo
    p = _sub(subs, "demo", "run the Go/Python demo on a throwaway redis-server",
             "Start a throwaway redis-server, a Go pool (the harness built from go-harness/) and a\n"
             "Python pool, and show them running each other's jobs. Needs redis-server and the harness,\n"
             "whose Go source is in the repository (go-harness/), not in the pip package.",
             """  gowork demo
  gowork demo --harness go-harness/gowork-harness""")
    p.add_argument("--harness", default=None, metavar="PATH",
                   help="the built Go harness (default: $GOWORK_HARNESS, else go-harness/gowork-harness)")
    p.set_defaults(func=cmd_demo)  # no connection options: the demo starts its own redis-server

    # exporter, doctor, repair
    _ops_parsers(subs, _sub, _global_options)

    # namespaces
    p = _sub(subs, "namespaces", "list the namespaces on a Redis (every shard of a cluster)",
             "Find every gocraft/work namespace (by its known_jobs / worker_pools keys) on the Redis, the\n"
             "Sentinel-managed master, or each master of a Redis Cluster, with its queued jobs, live worker\n"
             "pools and known job names.",
             """  gowork namespaces --redis redis+cluster://127.0.0.1:7000,127.0.0.1:7001
  gowork namespaces --redis redis+sentinel://127.0.0.1:26379/mymaster/0 --json""")
    p.add_argument("--json", action="store_true", help="one JSON array")
    _global_options(p, suppress=True)
    p.set_defaults(func=cmd_namespaces)
    return parser
