"""The ``gowork`` command: run Python worker pools, enqueue jobs and operate a
gocraft/work namespace shared with Go.

    gowork -n my-app enqueue send_email --args '{"to": "ada@example.com"}'
    gowork -n my-app inspect
    gowork worker myapp.jobs:pool

The connection comes from ``--redis`` (or ``REDIS_URL``), the namespace from
``--namespace``/``-n`` (or ``GOWORK_NAMESPACE``). Errors are one line on stderr,
``gowork: error: ...``; exit status 2 for bad usage or input, 1 for runtime and Redis
problems, 3 for a unique job refused as a duplicate, 4 when ``gowork webui`` cannot listen
on its address (port taken). ``--debug`` shows tracebacks.

The package by concept: :mod:`.parser` (arguments and help), :mod:`.connection` (Redis
URL, namespace, redaction), :mod:`.render` (tables, progress, the inspect views),
:mod:`.hosting` (``gowork worker``: loading and running a pool) and :mod:`.commands`
(the other subcommands); :func:`main` here ties them together.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from redis import exceptions as rex

from .commands import (
    BULK_CHUNK,
    MAX_BAD_LINES,
    cmd_bulk,
    cmd_dead,
    cmd_demo,
    cmd_enqueue,
    cmd_inspect,
    cmd_pause,
    cmd_unpause,
    cmd_webui,
    find_dead,
    parse_basic_auth,
    parse_bulk_line,
)
from .connection import DEFAULT_REDIS_URL, _context, _Ctx, _redis_problem, check_url, connect, redact
from .errors import EXIT_ADDRESS_IN_USE, EXIT_DUPLICATE, EXIT_RUNTIME, EXIT_USAGE, PROG, CLIError
from .hosting import cmd_worker, load_pool
from .parser import build_parser
from .render import CELL_WIDTH, Progress, _note, table

__all__ = [
    "BULK_CHUNK",
    "CELL_WIDTH",
    "DEFAULT_REDIS_URL",
    "EXIT_ADDRESS_IN_USE",
    "EXIT_DUPLICATE",
    "EXIT_RUNTIME",
    "EXIT_USAGE",
    "MAX_BAD_LINES",
    "PROG",
    "CLIError",
    "Progress",
    "build_parser",
    "check_url",
    "cmd_bulk",
    "cmd_dead",
    "cmd_demo",
    "cmd_enqueue",
    "cmd_inspect",
    "cmd_pause",
    "cmd_unpause",
    "cmd_webui",
    "cmd_worker",
    "connect",
    "find_dead",
    "load_pool",
    "main",
    "parse_basic_auth",
    "parse_bulk_line",
    "redact",
    "table",
]


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
