"""Fetch and dispatch: the pool's hot path.

One round trip acknowledges the finished jobs (the batch acknowledgement script) and
fetches up to as many jobs as there are free worker slots (the batch fetch script), both
packed by hand from pre-encoded pieces; a Redis that lost its script cache (restart,
flush) gets the script loaded and the command run again. Fetched payloads are decoded,
unique keys taken, unreadable payloads buried, and the jobs handed to the runner.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import unique
from .._redis import Call, aexecute, araw, bulk, raise_errors, unloaded
from ..burial import burial_reason, buried_job
from ..job import Job
from ..scripts import ACK_BATCH, FETCH_BATCH, FETCH_KEYS_PER_JOB, Script, ack_keys, fetch_group_keys
from .common import OUTAGE, Ack, Running, describe, log
from .runner import Fate

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["Fetcher"]


class Fetcher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.client = engine.client
        self.keys = engine.keys
        self.names = engine.names
        self.groups = engine.groups
        self.sampler = engine.sampler
        self.pool_id = engine.p.pool_id
        self.order: Sequence[str] = self.names
        self.ack_keys = ack_keys(self.keys, self.pool_id, self.names)
        self.prepare()

    def prepare(self) -> None:
        """Pre-encode the fixed parts of the fetch and acknowledge commands."""
        k, pid = self.keys, self.pool_id
        self._ack_head = (b"$7\r\nEVALSHA\r\n" + bulk(ACK_BATCH.sha) + bulk(len(self.ack_keys))
                          + b"".join(bulk(x) for x in self.ack_keys) + bulk(pid))
        self._ack_argc = 3 + len(self.ack_keys) + 1
        self._fetch_group = {n: b"".join(bulk(x) for x in fetch_group_keys(k, pid, n)) for n in self.names}
        self._fetch_head = b"$7\r\nEVALSHA\r\n" + bulk(FETCH_BATCH.sha) + bulk(FETCH_KEYS_PER_JOB * len(self.names))
        self._fetch_argc = 3 + FETCH_KEYS_PER_JOB * len(self.names) + 2
        self._fetch_tail = bulk(pid)
        self._fates = {Fate.DONE: bulk(0), Fate.RETRY: bulk(1), Fate.DEAD: bulk(2)}
        self._zero = bulk(0)
        self._empty = bulk(b"")

    # -- command packing ---------------------------------------------------------------
    def ack_packed(self, acks: list[Ack]) -> bytes:
        parts = [b"*%d\r\n" % (self._ack_argc + 5 * len(acks)), self._ack_head]
        fates, zero, empty = self._fates, self._zero, self._empty
        for a in acks:
            parts.append(bulk(a.group))
            parts.append(bulk(a.raw))
            parts.append(fates[a.fate])
            if a.fate == Fate.DONE:
                parts.append(zero)
                parts.append(empty)
            else:
                parts.append(bulk(a.score))
                parts.append(bulk(a.member))
        return b"".join(parts)

    def fetch_packed(self, want: int) -> bytes:
        order = self.sampler.sample()
        self.order = order
        groups = self._fetch_group
        return b"".join((b"*%d\r\n" % self._fetch_argc, self._fetch_head, *[groups[n] for n in order],
                         self._fetch_tail, bulk(want)))

    # -- the round trip ----------------------------------------------------------------
    async def round_trip(self, acks: list[Ack], want: int) -> Any:
        """Acknowledge ``acks`` and fetch up to ``want`` jobs in one round trip; returns the
        fetch reply (or None when nothing was fetched)."""
        packed: list[bytes] = []
        scripts: list[Script] = []
        if acks:
            packed.append(self.ack_packed(acks))
            scripts.append(ACK_BATCH)
        if want:
            packed.append(self.fetch_packed(want))
            scripts.append(FETCH_BATCH)
        replies = await araw(self.client, packed)
        for i in unloaded(scripts, replies):  # Redis restarted or flushed: load and run again
            await self.client.script_load(scripts[i].source)
            (replies[i],) = await araw(self.client, [packed[i]])
        return raise_errors(replies)[-1] if want else None

    async def reconcile(self) -> int:
        """After a round trip that failed with its fetch sent: the fetch may have run with
        its reply lost (a connection cut, a Redis restart), leaving jobs in this pool's
        in-progress lists, counted in their locks, that nobody runs. Run every entry there
        that no running job or pending acknowledgement accounts for (as many as there are
        free slots); returns how many are left for a later call."""
        e = self.engine
        held = collections.Counter(run.job.raw for run in e.runner.running.values())
        held.update(a.raw for a in e.acks)
        lists = await aexecute(self.client, [Call("LRANGE", self.keys.in_progress(self.pool_id, n), 0, -1)
                                             for n in self.names])
        index = {n: i + 1 for i, n in enumerate(self.order)}
        orphans: list[Any] = []
        for name, entries in zip(self.names, lists):
            for raw in reversed(entries):  # oldest first
                if held[raw] > 0:
                    held[raw] -= 1
                else:
                    orphans += [raw, index[name]]
        if not orphans:
            return 0
        free = len(e.runner.free_workers)
        log.warning("%d jobs were fetched while the reply was lost (Redis outage): running them now",
                    len(orphans) // 2)
        await self.dispatch(orphans[:2 * free])
        return max(0, len(orphans) // 2 - free)

    # -- dispatch ----------------------------------------------------------------------
    async def dispatch(self, fetched: list[Any]) -> None:
        """Hand fetched ``[payload, group, ...]`` pairs to the runner (bad payloads buried)."""
        e = self.engine
        runner = e.runner
        order, groups, keys, pid = self.order, self.groups, self.keys, self.pool_id
        jobs: list[tuple[Job | None, bytes, int, str]] = []
        unique: list[Job] = []
        for i in range(0, len(fetched), 2):
            raw = fetched[i]
            name = order[int(fetched[i + 1]) - 1]
            group = groups[name]
            try:
                job = Job.decode(raw)
                job.dequeued_from = keys.jobs(name)
                job.in_progress_queue = keys.in_progress(pid, name)
                jobs.append((job, raw, group, ""))
                if job.unique:
                    unique.append(job)
            except Exception as exc:  # JobDecodeError, or anything else a payload provokes
                jobs.append((None, raw, group, str(exc) or describe(exc)))
        replaced: dict[int, Job] = {}
        if unique:
            replaced = await self.take_unique_keys(unique)
        now = int(time.time())
        free, running, launch = runner.free_workers, runner.running, runner.launch
        for maybe_job, raw, group, problem in jobs:
            if maybe_job is None:
                self.bury_malformed(raw, group, self.names[group - 1], problem, now)
                continue
            job = replaced.get(id(maybe_job), maybe_job)
            wid = free.pop()
            run = Running(job, wid, group)
            running[wid] = run
            try:
                launch(run)
            except Exception as exc:  # never let one job stop the fetcher
                log.exception("could not start job %s", job.id)
                runner.finish(run, runner.job_types.get(job.name), exc)

    async def take_unique_keys(self, jobs: list[Job]) -> dict[int, Job]:
        """Delete the unique keys of fetched unique jobs (GET first: with upstream master's
        unique-by-key the key holds the job with the newest args)."""
        try:
            found, calls = unique.take_calls(self.keys, jobs)
        except RecursionError:
            return {}
        if not calls:
            return {}
        try:
            replies = await aexecute(self.client, calls)
        except OUTAGE as exc:
            log.warning("could not clear unique keys: %s", exc)
            return {}
        return unique.newer_jobs(jobs, found, replies)

    def bury_malformed(self, raw: bytes, group: int, name: str, problem: str, now: int) -> None:
        """A payload Go could not decode would sit in the in-progress list forever; put a
        readable dead job in its place (the original bytes kept in args.raw_payload)."""
        dead = buried_job(raw, name, burial_reason(self.keys.jobs(name), problem or "not a job"), now)
        log.error("job payload in %s is malformed (%s): moved to the dead set", self.keys.jobs(name), problem)
        self.engine.acks.append(Ack(group, raw, Fate.DEAD, now, dead.encode()))
