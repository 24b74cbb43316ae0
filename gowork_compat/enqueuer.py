"""Enqueue jobs that gocraft/work workers (Go or Python) run.

:class:`Enqueuer` (sync) and :class:`AsyncEnqueuer` (asyncio) are thin front ends over
:class:`EnqueuePlanner`, which builds the jobs and the Redis commands without doing I/O.
Every method has the effects of the Go ``Enqueuer`` method of the same name; see
``spec/README.md`` for the wire details.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from . import gojson
from ._redis import AutoPipeline, Call, RawSender, RedisLike, async_client, clone_async, sync_client
from ._topology import WrongNodeError
from .contracts import Contracts, as_contracts
from .job import Job, new_id, new_ids
from .keys import Keys
from .unique import UniqueEnqueue, enqueue_unique_call, enqueue_unique_in_call, plan_unique

__all__ = [
    "AsyncEnqueuer",
    "Dialect",
    "EnqueuePlanner",
    "Enqueuer",
    "NotReplicatedError",
    "ScheduledJob",
]


class NotReplicatedError(Exception):
    """A durable enqueue (``wait_replicas``) was written to the master, but fewer replicas than asked
    acknowledged it within ``wait_timeout``: a failover now may lose it. Retrying may enqueue it twice."""

    def __init__(self, wanted: int, got: int, timeout: float) -> None:
        super().__init__(f"{got} of {wanted} replicas acknowledged the write within {timeout:g} s")
        self.wanted = wanted
        self.got = got

#: Which gocraft/work release the written bytes follow where they differ:
#: "v0.5.1" (the newest tag) or "master" (adds ``unique_key`` and refreshes unique keys).
Dialect = Literal["v0.5.1", "master"]

#: Go's Enqueuer re-adds a job name to known_jobs at most every 300 s.
KNOWN_JOBS_TTL = 300.0
#: jobs per LPUSH in a bulk enqueue
BULK_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A job placed in the scheduled set, to run at ``run_at`` (epoch seconds)."""

    run_at: int
    job: Job


#: the longest delay ``enqueue_in`` accepts, either way: 100 years. Far beyond any real
#: schedule, and the run-at time stays an integer that a zset score, Go's int64 and every
#: client (Go's parses scores as integers) read back exactly.
MAX_DELAY_SECONDS = 100 * 366 * 86400


def _seconds(value: int | float | timedelta) -> int:
    if isinstance(value, bool):
        raise TypeError("seconds_from_now must be a number of seconds or a timedelta, not bool")
    if isinstance(value, timedelta):
        seconds: int | float = value.total_seconds()
    elif isinstance(value, (int, float)):
        seconds = value
    else:
        raise TypeError(
            f"seconds_from_now must be a number of seconds or a timedelta, not {type(value).__name__}")
    if not -MAX_DELAY_SECONDS <= seconds <= MAX_DELAY_SECONDS:  # also refuses NaN
        raise ValueError(f"seconds_from_now must be within ±{MAX_DELAY_SECONDS} s (100 years), got {value!r}")
    return int(seconds)


def check_name_text(name: str) -> None:
    """Raise a ValueError naming the lone surrogate of a job name UTF-8 cannot encode."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"job name {name!r} is not valid text: it holds a lone surrogate "
                         f"({name[exc.start]!r} at index {exc.start}) that UTF-8 cannot encode") from None


#: what ``contracts=`` accepts: Contracts, a dict of JSON Schemas by job name, or a directory of NAME.schema.json
ContractsArg = Contracts | Mapping[str, Mapping[str, Any]] | str | os.PathLike[str] | None


class EnqueuePlanner:
    """Builds jobs and the commands that enqueue them. No I/O; not thread-safe by itself
    (the front ends guard the known-jobs cache)."""

    def __init__(
        self,
        namespace: str,
        *,
        dialect: Dialect = "v0.5.1",
        allow_big_ints: bool = False,
        clock: Callable[[], float] = time.time,
        contracts: ContractsArg = None,
    ) -> None:
        if dialect not in ("v0.5.1", "master"):
            raise ValueError(f"dialect must be 'v0.5.1' or 'master', not {dialect!r}")
        self.keys = Keys(namespace)
        self.dialect: Dialect = dialect
        self.allow_big_ints = allow_big_ints
        self.clock = clock
        #: JSON Schemas by job name the args must satisfy (checked before anything is written)
        self.contracts = as_contracts(contracts)
        self._known: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- validation ------------------------------------------------------------------
    def _check(self, name: str, args: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if self.contracts is not None:
            self.contracts.check(name, args)
        if type(name) is str and name and name.isascii() and (args is None or type(args) is dict):  # common case
            gojson.check_args(args, allow_big_ints=self.allow_big_ints)
            return args
        if not isinstance(name, str):
            raise TypeError(f"job name must be a str, not {type(name).__name__}")
        if not name:
            raise ValueError("job name must not be empty")
        check_name_text(name)
        if args is not None and not isinstance(args, Mapping):
            raise TypeError(f"job args must be a dict (or None), not {type(args).__name__}")
        gojson.check_args(args, allow_big_ints=self.allow_big_ints)
        return None if args is None else dict(args)

    def new_job(self, name: str, args: Mapping[str, Any] | None, *, unique: bool = False,
                unique_key: str = "") -> Job:
        return Job(name=name, id=new_id(), enqueued_at=int(self.clock()), args=self._check(name, args),
                   unique=unique, unique_key=unique_key)

    # -- known_jobs bookkeeping (as Go's: SADD at most every 300 s per name) ----------
    def known_jobs_call(self, names: Iterable[str]) -> Call | None:
        now = self.clock()
        with self._lock:
            stale = [n for n in dict.fromkeys(names) if self._known.get(n, 0.0) <= now]
            for n in stale:
                self._known[n] = now + KNOWN_JOBS_TTL
        if not stale:
            return None
        return Call("SADD", self.keys.known_jobs, *stale)

    def forget_known(self, names: Iterable[str]) -> None:
        """Undo the cache entries of a failed SADD so the next call retries it."""
        with self._lock:
            for n in names:
                self._known.pop(n, None)

    # -- plans: (result, calls, index of the reply that decides the result) ------------
    def plan_enqueue(self, name: str, args: Mapping[str, Any] | None) -> tuple[Job, list[Call]]:
        job = self.new_job(name, args)
        calls = [Call("LPUSH", self.keys.jobs(name), job.encode())]
        kj = self.known_jobs_call([name])
        if kj is not None:
            calls.append(kj)
        return job, calls

    def plan_enqueue_in(self, name: str, seconds: int | float | timedelta,
                        args: Mapping[str, Any] | None) -> tuple[ScheduledJob, list[Call]]:
        delay = _seconds(seconds)
        job = self.new_job(name, args)
        sj = ScheduledJob(run_at=job.enqueued_at + delay, job=job)
        calls = [Call("ZADD", self.keys.scheduled, sj.run_at, job.encode())]
        kj = self.known_jobs_call([name])
        if kj is not None:
            calls.append(kj)
        return sj, calls

    def _unique(self, name: str, args: Mapping[str, Any] | None,
                key_args: Mapping[str, Any] | None, by_key: bool) -> tuple[Job, str, bytes, str, str]:
        checked = self._check(name, args)
        if by_key:
            if key_args is None or not isinstance(key_args, Mapping):
                raise TypeError("unique-by-key needs a dict key")
            gojson.check_args(key_args, allow_big_ints=self.allow_big_ints)
        u = plan_unique(self.keys, self.dialect, name, checked, key_args, by_key, new_id(), int(self.clock()))
        return u.job, u.key, u.raw, u.stored, u.refresh

    def plan_enqueue_unique(self, name: str, args: Mapping[str, Any] | None,
                            key_args: Mapping[str, Any] | None = None, *,
                            by_key: bool = False) -> tuple[Job, list[Call]]:
        u = UniqueEnqueue(*self._unique(name, args, key_args, by_key))
        calls: list[Call] = []
        kj = self.known_jobs_call([name])
        if kj is not None:
            calls.append(kj)
        calls.append(enqueue_unique_call(self.keys, u))
        return u.job, calls

    def plan_enqueue_unique_in(self, name: str, seconds: int | float | timedelta,
                               args: Mapping[str, Any] | None,
                               key_args: Mapping[str, Any] | None = None, *,
                               by_key: bool = False) -> tuple[ScheduledJob, list[Call]]:
        delay = _seconds(seconds)
        u = UniqueEnqueue(*self._unique(name, args, key_args, by_key))
        sj = ScheduledJob(run_at=u.job.enqueued_at + delay, job=u.job)
        calls: list[Call] = []
        kj = self.known_jobs_call([name])
        if kj is not None:
            calls.append(kj)
        calls.append(enqueue_unique_in_call(self.keys, u, sj.run_at))
        return sj, calls

    def plan_bulk(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> tuple[list[Job], list[Call]]:
        """Many plain enqueues in one round trip: one LPUSH per job name and chunk (pushing
        several values in one LPUSH stores them exactly as that many LPUSHes in order)."""
        pairs = list(items)
        ids = new_ids(len(pairs))
        now = int(self.clock())
        jobs: list[Job] = []
        by_queue: dict[str, list[bytes]] = {}
        for (name, args), jid in zip(pairs, ids):
            job = Job(name=name, id=jid, enqueued_at=now, args=self._check(name, args))
            jobs.append(job)
            by_queue.setdefault(name, []).append(job.encode())
        calls: list[Call] = []
        for name, payloads in by_queue.items():
            key = self.keys.jobs(name)
            for i in range(0, len(payloads), BULK_CHUNK):
                calls.append(Call("LPUSH", key, *payloads[i:i + BULK_CHUNK]))
        kj = self.known_jobs_call(by_queue)
        if kj is not None:
            calls.append(kj)
        return jobs, calls


def _unique_result(reply: Any) -> bool:
    if isinstance(reply, bytes):
        reply = reply.decode()
    return bool(reply == "ok")


class _Base:
    """What both enqueuers share: the planner (job building and validation)."""

    def __init__(self, namespace: str, dialect: Dialect, allow_big_ints: bool, wait_replicas: int = 0,
                 wait_timeout: float = 1.0, contracts: ContractsArg = None) -> None:
        self.planner = EnqueuePlanner(namespace, dialect=dialect, allow_big_ints=allow_big_ints, contracts=contracts)
        if wait_replicas < 0 or wait_timeout <= 0:
            raise ValueError("wait_replicas must be >= 0 and wait_timeout > 0 seconds")
        self.wait_replicas = wait_replicas
        self.wait_timeout = wait_timeout

    def _durable(self, calls: Sequence[Call]) -> Sequence[Call]:
        """``calls`` followed by ``WAIT`` when enqueues are durable (beyond Go)."""
        if not self.wait_replicas:
            return calls
        return [*calls, Call("WAIT", self.wait_replicas, max(1, int(self.wait_timeout * 1000)))]

    def _acknowledged(self, replies: list[Any]) -> list[Any]:
        if not self.wait_replicas:
            return replies
        got = int(replies[-1])
        if got < self.wait_replicas:
            raise NotReplicatedError(self.wait_replicas, got, self.wait_timeout)
        return replies[:-1]

    @property
    def namespace(self) -> str:
        """The gocraft/work namespace jobs are enqueued into."""
        return self.planner.keys.namespace


class Enqueuer(_Base):
    """Synchronous enqueuer: ``Enqueuer("redis://localhost:6379/0", "my-app")``.

    ``wait_replicas=N`` (beyond Go) makes every enqueue durable: it is followed by ``WAIT N
    wait_timeout`` and raises :class:`NotReplicatedError` unless N replicas acknowledged it, so an
    enqueue that returned survives a failover (see docs/scaling.md)."""

    def __init__(self, redis: RedisLike, namespace: str, *, dialect: Dialect = "v0.5.1",
                 allow_big_ints: bool = False, wait_replicas: int = 0, wait_timeout: float = 1.0,
                 contracts: ContractsArg = None) -> None:
        super().__init__(namespace, dialect, allow_big_ints, wait_replicas, wait_timeout, contracts)
        self.redis = sync_client(redis, namespace)
        self._sender = RawSender(self.redis)

    def _run(self, calls: Sequence[Call]) -> list[Any]:
        try:
            try:
                return self._acknowledged(self._sender.execute(self._durable(calls)))
            except WrongNodeError:  # a cluster failover: nothing ran; once more, on the new owner
                return self._acknowledged(self._sender.execute(self._durable(calls)))
        except Exception:
            for c in calls:
                if c.args and c.args[0] == "SADD":
                    self.planner.forget_known(str(a) for a in c.args[2:])
            raise

    def enqueue(self, name: str, args: Mapping[str, Any] | None = None) -> Job:
        """Push a job onto its queue (Go: ``Enqueue``)."""
        job, calls = self.planner.plan_enqueue(name, args)
        self._run(calls)
        return job

    def enqueue_in(self, name: str, seconds_from_now: int | float | timedelta,
                   args: Mapping[str, Any] | None = None) -> ScheduledJob:
        """Schedule a job ``seconds_from_now`` seconds ahead (Go: ``EnqueueIn``)."""
        sj, calls = self.planner.plan_enqueue_in(name, seconds_from_now, args)
        self._run(calls)
        return sj

    def enqueue_unique(self, name: str, args: Mapping[str, Any] | None = None) -> Job | None:
        """Enqueue unless a job of this name and args is waiting; ``None`` for a duplicate
        (Go: ``EnqueueUnique``)."""
        job, calls = self.planner.plan_enqueue_unique(name, args)
        return job if _unique_result(self._run(calls)[-1]) else None

    def enqueue_unique_in(self, name: str, seconds_from_now: int | float | timedelta,
                          args: Mapping[str, Any] | None = None) -> ScheduledJob | None:
        """Scheduled variant of :meth:`enqueue_unique` (Go: ``EnqueueUniqueIn``)."""
        sj, calls = self.planner.plan_enqueue_unique_in(name, seconds_from_now, args)
        return sj if _unique_result(self._run(calls)[-1]) else None

    def enqueue_unique_by_key(self, name: str, args: Mapping[str, Any] | None,
                              key: Mapping[str, Any]) -> Job | None:
        """Unique on ``key`` instead of the args; a duplicate replaces the args the worker
        will see (upstream master: ``EnqueueUniqueByKey``)."""
        job, calls = self.planner.plan_enqueue_unique(name, args, key, by_key=True)
        return job if _unique_result(self._run(calls)[-1]) else None

    def enqueue_unique_in_by_key(self, name: str, seconds_from_now: int | float | timedelta,
                                 args: Mapping[str, Any] | None,
                                 key: Mapping[str, Any]) -> ScheduledJob | None:
        """Scheduled variant of :meth:`enqueue_unique_by_key` (master: ``EnqueueUniqueInByKey``)."""
        sj, calls = self.planner.plan_enqueue_unique_in(name, seconds_from_now, args, key, by_key=True)
        return sj if _unique_result(self._run(calls)[-1]) else None

    def enqueue_many(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> list[Job]:
        """Enqueue many jobs in one round trip; returns them in the order given. Every job
        is validated before anything is written."""
        jobs, calls = self.planner.plan_bulk(items)
        if calls:
            self._run(calls)
        return jobs

    def close(self) -> None:
        """Close the enqueuer's connections."""
        self._sender.close()
        self.redis.close()

    def __enter__(self) -> Enqueuer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEnqueuer(_Base):
    """asyncio enqueuer with the same methods as :class:`Enqueuer`, as coroutines:
    ``AsyncEnqueuer("redis://localhost:6379/0", "my-app")``.

    Commands that concurrent coroutines send in one turn of the event loop go out in one
    write. Usable from more than one event loop in turn (e.g. a module-level instance used
    by two ``asyncio.run`` calls): redis-py's asyncio connections belong to one loop, so
    when the running loop changes the enqueuer opens a fresh connection pool with the same
    settings (the old one is dropped). Use ``async with`` or :meth:`aclose` to close it.
    """

    def __init__(self, redis: RedisLike, namespace: str, *, dialect: Dialect = "v0.5.1",
                 allow_big_ints: bool = False, wait_replicas: int = 0, wait_timeout: float = 1.0,
                 contracts: ContractsArg = None) -> None:
        super().__init__(namespace, dialect, allow_big_ints, wait_replicas, wait_timeout, contracts)
        self.redis = async_client(redis, namespace)
        self._auto = AutoPipeline(self.redis)
        self._loop: asyncio.AbstractEventLoop | None = None

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        if self._loop is not None:  # another loop than the one its connections belong to
            self.redis = clone_async(self.redis)
            self._auto = AutoPipeline(self.redis)
        self._loop = loop

    async def _run(self, calls: Sequence[Call]) -> list[Any]:
        self._bind()
        try:
            try:
                return self._acknowledged(await self._auto.execute(self._durable(calls)))
            except WrongNodeError:  # a cluster failover: nothing ran; once more, on the new owner
                return self._acknowledged(await self._auto.execute(self._durable(calls)))
        except Exception:
            for c in calls:
                if c.args and c.args[0] == "SADD":
                    self.planner.forget_known(str(a) for a in c.args[2:])
            raise

    async def enqueue(self, name: str, args: Mapping[str, Any] | None = None) -> Job:
        """Push a job onto its queue (Go: ``Enqueue``); returns it as stored."""
        job, calls = self.planner.plan_enqueue(name, args)
        await self._run(calls)
        return job

    async def enqueue_in(self, name: str, seconds_from_now: int | float | timedelta,
                         args: Mapping[str, Any] | None = None) -> ScheduledJob:
        """Schedule a job ``seconds_from_now`` seconds ahead (Go: ``EnqueueIn``)."""
        sj, calls = self.planner.plan_enqueue_in(name, seconds_from_now, args)
        await self._run(calls)
        return sj

    async def enqueue_unique(self, name: str, args: Mapping[str, Any] | None = None) -> Job | None:
        """Enqueue unless a job of this name and args is waiting; ``None`` for a duplicate
        (Go: ``EnqueueUnique``)."""
        job, calls = self.planner.plan_enqueue_unique(name, args)
        return job if _unique_result((await self._run(calls))[-1]) else None

    async def enqueue_unique_in(self, name: str, seconds_from_now: int | float | timedelta,
                                args: Mapping[str, Any] | None = None) -> ScheduledJob | None:
        """Scheduled variant of :meth:`enqueue_unique` (Go: ``EnqueueUniqueIn``)."""
        sj, calls = self.planner.plan_enqueue_unique_in(name, seconds_from_now, args)
        return sj if _unique_result((await self._run(calls))[-1]) else None

    async def enqueue_unique_by_key(self, name: str, args: Mapping[str, Any] | None,
                                    key: Mapping[str, Any]) -> Job | None:
        """Unique on ``key`` instead of the args; a duplicate replaces the args the worker
        will see (upstream master: ``EnqueueUniqueByKey``)."""
        job, calls = self.planner.plan_enqueue_unique(name, args, key, by_key=True)
        return job if _unique_result((await self._run(calls))[-1]) else None

    async def enqueue_unique_in_by_key(self, name: str, seconds_from_now: int | float | timedelta,
                                       args: Mapping[str, Any] | None,
                                       key: Mapping[str, Any]) -> ScheduledJob | None:
        """Scheduled variant of :meth:`enqueue_unique_by_key` (master: ``EnqueueUniqueInByKey``)."""
        sj, calls = self.planner.plan_enqueue_unique_in(name, seconds_from_now, args, key, by_key=True)
        return sj if _unique_result((await self._run(calls))[-1]) else None

    async def enqueue_many(self, items: Iterable[tuple[str, Mapping[str, Any] | None]]) -> list[Job]:
        """Enqueue many jobs in one round trip; returns them in the order given. Every job
        is validated before anything is written."""
        jobs, calls = self.planner.plan_bulk(items)
        if calls:
            await self._run(calls)
        return jobs

    async def aclose(self) -> None:
        """Close the enqueuer's connections."""
        await self.redis.aclose()

    async def __aenter__(self) -> AsyncEnqueuer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
