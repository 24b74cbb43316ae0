"""What the CLI prints: tables, times, progress, and the ``inspect`` views (text and JSON)."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import IO, Any

from .. import gojson
from ..client import PAGE_SIZE, Client, DeadJob, RetryJob, ScheduledJob, UnreadableEntry
from ..job import Job
from .errors import PROG

#: table cells longer than this are cut (``--wide`` keeps them whole)
CELL_WIDTH = 60


def _out(text: str = "") -> None:
    print(text, flush=True)


def _note(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def _say(text: str, stream: IO[str] | None = None) -> None:
    """Print a status line that must never stop the program: a closed pipe (the reader
    went away) or a closed stream is ignored."""
    out = stream if stream is not None else sys.stdout
    try:
        print(text, file=out, flush=True)
    except (OSError, ValueError):
        # send what is still buffered (and anything later) nowhere, so that neither this
        # nor the flush at exit fails again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass


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
    """A job's args as Go's encoding/json writes them (the bytes a queue holds, and what
    busy workers show), in every view."""
    if job.args is None:
        return "null"
    try:
        return gojson.dumps(job.args).decode("utf-8")
    except (gojson.GoJSONError, TypeError, ValueError):
        return _dumps(job.args)


class Progress:
    """A one-line progress bar on a stream (plain text and ``\\r``); with ``total`` None
    (input still arriving) a running count."""

    def __init__(self, total: int | None, stream: IO[str], enabled: bool) -> None:
        self.total = total
        self.stream = stream
        self.enabled = enabled and (total is None or total > 0)
        self.last = 0.0
        self.shown = False
        self.done = 0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        self.done = done
        if self.total is None:
            if now - self.last >= 0.1 or not self.shown:
                self.last = now
                self.stream.write(f"\r{done} jobs sent")
                self.stream.flush()
                self.shown = True
            return
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
            if self.total is None:
                self.stream.write(f"\r{self.done} jobs sent")
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


# -- inspect -----------------------------------------------------------------------------
def _pages(count: int) -> int:
    return max(1, -(-count // PAGE_SIZE))


def _paged_title(title: str, count: int, page: int) -> str:
    return f"{title}: {count} (page {page} of {_pages(count)})"


def _zset_rows(jobs: Sequence[RetryJob | ScheduledJob | DeadJob | UnreadableEntry], now: int, wide: bool,
               errors: bool = True) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for item in jobs:
        if isinstance(item, UnreadableEntry):
            rows.append(_unreadable_row(item, wide, errors))
            continue
        if isinstance(item, RetryJob):
            t = item.retry_at
        elif isinstance(item, DeadJob):
            t = item.died_at
        else:
            t = item.run_at
        j = item.job
        row: list[Any] = [t, _age(t, now), j.name, j.id]
        if errors:
            row += [j.fails, _cut(j.last_err, wide)]
        row.append(_cut(_args_text(j), wide))
        rows.append(row)
    return rows


#: marks a member that cannot be read as a job in the CLI's tables
UNREADABLE = "!! UNREADABLE"


def _unreadable_row(item: UnreadableEntry, wide: bool, errors: bool) -> list[Any]:
    """A table row for a member that is not a job: marked, with why and its raw bytes
    (as Python writes a bytes literal, so nothing unprintable reaches the terminal)."""
    raw = _cut(repr(item.raw)[2:-1], wide)
    row: list[Any] = [item.score or "-", "-", UNREADABLE, "-"]
    if errors:
        row += ["-", _cut(item.error, wide)]
    else:
        raw = _cut(f"{item.error}: {repr(item.raw)[2:-1]}", wide)
    row.append(raw)
    return row


def _lock_cell(lock: int) -> str:
    """The RUNNING cell: the lock count, marked when it is below 0 (a problem)."""
    if lock < 0:
        return f"{lock} !!"
    return str(lock) if lock else ""


def _inspect_text(client: Client, view: str, page: int, wide: bool) -> str:
    now = int(time.time())
    sections: list[str] = []
    if view in ("queues", "all"):
        queues = client.queues()
        paused = {lk.job_name: lk for lk in client.locks([q.job_name for q in queues])} if queues else {}
        rows = [[q.job_name, q.count, f"{q.latency}s", "yes" if paused[q.job_name].paused else "",
                 _lock_cell(paused[q.job_name].lock)] for q in queues]
        text = "Queues:\n" + table(["JOB NAME", "WAITING", "LATENCY", "PAUSED", "RUNNING"], rows, right=(1, 2, 4))
        negative = [lk for lk in paused.values() if lk.lock < 0]
        for lk in negative:
            text += (f"\n!! problem: the lock count of {lk.job_name} is {lk.lock}, below 0 (left by a Redis restart "
                     "or a lost acknowledgement; Go's accounting does the same): its max_concurrency cap lets "
                     f"{-lk.lock} more jobs run at once; fix it with 'gowork reset-lock {lk.job_name}'")
        sections.append(text)
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
            ["RUN AT", "WHEN", "JOB NAME", "JOB ID", "ARGS"], _zset_rows(scheduled, now, wide, errors=False)))
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
