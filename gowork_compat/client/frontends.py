"""The sync and asyncio front ends: :class:`Client` and :class:`AsyncClient` carry the
plans of :class:`~.planner.ClientPlanner` to Redis and nothing else, method for method
(``tests/test_client.py`` holds the two equal: same names, same signatures, each method
running the plan of its name)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import redis
import redis.asyncio as aredis

from .._redis import RedisLike, aexecute, async_client, execute, sync_client
from ..heartbeat import DEAD_AFTER
from ..job import Job
from .planner import ClientPlanner, DeadFilter, FilterOutcome, Plan
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
)

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")


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
        self.redis = sync_client(redis, namespace)
        self._owned = self.redis is not redis
        self.planner = ClientPlanner(namespace, clock=clock, dead_after=dead_after)
        self.namespace = namespace

    def _run(self, plan: Plan[T]) -> T:
        return _drive(self.redis, plan)

    def close(self) -> None:
        """Close the connection pool if this client made it (from a URL or an asyncio client)."""
        if self._owned:
            self.redis.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Go's views
    def worker_pool_heartbeats(self) -> list[WorkerPoolHeartbeat]:
        """Every pool in the ``worker_pools`` set (even without a current heartbeat), by id."""
        return self._run(self.planner.plan_worker_pool_heartbeats())

    def worker_observations(self) -> list[WorkerObservation]:
        """Every worker slot of those pools, busy or not."""
        return self._run(self.planner.plan_worker_observations())

    def queues(self) -> list[Queue]:
        """Every known job name's queue: its length and latency (seconds the oldest job has waited), sorted by
        name."""
        return self._run(self.planner.plan_queues())

    def retry_jobs(self, page: int = 1) -> tuple[list[RetryJob | UnreadableEntry], int]:
        """One page (20 jobs, next retry first) and the total number of retry jobs."""
        return self._run(self.planner.plan_retry_jobs(page))

    def scheduled_jobs(self, page: int = 1) -> tuple[list[ScheduledJob | UnreadableEntry], int]:
        """One page (20 jobs, soonest first) and the total number of scheduled jobs."""
        return self._run(self.planner.plan_scheduled_jobs(page))

    def dead_jobs(self, page: int = 1) -> tuple[list[DeadJob | UnreadableEntry], int]:
        """One page (20 jobs, oldest death first) and the total number of dead jobs."""
        return self._run(self.planner.plan_dead_jobs(page))

    # Go's actions
    def delete_dead_job(self, died_at: int, job_id: str) -> None:
        """Delete one dead job (:class:`~gowork_compat.JobNotFound` when it is not there)."""
        self._run(self.planner.plan_delete_dead_job(died_at, job_id))

    def retry_dead_job(self, died_at: int, job_id: str) -> None:
        """Put a dead job back on its queue (its name must be in ``known_jobs``)."""
        self._run(self.planner.plan_retry_dead_job(died_at, job_id))

    def retry_all_dead_jobs(self) -> int:
        """Requeue every dead job (that died before now); returns how many were requeued."""
        return self._run(self.planner.plan_retry_all_dead_jobs())

    def delete_all_dead_jobs(self) -> None:
        """Delete the whole dead set."""
        self._run(self.planner.plan_delete_all_dead_jobs())

    def delete_scheduled_job(self, scheduled_for: int, job_id: str) -> None:
        """Remove a scheduled job, and its unique key if it is a unique job."""
        self._run(self.planner.plan_delete_scheduled_job(scheduled_for, job_id))

    def delete_retry_job(self, retry_at: int, job_id: str) -> None:
        """Delete one job waiting for a retry (:class:`~gowork_compat.JobNotFound` when it is not there)."""
        self._run(self.planner.plan_delete_retry_job(retry_at, job_id))

    # beyond Go
    def known_jobs(self) -> list[str]:
        """The job names in the ``known_jobs`` set (every name ever enqueued or registered), sorted."""
        return self._run(self.planner.plan_known_jobs())

    def queued_jobs(self, job_name: str, page: int = 1) -> tuple[list[Job | UnreadableEntry], int]:
        """One page of the jobs waiting in ``job_name``'s queue, oldest first, and the count."""
        return self._run(self.planner.plan_queued_jobs(job_name, page))

    def pause(self, job_name: str) -> None:
        """Stop every pool (Go's or Python's) from starting jobs of ``job_name``."""
        self._run(self.planner.plan_pause(job_name))

    def unpause(self, job_name: str) -> None:
        """Let pools start jobs of ``job_name`` again."""
        self._run(self.planner.plan_unpause(job_name))

    def is_paused(self, job_name: str) -> bool:
        """True when ``job_name`` is paused."""
        return self._run(self.planner.plan_is_paused(job_name))

    def lock(self, job_name: str) -> JobLock:
        """The concurrency-lock figures of ``job_name`` (lock count, per-pool ``lock_info``, max); a lock
        below 0 is a problem (see :meth:`reset_lock`)."""
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

    def counts(self) -> JobCounts:
        """How many jobs wait for a retry, are scheduled, and are dead."""
        return self._run(self.planner.plan_counts())

    def find_dead_jobs(self, where: DeadFilter | None = None) -> list[DeadJob]:
        """Every readable dead job that ``where`` matches (default: all), by died-at."""
        return self._run(self.planner.plan_find_dead_jobs(where))

    def retry_dead_jobs_where(self, where: DeadFilter) -> FilterOutcome:
        """Requeue the dead jobs ``where`` matches, one atomic script call per job; jobs of
        names no pool registers stay dead (see :class:`~gowork_compat.client.FilterOutcome`)."""
        return self._run(self.planner.plan_retry_dead_jobs_where(where))

    def delete_dead_jobs_where(self, where: DeadFilter) -> FilterOutcome:
        """Delete the dead jobs ``where`` matches, one atomic script call per job."""
        return self._run(self.planner.plan_delete_dead_jobs_where(where))

    def delete_queued_job(self, job_name: str, job_id: str) -> Job:
        """Remove a waiting job from its queue by id (atomic; JobNotFound if a pool took it)."""
        return self._run(self.planner.plan_delete_queued_job(job_name, job_id))

    def run_retry_job_now(self, retry_at: int, job_id: str) -> int:
        """Queue a retry job now instead of at ``retry_at`` (atomic; JobNotFound if gone)."""
        return self._run(self.planner.plan_run_retry_job_now(retry_at, job_id))

    def enqueue_scheduled_job_now(self, scheduled_for: int, job_id: str) -> int:
        """Queue a scheduled job now (atomic; JobNotFound if gone)."""
        return self._run(self.planner.plan_enqueue_scheduled_job_now(scheduled_for, job_id))

    def purge_queue(self, job_name: str, confirm: str) -> int:
        """Empty ``job_name``'s queue; ``confirm`` must be the job name. Returns jobs removed."""
        return self._run(self.planner.plan_purge_queue(job_name, confirm))

    def throughput(self, minutes: int = 60) -> list[ThroughputMinute]:
        """Our pools' finished and failed jobs per minute, oldest first (Go pools count none)."""
        return self._run(self.planner.plan_throughput(minutes))

    def job_detail(self, where: str, job_id: str, score: int | None = None, job_name: str = "") -> JobDetail:
        """One job where it is stored, with its bytes and the workers running it (see the planner)."""
        return self._run(self.planner.plan_job_detail(where, job_id, score, job_name))

    def search(self, where: str, text: str, *, by: str = "id", job_name: str = "", cursor: int = 0) -> SearchPage:
        """One page of a bounded search by job id or args text (see the planner)."""
        return self._run(self.planner.plan_search(where, text, by=by, job_name=job_name, cursor=cursor))

    def delete_unreadable(self, where: str, raw: bytes, job_name: str = "") -> None:
        """Remove a member that cannot be read as a job (an :class:`~gowork_compat.client.UnreadableEntry` of a
        page) by its exact bytes; ``where``: retry, scheduled, dead or queue (with ``job_name``)."""
        self._run(self.planner.plan_delete_unreadable(where, raw, job_name))


class AsyncClient:
    """The asyncio twin of :class:`Client` (same methods, as coroutines)."""

    def __init__(self, redis: RedisLike, namespace: str, *, clock: Callable[[], float] = time.time,
                 dead_after: int = DEAD_AFTER) -> None:
        self.redis = async_client(redis, namespace)
        self._owned = self.redis is not redis
        self.planner = ClientPlanner(namespace, clock=clock, dead_after=dead_after)
        self.namespace = namespace

    async def _run(self, plan: Plan[T]) -> T:
        return await _adrive(self.redis, plan)

    async def worker_pool_heartbeats(self) -> list[WorkerPoolHeartbeat]:
        """Every pool in the ``worker_pools`` set (even without a current heartbeat), by id."""
        return await self._run(self.planner.plan_worker_pool_heartbeats())

    async def worker_observations(self) -> list[WorkerObservation]:
        """Every worker slot of those pools, busy or not."""
        return await self._run(self.planner.plan_worker_observations())

    async def queues(self) -> list[Queue]:
        """Every known job name's queue: its length and latency (seconds the oldest job has waited), sorted by
        name."""
        return await self._run(self.planner.plan_queues())

    async def retry_jobs(self, page: int = 1) -> tuple[list[RetryJob | UnreadableEntry], int]:
        """One page (20 jobs, next retry first) and the total number of retry jobs."""
        return await self._run(self.planner.plan_retry_jobs(page))

    async def scheduled_jobs(self, page: int = 1) -> tuple[list[ScheduledJob | UnreadableEntry], int]:
        """One page (20 jobs, soonest first) and the total number of scheduled jobs."""
        return await self._run(self.planner.plan_scheduled_jobs(page))

    async def dead_jobs(self, page: int = 1) -> tuple[list[DeadJob | UnreadableEntry], int]:
        """One page (20 jobs, oldest death first) and the total number of dead jobs."""
        return await self._run(self.planner.plan_dead_jobs(page))

    async def delete_dead_job(self, died_at: int, job_id: str) -> None:
        """Delete one dead job (:class:`~gowork_compat.JobNotFound` when it is not there)."""
        await self._run(self.planner.plan_delete_dead_job(died_at, job_id))

    async def retry_dead_job(self, died_at: int, job_id: str) -> None:
        """Put a dead job back on its queue (its name must be in ``known_jobs``)."""
        await self._run(self.planner.plan_retry_dead_job(died_at, job_id))

    async def retry_all_dead_jobs(self) -> int:
        """Requeue every dead job (that died before now); returns how many were requeued."""
        return await self._run(self.planner.plan_retry_all_dead_jobs())

    async def delete_all_dead_jobs(self) -> None:
        """Delete the whole dead set."""
        await self._run(self.planner.plan_delete_all_dead_jobs())

    async def delete_scheduled_job(self, scheduled_for: int, job_id: str) -> None:
        """Remove a scheduled job, and its unique key if it is a unique job."""
        await self._run(self.planner.plan_delete_scheduled_job(scheduled_for, job_id))

    async def delete_retry_job(self, retry_at: int, job_id: str) -> None:
        """Delete one job waiting for a retry (:class:`~gowork_compat.JobNotFound` when it is not there)."""
        await self._run(self.planner.plan_delete_retry_job(retry_at, job_id))

    async def known_jobs(self) -> list[str]:
        """The job names in the ``known_jobs`` set (every name ever enqueued or registered), sorted."""
        return await self._run(self.planner.plan_known_jobs())

    async def queued_jobs(self, job_name: str, page: int = 1) -> tuple[list[Job | UnreadableEntry], int]:
        """One page of the jobs waiting in ``job_name``'s queue, oldest first, and the count."""
        return await self._run(self.planner.plan_queued_jobs(job_name, page))

    async def pause(self, job_name: str) -> None:
        """Stop every pool (Go's or Python's) from starting jobs of ``job_name``."""
        await self._run(self.planner.plan_pause(job_name))

    async def unpause(self, job_name: str) -> None:
        """Let pools start jobs of ``job_name`` again."""
        await self._run(self.planner.plan_unpause(job_name))

    async def is_paused(self, job_name: str) -> bool:
        """True when ``job_name`` is paused."""
        return await self._run(self.planner.plan_is_paused(job_name))

    async def lock(self, job_name: str) -> JobLock:
        """The concurrency-lock figures of ``job_name`` (lock count, per-pool ``lock_info``, max); a lock
        below 0 is a problem (see :meth:`reset_lock`)."""
        return await self._run(self.planner.plan_lock(job_name))

    async def locks(self, job_names: Sequence[str] | None = None) -> list[JobLock]:
        """Lock figures of ``job_names`` (default: every known job name, sorted)."""
        return await self._run(self.planner.plan_locks(job_names))

    async def reset_lock(self, job_name: str) -> JobLock:
        """Repair a concurrency lock left too high by pools that died holding it: drop the
        ``lock_info`` entries of pools that are gone (not in ``worker_pools`` or heartbeat
        older than ``dead_after`` seconds) and set the lock to the sum of the live ones.
        Go's reaper does the same per dead pool, but only every 10 minutes and only for
        pools still in the set; this does it now. Returns the figures afterwards."""
        return await self._run(self.planner.plan_reset_lock(job_name))

    async def counts(self) -> JobCounts:
        """How many jobs wait for a retry, are scheduled, and are dead."""
        return await self._run(self.planner.plan_counts())

    async def find_dead_jobs(self, where: DeadFilter | None = None) -> list[DeadJob]:
        """Every readable dead job that ``where`` matches (default: all), by died-at."""
        return await self._run(self.planner.plan_find_dead_jobs(where))

    async def retry_dead_jobs_where(self, where: DeadFilter) -> FilterOutcome:
        """Requeue the dead jobs ``where`` matches, one atomic script call per job; jobs of
        names no pool registers stay dead (see :class:`~gowork_compat.client.FilterOutcome`)."""
        return await self._run(self.planner.plan_retry_dead_jobs_where(where))

    async def delete_dead_jobs_where(self, where: DeadFilter) -> FilterOutcome:
        """Delete the dead jobs ``where`` matches, one atomic script call per job."""
        return await self._run(self.planner.plan_delete_dead_jobs_where(where))

    async def delete_queued_job(self, job_name: str, job_id: str) -> Job:
        """Remove a waiting job from its queue by id (see :meth:`Client.delete_queued_job`)."""
        return await self._run(self.planner.plan_delete_queued_job(job_name, job_id))

    async def run_retry_job_now(self, retry_at: int, job_id: str) -> int:
        """Queue a retry job now (see :meth:`Client.run_retry_job_now`)."""
        return await self._run(self.planner.plan_run_retry_job_now(retry_at, job_id))

    async def enqueue_scheduled_job_now(self, scheduled_for: int, job_id: str) -> int:
        """Queue a scheduled job now (see :meth:`Client.enqueue_scheduled_job_now`)."""
        return await self._run(self.planner.plan_enqueue_scheduled_job_now(scheduled_for, job_id))

    async def purge_queue(self, job_name: str, confirm: str) -> int:
        """Empty a queue, ``confirm`` being its job name (see :meth:`Client.purge_queue`)."""
        return await self._run(self.planner.plan_purge_queue(job_name, confirm))

    async def throughput(self, minutes: int = 60) -> list[ThroughputMinute]:
        """Our pools' finished and failed jobs per minute (see :meth:`Client.throughput`)."""
        return await self._run(self.planner.plan_throughput(minutes))

    async def job_detail(self, where: str, job_id: str, score: int | None = None, job_name: str = "") -> JobDetail:
        """One job where it is stored (see :meth:`Client.job_detail`)."""
        return await self._run(self.planner.plan_job_detail(where, job_id, score, job_name))

    async def search(self, where: str, text: str, *, by: str = "id", job_name: str = "",
                     cursor: int = 0) -> SearchPage:
        """One page of a bounded search (see :meth:`Client.search`)."""
        return await self._run(self.planner.plan_search(where, text, by=by, job_name=job_name, cursor=cursor))

    async def delete_unreadable(self, where: str, raw: bytes, job_name: str = "") -> None:
        """Remove a member that cannot be read as a job (an :class:`~gowork_compat.client.UnreadableEntry` of a
        page) by its exact bytes; ``where``: retry, scheduled, dead or queue (with ``job_name``)."""
        await self._run(self.planner.plan_delete_unreadable(where, raw, job_name))

    async def aclose(self) -> None:
        """Close the connection pool if this client made it (from a URL or a sync client)."""
        if self._owned:
            await self.redis.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
