"""The client logic without I/O: every operation is a *plan*, a generator that yields
batches of Redis commands (:class:`~gowork_compat._redis.Call`), receives their replies and
finally returns the result. :mod:`.frontends` carries the batches to Redis (sync or asyncio).

Besides Go's views and actions this holds the queries the CLI and the web UI need:
finding dead jobs by id, name or error text (:class:`DeadFilter`), requeueing or deleting
the matches one atomic script call per job, and the counts of the paged sets.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .._redis import Call
from ..heartbeat import DEAD_AFTER
from ..job import Job
from ..keys import Keys
from ..scripts import (
    delete_queued_job_call,
    delete_zset_job_call,
    purge_queue_call,
    reset_lock_call,
    retry_all_dead_call,
    retry_dead_job_call,
    retry_dead_job_result,
    zset_job_now_call,
)
from ..unique import release_call
from .views import (
    SCORE_FIELD,
    DeadJob,
    JobCounts,
    JobDetail,
    JobLock,
    Queue,
    RetryJob,
    ScheduledJob,
    SearchPage,
    ThroughputMinute,
    UnreadableEntry,
    WorkerObservation,
    WorkerPoolHeartbeat,
    _pairs,
    _raw,
    _score,
    _text,
    job_json,
    parse_int,
    parse_uint,
)

__all__ = [
    "MAX_PAGE",
    "NOTHING_DELETED",
    "NOTHING_RETRIED",
    "PAGE_SIZE",
    "ClientPlanner",
    "DeadFilter",
    "FilterOutcome",
    "JobNotFound",
    "Plan",
    "UnknownJobName",
]

#: jobs per page of the retry, scheduled, dead and queued lists (Go's page size)
PAGE_SIZE = 20
#: larger page numbers would overflow Redis' LIMIT offset
MAX_PAGE = 1 << 40
#: dead jobs requeued per script call by ``retry_all_dead_jobs`` (as Go)
RETRY_ALL_BATCH = 1000
#: at most this many script calls per ``retry_all_dead_jobs`` (as Go)
RETRY_ALL_MAX_ROUNDS = 1000
#: members asked for per ZSCAN when searching the dead set
SCAN_COUNT = 1000
#: script calls (one per job, each atomic) sent per round trip by the filtered actions
ACTION_BATCH = 100
#: where an unreadable member can be (see :class:`UnreadableEntry`)
UNREADABLE_PLACES = ("retry", "scheduled", "dead", "queue")
#: a search page looks at no more than this many members (it ends early with a full page)
SEARCH_SCAN_LIMIT = 10_000
#: members read per command while searching
SEARCH_CHUNK = 1000
#: the throughput counters are kept two days
MAX_STATS_MINUTES = 2 * 24 * 60

T = TypeVar("T")
#: a plan: yields command batches, receives their replies, returns the result
Plan = Generator[list[Call], list[Any], T]


# -- errors -------------------------------------------------------------------------------
class JobNotFound(LookupError):
    """Nothing matched a delete or retry. ``str()`` is Go's error text for the same case:
    ``nothing deleted`` or ``nothing retried``."""


class UnknownJobName(JobNotFound):
    """``retry_dead_job`` found the job, but its name is not in ``known_jobs``: as Go, the
    job stays dead (re-scored at now + 5 s, with ``err`` "unknown job when requeueing")."""


NOTHING_DELETED = "nothing deleted"
NOTHING_RETRIED = "nothing retried"


# -- filters ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeadFilter:
    """Which dead jobs a search or bulk action takes: every given condition must hold.
    ``job_name``: exactly this name; ``error``: this text occurs in the job's last error
    (e.g. Go's ``"unknown job when requeueing"``); ``job_id``: exactly this id. No condition:
    every readable dead job."""

    job_name: str | None = None
    error: str | None = None
    job_id: str | None = None

    def matches(self, job: Job) -> bool:
        if self.job_name is not None and job.name != self.job_name:
            return False
        if self.error is not None and self.error not in job.last_err:
            return False
        return self.job_id is None or job.id == self.job_id

    def is_empty(self) -> bool:
        return self.job_name is None and self.error is None and self.job_id is None

    def describe(self) -> str:
        parts = []
        if self.job_name is not None:
            parts.append(f"job name {self.job_name!r}")
        if self.error is not None:
            parts.append(f"error containing {self.error!r}")
        if self.job_id is not None:
            parts.append(f"id {self.job_id!r}")
        return " and ".join(parts) or "any"


@dataclass(frozen=True)
class FilterOutcome:
    """What a filtered bulk action did: ``matched`` dead jobs were found; ``done`` of them
    were requeued (or deleted); ``unknown_name`` were left dead because no pool registers
    their name (not in ``known_jobs``); ``gone`` had left the dead set in the meantime
    (a pool or another client took them first); ``kept`` were left in place by the retry
    script because they cannot be retried (buried malformed payloads)."""

    matched: int = 0
    done: int = 0
    unknown_name: int = 0
    gone: int = 0
    kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"matched": self.matched, "done": self.done, "unknown_name": self.unknown_name,
                "gone": self.gone, "kept": self.kept}


def _scan_reply(reply: Any) -> tuple[int, list[tuple[Any, Any]]]:
    """A ZSCAN reply, raw (``[cursor, [member, score, ...]]``) or as redis-py parses it."""
    cursor, items = reply[0], reply[1]
    items = list(items)
    if items and isinstance(items[0], (list, tuple)):
        pairs = [(m, s) for m, s in items]
    else:
        pairs = [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
    return int(cursor), pairs


def _by_score_and_id(jobs: Iterable[DeadJob]) -> list[tuple[tuple[int, str], int]]:
    """(died_at, id) of each job once, with how many dead members share them (the client
    scripts act on every member with that score and id)."""
    counts: dict[tuple[int, str], int] = {}
    for d in jobs:
        key = (d.died_at, d.job.id)
        counts[key] = counts.get(key, 0) + 1
    return list(counts.items())


def _score_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def _decoded(raw: bytes) -> Job | None:
    try:
        return Job.decode(raw)
    except ValueError:
        return None


def _args_text(job: Job) -> str:
    return json.dumps(job.args, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


# -- the core ---------------------------------------------------------------------------------
def _page(page: int) -> int:
    if isinstance(page, bool) or not isinstance(page, int):
        raise TypeError(f"page must be an int, not {type(page).__name__}")
    return page if page >= 1 else 1


def _lenient_int(value: Any) -> int:
    if value is None:
        return 0
    try:
        return int(_text(value))
    except ValueError:
        return 0


class ClientPlanner:
    """The client logic, without I/O: each ``plan_*`` method is a :data:`Plan`."""

    def __init__(self, namespace: str, *, clock: Callable[[], float] = time.time,
                 dead_after: int = DEAD_AFTER) -> None:
        self.keys = Keys(namespace)
        self.namespace = namespace
        self.clock = clock
        self.dead_after = dead_after

    def now(self) -> int:
        return int(self.clock())

    # -- views ------------------------------------------------------------------------------
    def plan_worker_pool_heartbeats(self) -> Plan[list[WorkerPoolHeartbeat]]:
        k = self.keys
        (members,) = yield [Call("SMEMBERS", k.worker_pools)]
        pool_ids = sorted(_text(m) for m in members)
        if not pool_ids:
            return []
        hashes = yield [Call("HGETALL", k.heartbeat(p)) for p in pool_ids]
        out: list[WorkerPoolHeartbeat] = []
        for pool_id, flat in zip(pool_ids, hashes, strict=True):
            hb = WorkerPoolHeartbeat(worker_pool_id=pool_id)
            for key, value in _pairs(flat):
                if key == "heartbeat_at":
                    hb.heartbeat_at = parse_int(value)
                elif key == "started_at":
                    hb.started_at = parse_int(value)
                elif key == "job_names":
                    hb.job_names = sorted(value.split(","))
                elif key == "concurrency":
                    hb.concurrency = parse_uint(value)
                elif key == "host":
                    hb.host = value
                elif key == "pid":
                    hb.pid = parse_int(value)
                elif key == "worker_ids":
                    hb.worker_ids = sorted(value.split(","))
            out.append(hb)
        return out

    def plan_worker_observations(self) -> Plan[list[WorkerObservation]]:
        beats = yield from self.plan_worker_pool_heartbeats()
        worker_ids = [w for hb in beats for w in (hb.worker_ids or [])]
        if not worker_ids:
            return []
        hashes = yield [Call("HGETALL", self.keys.worker_observation(w)) for w in worker_ids]
        out: list[WorkerObservation] = []
        for wid, flat in zip(worker_ids, hashes, strict=True):
            ob = WorkerObservation(worker_id=wid)
            for key, value in _pairs(flat):
                ob.is_busy = True
                if key == "job_name":
                    ob.job_name = value
                elif key == "job_id":
                    ob.job_id = value
                elif key == "started_at":
                    ob.started_at = parse_int(value)
                elif key == "args":
                    ob.args_json = value
                elif key == "checkin":
                    ob.checkin = value
                elif key == "checkin_at":
                    ob.checkin_at = parse_int(value)
            out.append(ob)
        return out

    def plan_known_jobs(self) -> Plan[list[str]]:
        (members,) = yield [Call("SMEMBERS", self.keys.known_jobs)]
        return sorted(_text(m) for m in members)

    def plan_queues(self) -> Plan[list[Queue]]:
        names = yield from self.plan_known_jobs()
        if not names:
            return []
        calls: list[Call] = []
        for name in names:
            calls += [Call("LLEN", self.keys.jobs(name)), Call("LINDEX", self.keys.jobs(name), -1)]
        replies = yield calls
        now = self.now()
        out: list[Queue] = []
        for i, name in enumerate(names):
            count, oldest = int(replies[2 * i]), replies[2 * i + 1]
            q = Queue(job_name=name, count=count)
            if count > 0 and oldest is not None:
                try:
                    q.latency = now - Job.decode(_raw(oldest)).enqueued_at
                except Exception:  # Go panics here; see the module doc
                    q.latency = 0
            out.append(q)
        return out

    def _plan_zset_page(self, key: str, where: str,
                        page: int) -> Plan[tuple[list[tuple[int, Job] | UnreadableEntry], int]]:
        start = (_page(page) - 1) * PAGE_SIZE
        rows, count = yield [
            Call("ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES", "LIMIT", start, PAGE_SIZE),
            Call("ZCARD", key),
        ]
        items: list[tuple[int, Job] | UnreadableEntry] = []
        if rows and isinstance(rows[0], (list, tuple)):  # RESP3 pairs
            flat: list[Any] = [x for pair in rows for x in pair]
        else:
            flat = list(rows)
        for i in range(0, len(flat) - 1, 2):
            raw, score = _raw(flat[i]), flat[i + 1]
            try:
                items.append((_score(score), Job.decode(raw)))
            except ValueError as exc:  # one bad member must not hide its neighbours
                items.append(UnreadableEntry(where=where, raw=raw, error=str(exc), score=_score_text(score)))
        return items, int(count)

    def plan_retry_jobs(self, page: int = 1) -> Plan[tuple[list[RetryJob | UnreadableEntry], int]]:
        items, count = yield from self._plan_zset_page(self.keys.retry, "retry", page)
        return [it if isinstance(it, UnreadableEntry) else RetryJob(retry_at=it[0], job=it[1])
                for it in items], count

    def plan_scheduled_jobs(self, page: int = 1) -> Plan[tuple[list[ScheduledJob | UnreadableEntry], int]]:
        items, count = yield from self._plan_zset_page(self.keys.scheduled, "scheduled", page)
        return [it if isinstance(it, UnreadableEntry) else ScheduledJob(run_at=it[0], job=it[1])
                for it in items], count

    def plan_dead_jobs(self, page: int = 1) -> Plan[tuple[list[DeadJob | UnreadableEntry], int]]:
        items, count = yield from self._plan_zset_page(self.keys.dead, "dead", page)
        return [it if isinstance(it, UnreadableEntry) else DeadJob(died_at=it[0], job=it[1])
                for it in items], count

    def plan_queued_jobs(self, job_name: str, page: int = 1) -> Plan[tuple[list[Job | UnreadableEntry], int]]:
        """Jobs waiting in ``job_name``'s queue, oldest (next to run) first."""
        key = self.keys.jobs(job_name)
        start = (_page(page) - 1) * PAGE_SIZE
        rows, count = yield [Call("LRANGE", key, -(start + PAGE_SIZE), -(start + 1)), Call("LLEN", key)]
        out: list[Job | UnreadableEntry] = []
        for row in reversed(rows):
            raw = _raw(row)
            try:
                out.append(Job.decode(raw))
            except ValueError as exc:
                out.append(UnreadableEntry(where="queue", raw=raw, error=str(exc), job_name=job_name))
        return out, int(count)

    def plan_counts(self) -> Plan[JobCounts]:
        """How many jobs the retry, scheduled and dead sets hold."""
        k = self.keys
        retry, scheduled, dead = yield [Call("ZCARD", k.retry), Call("ZCARD", k.scheduled), Call("ZCARD", k.dead)]
        return JobCounts(retry=int(retry), scheduled=int(scheduled), dead=int(dead))

    def plan_find_dead_jobs(self, where: DeadFilter | None = None) -> Plan[list[DeadJob]]:
        """Every readable dead job that ``where`` matches, by died-at then id (a full scan
        of the dead set with ZSCAN; members that cannot be read are left out)."""
        flt = where or DeadFilter()
        needle = flt.job_id.encode("utf-8") if flt.job_id is not None else None
        found: dict[tuple[int, bytes], DeadJob] = {}
        cursor = 0
        while True:
            (reply,) = yield [Call("ZSCAN", self.keys.dead, cursor, "COUNT", SCAN_COUNT)]
            cursor, pairs = _scan_reply(reply)
            for member, score in pairs:
                raw = _raw(member)
                if needle is not None and needle not in raw:
                    continue
                try:
                    job = Job.decode(raw)
                    died_at = _score(score)
                except ValueError:
                    continue
                if flt.matches(job):
                    found[(died_at, raw)] = DeadJob(died_at=died_at, job=job)
            if cursor == 0:
                break
        return [found[k] for k in sorted(found, key=lambda k: (k[0], found[k].job.id, k[1]))]

    def _zset_key(self, where: str) -> str:
        if where not in SCORE_FIELD:
            raise ValueError(f"where must be one of retry, scheduled, dead or queue, not {where!r}")
        return {"retry": self.keys.retry, "scheduled": self.keys.scheduled, "dead": self.keys.dead}[where]

    def plan_job_detail(self, where: str, job_id: str, score: int | None = None,
                        job_name: str = "") -> Plan[JobDetail]:
        """The job ``job_id`` in the retry, scheduled or dead set (at ``score``, or found by
        a full ZSCAN when not given) or (``where="queue"``) in ``job_name``'s queue, with the
        busy workers running a job of that id; :class:`JobNotFound` when it is not there."""
        needle = job_id.encode("utf-8")
        found: tuple[int, bytes, Job] | None = None
        if where == "queue":
            if not job_name:
                raise ValueError("a queue entry needs its job name")
            key = self.keys.jobs(job_name)
            (length,) = yield [Call("LLEN", key)]
            stop = int(length)
            while stop > 0 and found is None:
                start = max(0, stop - SEARCH_CHUNK)
                (rows,) = yield [Call("LRANGE", key, start, stop - 1)]
                for row in reversed(rows):
                    raw = _raw(row)
                    job = _decoded(raw) if needle in raw else None
                    if job is not None and job.id == job_id:
                        found = (0, raw, job)
                        break
                stop = start
        else:
            key = self._zset_key(where)
            if score is not None:
                (rows,) = yield [Call("ZRANGEBYSCORE", key, score, score)]
                for row in rows:
                    raw = _raw(row)
                    job = _decoded(raw) if needle in raw else None
                    if job is not None and job.id == job_id:
                        found = (score, raw, job)
                        break
            else:
                cursor = 0
                while found is None:
                    (reply,) = yield [Call("ZSCAN", key, cursor, "COUNT", SEARCH_CHUNK)]
                    cursor, pairs = _scan_reply(reply)
                    for member, sc in pairs:
                        raw = _raw(member)
                        job = _decoded(raw) if needle in raw else None
                        if job is not None and job.id == job_id:
                            found = (_score(sc), raw, job)
                            break
                    if cursor == 0:
                        break
        if found is None:
            raise JobNotFound(f"no job {job_id} in {where}")
        observations = yield from self.plan_worker_observations()
        running = [o for o in observations if o.is_busy and o.job_id == job_id]
        pools: dict[str, str] = {}
        if running:
            for hb in (yield from self.plan_worker_pool_heartbeats()):
                for w in hb.worker_ids or []:
                    pools[w] = hb.worker_pool_id
        return JobDetail(where=where, score=found[0], job=found[2], raw=found[1], job_name=job_name,
                         running=tuple((o, pools.get(o.worker_id, "")) for o in running))

    def plan_search(self, where: str, text: str, *, by: str = "id", job_name: str = "",
                    cursor: int = 0) -> Plan[SearchPage]:
        """One page of a bounded search of the retry, scheduled or dead set, or of
        ``job_name``'s queue (``where="queue"``): jobs whose id is ``text`` (``by="id"``) or
        whose args, as JSON, contain ``text`` (``by="args"``). A page ends after
        :data:`PAGE_SIZE` matches or :data:`SEARCH_SCAN_LIMIT` members looked at; go on from
        its ``cursor`` (a ZSCAN cursor, or for a queue how many members from the oldest were
        looked at); cursor 0: done. A set that changes meanwhile may show a job twice or
        miss one that moved (ZSCAN's guarantees)."""
        if by not in ("id", "args"):
            raise ValueError(f"by must be id or args, not {by!r}")
        needle = text.encode("utf-8")

        def match(raw: bytes) -> Job | None:
            if by == "id" and needle not in raw:
                return None
            job = _decoded(raw)
            if job is None:
                return None
            if by == "id":
                return job if job.id == text else None
            return job if text in _args_text(job) else None

        rows: list[dict[str, Any]] = []
        scanned = 0
        if where == "queue":
            if not job_name:
                raise ValueError("a queue search needs its job name")
            key = self.keys.jobs(job_name)
            (length,) = yield [Call("LLEN", key)]
            done = cursor
            while done < int(length) and scanned < SEARCH_SCAN_LIMIT and len(rows) < PAGE_SIZE:
                (chunk,) = yield [Call("LRANGE", key, -(done + SEARCH_CHUNK), -(done + 1))]
                for row in reversed(chunk):
                    done += 1
                    scanned += 1
                    job = match(_raw(row))
                    if job is not None:
                        rows.append(job_json(job))
                        if len(rows) >= PAGE_SIZE:
                            break
                if not chunk:
                    break
            next_cursor = done if done < int(length) else 0
            return SearchPage(where=where, jobs=tuple(rows), cursor=next_cursor, scanned=scanned)
        key = self._zset_key(where)
        field = SCORE_FIELD[where]
        while True:
            (reply,) = yield [Call("ZSCAN", key, cursor, "COUNT", SEARCH_CHUNK)]
            cursor, pairs = _scan_reply(reply)
            for member, sc in pairs:
                scanned += 1
                job = match(_raw(member))
                if job is not None:
                    try:
                        rows.append({field: _score(sc), **job_json(job)})
                    except ValueError:
                        continue
            if cursor == 0 or scanned >= SEARCH_SCAN_LIMIT or len(rows) >= PAGE_SIZE:
                break
        rows.sort(key=lambda row: (row[field], row["id"]))
        return SearchPage(where=where, jobs=tuple(rows), cursor=cursor, scanned=scanned)

    def plan_throughput(self, minutes: int = 60) -> Plan[list[ThroughputMinute]]:
        """Our pools' counters (see :data:`~gowork_compat.scripts.ACK_BATCH`) for the last
        ``minutes`` minutes, the current one included, oldest first (one HGETALL each)."""
        if not 1 <= minutes <= MAX_STATS_MINUTES:
            raise ValueError(f"minutes must be 1 to {MAX_STATS_MINUTES}, not {minutes}")
        now = self.now()
        first = now - now % 60 - 60 * (minutes - 1)
        starts = [first + 60 * i for i in range(minutes)]
        hashes = yield [Call("HGETALL", self.keys.stats(m)) for m in starts]
        out: list[ThroughputMinute] = []
        for m, flat in zip(starts, hashes, strict=True):
            processed: dict[str, int] = {}
            failed: dict[str, int] = {}
            for fld, value in _pairs(flat):
                kind, _, name = fld.partition(":")
                if kind == "processed":
                    processed[name] = _lenient_int(value)
                elif kind == "failed":
                    failed[name] = _lenient_int(value)
            out.append(ThroughputMinute(minute=m, processed=processed, failed=failed))
        return out

    def plan_lock(self, job_name: str) -> Plan[JobLock]:
        (found,) = yield from self.plan_locks([job_name])
        return found

    def plan_locks(self, job_names: Sequence[str] | None = None) -> Plan[list[JobLock]]:
        names = list(job_names) if job_names is not None else (yield from self.plan_known_jobs())
        if not names:
            return []
        k = self.keys
        calls: list[Call] = []
        for n in names:
            calls += [Call("GET", k.lock(n)), Call("HGETALL", k.lock_info(n)),
                      Call("GET", k.max_concurrency(n)), Call("EXISTS", k.paused(n))]
        replies = yield calls
        out: list[JobLock] = []
        for i, name in enumerate(names):
            lock, info, cap, paused = replies[4 * i:4 * i + 4]
            out.append(JobLock(
                job_name=name, lock=_lenient_int(lock),
                lock_info={p: _lenient_int(v) for p, v in sorted(_pairs(info))},
                max_concurrency=_lenient_int(cap), paused=bool(int(paused)),
            ))
        return out

    def plan_is_paused(self, job_name: str) -> Plan[bool]:
        (n,) = yield [Call("EXISTS", self.keys.paused(job_name))]
        return bool(int(n))

    # -- actions ----------------------------------------------------------------------------
    def _plan_delete_zset_job(self, key: str, score: int, job_id: str) -> Plan[bytes | None]:
        (reply,) = yield [delete_zset_job_call(key, score, job_id)]
        removed, last = int(reply[0]), _raw(reply[1])
        if removed == 0:
            raise JobNotFound(NOTHING_DELETED)
        return last

    def plan_delete_dead_job(self, died_at: int, job_id: str) -> Plan[None]:
        yield from self._plan_delete_zset_job(self.keys.dead, died_at, job_id)

    def plan_delete_retry_job(self, retry_at: int, job_id: str) -> Plan[None]:
        yield from self._plan_delete_zset_job(self.keys.retry, retry_at, job_id)

    def plan_delete_scheduled_job(self, scheduled_for: int, job_id: str) -> Plan[None]:
        last = yield from self._plan_delete_zset_job(self.keys.scheduled, scheduled_for, job_id)
        if last:
            release = release_call(self.keys, Job.decode(last))
            if release is not None:
                yield [release]

    def plan_delete_queued_job(self, job_name: str, job_id: str) -> Plan[Job]:
        """Remove the job ``job_id`` from ``job_name``'s queue (one atomic script: a pool
        that fetched it first leaves :class:`JobNotFound`); a unique job's key is released."""
        (reply,) = yield [delete_queued_job_call(self.keys.jobs(job_name), job_id)]
        if int(reply[0]) == 0:
            raise JobNotFound(NOTHING_DELETED)
        job = Job.decode(_raw(reply[1]))
        release = release_call(self.keys, job)
        if release is not None:
            yield [release]
        return job

    def _plan_zset_job_now(self, key: str, score: int, job_id: str) -> Plan[int]:
        (reply,) = yield [zset_job_now_call(self.keys, key, score, job_id)]
        moved = int(reply[0])
        if moved == 0:
            raise JobNotFound(NOTHING_RETRIED)
        return moved

    def plan_run_retry_job_now(self, retry_at: int, job_id: str) -> Plan[int]:
        """Put the retry job (``retry_at``, ``job_id``) on its queue now, as Go's requeuer
        does when it is due (bytes unchanged); one atomic script, :class:`JobNotFound` when
        a requeuer took it first. Returns the jobs moved."""
        moved = yield from self._plan_zset_job_now(self.keys.retry, retry_at, job_id)
        return moved

    def plan_enqueue_scheduled_job_now(self, scheduled_for: int, job_id: str) -> Plan[int]:
        """Put the scheduled job on its queue now (see :meth:`plan_run_retry_job_now`)."""
        moved = yield from self._plan_zset_job_now(self.keys.scheduled, scheduled_for, job_id)
        return moved

    def plan_purge_queue(self, job_name: str, confirm: str) -> Plan[int]:
        """Delete every job waiting in ``job_name``'s queue, atomically, when ``confirm``
        is the job name (the typed confirmation); ValueError otherwise. Returns how many."""
        (n,) = yield [purge_queue_call(self.keys, job_name, confirm)]
        if int(n) < 0:
            raise ValueError(f"confirmation {confirm!r} is not the job name {job_name!r}: nothing purged")
        return int(n)

    def plan_retry_dead_job(self, died_at: int, job_id: str) -> Plan[None]:
        names = yield from self.plan_known_jobs()
        (reply,) = yield [retry_dead_job_call(self.keys, names, self.now(), died_at, job_id)]
        requeued, matched = retry_dead_job_result(reply, job_id)
        if requeued == 0:
            raise UnknownJobName(NOTHING_RETRIED) if matched else JobNotFound(NOTHING_RETRIED)

    def plan_retry_all_dead_jobs(self) -> Plan[int]:
        names = yield from self.plan_known_jobs()
        call = retry_all_dead_call(self.keys, names, self.now(), RETRY_ALL_BATCH)
        total = 0
        for _ in range(RETRY_ALL_MAX_ROUNDS):
            (reply,) = yield [call]
            total += int(reply[0])
            if int(reply[1]) == 0:
                break
        return total

    def plan_retry_dead_jobs_where(self, where: DeadFilter) -> Plan[FilterOutcome]:
        """Requeue every dead job ``where`` matches, one atomic script call per job (the
        one :meth:`plan_retry_dead_job` uses), so a job a pool or another client moves in
        the meantime is neither lost nor doubled: it is counted as ``gone``. Jobs whose
        name no pool registers are left dead, untouched (``unknown_name``)."""
        found = yield from self.plan_find_dead_jobs(where)
        names = yield from self.plan_known_jobs()
        known = set(names)
        runnable = _by_score_and_id(d for d in found if d.job.name in known)
        done = gone = kept = 0
        for i in range(0, len(runnable), ACTION_BATCH):
            batch = runnable[i:i + ACTION_BATCH]
            replies = yield [retry_dead_job_call(self.keys, names, self.now(), died_at, job_id)
                             for (died_at, job_id), _ in batch]
            for (_, seen), reply in zip(batch, replies, strict=True):
                requeued, matched = int(reply[0]), int(reply[1])
                done += requeued
                kept += int(reply[2]) if len(reply) > 2 else 0
                gone += max(seen - matched, 0)
        unknown = sum(1 for d in found if d.job.name not in known)
        return FilterOutcome(matched=len(found), done=done, unknown_name=unknown, gone=gone, kept=kept)

    def plan_delete_dead_jobs_where(self, where: DeadFilter) -> Plan[FilterOutcome]:
        """Delete every dead job ``where`` matches, one atomic script call per job (the one
        :meth:`plan_delete_dead_job` uses); jobs that left the dead set meanwhile are ``gone``."""
        found = yield from self.plan_find_dead_jobs(where)
        groups = _by_score_and_id(found)
        done = gone = 0
        for i in range(0, len(groups), ACTION_BATCH):
            batch = groups[i:i + ACTION_BATCH]
            replies = yield [delete_zset_job_call(self.keys.dead, died_at, job_id) for (died_at, job_id), _ in batch]
            for (_, seen), reply in zip(batch, replies, strict=True):
                removed = int(reply[0])
                done += removed
                gone += max(seen - removed, 0)
        return FilterOutcome(matched=len(found), done=done, gone=gone)

    def plan_delete_unreadable(self, where: str, raw: bytes, job_name: str = "") -> Plan[None]:
        """Remove one member that cannot be read as a job (see :class:`UnreadableEntry`) by its
        exact bytes: from the retry, scheduled or dead set, or (``where="queue"``) from
        ``job_name``'s queue (one occurrence, the oldest)."""
        k = self.keys
        if where == "queue":
            if not job_name:
                raise ValueError("a queue entry needs its job name")
            (removed,) = yield [Call("LREM", k.jobs(job_name), -1, raw)]
        elif where in ("retry", "scheduled", "dead"):
            key = {"retry": k.retry, "scheduled": k.scheduled, "dead": k.dead}[where]
            (removed,) = yield [Call("ZREM", key, raw)]
        else:
            raise ValueError(f"where must be one of {', '.join(UNREADABLE_PLACES)}, not {where!r}")
        if int(removed) == 0:
            raise JobNotFound(NOTHING_DELETED)

    def plan_delete_all_dead_jobs(self) -> Plan[None]:
        yield [Call("DEL", self.keys.dead)]

    def plan_pause(self, job_name: str) -> Plan[None]:
        yield [Call("SET", self.keys.paused(job_name), "1")]

    def plan_unpause(self, job_name: str) -> Plan[None]:
        yield [Call("DEL", self.keys.paused(job_name))]

    def plan_reset_lock(self, job_name: str) -> Plan[JobLock]:
        k = self.keys
        yield [reset_lock_call(k, job_name, self.now(), self.dead_after)]
        found = yield from self.plan_lock(job_name)
        return found
