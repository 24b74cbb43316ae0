"""The CLI's commands (except ``worker``, in :mod:`.hosting`): enqueue, bulk, inspect, dead,
pause/unpause, webui and demo. Each takes the resolved :class:`~.connection._Ctx` and
returns the exit status."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import redis
from redis import exceptions as rex

from .. import gojson
from .._redis import Call
from ..burial import UnretryableJob
from ..client import Client, DeadFilter, JobNotFound, UnknownJobName, job_json
from ..client.planner import MAX_PAGE
from ..enqueuer import MAX_DELAY_SECONDS, Enqueuer, _unique_result
from ..job import Job
from .connection import _Ctx, _redis_problem, check_url, connect, redact
from .errors import EXIT_ADDRESS_IN_USE, EXIT_DUPLICATE, PROG, CLIError, _usage_error
from .render import Progress, _inspect_json, _inspect_text, _note, _out, _zset_rows, table

#: jobs per enqueue_many call (one round trip) in ``gowork bulk``
BULK_CHUNK = 1000
#: at most this many bad lines are listed by ``gowork bulk``
MAX_BAD_LINES = 20


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


def stored_text(job: Job, run_at: int | None = None) -> str:
    """The job as stored: Go's bytes (``encoding/json``: its field order, HTML escaping,
    number format); a scheduled job's ``run_at`` (its score) first."""
    raw = job.encode().decode("utf-8")
    return raw if run_at is None else '{"run_at":' + str(run_at) + "," + raw[1:]


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
    enq = Enqueuer(ctx.redis(), ns, dialect=a.dialect, allow_big_ints=bool(a.allow_big_ints))
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
        raise _usage_error(big_int_hint(f"cannot enqueue {a.name!r}: {exc}")) from exc
    finally:
        enq.close()
    if result is None:
        if key is not None and a.dialect == "master":
            _note("no new job: a job with the same key is waiting, and its args were replaced by these (it will "
                  "run with them, as upstream master's EnqueueUniqueByKey does)")
        else:
            _note("duplicate: not enqueued (a job with the same name and "
                  f"{'key' if key is not None else 'args'} is waiting)")
        return EXIT_DUPLICATE
    _out(stored_text(result, run_at))
    return 0


# -- bulk ----------------------------------------------------------------------------------
_BULK_KEYS = frozenset({"name", "args", "in", "unique", "unique_key"})

#: seconds of quiet input after which ``gowork bulk -`` sends the lines it has
BULK_IDLE = 0.2


def big_int_hint(text: str) -> str:
    """An error text with the library's ``allow_big_ints=True`` hint spelled as the CLI's flag."""
    return text.replace("allow_big_ints=True", "--allow-big-ints")


@dataclass
class BulkItem:
    """One job of a bulk file: ``{"name", "args", "in", "unique", "unique_key"}``."""

    name: str
    args: dict[str, Any] | None
    in_seconds: float | None = None
    unique: bool = False
    unique_key: dict[str, Any] | None = None

    @property
    def plain(self) -> bool:
        return self.in_seconds is None and not self.unique and self.unique_key is None


def parse_bulk_item(raw: bytes, allow_big_ints: bool = False) -> BulkItem:
    """One line of a bulk file; ValueError saying what is wrong."""
    try:
        obj = gojson.loads(raw)
    except gojson.GoJSONError as exc:
        raise ValueError(f"invalid JSON: {_json_problem(exc)}") from None
    if not isinstance(obj, dict):
        raise ValueError(f'expected an object {{"name": ..., "args": {{...}}}}, got {_json_kind(obj)}')
    unknown = sorted(set(obj) - _BULK_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (only \"name\", \"args\", \"in\", \"unique\" and "
                         "\"unique_key\")")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError('"name" must be a non-empty string')
    args = obj.get("args")
    if args is not None and not isinstance(args, dict):
        raise ValueError(f'"args" must be an object or null, not {_json_kind(args)}')
    in_seconds = obj.get("in")
    if in_seconds is not None and (isinstance(in_seconds, bool) or not isinstance(in_seconds, (int, float))
                                   or not 0 <= in_seconds <= MAX_DELAY_SECONDS):
        raise ValueError(f'"in" must be a number of seconds from 0 to {MAX_DELAY_SECONDS}, got {in_seconds!r}')
    unique = obj.get("unique", False)
    if not isinstance(unique, bool):
        raise ValueError(f'"unique" must be true or false, not {_json_kind(unique)}')
    key = obj.get("unique_key")
    if key is not None and not isinstance(key, dict):
        raise ValueError(f'"unique_key" must be an object, not {_json_kind(key)}')
    try:
        gojson.check_args(args, allow_big_ints=allow_big_ints)
        if key is not None:
            gojson.check_args(key, allow_big_ints=allow_big_ints)
    except gojson.GoJSONError as exc:
        raise ValueError(big_int_hint(str(exc))) from None
    return BulkItem(name, args, in_seconds, unique or key is not None, key)


def parse_bulk_line(raw: bytes) -> tuple[str, dict[str, Any] | None]:
    """One line of a bulk file as (name, args); ValueError saying what is wrong (see
    ``parse_bulk_item`` for the whole line)."""
    item = parse_bulk_item(raw)
    return item.name, item.args


def _read_lines(path: str) -> list[bytes]:
    try:
        return Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise _usage_error(f"cannot read {path}: {exc.strerror or exc}") from exc


def stream_lines(fd: int, idle: float = BULK_IDLE) -> Iterator[bytes | None]:
    """The lines of ``fd`` as they arrive, and ``None`` whenever the input has been quiet
    for ``idle`` seconds (time to send what is pending)."""
    buf = b""
    while True:
        ready, _, _ = select.select([fd], [], [], idle)
        if not ready:
            yield None
        try:
            data = os.read(fd, 1 << 16)
        except OSError as exc:
            raise _usage_error(f"cannot read stdin: {exc.strerror or exc}") from exc
        if not data:
            break
        buf += data
        *lines, buf = buf.split(b"\n")
        for line in lines:
            yield line[:-1] if line.endswith(b"\r") else line
    if buf:
        yield buf


class _BulkSender:
    """Sends bulk items in chunks, one round trip each, and counts what happened."""

    def __init__(self, enq: Enqueuer, bar: Progress, total: int | None = None) -> None:
        self.enq = enq
        self.bar = bar
        self.total = total
        self.done = 0
        self.duplicates = 0
        self.counts: dict[str, int] = {}

    def send(self, chunk: list[BulkItem]) -> None:
        if not chunk:
            return
        enq = self.enq
        try:
            if all(item.plain for item in chunk):
                enq.enqueue_many((item.name, item.args) for item in chunk)
                ok = [True] * len(chunk)
            else:
                ok = self._send_mixed(chunk)
        except (gojson.GoJSONError, TypeError, ValueError) as exc:
            raise _usage_error(big_int_hint(f"cannot enqueue: {exc}")) from exc
        except (rex.RedisError, OSError) as exc:
            so_far = (f"{self.done} of {self.total} jobs were enqueued" if self.total is not None
                      else f"{self.done} jobs were enqueued before it, none after")
            raise CLIError(f"{_redis_problem(exc)} ({so_far})") from exc
        for item, enqueued in zip(chunk, ok):
            if enqueued:
                self.done += 1
                self.counts[item.name] = self.counts.get(item.name, 0) + 1
            else:
                self.duplicates += 1
        self.bar.update(self.done + self.duplicates)

    def _send_mixed(self, chunk: list[BulkItem]) -> list[bool]:
        planner = self.enq.planner
        calls: list[Call] = []
        unique_at: list[int | None] = []  # index of the reply that says 'ok'/'dup'
        for item in chunk:
            key = item.unique_key
            if item.unique and item.in_seconds is not None:
                _, more = planner.plan_enqueue_unique_in(item.name, item.in_seconds, item.args, key,
                                                         by_key=key is not None)
            elif item.unique:
                _, more = planner.plan_enqueue_unique(item.name, item.args, key, by_key=key is not None)
            elif item.in_seconds is not None:
                _, more = planner.plan_enqueue_in(item.name, item.in_seconds, item.args)
            else:
                _, more = planner.plan_enqueue(item.name, item.args)
            calls += more
            unique_at.append(len(calls) - 1 if item.unique else None)
        replies = self.enq._run(calls)
        return [i is None or _unique_result(replies[i]) for i in unique_at]


def cmd_bulk(ctx: _Ctx) -> int:
    a = ctx.args
    ns = ctx.need_namespace()
    if a.chunk_size < 1:
        raise _usage_error(f"--chunk-size must be at least 1, got {a.chunk_size}")
    allow_big = bool(a.allow_big_ints)
    show = a.progress if a.progress is not None else sys.stderr.isatty()
    started = time.monotonic()
    if a.file == "-":
        source = "stdin"
        bar = Progress(None, sys.stderr, show)
        enq = Enqueuer(ctx.redis(), ns, dialect=a.dialect, allow_big_ints=allow_big)
        sender = _BulkSender(enq, bar)
        try:
            _bulk_stream(sender, sys.stdin.fileno(), a.chunk_size, allow_big)
        finally:
            bar.close()
            enq.close()
    else:
        source = a.file
        items = _bulk_file(a.file, allow_big)
        if not items:
            _out(f"nothing to enqueue: {source} has no job")
            return 0
        bar = Progress(len(items), sys.stderr, show)
        enq = Enqueuer(ctx.redis(), ns, dialect=a.dialect, allow_big_ints=allow_big)
        sender = _BulkSender(enq, bar, len(items))
        try:
            for i in range(0, len(items), a.chunk_size):
                sender.send(items[i:i + a.chunk_size])
        finally:
            bar.close()
            enq.close()
    if not sender.done and not sender.duplicates:
        _out(f"nothing to enqueue: {source} has no job")
        return 0
    took = time.monotonic() - started
    done, counts = sender.done, sender.counts
    per_name = ", ".join(f"{n} {c}" for n, c in sorted(counts.items()))
    dups = f"; {_plural(sender.duplicates, 'duplicate')} not enqueued" if sender.duplicates else ""
    _out(f"enqueued {done} job{'s' if done != 1 else ''} in {took:.2f} s "
         f"({len(counts)} job name{'s' if len(counts) != 1 else ''}: {per_name}){dups}")
    return 0


def _bulk_file(path: str, allow_big: bool) -> list[BulkItem]:
    """Every job of a file, all checked before anything is sent (nothing on a bad line)."""
    items: list[BulkItem] = []
    bad: list[str] = []
    nbad = 0
    for number, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        try:
            items.append(parse_bulk_item(raw, allow_big))
        except ValueError as exc:
            nbad += 1
            if len(bad) < MAX_BAD_LINES:
                bad.append(f"{path}:{number}: {exc}")
    if nbad:
        for line in bad:
            print(line, file=sys.stderr)
        if nbad > len(bad):
            print(f"... and {nbad - len(bad)} more bad lines", file=sys.stderr)
        raise _usage_error(f"{nbad} bad line{'s' if nbad != 1 else ''} in {path}; nothing was enqueued")
    return items


def _bulk_stream(sender: _BulkSender, fd: int, chunk_size: int, allow_big: bool) -> None:
    """Stdin as it arrives: a chunk goes out when full or when the input pauses; a bad line
    stops it (the jobs of the lines before it are enqueued, none after)."""
    pending: list[BulkItem] = []
    number = 0
    for raw in stream_lines(fd):
        if raw is None:
            sender.send(pending)
            pending = []
            continue
        number += 1
        if not raw.strip():
            continue
        try:
            pending.append(parse_bulk_item(raw, allow_big))
        except ValueError as exc:
            sender.send(pending)
            sender.bar.close()
            print(f"stdin:{number}: {exc}", file=sys.stderr)
            raise _usage_error(f"bad line {number} in stdin: stopped there; the {_plural(sender.done, 'job')} "
                               f"of the lines before it were enqueued, none after") from exc
        if len(pending) >= chunk_size:
            sender.send(pending)
            pending = []
    sender.send(pending)


# -- inspect -----------------------------------------------------------------------------
def cmd_inspect(ctx: _Ctx) -> int:
    a = ctx.args
    if a.page < 1:
        raise _usage_error(f"--page must be at least 1, got {a.page}")
    if a.page > MAX_PAGE:
        raise _usage_error(f"--page is out of range (at most {MAX_PAGE}), got {a.page}")
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
    """The died-at scores of the dead jobs whose id is ``job_id`` (kept for callers of the
    old module; the search is :meth:`~gowork_compat.Client.find_dead_jobs`)."""
    client = Client(r, namespace)
    return sorted({d.died_at for d in client.find_dead_jobs(DeadFilter(job_id=job_id))})


def _dead_filter(a: argparse.Namespace) -> DeadFilter:
    if a.job_name is not None and not a.job_name:
        raise _usage_error("--job-name must not be empty")
    if a.error is not None and not a.error:
        raise _usage_error("--error must not be empty")
    return DeadFilter(job_name=a.job_name, error=a.error)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def cmd_dead(ctx: _Ctx) -> int:
    a = ctx.args
    action: str = a.action
    if action == "list":
        return _dead_list(ctx)
    flt = _dead_filter(a)
    by_filter = not flt.is_empty()
    if a.all and (a.job_id is not None or a.died_at is not None or by_filter):
        raise _usage_error(f"'dead {action} --all' takes no job id, --died-at, --job-name or --error")
    if by_filter and (a.job_id is not None or a.died_at is not None):
        raise _usage_error(f"'dead {action}' takes a job id or --job-name/--error, not both")
    if not a.all and not by_filter and a.job_id is None:
        raise _usage_error(f"'dead {action}' needs a job id, --job-name/--error, or --all")
    client = ctx.client()
    try:
        if a.all:
            if action == "retry":
                n = client.retry_all_dead_jobs()
                _out(f"requeued {_plural(n, 'dead job')}")
            else:
                n = client.counts().dead
                client.delete_all_dead_jobs()
                _out(f"deleted {_plural(n, 'dead job')}")
            return 0
        if by_filter:
            return _dead_where(client, action, flt)
        job_id: str = a.job_id
        times = ([a.died_at] if a.died_at is not None
                 else sorted({d.died_at for d in client.find_dead_jobs(DeadFilter(job_id=job_id))}))
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
            except UnretryableJob as exc:
                raise CLIError(str(exc)) from exc
            except JobNotFound as exc:
                raise CLIError(f"no dead job with id {job_id!r} and died-at {t} ({exc})") from exc
            _out(f"{'requeued' if action == 'retry' else 'deleted'} dead job {job_id} (died at {t})")
    finally:
        client.close()
    return 0


def _dead_where(client: Client, action: str, flt: DeadFilter) -> int:
    if action == "retry":
        res = client.retry_dead_jobs_where(flt)
        verb = "requeued"
    else:
        res = client.delete_dead_jobs_where(flt)
        verb = "deleted"
    _out(f"{verb} {res.done} of {_plural(res.matched, 'dead job')} matching {flt.describe()}")
    if res.unknown_name:
        _note(f"{_plural(res.unknown_name, 'job')} left dead: the job name is not in known_jobs, so no pool "
              "would run it")
    if res.gone:
        _note(f"{_plural(res.gone, 'job')} had left the dead set meanwhile (taken by a pool or another client)")
    if res.kept:
        _note(f"{_plural(res.kept, 'record')} left dead: not retryable (buried malformed payloads; see their "
              "args.raw_payload)")
    if res.matched == 0:
        raise CLIError(f"no dead job matches {flt.describe()} in namespace {client.namespace!r}")
    return 0


def _dead_list(ctx: _Ctx) -> int:
    a = ctx.args
    flt = _dead_filter(a)
    client = ctx.client()
    try:
        found = client.find_dead_jobs(flt)
    finally:
        client.close()
    if a.json:
        _out(json.dumps({"count": len(found), "jobs": [d.to_json() for d in found]}, ensure_ascii=False, indent=2))
        return 0
    title = f"Dead jobs matching {flt.describe()}: {len(found)}"
    _out(title + "\n" + table(["DIED AT", "WHEN", "JOB NAME", "JOB ID", "FAILS", "ERROR", "ARGS"],
                              _zset_rows(found, int(time.time()), a.wide), right=(4,)))
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


# -- reset-lock ------------------------------------------------------------------------------
def cmd_reset_lock(ctx: _Ctx) -> int:
    """Recompute the concurrency lock of job names from the live pools' entries
    (:meth:`~gowork_compat.Client.reset_lock`): the repair for a lock left below 0 or too high."""
    names: list[str] = ctx.args.names
    if any(not n for n in names):
        raise _usage_error("the job name must not be empty")
    client = ctx.client()
    try:
        for name in names:
            before = client.lock(name)
            after = client.reset_lock(name)
            removed = len(before.lock_info or {}) - len(after.lock_info or {})
            gone = (f"; {removed} lock_info entr{'y' if removed == 1 else 'ies'} of pools that are gone removed"
                    if removed > 0 else "")
            _out(f"reset the lock of {name}: {before.lock} -> {after.lock} (the jobs live pools run){gone}")
    finally:
        client.close()
    return 0


# -- webui ---------------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def parse_basic_auth(text: str) -> tuple[str, str]:
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise _usage_error("basic auth must be USER:PASSWORD with neither empty")
    return user, password


def _basic_auth_of(a: argparse.Namespace) -> tuple[str, str] | None:
    """The credentials from --basic-auth-file, $GOWORK_WEBUI_AUTH or (shown by ``ps``:
    warned about) --basic-auth."""
    given = [n for n, v in (("--basic-auth", a.basic_auth), ("--basic-auth-file", a.basic_auth_file))
             if v is not None]
    if len(given) > 1:
        raise _usage_error("give --basic-auth or --basic-auth-file, not both")
    if a.basic_auth_file is not None:
        try:
            text = Path(a.basic_auth_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _usage_error(f"cannot read --basic-auth-file {a.basic_auth_file}: {exc}") from exc
        lines = text.splitlines()
        return parse_basic_auth(lines[0] if lines else "")
    if a.basic_auth is not None:
        auth = parse_basic_auth(a.basic_auth)
        _note("warning: a password on the command line is visible to every user of this machine (ps); "
              "use GOWORK_WEBUI_AUTH=USER:PASS or --basic-auth-file FILE instead")
        return auth
    env = os.environ.get("GOWORK_WEBUI_AUTH") or None
    return parse_basic_auth(env) if env is not None else None


def _allowed_hosts_of(a: argparse.Namespace) -> list[str]:
    """Host names (besides localhost, IP addresses and the bound address) the web UI
    answers to: --allowed-host, else $GOWORK_WEBUI_HOSTS (comma-separated)."""
    names: list[str] = list(a.allowed_host or [])
    if not names:
        names = [n.strip() for n in os.environ.get("GOWORK_WEBUI_HOSTS", "").split(",") if n.strip()]
    return names


def cmd_webui(ctx: _Ctx) -> int:
    a = ctx.args
    ns = ctx.need_namespace()
    if not 0 <= a.port <= 65535:
        raise _usage_error(f"--port must be 0..65535, got {a.port}")
    auth = _basic_auth_of(a)
    hosts = _allowed_hosts_of(a)
    check_url(ctx.url)
    try:
        from ..webui import create_app, serve
    except ImportError as exc:
        raise CLIError(f"the web UI needs starlette and uvicorn: pip install 'gowork-compat[web]' ({exc})") from exc

    def stopped(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    # A stop signal ends the command with status 0 and no traceback: before uvicorn runs,
    # and after it, as uvicorn shuts down and then raises the signal again for the
    # handler it found (this one).
    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        r = connect(ctx.url, ns)
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
        if _is_wildcard(a.host) and not hosts:
            _note("note: requests must name this server by an IP address or localhost; add --allowed-host NAME "
                  "for each host name clients use")
        more = [n.strip() for n in (getattr(a, "namespaces", "") or "").split(",") if n.strip()]
        app = create_app(ctx.url, ns, basic_auth=auth, allowed_hosts=[*hosts, a.host], namespaces=more)
        shown = f"[{a.host}]" if ":" in a.host else a.host
        check_listen(a.host, a.port)
        _out(f"{PROG}: web UI for namespace {ns!r} on http://{shown}:{a.port}/ (Redis {redact(ctx.url)})")
        for other in more:
            _out(f"{PROG}: namespace {other!r} on http://{shown}:{a.port}/ns/{quote(other, safe='')}/")
        try:
            serve(app, a.host, a.port)
        except SystemExit as exc:  # uvicorn exits 3 when it cannot bind (e.g. taken since our check)
            if exc.code in (0, None):
                raise
            raise CLIError(f"the web UI could not listen on {shown}:{a.port} (see the lines above); "
                           "pick another --port", EXIT_ADDRESS_IN_USE) from exc
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def check_listen(host: str, port: int) -> None:
    """Fail with a clear message and :data:`EXIT_ADDRESS_IN_USE` when ``host:port`` cannot
    be listened on (taken by another server, or not an address of this machine)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_ADDRESS_IN_USE) from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(address)
        except OSError as exc:
            why = ("the port is taken by another server (another 'gowork webui'?)"
                   if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc))
            raise CLIError(f"cannot listen on {host}:{port}: {why}; pick another --port",
                           EXIT_ADDRESS_IN_USE) from exc


class _Stopped(BaseException):
    """A stop signal, after uvicorn has shut down."""


# -- demo ----------------------------------------------------------------------------------
def cmd_demo(ctx: _Ctx) -> int:
    from ..demo import run_demo

    harness = ctx.args.harness or os.environ.get("GOWORK_HARNESS") or "go-harness/gowork-harness"
    return run_demo(harness)
