"""Inspect and manage a gocraft/work namespace: the views and actions of Go's
``work.Client`` (what its web UI shows and does), plus a few more.

:class:`~gowork_compat.Client` (sync) and :class:`~gowork_compat.AsyncClient` (asyncio) are thin front ends over one
sans-I/O core: every operation is a *plan*, a generator that yields batches of Redis
commands (:class:`~gowork_compat._redis.Call`), receives their replies and finally returns
the result. The front ends only carry the batches to Redis, so both behave identically.

The package by concept: :mod:`.views` (what is returned, Go's structs and their JSON),
:mod:`.planner` (the plans, including the queries the CLI and web UI need: dead jobs by
filter, counts) and :mod:`.frontends` (the sync and asyncio front ends).

Go parity (gocraft/work v0.5.1):

* ``worker_pool_heartbeats()`` sorts pools by id and each pool's job names and worker
  ids; a field missing from the heartbeat hash stays at its zero value (lists: ``None``,
  JSON ``null``), an empty ``job_names`` field becomes ``[""]`` as Go's ``strings.Split``.
* ``worker_observations()`` walks the workers of those heartbeats in that order; a worker
  whose observation hash has any field is busy.
* ``queues()`` lists ``known_jobs`` sorted, with the queue length and the latency
  ``now - t`` of the oldest waiting job (0 for an empty queue).
* pages hold 20 jobs, ordered by score; pages below 1 are page 1. Beyond Go, a member
  that cannot be read (bad JSON, a non-integer score) is an :class:`UnreadableEntry` in
  its place instead of failing the page (Go's web UI answers 500), and can be deleted
  by its bytes (:meth:`~gowork_compat.Client.delete_unreadable`).
* deleting or retrying something that is not there raises :class:`~gowork_compat.JobNotFound` whose
  text is Go's error text (``nothing deleted`` / ``nothing retried``).

Deliberate differences, where Go fails badly:

* Go's ``Queues`` dereferences a nil job (a panic) when the oldest job of a queue is not
  valid JSON; here that queue's latency is 0.
* Go's ``RetryAllDeadJobs`` stops as soon as one batch of 1000 dead jobs requeued nothing
  (for instance 1000 jobs of unknown names), leaving the rest dead; here the loop stops when
  no dead job that died before now is left to look at.

Beyond Go: :meth:`~gowork_compat.Client.pause`, :meth:`~gowork_compat.Client.unpause`,
:meth:`~gowork_compat.Client.is_paused`, :meth:`~gowork_compat.Client.locks` /
:meth:`~gowork_compat.Client.lock` (the concurrency-cap bookkeeping of a job name),
:meth:`~gowork_compat.Client.queued_jobs`, :meth:`~gowork_compat.Client.reset_lock`,
:meth:`~gowork_compat.Client.counts`, and the dead jobs by filter (:class:`DeadFilter`: job
name, error text, id): :meth:`~gowork_compat.Client.find_dead_jobs`,
:meth:`~gowork_compat.Client.retry_dead_jobs_where` and
:meth:`~gowork_compat.Client.delete_dead_jobs_where` (one atomic script call per job).
"""

from .frontends import AsyncClient, Client
from .planner import (
    NOTHING_DELETED,
    NOTHING_RETRIED,
    PAGE_SIZE,
    RETRY_ALL_BATCH,
    RETRY_ALL_MAX_ROUNDS,
    ClientPlanner,
    DeadFilter,
    FilterOutcome,
    JobNotFound,
    Plan,
    UnknownJobName,
)
from .views import (
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
    go_args,
    job_json,
    parse_int,
    parse_uint,
)

__all__ = [
    "NOTHING_DELETED",
    "NOTHING_RETRIED",
    "PAGE_SIZE",
    "RETRY_ALL_BATCH",
    "RETRY_ALL_MAX_ROUNDS",
    "AsyncClient",
    "Client",
    "ClientPlanner",
    "DeadFilter",
    "DeadJob",
    "FilterOutcome",
    "JobCounts",
    "JobDetail",
    "JobLock",
    "JobNotFound",
    "Plan",
    "Queue",
    "RetryJob",
    "ScheduledJob",
    "SearchPage",
    "ThroughputMinute",
    "UnknownJobName",
    "UnreadableEntry",
    "WorkerObservation",
    "WorkerPoolHeartbeat",
    "go_args",
    "job_json",
    "parse_int",
    "parse_uint",
]
