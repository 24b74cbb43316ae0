"""Small pieces every part of the pool shares: the outage logger, and the records of a
running job and of a pending acknowledgement."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from redis.exceptions import ClusterDownError, ReadOnlyError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..job import Job

log = logging.getLogger("gowork_compat.pool")

#: what a lost or unreachable Redis raises; READONLY (a demoted master), CLUSTERDOWN and TRYAGAIN
#: (a cluster failing over) are outages to wait out too, never a job's failure
OUTAGE = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError, ReadOnlyError, ClusterDownError,
          TryAgainError)


@dataclass(eq=False, slots=True)
class Running:
    """A job on a worker slot."""

    job: Job
    worker_id: str
    group: int  # 1-based index into the pool's job-name groups
    #: set once its outcome is recorded (a late result of a timed-out thread is dropped)
    finished: bool = False
    #: a worker thread finished it and its result is on the way to the loop
    completed: bool = False
    #: timed out while running in a worker thread: the thread's result is dropped
    abandoned: bool = False
    timer: asyncio.TimerHandle | None = None


@dataclass
class Ack:
    """One finished job for the batch acknowledgement script."""

    group: int
    raw: bytes
    fate: int
    score: int = 0
    member: bytes = b""


@dataclass
class State:
    stopping: bool = False
    #: monotonic time at which running jobs are given up (set by a stop request)
    deadline: float | None = None
    draining: bool = False
    drained: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    stopped: asyncio.Event = field(default_factory=asyncio.Event)


class Outage:
    """Logs a Redis outage once, and its end once; gives the next retry delay."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.down = False
        self.delay = 0.05

    def failed(self, exc: BaseException) -> float:
        if not self.down:
            log.warning("%s: Redis unreachable (%s); retrying until it is back", self.what, exc)
            self.down = True
        self.delay = min(self.delay * 2, 2.0)
        return self.delay

    def ok(self) -> None:
        if self.down:
            log.warning("%s: Redis is back", self.what)
        self.down = False
        self.delay = 0.05


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["OUTAGE", "Ack", "Outage", "Running", "State", "describe", "log"]
