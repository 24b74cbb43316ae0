"""``gowork doctor`` / ``gowork repair``: find and fix what a mixed namespace (Go pools and
ours) accumulates: stranded in-progress lists of pools that are gone, lock drift, orphaned
or too-short unique keys, stale heartbeats and observation hashes, known_jobs entries with
nothing behind them, and malformed entries.

:func:`diagnose` only reads (lists and sets in pages, at most ``max_scan`` entries each).
:func:`repair` acts on its findings with atomic scripts that check again at the moment
they write (the reaper's scripts for gone pools, :mod:`gowork_compat.scripts` for the
others), so a repair that races a live pool, Go's or ours, neither loses nor doubles a
job. Kinds of finding (``Finding.kind``):

``gone_pool``           a pool with no fresh heartbeat (in the pool set or not) that still has
                        a heartbeat hash, set entry, in-progress lists or lock_info entries;
                        repair: requeue its in-progress jobs, give back its locks, remove it
``stale_lock_info``     zero lock_info entries of a pool that is gone (what a clean stop
                        leaves); repair: delete them
``lock_drift``          a lock (or a live pool's lock_info entry) that does not match the
                        in-progress lists of the live pools; repair: recount atomically
``orphaned_unique``     a unique key no queued, scheduled, retry or running job holds;
                        repair: delete it (only if it is still the same key)
``short_unique_ttl``    a unique key that expires before its scheduled job runs; repair:
                        extend it to a day after the run time
``stale_observation``   a ``worker:<id>`` hash of a worker no live pool has; repair: delete
``empty_known_job``     a known_jobs entry with no queue, no job anywhere and no live pool;
                        repair: remove it (only if its queue is still empty)
``malformed``           an entry Go cannot read; repair: queued payloads are buried in the
                        dead set (as pools do); others are reported only
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from ._redis import Call, RedisLike, clone_sync, execute
from .burial import burial_reason, buried_job, is_buried
from .heartbeat import DEAD_AFTER
from .job import Job
from .keys import Keys
from .reaper import REENQUEUE_BATCH
from .scripts import (
    bury_queued_call,
    known_job_prune_call,
    lock_recount_call,
    reap_stale_locks_call,
    reenqueue_in_progress_call,
    unique_drop_call,
    unique_extend_call,
)
from .unique import UNIQUE_TTL, key_of

__all__ = ["Finding", "Report", "diagnose", "repair"]

PAGE = 1000
DEFAULT_MAX_SCAN = 1_000_000


@dataclass
class Finding:
    kind: str
    key: str
    detail: str
    #: what repair does about it ("" : nothing, reported only)
    fix: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    namespace: str
    findings: list[Finding] = field(default_factory=list)
    #: collections not read to the end (more than max_scan entries)
    truncated: list[str] = field(default_factory=list)
    #: repair only: what was done, per finding
    actions: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "findings": [f.as_dict() for f in self.findings],
                "truncated": self.truncated, "actions": self.actions}


def _s(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else ("" if v is None else str(v))


def _preview(raw: Any, n: int = 80) -> str:
    text = repr(raw if isinstance(raw, bytes) else _s(raw))
    return text if len(text) <= n else text[:n] + "..."


def _int(v: Any) -> int | None:
    try:
        return int(_s(v))
    except ValueError:
        return None


class _Scan:
    def __init__(self, client: redis.Redis, keys: Keys, now: int, max_scan: int) -> None:
        self.c = client
        self.k = keys
        self.now = now
        self.max_scan = max_scan
        self.report = Report(keys.namespace)

    def add(self, kind: str, key: str, detail: str, fix: str = "", **data: Any) -> None:
        self.report.findings.append(Finding(kind, key, detail, fix, data))

    def scan_keys(self, pattern: str) -> list[str]:
        # the namespace prefix may hold glob characters: escape them
        esc = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in self.k.prefix)
        return sorted({_s(x) for x in self.c.scan_iter(match=esc + pattern, count=PAGE)})

    def list_entries(self, key: str) -> list[bytes]:
        out: list[bytes] = []
        start = 0
        while start < self.max_scan:
            page: list[bytes] = self.c.lrange(key, start, min(start + PAGE, self.max_scan) - 1)  # type: ignore[assignment]
            out += page
            if len(page) < PAGE:
                return out
            start += PAGE
        self.report.truncated.append(key)
        return out

    def zset_entries(self, key: str) -> list[tuple[bytes, float]]:
        out: list[tuple[bytes, float]] = []
        start = 0
        while start < self.max_scan:
            page: list[tuple[bytes, float]] = self.c.zrange(  # type: ignore[assignment]
                key, start, min(start + PAGE, self.max_scan) - 1, withscores=True)
            out += page
            if len(page) < PAGE:
                return out
            start += PAGE
        self.report.truncated.append(key)
        return out

    def typed(self, key: str, want: str) -> bool:
        kind = _s(self.c.type(key))
        if kind in ("none", want):
            return True
        self.add("malformed", key, f"a {kind} where gocraft/work keeps a {want}")
        return False


def diagnose(conn: RedisLike, namespace: str, *, now: int | None = None,
             max_scan: int = DEFAULT_MAX_SCAN) -> Report:
    """Read the namespace and report what is wrong (nothing is written)."""
    client = clone_sync(conn, decode_responses=False)
    try:
        return _diagnose(_Scan(client, Keys(namespace), int(time.time()) if now is None else now, max_scan))
    finally:
        client.connection_pool.disconnect()


def _diagnose(s: _Scan) -> Report:
    c, k, now = s.c, s.k, s.now
    # -- pools ----------------------------------------------------------------------------
    in_set: set[str] = set()
    if s.typed(k.worker_pools, "set"):
        in_set = {_s(p) for p in c.smembers(k.worker_pools)}
    beats: dict[str, dict[str, str]] = {}
    for key in s.scan_keys("worker_pools:*"):
        pid = key[len(k.heartbeat("")):]
        if not s.typed(key, "hash"):
            continue
        beats[pid] = {_s(a): _s(b) for a, b in c.hgetall(key).items()}
    alive: dict[str, dict[str, str]] = {}
    for pid, h in beats.items():
        at = _int(h.get("heartbeat_at"))
        if "heartbeat_at" in h and at is None:
            s.add("malformed", k.heartbeat(pid), f"heartbeat_at is not a number: {_preview(h['heartbeat_at'])}")
        if at is not None and at + DEAD_AFTER > now:
            alive[pid] = h
    live_names = {n for h in alive.values() for n in h.get("job_names", "").split(",") if n}
    live_workers = {w for h in alive.values() for w in h.get("worker_ids", "").split(",") if w}
    # in-progress lists: <prefix>jobs:<name>:<pool>:inprogress
    inprog: dict[str, dict[str, int]] = defaultdict(dict)  # pool -> name -> length
    for key in s.scan_keys("jobs:*:inprogress"):
        body = key[len(k.jobs_prefix):-len(":inprogress")]
        name, _, pid = body.rpartition(":")
        if not name or not pid:
            continue
        if s.typed(key, "list"):
            inprog[pid][name] = int(c.llen(key))
    known: set[str] = set()
    if s.typed(k.known_jobs, "set"):
        known = {_s(n) for n in c.smembers(k.known_jobs)} - {""}
    queue_names = {key[len(k.jobs_prefix):] for key in s.scan_keys("jobs:*")
                   if not key.endswith((":inprogress", ":lock", ":lock_info", ":paused", ":max_concurrency"))}
    lock_names = {key[len(k.jobs_prefix):-len(":lock_info")] for key in s.scan_keys("jobs:*:lock_info")}
    lock_names |= {key[len(k.jobs_prefix):-len(":lock")] for key in s.scan_keys("jobs:*:lock")}
    names = sorted(known | queue_names | lock_names | {n for d in inprog.values() for n in d})
    lock_info: dict[str, dict[str, str]] = {}
    for n in sorted(lock_names):
        if s.typed(k.lock_info(n), "hash"):
            lock_info[n] = {_s(a): _s(b) for a, b in c.hgetall(k.lock_info(n)).items()}
    # gone pools
    gone = (in_set | set(beats) | set(inprog) | {p for d in lock_info.values() for p in d}) - set(alive)
    for pid in sorted(gone):
        holds = {n: d[pid] for n, d in lock_info.items() if pid in d}
        waiting = {n: ln for n, ln in inprog.get(pid, {}).items() if ln}
        if not (pid in in_set or pid in beats or waiting or holds):
            continue
        if not (pid in in_set or pid in beats or waiting or any(_int(v) != 0 for v in holds.values())):
            # what pools leave behind on a clean stop (Go never deletes its zero entries)
            s.add("stale_lock_info", k.lock_info(sorted(holds)[0]),
                  f"pool {pid} is gone; zero lock_info entries of it remain for {sorted(holds)}",
                  "delete them", pool_id=pid, job_names=sorted(holds), stranded={}, lock_info=holds,
                  heartbeat_at=None)
            continue
        names_of = sorted({n for n in beats.get(pid, {}).get("job_names", "").split(",") if n}
                          | set(inprog.get(pid, {})) | set(holds))
        where = ("in the pool set" if pid in in_set else "not in the pool set") + (
            ", heartbeat hash " + ("stale" if "heartbeat_at" in beats.get(pid, {}) else "without a time")
            if pid in beats else ", no heartbeat hash")
        detail = f"pool {pid} is gone ({where}); {sum(waiting.values())} jobs stranded in its in-progress lists"
        if holds:
            detail += f"; holds lock counts {holds}"
        s.add("gone_pool", k.heartbeat(pid), detail,
              "requeue its in-progress jobs, give back its lock counts, remove its heartbeat",
              pool_id=pid, job_names=names_of, stranded=waiting, lock_info=holds,
              heartbeat_at=_int(beats.get(pid, {}).get("heartbeat_at")))
    # -- locks ----------------------------------------------------------------------------
    for n in names:
        if not (s.typed(k.lock(n), "string") and s.typed(k.lock_info(n), "hash")):
            continue
        mc = c.get(k.max_concurrency(n)) if s.typed(k.max_concurrency(n), "string") else None
        if mc is not None and _int(mc) is None:
            s.add("malformed", k.max_concurrency(n), f"max_concurrency is not a number: {_preview(mc)}")
        # one transaction: lock, lock_info and the live pools' lists as of one moment
        pipe = c.pipeline(transaction=True)
        pipe.get(k.lock(n))
        pipe.hgetall(k.lock_info(n))
        live_ids = sorted(alive)
        for pid in live_ids:
            pipe.llen(k.in_progress(pid, n))
        raw_lock, raw_info, *lengths = pipe.execute()
        lock = _int(raw_lock) if raw_lock is not None else None
        if raw_lock is not None and lock is None:
            s.add("malformed", k.lock(n), f"lock is not a number: {_preview(raw_lock)}", "recount", job_name=n)
        info = {_s(a): _s(b) for a, b in raw_info.items()}
        expected = 0
        off: dict[str, Any] = {}
        for pid, got in zip(live_ids, lengths):
            entry = _int(info.get(pid)) if pid in info else 0
            if entry != int(got):
                off[pid] = {"lock_info": info.get(pid), "in_progress": int(got)}
            expected += int(got)
        for pid, v in info.items():
            if pid not in alive and pid not in gone and _int(v) is None:
                off[pid] = {"lock_info": v}
        if (lock or 0) != expected or off:
            s.add("lock_drift", k.lock(n),
                  f"lock of {n!r} is {lock if raw_lock is not None else 'unset'}; the in-progress lists of live pools "
                  f"hold {expected}" + (f"; lock_info entries off: {off}" if off else ""),
                  "recount lock and lock_info from the live pools' in-progress lists (after gone pools are reaped)",
                  job_name=n, lock=lock, expected=expected, entries=off)
    # -- queues, sets: malformed entries and unique holders ---------------------------------
    unique_keys = s.scan_keys("unique:*")
    expiry: dict[str, int] = {}
    if unique_keys:
        pipe = c.pipeline(transaction=False)
        pipe.time()
        for u in unique_keys:
            pipe.pttl(u)
        replies = pipe.execute()
        sec, usec = replies[0]
        now_ms = int(sec) * 1000 + int(usec) // 1000
        for u, ttl in zip(unique_keys, replies[1:]):
            if int(ttl) == -2:
                continue
            expiry[u] = -1 if int(ttl) == -1 else now_ms + int(ttl)
    held: set[str] = set()
    scheduled_at: dict[str, float] = {}

    def check(raw: bytes, where: str, name_hint: str | None) -> Job | None:
        try:
            job = Job.decode(raw)
        except Exception as exc:
            _bad(raw, where, name_hint, exc)
            return None
        if expiry and job.unique:
            try:
                held.add(key_of(k, job))
            except Exception:
                pass
        return job

    def _bad(raw: bytes, where: str, name_hint: str | None, exc: BaseException) -> None:
        if name_hint is not None and where == k.jobs(name_hint):
            s.add("malformed", where, f"queued payload Go cannot read ({exc}): {_preview(raw)}",
                  "bury it in the dead set (the original bytes kept in args.raw_payload)",
                  job_name=name_hint, payload=raw.decode("utf-8", "surrogateescape"), problem=str(exc))
        else:
            s.add("malformed", where, f"entry Go cannot read ({exc}): {_preview(raw)}", job_name=name_hint)

    for n in names:
        if n in queue_names and s.typed(k.jobs(n), "list"):
            for raw in s.list_entries(k.jobs(n)):
                check(raw, k.jobs(n), n)
    for pid, d in inprog.items():
        for n in d:
            for raw in s.list_entries(k.in_progress(pid, n)):
                check(raw, k.in_progress(pid, n), n)
    set_names: dict[str, set[str]] = {}
    for zkey in (k.scheduled, k.retry, k.dead):
        found: set[str] = set()
        set_names[zkey] = found
        if not s.typed(zkey, "zset"):
            continue
        for raw, score in s.zset_entries(zkey):
            if zkey == k.dead:
                try:
                    job = Job.decode(raw)
                    found.add(job.name)
                except Exception as exc:
                    import json
                    try:
                        if is_buried(json.loads(raw)):
                            continue
                    except Exception:
                        pass
                    _bad(raw, zkey, None, exc)
                continue
            maybe = check(raw, zkey, None)
            if maybe is not None:
                found.add(maybe.name)
                if zkey == k.scheduled and maybe.unique and expiry:
                    try:
                        u = key_of(k, maybe)
                        scheduled_at[u] = max(scheduled_at.get(u, 0.0), score)
                    except Exception:
                        pass
    # -- unique keys ------------------------------------------------------------------------
    for u, exp in expiry.items():
        if u not in held:
            s.add("orphaned_unique", u, "unique key that no queued, scheduled, retry or running job holds "
                  "(it refuses those jobs until it expires)", "delete it", expiry_ms=exp)
        elif u in scheduled_at and exp >= 0 and exp < scheduled_at[u] * 1000:
            s.add("short_unique_ttl", u, f"expires at {exp // 1000}, before its scheduled job runs at "
                  f"{int(scheduled_at[u])}: a duplicate could be enqueued meanwhile",
                  "extend it to a day after the run time", expiry_ms=exp, run_at=int(scheduled_at[u]))
    # -- observations, known_jobs -------------------------------------------------------------
    for key in s.scan_keys("worker:*"):
        wid = key[len(k.worker_observation("")):]
        if wid not in live_workers:
            s.add("stale_observation", key, f"observation of worker {wid}, which no live pool has", "delete it",
                  worker_id=wid)
    in_sets = set().union(*set_names.values()) if set_names else set()
    for n in sorted(known):
        if (n in queue_names or n in live_names or n in in_sets or any(n in d for d in inprog.values())):
            continue
        s.add("empty_known_job", k.known_jobs, f"known_jobs lists {n!r}, but no job of it waits, runs or is "
              "scheduled, and no live pool registers it", "remove it from known_jobs (if its queue is still empty)",
              job_name=n)
    return s.report


def repair(conn: RedisLike, namespace: str, report: Report | None = None, *, dry_run: bool = True,
           now: int | None = None, max_scan: int = DEFAULT_MAX_SCAN) -> Report:
    """Fix the findings of ``report`` (default: a fresh :func:`diagnose`). With ``dry_run``
    (the default) nothing is written: ``actions`` says what would be done."""
    if report is None:
        report = diagnose(conn, namespace, now=now, max_scan=max_scan)
    client = clone_sync(conn, decode_responses=False)
    try:
        _repair(client, Keys(namespace), report, dry_run)
    finally:
        client.connection_pool.disconnect()
    return report


def _repair(c: redis.Redis, k: Keys, report: Report, dry_run: bool) -> None:
    order = ["gone_pool", "stale_lock_info", "lock_drift", "malformed", "orphaned_unique", "short_unique_ttl",
             "empty_known_job", "stale_observation"]
    findings = sorted(report.findings, key=lambda f: order.index(f.kind) if f.kind in order else len(order))
    recounted: set[str] = set()
    for f in findings:
        if not f.fix:
            continue
        act: dict[str, Any] = {"kind": f.kind, "key": f.key, "fix": f.fix, "done": False}
        report.actions.append(act)
        if dry_run:
            act["dry_run"] = True
            continue
        now = int(time.time())
        d = f.data
        if f.kind in ("gone_pool", "stale_lock_info"):
            pid = d["pool_id"]
            beat = _int(c.hget(k.heartbeat(pid), "heartbeat_at"))
            if beat is not None and beat + DEAD_AFTER > now:
                act["result"] = "the pool is alive again: left alone"
                continue
            moved = 0
            names = d["job_names"]
            if names:
                while True:
                    (n_moved,) = execute(c, [reenqueue_in_progress_call(k, pid, names, REENQUEUE_BATCH)])
                    moved += int(n_moved)
                    if int(n_moved) < REENQUEUE_BATCH:
                        break
                execute(c, [reap_stale_locks_call(k, pid, names)])
            execute(c, [Call("DEL", k.heartbeat(pid)), Call("SREM", k.worker_pools, pid)])
            act.update(done=True, result=f"{moved} jobs requeued")
        elif f.kind == "lock_drift" or (f.kind == "malformed" and f.fix == "recount"):
            n = d["job_name"]
            if n in recounted:
                act.update(done=True, result="recounted already")
                continue
            recounted.add(n)
            live = _live_pools(c, k, now)
            (before, after, changed) = execute(c, [lock_recount_call(k, n, live, now, DEAD_AFTER)])[0]
            act.update(done=True, result=f"lock {before} -> {after}, {changed} lock_info entries changed")
        elif f.kind == "malformed":
            raw = d["payload"].encode("utf-8", "surrogateescape")
            record = buried_job(raw, d["job_name"], burial_reason(f.key, d["problem"]), now).encode()
            (done,) = execute(c, [bury_queued_call(k, f.key, raw, now, record)])
            act.update(done=bool(done), result="buried in the dead set" if done else "gone from the queue already")
        elif f.kind == "orphaned_unique":
            (done,) = execute(c, [unique_drop_call(f.key, int(d["expiry_ms"]))])
            act.update(done=bool(done), result="deleted" if done else "changed meanwhile: kept")
        elif f.kind == "short_unique_ttl":
            (done,) = execute(c, [unique_extend_call(f.key, (int(d["run_at"]) + UNIQUE_TTL) * 1000)])
            act.update(done=bool(done), result="extended" if done else "gone or long enough already")
        elif f.kind == "empty_known_job":
            (done,) = execute(c, [known_job_prune_call(k, d["job_name"])])
            act.update(done=bool(done), result="removed" if done else "its queue has jobs now: kept")
        elif f.kind == "stale_observation":
            live_workers = {w for p in _live_pools(c, k, now)
                            for w in _s(c.hget(k.heartbeat(p), "worker_ids")).split(",") if w}
            if d["worker_id"] in live_workers:
                act["result"] = "its pool is alive: kept"
                continue
            c.delete(f.key)
            act.update(done=True, result="deleted")


def _live_pools(c: redis.Redis, k: Keys, now: int) -> list[str]:
    pools = sorted(_s(p) for p in c.smembers(k.worker_pools))
    if not pools:
        return []
    pipe = c.pipeline(transaction=False)
    for p in pools:
        pipe.hget(k.heartbeat(p), "heartbeat_at")
    beats = pipe.execute()
    return [p for p, b in zip(pools, beats) if (_int(b) is not None and (_int(b) or 0) + DEAD_AFTER > now)]
