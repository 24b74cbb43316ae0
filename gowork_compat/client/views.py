"""What the client returns: Go's view structs (``WorkerPoolHeartbeat``, ``Queue``, ``RetryJob``,
...), with ``to_json()`` giving the object Go's struct marshals to, plus Go's strict
``strconv`` number parsing and the reply helpers the planner reads Redis with."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import enqueuer
from ..job import Job

__all__ = [
    "DeadJob",
    "JobCounts",
    "JobDetail",
    "JobLock",
    "Queue",
    "RetryJob",
    "ScheduledJob",
    "SearchPage",
    "ThroughputMinute",
    "UnreadableEntry",
    "WorkerObservation",
    "WorkerPoolHeartbeat",
    "go_args",
    "job_json",
    "parse_int",
    "parse_uint",
]


# -- Go's strconv, strictly ---------------------------------------------------------------
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_UINT_RE = re.compile(r"[0-9]+\Z")
#: longer texts are shortened in error messages
_ECHO = 40
#: more significant digits than any 64-bit integer has (so ``int()`` is never asked to
#: convert thousands of digits, which Python refuses with a message of its own)
_MAX_DIGITS = 20


def _quoted(text: str) -> str:
    if len(text) <= _ECHO:
        return f'"{text}"'
    return f'"{text[:_ECHO]}..." ({len(text)} characters)'


def _too_long(text: str) -> bool:
    return len(text.lstrip("+-").lstrip("0")) > _MAX_DIGITS


def _to_int(text: str) -> int:
    """``int(text)`` of a checked text, without its leading zeros (Go accepts any number of
    them; Python's ``int`` refuses texts of more than 4300 digits)."""
    sign = "-" if text.startswith("-") else ""
    return int(sign + (text.lstrip("+-").lstrip("0") or "0"))


def parse_int(text: str, bits: int = 64) -> int:
    """Go's ``strconv.ParseInt(text, 10, bits)``: ValueError (with Go's message) otherwise."""
    if not _INT_RE.match(text):
        raise ValueError(f"strconv.ParseInt: parsing {_quoted(text)}: invalid syntax")
    if _too_long(text):
        raise ValueError(f"strconv.ParseInt: parsing {_quoted(text)}: value out of range")
    value = _to_int(text)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError(f"strconv.ParseInt: parsing {_quoted(text)}: value out of range")
    return value


def parse_uint(text: str, bits: int = 64) -> int:
    """Go's ``strconv.ParseUint(text, 10, bits)``."""
    if not _UINT_RE.match(text):
        raise ValueError(f"strconv.ParseUint: parsing {_quoted(text)}: invalid syntax")
    if _too_long(text):
        raise ValueError(f"strconv.ParseUint: parsing {_quoted(text)}: value out of range")
    value = _to_int(text)
    if value >= 1 << bits:
        raise ValueError(f"strconv.ParseUint: parsing {_quoted(text)}: value out of range")
    return value


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _raw(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _score(value: Any) -> int:
    """A zset score as Go's redigo scans it into an int64."""
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(f'strconv.ParseInt: parsing "{value!r}": invalid syntax')
    return parse_int(_text(value))


def _pairs(flat: Sequence[Any]) -> list[tuple[str, str]]:
    if isinstance(flat, dict):  # a RESP3 client
        return [(_text(k), _text(v)) for k, v in flat.items()]
    return [(_text(flat[i]), _text(flat[i + 1])) for i in range(0, len(flat) - 1, 2)]


# -- views ----------------------------------------------------------------------------------
_EXACT = 1 << 53


def _needs_go_view(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return not -_EXACT <= value <= _EXACT
    if isinstance(value, dict):
        return any(_needs_go_view(v) for v in value.values())
    if isinstance(value, list):
        return any(_needs_go_view(v) for v in value)
    return False


def _go_view(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -_EXACT <= value <= _EXACT:
            return value
        try:
            return float(value)
        except OverflowError:  # Go could not have decoded it either
            return value
    if isinstance(value, dict):
        return {k: _go_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_view(v) for v in value]
    return value


def go_args(args: dict[str, Any] | None) -> dict[str, Any] | None:
    """Job args as Go holds them after decoding: every number a float64 (integers beyond
    2**53 lose their low bits, exactly as in Go's views)."""
    if args is None or not _needs_go_view(args):
        return args
    viewed: dict[str, Any] = _go_view(args)
    return viewed


def job_json(job: Job) -> dict[str, Any]:
    """The object Go's ``json.Marshal`` makes of a decoded ``*work.Job`` (fields in Go's
    order, ``omitempty`` ones left out when empty; ``unique_key`` as upstream master;
    ``args`` as :func:`go_args`)."""
    out: dict[str, Any] = {}
    if job.name:
        out["name"] = job.name
    out["id"] = job.id
    out["t"] = job.enqueued_at
    out["args"] = go_args(job.args)
    if job.unique:
        out["unique"] = True
    if job.unique_key:
        out["unique_key"] = job.unique_key
    if job.fails:
        out["fails"] = job.fails
    if job.last_err:
        out["err"] = job.last_err
    if job.failed_at:
        out["failed_at"] = job.failed_at
    return out


@dataclass
class WorkerPoolHeartbeat:
    """What a worker pool says about itself every 5 s (Go's ``WorkerPoolHeartbeat``)."""

    worker_pool_id: str
    started_at: int = 0
    heartbeat_at: int = 0
    job_names: list[str] | None = None
    concurrency: int = 0
    host: str = ""
    pid: int = 0
    worker_ids: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "worker_pool_id": self.worker_pool_id,
            "started_at": self.started_at,
            "heartbeat_at": self.heartbeat_at,
            "job_names": self.job_names,
            "concurrency": self.concurrency,
            "host": self.host,
            "pid": self.pid,
            "worker_ids": self.worker_ids,
        }


@dataclass
class WorkerObservation:
    """One worker slot and what it runs (Go's ``WorkerObservation``)."""

    worker_id: str
    is_busy: bool = False
    job_name: str = ""
    job_id: str = ""
    started_at: int = 0
    args_json: str = ""
    checkin: str = ""
    checkin_at: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "worker_id": self.worker_id,
            "is_busy": self.is_busy,
            "job_name": self.job_name,
            "job_id": self.job_id,
            "started_at": self.started_at,
            "args_json": self.args_json,
            "checkin": self.checkin,
            "checkin_at": self.checkin_at,
        }


@dataclass
class Queue:
    """A job name's queue: waiting jobs and seconds since the oldest was enqueued."""

    job_name: str
    count: int = 0
    latency: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"job_name": self.job_name, "count": self.count, "latency": self.latency}


@dataclass(frozen=True)
class RetryJob:
    """A failed job waiting for its next try at ``retry_at``."""

    retry_at: int
    job: Job

    def to_json(self) -> dict[str, Any]:
        return {"retry_at": self.retry_at, **job_json(self.job)}


@dataclass(frozen=True, slots=True)
class ScheduledJob(enqueuer.ScheduledJob):
    """A job in the scheduled set, to run at ``run_at`` (the type the enqueuer returns,
    as in Go, with :meth:`to_json`)."""

    def to_json(self) -> dict[str, Any]:
        return {"run_at": self.run_at, **job_json(self.job)}


@dataclass(frozen=True)
class DeadJob:
    """A job that failed for good at ``died_at``."""

    died_at: int
    job: Job

    def to_json(self) -> dict[str, Any]:
        return {"died_at": self.died_at, **job_json(self.job)}


@dataclass
class JobLock:
    """The concurrency bookkeeping of one job name (beyond Go's client): the running
    count ``lock``, the per-pool counts ``lock_info``, the cap ``max_concurrency`` (0: none)
    and whether the name is paused."""

    job_name: str
    lock: int = 0
    lock_info: dict[str, int] | None = None
    max_concurrency: int = 0
    paused: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "job_name": self.job_name,
            "lock": self.lock,
            "lock_info": self.lock_info if self.lock_info is not None else {},
            "max_concurrency": self.max_concurrency,
            "paused": self.paused,
        }


@dataclass(frozen=True)
class UnreadableEntry:
    """A member of a paged list (retry, scheduled or dead set, or a queue) that is not a
    job this client can read: bytes that do not decode as a job, or a score that is not
    an integer. Pages show it in its place instead of failing (Go's web UI answers 500
    for the whole page); :meth:`~gowork_compat.Client.delete_unreadable` removes it by its exact bytes.

    ``where``: ``"retry"``, ``"scheduled"``, ``"dead"`` or ``"queue"``; ``job_name``: the
    queue's job name (``""`` for the sets); ``score``: the zset score as Redis wrote it
    (``""`` for a queue); ``error``: why it cannot be read."""

    where: str
    raw: bytes
    error: str
    score: str = ""
    job_name: str = ""

    @property
    def raw_text(self) -> str:
        """The raw bytes as text (bytes that are not UTF-8 become U+FFFD)."""
        return self.raw.decode("utf-8", "replace")

    def to_json(self) -> dict[str, Any]:
        return {
            "unreadable": True,
            "where": self.where,
            "job_name": self.job_name,
            "score": self.score,
            "error": self.error,
            "raw": self.raw_text,
            "raw_base64": base64.b64encode(self.raw).decode("ascii"),
        }


@dataclass(frozen=True)
class JobCounts:
    """How many jobs wait for a retry, are scheduled, and are dead."""

    retry: int = 0
    scheduled: int = 0
    dead: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"retry": self.retry, "scheduled": self.scheduled, "dead": self.dead}


#: the JSON field naming a zset score, by place
SCORE_FIELD = {"retry": "retry_at", "scheduled": "run_at", "dead": "died_at"}


@dataclass(frozen=True)
class JobDetail:
    """One job as it is stored: where (``retry``, ``scheduled``, ``dead`` or ``queue``, with
    ``job_name``), its score (0 in a queue), the decoded job, its exact bytes, and the busy
    workers running a job of this id now (from worker observations, with their pool)."""

    where: str
    score: int
    job: Job
    raw: bytes
    job_name: str = ""
    running: tuple[tuple[WorkerObservation, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        row = job_json(self.job)
        if self.where in SCORE_FIELD:
            row = {SCORE_FIELD[self.where]: self.score, **row}
        return {
            "where": self.where,
            "job_name": self.job_name,
            "score": self.score,
            "job": row,
            "raw": self.raw.decode("utf-8", "replace"),
            "raw_base64": base64.b64encode(self.raw).decode("ascii"),
            "running": [{**o.to_json(), "worker_pool_id": pool} for o, pool in self.running],
        }


@dataclass(frozen=True)
class SearchPage:
    """One page of a bounded search of a set or queue: the matching jobs (rows as the
    place's page shows them), the cursor to go on from (0: the search is complete) and
    how many members this page looked at."""

    where: str
    jobs: tuple[dict[str, Any], ...]
    cursor: int
    scanned: int

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "jobs": list(self.jobs), "cursor": self.cursor, "scanned": self.scanned}


@dataclass(frozen=True)
class ThroughputMinute:
    """What our pools finished in the minute starting at ``minute`` (epoch seconds), per
    job name: ``processed`` (every finished job) and ``failed`` (those that went to the
    retry or dead set). Go pools keep no such counters: they are not in these numbers."""

    minute: int
    processed: dict[str, int]
    failed: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"t": self.minute, "processed": sum(self.processed.values()), "failed": sum(self.failed.values()),
                "by_job": {n: {"processed": self.processed.get(n, 0), "failed": self.failed.get(n, 0)}
                           for n in sorted(set(self.processed) | set(self.failed))}}
