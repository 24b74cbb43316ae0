"""The periodic enqueuer: places the fire times of cron specs of the next
:data:`HORIZON` seconds into the scheduled set, with job ids derived from name, spec and
time so that every pool (Go or Python) writes the very same member for one fire time and
each fire time yields exactly one job.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, tzinfo

import redis.asyncio as aredis

from ._redis import Call, aexecute
from .cron import Schedule, _go_fields, go_local_zone, parse
from .job import Job
from .keys import Keys

__all__ = ["HORIZON", "PERIOD", "PERIOD_JITTER", "PeriodicEnqueuer", "PeriodicJob", "local_zone"]

#: seconds between two runs (plus a whole number of seconds below PERIOD_JITTER, as Go)
PERIOD = 120.0
PERIOD_JITTER = 30.0
#: how far ahead fire times are placed
HORIZON = 240


def local_zone() -> tzinfo:
    """The zone Go's ``time.Local`` would use (``$TZ`` rules included): Go's periodic
    enqueuer evaluates cron specs in it."""
    return go_local_zone()


@dataclass(frozen=True)
class PeriodicJob:
    spec: str
    name: str
    schedule: Schedule


def periodic_job_id(name: str, spec: str, epoch: int) -> str:
    return f"periodic:{name}:{spec}:{epoch}"


class PeriodicEnqueuer:
    def __init__(self, keys: Keys, jobs: list[PeriodicJob], zone: tzinfo | None = None) -> None:
        self.keys = keys
        self.jobs = jobs
        self.zone = zone or local_zone()

    @staticmethod
    def make(spec: str, name: str, dialect: str) -> PeriodicJob:
        """A periodic job of cron ``spec`` (parsed as ``dialect`` parses it) for job ``name``."""
        pj = PeriodicJob(spec, name, parse(spec, dialect))  # type: ignore[arg-type]
        if dialect == "v0.5.1":
            warn_five_fields(spec)
        return pj

    def should_enqueue(self, last: int | None, now: int) -> bool:
        # Go compares with now minus 2 *seconds* (it meant two minutes); keep its behaviour
        return last is None or last < now - 2

    async def run_once(self, client: aredis.Redis, now: int) -> bool:
        """One pass of a pool's periodic loop: place the next fire times unless another
        pool (Go's or Python's) did so less than 2 s ago; True when this pass wrote."""
        last = await client.get(self.keys.last_periodic_enqueue)
        last_i: int | None
        try:
            last_i = int(last) if last is not None else None
        except ValueError:
            last_i = None
        if not self.should_enqueue(last_i, now):
            return False
        await aexecute(client, self.enqueue_calls(now))
        return True

    def enqueue_calls(self, now: int) -> list[Call]:
        start = datetime.fromtimestamp(now, self.zone)
        horizon = now + HORIZON
        calls: list[Call] = []
        for pj in self.jobs:
            t = pj.schedule.next(start)
            while t is not None and int(t.timestamp()) < horizon:
                epoch = int(t.timestamp())
                jid = periodic_job_id(pj.name, pj.spec, epoch)
                job = Job(name=pj.name, id=jid, enqueued_at=epoch, args=None)
                calls.append(Call("ZADD", self.keys.scheduled, epoch, job.encode()))
                t = pj.schedule.next(t)
        calls.append(Call("SET", self.keys.last_periodic_enqueue, now))
        return calls


log = logging.getLogger("gowork_compat.periodic")
_warned: set[str] = set()
_warned_lock = threading.Lock()
_FIELD_NAMES = ("second", "minute", "hour", "day-of-month", "month")


def warn_five_fields(spec: str) -> bool:
    """Warn (once per spec and process) that a 5-field spec in the v0.5.1 dialect starts
    with seconds (robfig/cron v1: ``"*/5 * * * *"`` fires every 5 seconds), and how to
    write the minute-based one. Go's meaning is kept. True when it warned."""
    fields = _go_fields(spec)
    if len(fields) != 5 or spec.startswith("@"):
        return False
    with _warned_lock:
        if spec in _warned:
            return False
        _warned.add(spec)
    meaning = " ".join(f"{n}={f}" for n, f in zip(_FIELD_NAMES, fields))
    log.warning(
        "cron spec %r has 5 fields: gocraft/work v0.5.1 (robfig/cron v1) reads them as second minute hour "
        "day-of-month month (%s, any weekday), not as the usual minute-based cron; for the minute-based "
        "meaning write the 6-field spec %r (seconds first)", spec, meaning, "0 " + " ".join(fields))
    return True
