"""Inspect and manage a gocraft/work namespace: the views and actions of Go's
``work.Client`` (what its web UI shows and does), plus a few more.

:class:`Client` (sync) and :class:`AsyncClient` (asyncio) are thin front ends over one
sans-I/O core: every operation is a *plan*, a generator that yields batches of Redis
commands (:class:`~gowork_compat._redis.Call`), receives their replies and finally returns
the result. The front ends only carry the batches to Redis, so both behave identically.

Go parity (gocraft/work v0.5.1):

* ``worker_pool_heartbeats()`` sorts pools by id and each pool's job names and worker
  ids; a field missing from the heartbeat hash stays at its zero value (lists: ``None``,
  JSON ``null``), an empty ``job_names`` field becomes ``[""]`` as Go's ``strings.Split``.
* ``worker_observations()`` walks the workers of those heartbeats in that order; a worker
  whose observation hash has any field is busy.
* ``queues()`` lists ``known_jobs`` sorted, with the queue length and the latency
  ``now - t`` of the oldest waiting job (0 for an empty queue).
* pages hold 20 jobs, ordered by score; pages below 1 are page 1.
* deleting or retrying something that is not there raises :class:`JobNotFound` whose
  text is Go's error text (``nothing deleted`` / ``nothing retried``).

Deliberate differences, where Go fails badly:

* Go's ``Queues`` dereferences a nil job (a panic) when the oldest job of a queue is not
  valid JSON; here that queue's latency is 0.
* Go's ``RetryAllDeadJobs`` stops as soon as one batch of 1000 dead jobs requeued nothing
  (for instance 1000 jobs of unknown names), leaving the rest dead; here the loop stops when
  no dead job that died before now is left to look at.

Beyond Go: :meth:`Client.pause`, :meth:`Client.unpause`, :meth:`Client.is_paused`,
:meth:`Client.locks` / :meth:`Client.lock` (the concurrency-cap bookkeeping of a job
name), :meth:`Client.queued_jobs` and :meth:`Client.reset_lock`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
import redis.asyncio as aredis

from . import enqueuer
from ._redis import Call, RedisLike, aexecute, async_client, execute, sync_client
from .heartbeat import DEAD_AFTER
from .job import Job
from .keys import Keys
from .scripts import (
    delete_zset_job_call,
    reset_lock_call,
    retry_all_dead_call,
    retry_dead_job_call,
    retry_dead_job_result,
)
from .unique import release_call

__all__ = [
    "PAGE_SIZE",
    "AsyncClient",
    "Client",
    "ClientPlanner",
    "DeadJob",
    "JobLock",
    "JobNotFound",
    "Queue",
    "RetryJob",
    "ScheduledJob",
    "UnknownJobName",
    "WorkerObservation",
    "WorkerPoolHeartbeat",
    "go_args",
    "job_json",
]

#: jobs per page of the retry, scheduled, dead and queued lists (Go's page size)
PAGE_SIZE = 20
#: dead jobs requeued per script call by ``retry_all_dead_jobs`` (as Go)
RETRY_ALL_BATCH = 1000
#: at most this many script calls per ``retry_all_dead_jobs`` (as Go)
RETRY_ALL_MAX_ROUNDS = 1000

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


# -- Go's strconv, strictly ---------------------------------------------------------------
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_UINT_RE = re.compile(r"[0-9]+\Z")


def parse_int(text: str, bits: int = 64) -> int:
    """Go's ``strconv.ParseInt(text, 10, bits)``: ValueError (with Go's message) otherwise."""
    if not _INT_RE.match(text):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def parse_uint(text: str, bits: int = 64) -> int:
    """Go's ``strconv.ParseUint(text, 10, bits)``."""
    if not _UINT_RE.match(text):
        raise ValueError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    value = int(text)
    if value >= 1 << bits:
        raise ValueError(f'strconv.ParseUint: parsing "{text}": value out of range')
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

    def _plan_zset_page(self, key: str, page: int) -> Plan[tuple[list[tuple[int, Job]], int]]:
        start = (_page(page) - 1) * PAGE_SIZE
        rows, count = yield [
            Call("ZRANGEBYSCORE", key, "-inf", "+inf", "WITHSCORES", "LIMIT", start, PAGE_SIZE),
            Call("ZCARD", key),
        ]
        items: list[tuple[int, Job]] = []
        if rows and isinstance(rows[0], (list, tuple)):  # RESP3 pairs
            flat: list[Any] = [x for pair in rows for x in pair]
        else:
            flat = list(rows)
        for i in range(0, len(flat) - 1, 2):
            items.append((_score(flat[i + 1]), Job.decode(_raw(flat[i]))))
        return items, int(count)

    def plan_retry_jobs(self, page: int = 1) -> Plan[tuple[list[RetryJob], int]]:
        items, count = yield from self._plan_zset_page(self.keys.retry, page)
        return [RetryJob(retry_at=s, job=j) for s, j in items], count

    def plan_scheduled_jobs(self, page: int = 1) -> Plan[tuple[list[ScheduledJob], int]]:
        items, count = yield from self._plan_zset_page(self.keys.scheduled, page)
        return [ScheduledJob(run_at=s, job=j) for s, j in items], count

    def plan_dead_jobs(self, page: int = 1) -> Plan[tuple[list[DeadJob], int]]:
        items, count = yield from self._plan_zset_page(self.keys.dead, page)
        return [DeadJob(died_at=s, job=j) for s, j in items], count

    def plan_queued_jobs(self, job_name: str, page: int = 1) -> Plan[tuple[list[Job], int]]:
        """Jobs waiting in ``job_name``'s queue, oldest (next to run) first."""
        key = self.keys.jobs(job_name)
        start = (_page(page) - 1) * PAGE_SIZE
        rows, count = yield [Call("LRANGE", key, -(start + PAGE_SIZE), -(start + 1)), Call("LLEN", key)]
        return [Job.decode(_raw(r)) for r in reversed(rows)], int(count)

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


# -- front ends ----------------------------------------------------------------------------------
def _drive(client: redis.Redis, plan: Plan[T]) -> T:
    try:
        calls = next(plan)
        while True:
            calls = plan.send(execute(client, calls))
    except StopIteration as done:
        result: T = done.value
        return result


async def _adrive(client: aredis.Redis, plan: Plan[T]) -> T:
    try:
        calls = next(plan)
        while True:
            calls = plan.send(await aexecute(client, calls))
    except StopIteration as done:
        result: T = done.value
        return result


class Client:
    """Go's ``work.Client`` for one namespace, over a sync Redis connection (a URL, a
    ``redis.Redis``, or a ``redis.asyncio.Redis`` whose settings are copied).

    Views return dataclasses whose ``to_json()`` is the object Go's struct marshals to.
    """

    def __init__(self, redis: RedisLike, namespace: str, *, clock: Callable[[], float] = time.time,
                 dead_after: int = DEAD_AFTER) -> None:
        self.redis = sync_client(redis)
        self._owned = self.redis is not redis
        self.planner = ClientPlanner(namespace, clock=clock, dead_after=dead_after)
        self.namespace = namespace

    def _run(self, plan: Plan[T]) -> T:
        return _drive(self.redis, plan)

    def close(self) -> None:
        """Close the connection pool if this client made it (from a URL or an asyncio client)."""
        if self._owned:
            self.redis.close()

    # Go's views
    def worker_pool_heartbeats(self) -> list[WorkerPoolHeartbeat]:
        """Every pool in the ``worker_pools`` set (even without a current heartbeat), by id."""
        return self._run(self.planner.plan_worker_pool_heartbeats())

    def worker_observations(self) -> list[WorkerObservation]:
        """Every worker slot of those pools, busy or not."""
        return self._run(self.planner.plan_worker_observations())

    def queues(self) -> list[Queue]:
        return self._run(self.planner.plan_queues())

    def retry_jobs(self, page: int = 1) -> tuple[list[RetryJob], int]:
        """One page (20 jobs, next retry first) and the total number of retry jobs."""
        return self._run(self.planner.plan_retry_jobs(page))

    def scheduled_jobs(self, page: int = 1) -> tuple[list[ScheduledJob], int]:
        return self._run(self.planner.plan_scheduled_jobs(page))

    def dead_jobs(self, page: int = 1) -> tuple[list[DeadJob], int]:
        return self._run(self.planner.plan_dead_jobs(page))

    # Go's actions
    def delete_dead_job(self, died_at: int, job_id: str) -> None:
        self._run(self.planner.plan_delete_dead_job(died_at, job_id))

    def retry_dead_job(self, died_at: int, job_id: str) -> None:
        """Put a dead job back on its queue (its name must be in ``known_jobs``)."""
        self._run(self.planner.plan_retry_dead_job(died_at, job_id))

    def retry_all_dead_jobs(self) -> int:
        """Requeue every dead job (that died before now); returns how many were requeued."""
        return self._run(self.planner.plan_retry_all_dead_jobs())

    def delete_all_dead_jobs(self) -> None:
        self._run(self.planner.plan_delete_all_dead_jobs())

    def delete_scheduled_job(self, scheduled_for: int, job_id: str) -> None:
        """Remove a scheduled job, and its unique key if it is a unique job."""
        self._run(self.planner.plan_delete_scheduled_job(scheduled_for, job_id))

    def delete_retry_job(self, retry_at: int, job_id: str) -> None:
        self._run(self.planner.plan_delete_retry_job(retry_at, job_id))

    # beyond Go
    def known_jobs(self) -> list[str]:
        return self._run(self.planner.plan_known_jobs())

    def queued_jobs(self, job_name: str, page: int = 1) -> tuple[list[Job], int]:
        """One page of the jobs waiting in ``job_name``'s queue, oldest first, and the count."""
        return self._run(self.planner.plan_queued_jobs(job_name, page))

    def pause(self, job_name: str) -> None:
        """Stop every pool (Go's or Python's) from starting jobs of ``job_name``."""
        self._run(self.planner.plan_pause(job_name))

    def unpause(self, job_name: str) -> None:
        self._run(self.planner.plan_unpause(job_name))

    def is_paused(self, job_name: str) -> bool:
        return self._run(self.planner.plan_is_paused(job_name))

    def lock(self, job_name: str) -> JobLock:
        return self._run(self.planner.plan_lock(job_name))

    def locks(self, job_names: Sequence[str] | None = None) -> list[JobLock]:
        """Lock figures of ``job_names`` (default: every known job name, sorted)."""
        return self._run(self.planner.plan_locks(job_names))

    def reset_lock(self, job_name: str) -> JobLock:
        """Repair a concurrency lock left too high by pools that died holding it: drop the
        ``lock_info`` entries of pools that are gone (not in ``worker_pools`` or heartbeat
        older than ``dead_after`` seconds) and set the lock to the sum of the live ones.
        Go's reaper does the same per dead pool, but only every 10 minutes and only for
        pools still in the set; this does it now. Returns the figures afterwards."""
        return self._run(self.planner.plan_reset_lock(job_name))


class AsyncClient:
    """The asyncio twin of :class:`Client` (same methods, as coroutines)."""

    def __init__(self, redis: RedisLike, namespace: str, *, clock: Callable[[], float] = time.time,
                 dead_after: int = DEAD_AFTER) -> None:
        self.redis = async_client(redis)
        self._owned = self.redis is not redis
        self.planner = ClientPlanner(namespace, clock=clock, dead_after=dead_after)
        self.namespace = namespace

    async def _run(self, plan: Plan[T]) -> T:
        return await _adrive(self.redis, plan)

    async def worker_pool_heartbeats(self) -> list[WorkerPoolHeartbeat]:
        return await self._run(self.planner.plan_worker_pool_heartbeats())

    async def worker_observations(self) -> list[WorkerObservation]:
        return await self._run(self.planner.plan_worker_observations())

    async def queues(self) -> list[Queue]:
        return await self._run(self.planner.plan_queues())

    async def retry_jobs(self, page: int = 1) -> tuple[list[RetryJob], int]:
        return await self._run(self.planner.plan_retry_jobs(page))

    async def scheduled_jobs(self, page: int = 1) -> tuple[list[ScheduledJob], int]:
        return await self._run(self.planner.plan_scheduled_jobs(page))

    async def dead_jobs(self, page: int = 1) -> tuple[list[DeadJob], int]:
        return await self._run(self.planner.plan_dead_jobs(page))

    async def delete_dead_job(self, died_at: int, job_id: str) -> None:
        await self._run(self.planner.plan_delete_dead_job(died_at, job_id))

    async def retry_dead_job(self, died_at: int, job_id: str) -> None:
        await self._run(self.planner.plan_retry_dead_job(died_at, job_id))

    async def retry_all_dead_jobs(self) -> int:
        return await self._run(self.planner.plan_retry_all_dead_jobs())

    async def delete_all_dead_jobs(self) -> None:
        await self._run(self.planner.plan_delete_all_dead_jobs())

    async def delete_scheduled_job(self, scheduled_for: int, job_id: str) -> None:
        await self._run(self.planner.plan_delete_scheduled_job(scheduled_for, job_id))

    async def delete_retry_job(self, retry_at: int, job_id: str) -> None:
        await self._run(self.planner.plan_delete_retry_job(retry_at, job_id))

    async def known_jobs(self) -> list[str]:
        return await self._run(self.planner.plan_known_jobs())

    async def queued_jobs(self, job_name: str, page: int = 1) -> tuple[list[Job], int]:
        return await self._run(self.planner.plan_queued_jobs(job_name, page))

    async def pause(self, job_name: str) -> None:
        await self._run(self.planner.plan_pause(job_name))

    async def unpause(self, job_name: str) -> None:
        await self._run(self.planner.plan_unpause(job_name))

    async def is_paused(self, job_name: str) -> bool:
        return await self._run(self.planner.plan_is_paused(job_name))

    async def lock(self, job_name: str) -> JobLock:
        return await self._run(self.planner.plan_lock(job_name))

    async def locks(self, job_names: Sequence[str] | None = None) -> list[JobLock]:
        return await self._run(self.planner.plan_locks(job_names))

    async def reset_lock(self, job_name: str) -> JobLock:
        return await self._run(self.planner.plan_reset_lock(job_name))

    async def aclose(self) -> None:
        """Close the connection pool if this client made it (from a URL or a sync client)."""
        if self._owned:
            await self.redis.aclose()
