"""Unique jobs, both dialects in one place.

* **v0.5.1** (the newest tag): ``EnqueueUnique``/``EnqueueUniqueIn`` set the key
  ``<ns>:unique:<name>:<args JSON + newline>`` to ``"1"`` (NX, 24 h) and enqueue only when
  it was not set; the job carries ``"unique":true`` and no ``unique_key``.
* **master**: the job also carries ``unique_key``, a duplicate refreshes the key's 24 h,
  and ``...ByKey`` variants key on a separate object and store the job itself under the
  key, so that the worker runs the newest args.

The worker, when it fetches a unique job, takes the key (GET then DEL: with unique-by-key
the key may hold a newer job that replaces the fetched one); the client deletes the key
of a unique job it deletes from the scheduled set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import gojson
from ._redis import Call
from ._script import Script
from .job import Job, JobDecodeError

if TYPE_CHECKING:
    from .keys import Keys

__all__ = [
    "ENQUEUE_UNIQUE",
    "ENQUEUE_UNIQUE_IN",
    "UNIQUE_TTL",
    "UniqueEnqueue",
    "enqueue_unique_call",
    "enqueue_unique_in_call",
    "key_of",
    "newer_jobs",
    "plan_unique",
    "release_call",
    "take_calls",
    "unique_key",
]

#: seconds a unique key lives (Go: 86400)
UNIQUE_TTL = 86400

Dialect = Literal["v0.5.1", "master"]


def unique_key(prefix: str, job_name: str, key_args: Mapping[str, Any] | None) -> str:
    """``<prefix>unique:<name>:`` and Go's ``json.Encoder`` output for the args (with its
    trailing newline); nothing after the colon for nil args."""
    base = prefix + "unique:" + job_name + ":"
    if key_args is None:
        return base
    return base + gojson.dumps(key_args, newline=True).decode("utf-8")


def key_of(keys: Keys, job: Job) -> str:
    """The unique key of a unique job as workers and clients find it: master's
    ``unique_key`` when the job carries one, else computed from name and args."""
    return job.unique_key or unique_key(keys.prefix, job.name, job.args)


# -- enqueue --------------------------------------------------------------------------------
def _unique_enqueue(name: str, place: str) -> Script:
    """The unique enqueue guard around ``place`` (the Lua that stores the job)."""
    return Script(name, f"""
if redis.call('set', KEYS[2], ARGV[2], 'NX', 'EX', '{UNIQUE_TTL}') then
  {place}
  return 'ok'
end
if ARGV[3] == '1' then
  redis.call('set', KEYS[2], ARGV[2], 'EX', '{UNIQUE_TTL}')
end
return 'dup'
""")


#: Unique enqueue onto a queue.  KEYS[1]: queue; KEYS[2]: unique key.
#: ARGV[1]: job JSON; ARGV[2]: value stored under the unique key ("1", or with
#: unique-by-key the job JSON); ARGV[3]: "1" to refresh the key on a duplicate
#: (upstream master) or "0" (v0.5.1).  Returns 'ok' or 'dup'.
ENQUEUE_UNIQUE = _unique_enqueue("enqueue_unique", "redis.call('lpush', KEYS[1], ARGV[1])")

#: Unique enqueue into the scheduled zset.  KEYS[1]: scheduled zset; KEYS[2]: unique key.
#: ARGV[1]: job JSON; ARGV[2]: unique key value; ARGV[3]: refresh flag; ARGV[4]: run at.
ENQUEUE_UNIQUE_IN = _unique_enqueue("enqueue_unique_in", "redis.call('zadd', KEYS[1], ARGV[4], ARGV[1])")


class UniqueEnqueue:
    """What a unique enqueue writes: the job, its key, its bytes, the key's value and the
    refresh flag (see :data:`ENQUEUE_UNIQUE`)."""

    __slots__ = ("job", "key", "raw", "refresh", "stored")

    def __init__(self, job: Job, key: str, raw: bytes, stored: str, refresh: str) -> None:
        self.job, self.key, self.raw, self.stored, self.refresh = job, key, raw, stored, refresh


def plan_unique(keys: Keys, dialect: Dialect, name: str, args: dict[str, Any] | None,
                key_args: Mapping[str, Any] | None, by_key: bool, job_id: str, now: int) -> UniqueEnqueue:
    """The unique job of ``dialect`` for already validated ``args`` (and ``key_args`` when
    ``by_key``)."""
    ukey = unique_key(keys.prefix, name, key_args if by_key else args)
    with_key = by_key or dialect == "master"
    job = Job(name=name, id=job_id, enqueued_at=now, args=args, unique=True, unique_key=ukey if with_key else "")
    raw = job.encode()
    # The key holds "1", or (unique-by-key, master) the job itself: the worker runs the newest args.
    stored = raw.decode("utf-8") if by_key else "1"
    return UniqueEnqueue(job, ukey, raw, stored, "1" if with_key else "0")


def enqueue_unique_call(keys: Keys, u: UniqueEnqueue) -> Call:
    return Call(u.raw, u.stored, u.refresh, script=ENQUEUE_UNIQUE, keys=[keys.jobs(u.job.name), u.key])


def enqueue_unique_in_call(keys: Keys, u: UniqueEnqueue, run_at: int) -> Call:
    return Call(u.raw, u.stored, u.refresh, run_at, script=ENQUEUE_UNIQUE_IN, keys=[keys.scheduled, u.key])


# -- the worker's take ----------------------------------------------------------------------
def take_calls(keys: Keys, jobs: Sequence[Job]) -> tuple[list[str], list[Call]]:
    """The unique keys of fetched unique ``jobs`` ("" where none can be computed) and the
    GET+DEL pair per key that takes them."""
    found: list[str] = []
    for job in jobs:
        try:
            found.append(key_of(keys, job))
        except gojson.GoJSONError:
            found.append("")
    calls: list[Call] = []
    for key in found:
        if key:
            calls += [Call("GET", key), Call("DEL", key)]
    return found, calls


def newer_jobs(jobs: Sequence[Job], found: Sequence[str], replies: Sequence[Any]) -> dict[int, Job]:
    """From the replies of :func:`take_calls`: by ``id(job)``, the newer job that
    master's unique-by-key stored under the key (to run instead of the fetched one)."""
    out: dict[int, Job] = {}
    values = iter(replies[0::2])
    for job, key in zip(jobs, found):
        if not key:
            continue
        value = next(values)
        if value is None or value in (b"1", "1"):
            continue
        try:
            newer = Job.decode(value if isinstance(value, bytes) else str(value).encode("utf-8"))
        except JobDecodeError:
            continue
        newer.raw = job.raw  # acknowledge the entry actually in the in-progress list
        newer.dequeued_from = job.dequeued_from
        newer.in_progress_queue = job.in_progress_queue
        out[id(job)] = newer
    return out


# -- the client's delete --------------------------------------------------------------------
def release_call(keys: Keys, job: Job) -> Call | None:
    """Deleting a unique job from the scheduled set also deletes its key (as the workers
    would on fetch); ``None`` for a job that is not unique."""
    if not job.unique:
        return None
    return Call("DEL", key_of(keys, job))
