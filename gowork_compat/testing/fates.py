"""What became of jobs, read from Redis alone (works with any gocraft/work worker, Go or
Python, without instrumenting it).

A job is found by its id in, in this order: the dead set, the retry set, the scheduled set,
an in-progress list, its queue. A job found nowhere is ``done``: gocraft/work removes a
finished job from its in-progress list in the same transaction that files a failure, so a
job is always somewhere until it succeeded (or was dropped: ``skip_dead``, or a deleted
dead job). Jobs are matched by id, so ids must be those the enqueuer returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..enqueuer import ScheduledJob
from ..job import Job
from ..keys import Keys

__all__ = ["SETTLED", "Fate", "FateState", "JobRef", "assert_all_clean", "job_id", "read_fates", "wait_fate",
           "wait_fates"]

FateState = Literal["done", "retry", "dead", "scheduled", "in_progress", "queued"]
#: the states a job does not leave without a worker or the clock: what waiting stops at
SETTLED: frozenset[str] = frozenset({"done", "retry", "dead"})

#: a job as the helpers accept it: a Job, a ScheduledJob, a dict with "id" (the harness's
#: replies, job JSON) or the id itself
JobRef = Job | ScheduledJob | Mapping[str, Any] | str


@dataclass(frozen=True)
class Fate:
    """What became of one job: ``state``, the error its last failure stored (retry/dead),
    its fail count, and its payload as stored (None when done)."""

    id: str
    state: FateState
    error: str = ""
    fails: int = 0
    payload: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def clean(self) -> bool:
        return self.state == "done"

    def __str__(self) -> str:
        if self.state in ("retry", "dead"):
            return f"{self.state} after {self.fails} failure(s): {self.error}"
        return self.state


def job_id(job: JobRef) -> str:
    if isinstance(job, str):
        return job
    if isinstance(job, ScheduledJob):
        return job.job.id
    if isinstance(job, Job):
        return job.id
    if "id" in job:
        return str(job["id"])
    if isinstance(job.get("job"), Mapping):  # the harness enqueue reply {"job": {...}}
        return str(job["job"]["id"])
    raise TypeError(f"cannot tell the job id of {job!r}")


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def read_fates(redis: Any, namespace: str, jobs: Iterable[JobRef],
               names: Iterable[str] = (), *, _confirm: bool = True) -> dict[str, Fate]:
    """The fate of each job now, by id. ``names`` are job names whose queues and in-progress
    lists to search (default: every known job name and every name of the given Job objects)."""
    refs = list(jobs)
    wanted = {job_id(j) for j in refs}
    keys = Keys(namespace)
    qnames = set(names)
    for j in refs:
        if isinstance(j, Job):
            qnames.add(j.name)
        elif isinstance(j, ScheduledJob):
            qnames.add(j.job.name)
        elif isinstance(j, Mapping) and isinstance(j.get("name"), str):
            qnames.add(j["name"])
    if not qnames:
        qnames = {m.decode("utf-8", "surrogateescape") if isinstance(m, bytes) else str(m)
                  for m in redis.smembers(keys.known_jobs)}
    found: dict[str, Fate] = {}

    def scan(raws: list[bytes], state: FateState) -> None:
        for raw in raws:
            doc = _decode(raw)
            if doc is None:
                continue
            jid = doc.get("id")
            if isinstance(jid, str) and jid in wanted and jid not in found:
                found[jid] = Fate(jid, state, str(doc.get("err") or ""), int(doc.get("fails") or 0), doc)

    # One MULTI for every read, so a job moving between keys (fetched, failed) is seen in
    # exactly one of them; the in-progress keys are listed before and after, and the reads
    # repeated when a pool appeared meanwhile.
    names_sorted = sorted(qnames)

    def in_progress_keys() -> list[Any]:
        out: list[Any] = []
        for name in names_sorted:
            out += sorted(redis.scan_iter(match=_glob_escape(keys.jobs(name)) + ":*:inprogress", count=1000))
        return out

    ip_keys = in_progress_keys()
    for _ in range(5):
        pipe = redis.pipeline(transaction=True)
        pipe.zrange(keys.dead, 0, -1)
        pipe.zrange(keys.retry, 0, -1)
        pipe.zrange(keys.scheduled, 0, -1)
        for key in ip_keys:
            pipe.lrange(key, 0, -1)
        for name in names_sorted:
            pipe.lrange(keys.jobs(name), 0, -1)
        replies = pipe.execute()
        again = in_progress_keys()
        if again == ip_keys:
            break
        ip_keys = again
    scan(list(replies[0]), "dead")
    scan(list(replies[1]), "retry")
    scan(list(replies[2]), "scheduled")
    for raws in replies[3:3 + len(ip_keys)]:
        scan(list(raws), "in_progress")
    for raws in replies[3 + len(ip_keys):]:
        scan(list(raws), "queued")
    if len(found) < len(wanted) and _confirm:
        # A job absent from one read may have been in an in-progress list that appeared and
        # emptied between the key listings: it is done only when a second read agrees.
        second = read_fates(redis, namespace, refs, qnames, _confirm=False)
        found.update({jid: f for jid, f in second.items() if jid not in found and f.state != "done"})
    return {jid: found.get(jid) or Fate(jid, "done") for jid in (job_id(j) for j in refs)}


def wait_fates(redis: Any, namespace: str, jobs: Sequence[JobRef], timeout: float = 30.0, *,
               until: Iterable[str] = SETTLED) -> list[Fate]:
    """Poll Redis until every job's state is in ``until`` (default: done, retry or dead), or
    ``timeout`` seconds passed; the fates in the order of ``jobs`` (a job still queued at the
    timeout is returned as ``queued``, not raised)."""
    stop_at = set(until)
    deadline = time.monotonic() + timeout
    pause = 0.002
    while True:
        fates = read_fates(redis, namespace, jobs)
        if all(f.state in stop_at for f in fates.values()) or time.monotonic() >= deadline:
            return [fates[job_id(j)] for j in jobs]
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.05)


def wait_fate(redis: Any, namespace: str, job: JobRef, timeout: float = 30.0) -> Fate:
    """The fate of one job: :func:`wait_fates` for one."""
    return wait_fates(redis, namespace, [job], timeout)[0]


def assert_all_clean(jobs: Sequence[JobRef], fates: Sequence[Fate],
                     args: Sequence[Any] | None = None) -> None:
    """Raise AssertionError listing every job whose fate is not ``done`` (with its args)."""
    bad = [(i, f) for i, f in enumerate(fates) if not f.clean]
    if not bad:
        return
    lines = []
    for i, f in bad[:20]:
        what = args[i] if args is not None else (f.payload or {}).get("args")
        name = (f.payload or {}).get("name") or getattr(jobs[i], "name", "")
        lines.append(f"- job {f.id} {name} {f}; args: {json.dumps(what, ensure_ascii=False, default=str)}")
    more = f"\n(and {len(bad) - 20} more)" if len(bad) > 20 else ""
    raise AssertionError(f"{len(bad)} of {len(fates)} job(s) did not run clean:\n" + "\n".join(lines) + more)
