"""Chaos suite: kill -9, Redis restarts and outages, malformed payloads, handler faults and a
web UI abuse pass, against a real redis-server and the real Go pool (gocraft/work v0.5.1 in
go-harness/), with exact per-job accounting.

    python benchmarks/chaos.py              # the full run (4-6 minutes), writes benchmarks/chaos/
    python benchmarks/chaos.py --quick      # the bounded CI version (under 2 minutes)
    python benchmarks/chaos.py --only kill9,outage --out /tmp/chaos

Needs redis-server and Go (or GOWORK_HARNESS pointing at a built go-harness binary; the
harness is driven through gowork_compat.harness, local processes only). One
redis-server (appendonly yes, appendfsync always) is started on a free loopback port; every
experiment runs in a namespace of its own. Everything is bounded in count and time and talks
to 127.0.0.1 only.

Accounting. Every job carries a unique ``uid`` in its args. Handlers (Go: the harness worker;
Python: benchmarks/chaos_worker.py) print a ``job_start`` line before they do anything and a
``job_end`` line after, flushed at once, so executions are known even for a process killed
with SIGKILL. At the end, every pool stopped, every key of the namespace is read and every
job is placed: done (ran to success and is nowhere), dead (with the reason stored in the
record), waiting (queue, retry or scheduled), in-progress (stranded) or lost (never ran to
success and in no list or set). Each execution after the first that did not follow a handled
failure is a duplicate; its reason is derived from what happened to the earlier attempt's
process (kill -9, os._exit, reaped while alive, ...). A monitor polls every live pool's
heartbeat 10 times a second: a pool whose heartbeat or membership disappears while its
process runs and was not told to stop was reaped alive.

Experiments (``--only`` takes a comma-separated subset):

  kill9      mixed Go and Python pools on the same job names, jobs fed continuously; one pool
             SIGKILLed and replaced every ~second (8 kills quick, 24 full)
  restart    Redis restarted (alternately SIGTERM and SIGKILL, AOF fsync always) while Go and
             Python pools run (2 quick, 5 full); at the end the Go pool stops first (a rolling
             stop) and the Python reapers requeue what its lost acknowledgements stranded
  outage     Redis down for 20 s (11 s quick) while Go and Python pools run jobs; Go stops first
  mixed      a Go pool and a Python pool with disjoint and shared job names; retries and
             scheduled jobs on both sides (Go's requeuer buries names it does not run)
  malformed  >= 1,000 malformed payloads (240 quick) in queues, retry, scheduled and dead sets
             among valid jobs, run by Python pools; then "retry all dead" through the client
  faults     handlers that raise, raise every time, os._exit mid-job, block a thread, and hog
             the event loop of an async pool for longer than the dead-pool window
  webui      hostile HTTP requests against ``gowork webui`` on loopback: huge page numbers,
             bad JSON, bad Host/Origin, path tricks, oversize bodies and headers; expects
             4xx (never 5xx), no change to the namespace's data; before them ``gowork inspect``
             over the same sets (each holds one unreadable member), expecting exit 0
  selfcheck  (not in the default list) the accounting's own check: a job deleted behind the
             pools' back must show as lost, one pushed twice as a duplicate, and so on

Writes OUT/results.json and OUT/results.md (OUT defaults to benchmarks/chaos/).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gowork_compat.client import Client  # noqa: E402
from gowork_compat.enqueuer import Enqueuer  # noqa: E402
from gowork_compat.harness import (  # noqa: E402
    Command,
    Harness,
    HarnessError,
    LocalLauncher,
    WorkerProcess,
    build_harness,
    free_port,
    stop_process,
)

HARNESS_DIR = ROOT / "go-harness"

EXPERIMENTS = ("kill9", "restart", "outage", "mixed", "malformed", "faults", "webui")
Json = dict[str, Any]
TOKEN_RE = re.compile(rb"chaos-[a-z0-9]+-[0-9]+")


def log(msg: str) -> None:
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# -- redis-server -------------------------------------------------------------------------------
class RedisProc:
    """A redis-server of the suite's own: loopback, AOF with fsync always, restartable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gowork-chaos-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not installed")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c = redis.Redis(port=self.port, socket_timeout=0.5)
        try:
            if not wait_until(lambda: _pings(c), 15, 0.02):
                raise RuntimeError(f"redis-server did not start on port {self.port}")
        finally:
            c.close()

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None:
            if kill and self.proc.poll() is None:
                self.proc.kill()
            stop_process(self.proc, 15)
        self.proc = None

    def restart(self, downtime: float, kill: bool) -> None:
        self.stop(kill=kill)
        time.sleep(downtime)
        self.start()
        self.restarts += 1

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _pings(c: redis.Redis) -> bool:
    try:
        return bool(c.ping())
    except redis.exceptions.RedisError:
        return False


# -- pools --------------------------------------------------------------------------------------
@dataclass
class Pool:
    kind: str  # "go", "py-sync", "py-async"
    config: Json
    proc: WorkerProcess
    pool_id: str
    started: float
    fate: str = "running"  # running, stopping, stopped, killed, exited
    ended: float | None = None
    exit_code: int | None = None
    stderr: str = ""


@dataclass
class Exp:
    """One experiment's namespace, pools, jobs and findings."""

    name: str
    server: RedisProc
    harness_bin: Path
    quick: bool
    ns: str = ""
    expected: dict[str, Json] = field(default_factory=dict)  # uid -> {"name", "by", "fault"}
    pools: list[Pool] = field(default_factory=list)
    reaped_live: list[Json] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kills: int = 0
    enqueue_errors: list[str] = field(default_factory=list)
    settle_s: list[float] = field(default_factory=list)
    restart_exited: bool = False
    #: uid -> pool id: jobs found in the in-progress list of a stopped Go pool (a dropped acknowledgement)
    stranded: dict[str, str] = field(default_factory=dict)
    t0: float = 0.0
    _seq: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop_monitor: threading.Event = field(default_factory=threading.Event)
    _monitor: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.ns = f"chaos-{self.name}-{uuid.uuid4().hex[:6]}"
        self.h = Harness(self.harness_bin, "127.0.0.1", self.server.port, self.ns,
                         LocalLauncher(binary=self.harness_bin, cwd=ROOT))
        # the runner enqueues only while Redis is up; a retry covers a pooled connection the
        # last restart closed (nothing was sent on it)
        self.r = redis.Redis(port=self.server.port, socket_timeout=5, health_check_interval=1,
                             retry=Retry(ExponentialBackoff(cap=1.0), 5),
                             retry_on_error=[redis.exceptions.ConnectionError])
        self.enq = Enqueuer(self.r, self.ns)
        self.t0 = time.monotonic()

    # -- jobs ------------------------------------------------------------------------------------
    def uid(self) -> str:
        self._seq += 1
        return f"chaos-{self.name}-{self._seq}"

    def enqueue_py(self, name: str, n: int, **extra: Any) -> None:
        for _ in range(n):
            u = self.uid()
            try:
                self.enq.enqueue(name, {"uid": u, **extra})
            except redis.exceptions.ConnectionError as exc:
                # Enqueuer keeps one connection per thread and does not retry: the first call
                # after a Redis restart fails on the dead socket. Counted, then tried again on
                # a fresh enqueuer with the same uid (a landed first try would show as a
                # duplicate execution).
                self.enqueue_errors.append(f"{type(exc).__name__}: {exc}")
                self.enq = Enqueuer(self.r, self.ns)
                self.enq.enqueue(name, {"uid": u, **extra})
            self.expected[u] = {"name": name, "by": "python", "fault": extra.get("fault", "")}

    def enqueue_py_in(self, name: str, n: int, seconds: float) -> None:
        for _ in range(n):
            u = self.uid()
            self.enq.enqueue_in(name, seconds, {"uid": u})
            self.expected[u] = {"name": name, "by": "python", "fault": ""}

    def enqueue_go(self, name: str, n: int, in_s: int = 0) -> None:
        reqs = []
        for _ in range(n):
            u = self.uid()
            if in_s:
                reqs.append({"method": "EnqueueIn", "name": name, "args": {"uid": u}, "in": in_s})
            else:
                reqs.append({"method": "Enqueue", "name": name, "args": {"uid": u}})
            self.expected[u] = {"name": name, "by": "go", "fault": ""}
        for rep in self.h.enqueue(reqs):
            if rep.get("error"):
                raise RuntimeError(f"Go enqueue failed: {rep['error']}")

    # -- pools ------------------------------------------------------------------------------------
    def start_pool(self, kind: str, config: Json) -> Pool:
        if kind == "go":
            proc = self.h.start_worker(config)
        else:
            cfg = {**config, "mode": "async" if kind == "py-async" else "sync"}
            proc = WorkerProcess(Command("python", (str(BENCH / "chaos_worker.py"), "-redis", self.h.addr,
                                                    "-ns", self.ns, "-config", json.dumps(cfg))), self.h.launcher)
        p = Pool(kind, config, proc, proc.pool_id, time.monotonic())
        with self._lock:
            self.pools.append(p)
        return p

    def running(self, kind: str | None = None) -> list[Pool]:
        return [p for p in self.pools if p.fate == "running" and (kind is None or p.kind == kind)]

    def kill(self, p: Pool) -> None:
        with self._lock:
            p.fate = "killed"
            p.ended = time.monotonic()
        p.proc.kill()
        p.exit_code = p.proc.returncode
        self.kills += 1

    def service(self) -> None:
        """Notice pools that exited on their own; start a replacement when asked to."""
        for p in list(self.pools):
            if p.fate == "running" and p.proc.returncode is not None:
                with self._lock:
                    p.fate = "exited"
                    p.ended = time.monotonic()
                    p.exit_code = p.proc.returncode
                if self.restart_exited:
                    self.start_pool(p.kind, p.config)

    def stop_all(self, kind: str | None = None) -> None:
        """Stop every running pool (of ``kind`` only, when given) gracefully."""
        for p in self.pools:
            if p.fate == "running" and (kind is None or p.kind == kind):
                with self._lock:
                    p.fate = "stopping"
        for p in self.pools:
            if p.fate == "stopping":
                p.proc.stop(timeout=20)
                p.fate = "stopped"
                p.ended = time.monotonic()
                p.exit_code = p.proc.returncode

    # -- the reaped-alive monitor ------------------------------------------------------------------
    def start_monitor(self) -> None:
        self._monitor = threading.Thread(target=self._watch, daemon=True)
        self._monitor.start()

    def _watch(self) -> None:
        c = redis.Redis(port=self.server.port, socket_timeout=1, socket_connect_timeout=1)
        pools_key = f"{self.ns}:worker_pools"
        flagged: set[str] = set()
        while not self._stop_monitor.wait(0.1):
            with self._lock:
                live = [p for p in self.pools if p.fate == "running" and p.pool_id not in flagged]
            if not live:
                continue
            try:
                pipe = c.pipeline(transaction=False)
                for p in live:
                    pipe.sismember(pools_key, p.pool_id)
                    pipe.exists(f"{pools_key}:{p.pool_id}")
                res = pipe.execute()
            except redis.exceptions.RedisError:
                continue
            for i, p in enumerate(live):
                member, beat = res[2 * i], res[2 * i + 1]
                with self._lock:
                    alive = p.fate == "running" and p.proc.returncode is None
                if alive and not (member and beat):
                    flagged.add(p.pool_id)
                    self.reaped_live.append({"pool_id": p.pool_id, "kind": p.kind,
                                             "at_s": round(time.monotonic() - self.t0, 1)})
        c.close()

    def stop_monitor(self) -> None:
        self._stop_monitor.set()
        if self._monitor is not None:
            self._monitor.join(5)

    # -- reading the namespace -----------------------------------------------------------------------
    def scan(self) -> list[tuple[str, str, bytes, Json | None]]:
        """(location, key, raw member, parsed record or None) for every job record in the namespace."""
        out: list[tuple[str, str, bytes, Json | None]] = []
        prefix = f"{self.ns}:"
        for key_b in self.r.scan_iter(match=f"{self.ns}:*", count=1000):
            key = key_b.decode("utf-8", "replace")
            rest = key[len(prefix):]
            if rest.startswith("jobs:") and rest.endswith(":inprogress"):
                loc = "in_progress"
            elif rest.startswith("jobs:") and not rest.endswith((":lock", ":lock_info", ":paused",
                                                                  ":max_concurrency")):
                loc = "queued"
            elif rest in ("retry", "scheduled", "dead"):
                loc = rest
            else:
                continue
            kind = self.r.type(key_b)
            if kind == b"list":
                members = self.r.lrange(key_b, 0, -1)
            elif kind == b"zset":
                members = self.r.zrange(key_b, 0, -1)
            else:
                continue
            for m in members:
                rec: Json | None
                try:
                    v = json.loads(m)
                    rec = v if isinstance(v, dict) else None
                except (ValueError, RecursionError):
                    rec = None
                out.append((loc, key, m, rec))
        return out

    def attempts(self) -> dict[str, list[Json]]:
        """uid (or job id when it has none) -> its handler calls in start order."""
        by_key: dict[str, list[Json]] = {}
        for p in self.pools:
            starts: dict[str, list[Json]] = {}  # job id -> its calls not ended yet, oldest first
            for ev in p.proc.events():
                kind = ev.get("event")
                if kind == "job_start":
                    uid = ev.get("uid")
                    if uid is None and isinstance(ev.get("args"), dict):
                        uid = ev["args"].get("uid")
                    key = uid if isinstance(uid, str) else str(ev.get("id"))
                    att = {"pool": p, "id": ev.get("id"), "ts": ev.get("ts_ns", 0), "result": None}
                    by_key.setdefault(key, []).append(att)
                    starts.setdefault(str(ev.get("id")), []).append(att)
                elif kind == "job_end":
                    open_ = starts.get(str(ev.get("id")))
                    if open_:
                        open_.pop(0)["result"] = ev.get("result")
        for lst in by_key.values():
            lst.sort(key=lambda a: a["ts"])
        return by_key

    def settle(self, timeout: float, resolved: Callable[[], bool] | None = None) -> float:
        """Wait until every expected job ran to success or is dead, nothing is queued or due,
        and what is left in in-progress lists belongs to running pools and stayed the same
        for 3 s (an acknowledgement that was lost stays there for good)."""
        t = time.monotonic()
        state: Json = {"since": None, "inprog": None}

        def done() -> bool:
            self.service()
            try:
                recs = self.scan()
                now = time.time()
                due = sum(int(self.r.zcount(f"{self.ns}:{z}", "-inf", now)) for z in ("retry", "scheduled"))
            except redis.exceptions.RedisError:
                return False
            if due or any(loc == "queued" for loc, *_ in recs):
                state["since"] = None
                return False
            if resolved is not None:
                if not resolved():
                    return False
            else:
                atts = self.attempts()
                dead = {k for loc, _k, m, rec in recs if loc == "dead" for k in _keys_of(m, rec)}
                if not all(u in dead or any(a["result"] == "ok" for a in atts.get(u, ())) for u in self.expected):
                    return False
            inprog = sorted((key, m) for loc, key, m, _rec in recs if loc == "in_progress")
            if not inprog:
                return True
            running = {p.pool_id for p in self.running()}
            if any(_pool_of(key) not in running for key, _m in inprog) or inprog != state["inprog"]:
                state["since"], state["inprog"] = time.monotonic(), inprog
                return False
            return bool(time.monotonic() - state["since"] >= 3.0)

        ok = wait_until(done, timeout, 0.5)
        if not ok:
            self.notes.append(f"did not settle within {timeout:.0f} s")
        self.settle_s.append(round(time.monotonic() - t, 1))
        return time.monotonic() - t

    # -- the figures ----------------------------------------------------------------------------------
    def account(self, job_names: list[str]) -> Json:
        self.service()
        self.stop_all()
        self.stop_monitor()
        atts = self.attempts()
        where: dict[str, list[tuple[str, Json | None]]] = {}
        in_progress_left = 0
        by_pool: Counter[str] = Counter()
        extra = 0
        for loc, key, m, rec in self.scan():
            if loc == "in_progress":
                in_progress_left += 1
                by_pool[self._describe(_pool_of(key))] += 1
            keys = _keys_of(m, rec)
            for k in keys:
                where.setdefault(k, []).append((loc, rec))
            if not keys:
                extra += 1

        status: Counter[str] = Counter()
        dead_reasons: Counter[str] = Counter()
        lost: list[Json] = []
        for u, info in self.expected.items():
            locs = where.get(u, [])
            kinds = {loc for loc, _ in locs}
            ok_runs = [a for a in atts.get(u, []) if a["result"] == "ok"]
            if "in_progress" in kinds:
                status["in_progress"] += 1
            elif "dead" in kinds:
                rec = next(r for loc, r in locs if loc == "dead")
                reason = str((rec or {}).get("err", "?"))[:120]
                expected_dead = info.get("fault") == "raise_always"
                status["dead_expected" if expected_dead else "dead_unexpected"] += 1
                dead_reasons[("expected: " if expected_dead else "") + reason] += 1
            elif kinds:
                status["waiting"] += 1
            elif ok_runs:
                status["done"] += 1
            else:
                status["lost"] += 1
                lost.append({"uid": u, **info, "attempts": [_att_json(a) for a in atts.get(u, [])]})

        twice, reasons = self._duplicates(atts)
        locks = self._locks(job_names)
        crashes = self._crashes()
        executions = sum(len(atts.get(u, [])) for u in self.expected)
        return {
            "namespace": self.ns,
            "jobs_enqueued": len(self.expected),
            "jobs_run": sum(1 for u in self.expected if atts.get(u)),
            "executions": executions,
            "done": status["done"],
            "dead_expected": status["dead_expected"],
            "dead_unexpected": status["dead_unexpected"],
            "dead_reasons": dict(dead_reasons),
            "waiting": status["waiting"],
            "in_progress": status["in_progress"],
            "in_progress_left": in_progress_left,
            "in_progress_by_pool": dict(by_pool),
            "lost": status["lost"],
            "lost_examples": lost[:5],
            "run_twice": twice,
            "run_twice_reasons": reasons,
            "run_twice_not_allowed": sum(n for r, n in reasons.items() if r.startswith("NOT ALLOWED")),
            "lock_residue": locks,
            "lock_residue_total": sum(abs(v["lock"]) + sum(abs(x) for x in v["lock_info"].values())
                                      for v in locks.values()),
            "live_pools_reaped": len(self.reaped_live),
            "live_pools_reaped_detail": self.reaped_live,
            "crashes": len(crashes),
            "crash_detail": crashes,
            "untracked_records": extra,
            "pools_started": len(self.pools),
            "kills": self.kills,
            "kills_by_kind": dict(Counter(p.kind for p in self.pools if p.fate == "killed")),
            "enqueue_errors": len(self.enqueue_errors),
            "enqueue_error_examples": sorted(set(self.enqueue_errors))[:3],
            "redis_restarts": 0,
            "notes": self.notes,
            "settle_s": self.settle_s,
        }

    def _duplicates(self, atts: dict[str, list[Json]]) -> tuple[int, dict[str, int]]:
        reasons: Counter[str] = Counter()
        twice = 0
        for u in self.expected:
            lst = atts.get(u, [])
            dup = False
            for prev in lst[:-1]:
                if prev["result"] in ("error", "panic"):
                    continue  # a retry after a handled failure: by design
                dup = True
                reasons[self._why(prev, u)] += 1
            twice += dup
        return twice, dict(reasons)

    def _why(self, prev: Json, uid: str = "") -> str:
        p: Pool = prev["pool"]
        reaped = {x["pool_id"] for x in self.reaped_live}
        if self.stranded.get(uid) == p.pool_id and p.kind == "go" and prev["result"] is not None:
            return ("allowed: Go's worker dropped its failed acknowledgement (Redis down); the job was left in the "
                    "stopped Go pool's in-progress list and requeued by a Python reaper (at-least-once)")
        if p.pool_id in reaped:
            return "NOT ALLOWED: its pool was reaped while alive (issue 8 point 4)"
        if p.fate == "killed":
            if prev["result"] is None:
                return "allowed: kill -9 of the pool mid-job (at-least-once)"
            return "allowed: kill -9 after the handler returned, before the ack (at-least-once)"
        if p.fate == "exited":
            if p.exit_code == 17 and prev["result"] is None:
                return "allowed: its process exited mid-job (a handler called os._exit): at-least-once"
            return f"NOT ALLOWED: the pool crashed (exit {p.exit_code})"
        if prev["result"] is None:
            return "allowed: still running when its pool stopped (grace period over; left for a reaper)"
        return "NOT ALLOWED: unexplained (the first run succeeded and its pool lived)"

    def _describe(self, pool_id: str) -> str:
        for p in self.pools:
            if p.pool_id == pool_id:
                return f"{p.kind} pool {pool_id[:8]} ({p.fate})"
        return f"unknown pool {pool_id[:8]}"

    def _locks(self, job_names: list[str]) -> dict[str, Json]:
        out: dict[str, Json] = {}
        for n in job_names:
            raw = self.r.get(f"{self.ns}:jobs:{n}:lock")
            try:
                lock = int(raw or 0)
            except ValueError:
                lock = -999
            info = {}
            for k, v in self.r.hgetall(f"{self.ns}:jobs:{n}:lock_info").items():
                try:
                    iv = int(v)
                except ValueError:
                    iv = -999
                if iv:
                    info[self._describe(k.decode("utf-8", "replace"))] = iv
            if lock or info:
                out[n] = {"lock": lock, "lock_info": info}
        return out

    def _crashes(self) -> list[Json]:
        out: list[Json] = []
        for p in self.pools:
            try:
                with open(p.proc._stderr.name, encoding="utf-8", errors="replace") as fh:
                    p.stderr = fh.read()
            except OSError:
                p.stderr = ""
            if p.fate == "exited" and p.exit_code != 17:
                out.append({"pool": p.kind, "what": f"exited on its own with status {p.exit_code}",
                            "stderr_tail": p.stderr[-600:]})
            for m in re.finditer(r"(Exception in thread[^\n]*|Task exception was never retrieved|"
                                 r"Fatal Python error[^\n]*|panic: [^\n]*)", p.stderr):
                tail = p.stderr[m.end():m.end() + 4000]
                last = [ln for ln in tail.splitlines() if ln and not ln.startswith(" ")][:3]
                out.append({"pool": p.kind, "what": m.group(0)[:200], "then": " | ".join(last)[:400]})
        return out

    def close(self) -> None:
        self.stop_monitor()
        for p in self.pools:
            with contextlib.suppress(Exception):
                p.proc.kill()
            with contextlib.suppress(Exception):
                p.proc.close()
        with contextlib.suppress(Exception):
            self.r.close()


def _keys_of(m: bytes, rec: Json | None) -> list[str]:
    keys: list[str] = []
    if rec is not None:
        args = rec.get("args")
        if isinstance(args, dict) and isinstance(args.get("uid"), str):
            keys.append(args["uid"])
        if isinstance(rec.get("id"), str) and rec["id"].startswith("chaos-"):
            keys.append(rec["id"])
    if not keys:
        keys = [t.decode() for t in TOKEN_RE.findall(m)][:1]
    return keys


def _pool_of(in_progress_key: str) -> str:
    """The pool id in <ns>:jobs:<name>:<pool_id>:inprogress."""
    return in_progress_key.rsplit(":", 2)[-2]


def _att_json(a: Json) -> Json:
    p: Pool = a["pool"]
    return {"pool": p.kind, "pool_fate": p.fate, "result": a["result"]}


# -- parameters ----------------------------------------------------------------------------------
def params(quick: bool) -> Json:
    if quick:
        return {"kills": 8, "kill_every": 0.8, "feed": 50, "restarts": 2, "outage_s": 11.0, "malformed": 240,
                "valid": 120, "hog_s": 11.0, "normal_faults": 30, "settle": 35.0,
                "mixed": 10, "mal_settle": 12.0}
    return {"kills": 24, "kill_every": 1.5, "feed": 90, "restarts": 5, "outage_s": 20.0, "malformed": 1200,
            "valid": 600, "hog_s": 15.0, "normal_faults": 120, "settle": 60.0,
                "mixed": 40, "mal_settle": 40.0}


def py_cfg(names: list[str], **kw: Any) -> Json:
    return {"jobs": names, "concurrency": 4, "sleep_ms": 50, "reap_period": 2.0, "first_reap": 1.0,
            "grace_period": 3.0, **kw}


def go_cfg(names: list[str], sleep_ms: int = 50) -> Json:
    return {"concurrency": 4, "quiet": False,
            "jobs": {n: {"backoff_seconds": 1, "behavior": {"kind": "succeed", "sleep_ms": sleep_ms}} for n in names}}


# -- experiments ---------------------------------------------------------------------------------
def exp_kill9(e: Exp, P: Json) -> Json:
    names = ["k_a", "k_b", "k_c"]
    e.restart_exited = True
    e.start_monitor()
    for kind in ("go", "go", "py-sync", "py-async"):
        e.start_pool(kind, go_cfg(names, sleep_ms=200) if kind == "go" else py_cfg(names, sleep_ms=200))
    order = ["go", "py-sync", "go", "py-async"]
    rng = random.Random(8)
    for i in range(P["kills"]):
        e.enqueue_py(names[i % 3], P["feed"] // 2)
        e.enqueue_go(names[(i + 1) % 3], P["feed"] // 2)
        time.sleep(P["kill_every"] * rng.uniform(0.6, 1.0))
        kind = order[i % len(order)]
        victims = e.running(kind)
        if victims:
            v = rng.choice(victims)
            e.kill(v)
            e.start_pool(kind, v.config)
        e.service()
    e.settle(P["settle"])
    return e.account(names)


#: seconds for the Python pools' reapers to requeue what a stopped Go pool stranded: a reaper
#: holds back 15 s after its own last failed contact with Redis, sees the list on a pass,
#: requeues it a dead-pool window (10 s) later, then it runs (settle returns once done)
STRANDED_SETTLE = 60.0


def go_stops_first(e: Exp) -> None:
    """A rolling stop: the Go pools stop while the Python pools run on. A Go worker whose
    acknowledgement failed during the restart/outage only logged it: the job is still in the
    Go pool's in-progress list with the lock raised, for good once that pool leaves
    worker_pools. The Python pools' reapers requeue such stranded lists (issue 8); settle
    waits until they did and the jobs ran."""
    e.stop_all("go")
    stopped = {p.pool_id for p in e.pools if p.kind == "go" and p.fate == "stopped"}
    try:
        for loc, key, m, rec in e.scan():
            if loc == "in_progress" and _pool_of(key) in stopped:
                for u in _keys_of(m, rec):
                    e.stranded[u] = _pool_of(key)
    except redis.exceptions.RedisError as exc:
        e.notes.append(f"could not read stranded lists: {exc}")
    e.settle(STRANDED_SETTLE)


def exp_restart(e: Exp, P: Json) -> Json:
    names = ["r_a", "r_b"]
    e.restart_exited = True
    e.start_monitor()
    e.start_pool("go", go_cfg(names))
    e.start_pool("py-sync", py_cfg(names))
    e.start_pool("py-async", py_cfg(names))
    for i in range(P["restarts"]):
        e.enqueue_py(names[0], 40)
        e.enqueue_go(names[1], 40)
        time.sleep(1.0)
        e.server.restart(downtime=1.0, kill=bool(i % 2))
        time.sleep(1.5)
        e.service()
    e.enqueue_py(names[0], 20)
    e.settle(P["settle"])
    go_stops_first(e)
    res = e.account(names)
    res["redis_restarts"] = P["restarts"]
    return res


def exp_outage(e: Exp, P: Json) -> Json:
    names = ["o_a", "o_b"]
    e.restart_exited = True
    e.start_monitor()
    e.start_pool("go", go_cfg(names, sleep_ms=100))
    e.start_pool("py-sync", py_cfg(names, sleep_ms=100))
    e.start_pool("py-async", py_cfg(names, sleep_ms=100))
    e.enqueue_py(names[0], 150)
    e.enqueue_go(names[1], 150)
    time.sleep(1.0)
    e.server.stop()
    time.sleep(P["outage_s"])
    e.server.start()
    e.server.restarts += 1
    time.sleep(1.0)
    e.enqueue_py(names[0], 50)
    e.settle(P["settle"])
    go_stops_first(e)
    res = e.account(names)
    res["redis_restarts"] = 1
    res["outage_s"] = P["outage_s"]
    return res


def exp_selfcheck(e: Exp, P: Json) -> Json:
    """The instrument's own check (not in the default list): a job deleted behind the pool's
    back must count as lost, a record pushed twice as a duplicate not allowed, a record in an
    in-progress list of no pool as stranded, and a lock set by hand as residue."""
    name = "s_a"
    e.enqueue_py(name, 10)
    queue = f"{e.ns}:jobs:{name}"
    raws = e.r.lrange(queue, 0, -1)
    e.r.lrem(queue, 1, raws[0])  # lost
    e.r.lpush(queue, raws[1])  # run twice
    u = e.uid()
    e.r.lpush(f"{e.ns}:jobs:{name}:0000deadbeef:inprogress",
              json.dumps({"name": name, "id": "x", "t": 1, "args": {"uid": u}}))
    e.expected[u] = {"name": name, "by": "python", "fault": ""}
    e.r.set(f"{e.ns}:jobs:{name}:lock", 2)
    e.start_monitor()
    e.start_pool("py-sync", py_cfg([name], sleep_ms=1))
    e.settle(4.0)
    return e.account([name])


def exp_mixed(e: Exp, P: Json) -> Json:
    names = ["go_only", "py_only", "both"]
    e.start_monitor()
    e.start_pool("go", go_cfg(["go_only", "both"], sleep_ms=10))
    e.start_pool("py-sync", py_cfg(["py_only", "both"], sleep_ms=10, backoff_seconds=2))
    n = P["mixed"]
    e.enqueue_py("py_only", n)
    e.enqueue_py("py_only", n, fault="raise")  # one failure, retried after 2 s
    e.enqueue_py_in("py_only", n, 2)
    e.enqueue_go("go_only", n)
    e.enqueue_go("go_only", n, in_s=2)
    e.enqueue_py("both", n)
    e.enqueue_go("both", n, in_s=2)
    time.sleep(3)

    # Every job here ends in success. A Python-only job that Go's requeuer killed as unknown
    # is dead only until the Python pool's rescuer revives it (once a second): settling on
    # "success or dead" could count it before that pass (seen once under load in CI).
    def all_succeeded() -> bool:
        atts = e.attempts()
        return all(any(a["result"] == "ok" for a in atts.get(u, ())) for u in e.expected)

    e.settle(P["settle"] / 2, resolved=all_succeeded)
    return e.account(names)


def malformed_payloads(n: int, names: list[str]) -> list[tuple[str, bytes]]:
    """``n`` (kind, payload) pairs; each payload carries its token chaos-mal-<i>."""
    deep = 5000
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        t = f"chaos-mal-{i}"
        nm = names[i % len(names)]
        kinds: list[tuple[str, bytes]] = [
            ("not json", f"{t} not json {{".encode()),
            ("json array", json.dumps([t]).encode()),
            ("json string", json.dumps(t).encode()),
            ("no name", json.dumps({"id": t, "t": 1, "args": {}}).encode()),
            ("name not a string", json.dumps({"name": 5, "id": t, "t": 1}).encode()),
            ("args not an object", json.dumps({"name": nm, "id": t, "t": 1, "args": [1, 2]}).encode()),
            ("invalid UTF-8", b'{"name":"%s","id":"%s","t":1,"args":{"s":"\xff\xfe"}}' % (nm.encode(), t.encode())),
            ("1e999", b'{"name":"%s","id":"%s","t":1,"args":{"x":1e999}}' % (nm.encode(), t.encode())),
            ("NaN", b'{"name":"%s","id":"%s","t":1,"args":{"x":NaN}}' % (nm.encode(), t.encode())),
            ("-Infinity", b'{"name":"%s","id":"%s","t":1,"args":{"x":-Infinity}}' % (nm.encode(), t.encode())),
            ("400-digit integer", b'{"name":"%s","id":"%s","t":1,"args":{"x":%s}}'
             % (nm.encode(), t.encode(), b"9" * 400)),
            ("truncated", f'{{"name":"{nm}","id":"{t}","t":1,"args":{{"a":'.encode()),
            ("empty name", json.dumps({"name": "", "id": t, "t": 1}).encode()),
            ("name of no pool", json.dumps({"name": "chaos_nobody", "id": t, "t": 1}).encode()),
            ("t is a string", json.dumps({"name": nm, "id": t, "t": "yesterday"}).encode()),
            ("fails negative", json.dumps({"name": nm, "id": t, "t": 1, "fails": -5}).encode()),
            ("lone surrogate escape", b'{"name":"%s","id":"%s","t":1,"args":{"s":"\\ud800"}}'
             % (nm.encode(), t.encode())),
            ("trailing garbage", f'{{"name":"{nm}","id":"{t}","t":1}} xyz'.encode()),
            ("empty", t.encode() + b"\x00"),
        ]
        nest = b"[" * deep + b"]" * deep
        if i % 50 in (45, 47):  # a few deep ones (5,000 levels; 10 kB each), in queues and retry
            out.append(("nesting 5,000 deep", b'{"name":"%s","id":"%s","t":1,"args":{"d":%s}}'
                        % (nm.encode(), t.encode(), nest)))
        elif i % 100 in (40, 46):  # the same in a queue, with a handler that fails (the job is re-encoded)
            out.append(("nesting 5,000 deep, handler fails", b'{"name":"%s","id":"%s","t":1,'
                        b'"args":{"fault":"raise_always","d":%s}}' % (nm.encode(), t.encode(), nest)))
        else:
            out.append(kinds[i % len(kinds)])
    return out


def exp_malformed(e: Exp, P: Json) -> Json:
    names = ["m_a", "m_b"]
    e.restart_exited = True
    payloads = malformed_payloads(P["malformed"], names)
    now = int(time.time())
    placed: dict[str, Json] = {}
    pipe = e.r.pipeline(transaction=False)
    for i, (kind, body) in enumerate(payloads):
        t = f"chaos-mal-{i}"
        slot = ("queue", "queue", "retry", "scheduled", "dead")[i % 5]
        if slot == "queue":
            pipe.lpush(f"{e.ns}:jobs:{names[i % 2]}", body)
        else:
            pipe.zadd(f"{e.ns}:{slot}", {body: now - 1 - i % 7})
        placed[t] = {"kind": kind, "placed": slot}
    pipe.sadd(f"{e.ns}:known_jobs", *names)
    pipe.execute()
    for i in range(P["valid"]):
        e.enqueue_py(names[i % 2], 1)
    e.start_monitor()
    e.start_pool("py-sync", py_cfg(names, sleep_ms=5, concurrency=8))
    e.start_pool("py-async", py_cfg(names, sleep_ms=5, concurrency=8))
    e.settle(P["mal_settle"])
    retried: Json = {}
    try:
        retried["count"] = Client(e.r, e.ns).retry_all_dead_jobs()
    except Exception as exc:  # the figure is what happened, whatever it is
        retried["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
    e.settle(P["mal_settle"] / 2)
    res = e.account(names)
    # where each malformed payload ended up
    atts = e.attempts()
    where: dict[str, set[str]] = {}
    for loc, _key, m, rec in e.scan():
        for k in _keys_of(m, rec):
            where.setdefault(k, set()).add(loc)
    fate: Counter[str] = Counter()
    lost_by_kind: Counter[str] = Counter()
    stranded_by_kind: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    for t, info in placed.items():
        locs = where.get(t, set())
        if "in_progress" in locs:
            f = "stranded in in-progress"
            stranded_by_kind[f"{info['kind']} ({info['placed']})"] += 1
        elif "dead" in locs:
            f = "in the dead set"
        elif locs:
            f = "still queued/retry/scheduled"
        elif any(a["result"] == "ok" for a in atts.get(t, [])):
            f = "ran (readable after all)"
        else:
            f = "LOST"
            lost_by_kind[f"{info['kind']} ({info['placed']})"] += 1
        fate[f] += 1
        by_kind.setdefault(f"{info['kind']} ({info['placed']})", Counter())[f] += 1
    res["malformed"] = {"placed": len(placed), "placed_by_slot": dict(Counter(v["placed"] for v in placed.values())),
                        "fate": dict(fate), "lost_by_kind": dict(lost_by_kind),
                        "stranded_by_kind": dict(stranded_by_kind), "retry_all_dead": retried,
                        "fate_by_kind": {k: dict(v) for k, v in sorted(by_kind.items())}}
    res["lost_valid_jobs"] = res["lost"]
    res["lost_malformed_payloads"] = fate["LOST"]
    res["lost"] += fate["LOST"]
    return res


def exp_faults(e: Exp, P: Json) -> Json:
    e.restart_exited = True
    marker = tempfile.mkdtemp(prefix="gowork-chaos-markers-")
    try:
        e.start_monitor()
        common = {"marker_dir": marker, "max_fails": 2, "backoff_seconds": 1, "sleep_ms": 20}
        e.start_pool("py-sync", py_cfg(["f_sync"], block_s=3.0, **common))
        e.start_pool("py-async", py_cfg(["f_async"], hog_s=P["hog_s"], **common))
        n = P["normal_faults"]
        for name, special in (("f_sync", "block"), ("f_async", "hog")):
            e.enqueue_py(name, n)
            e.enqueue_py(name, 10, fault="raise")
            e.enqueue_py(name, 4, fault="raise_always")
            e.enqueue_py(name, 2, fault="exit")
            e.enqueue_py(name, 3 if special == "block" else 1, fault=special)
            e.enqueue_py(name, n)
        e.settle(P["settle"] + P["hog_s"])
        return e.account(["f_sync", "f_async"])
    finally:
        shutil.rmtree(marker, ignore_errors=True)


# -- web UI abuse ---------------------------------------------------------------------------------
@dataclass
class Req:
    what: str
    method: str
    path: str
    expect: str  # "4xx", "2xx", "no5xx"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    host: str | None = ""  # "" = the real one, None = no Host header
    point: str = ""  # the issue-8 point this request checks, if any


def _http(port: int, rq: Req) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.putrequest(rq.method, rq.path, skip_host=True, skip_accept_encoding=True)
        if rq.host is not None:
            conn.putheader("Host", rq.host or f"127.0.0.1:{port}")
        for k, v in rq.headers.items():
            conn.putheader(k, v)
        if rq.body or rq.method == "POST":
            conn.putheader("Content-Length", str(len(rq.body)))
        conn.endheaders()
        if rq.body:
            with contextlib.suppress(OSError):
                conn.send(rq.body)
        resp = conn.getresponse()
        return resp.status, resp.read()[:2000]
    except (OSError, http.client.HTTPException):
        return 0, b""  # the server closed the connection on us
    finally:
        conn.close()


def webui_requests(port: int) -> list[Req]:
    evil = f"evil.example:{port}"
    big = "9" * 5000
    return [
        Req("page 1 of dead jobs (one unreadable member)", "GET", "/dead_jobs?page=1", "2xx", point="7"),
        Req("page 1 of retry jobs (one unreadable member)", "GET", "/retry_jobs", "2xx", point="7"),
        Req("page 1 of scheduled jobs (one unreadable member)", "GET", "/scheduled_jobs", "2xx", point="7"),
        Req("queued jobs (one unreadable member)", "GET", "/queued_jobs/w_a", "2xx", point="7"),
        Req("page beyond uint64", "GET", "/dead_jobs?page=99999999999999999999999", "4xx"),
        Req("page uint64 max", "GET", "/dead_jobs?page=18446744073709551615", "4xx"),
        Req("page 5,000 digits", "GET", f"/retry_jobs?page={big}", "4xx", point="9"),
        Req("page negative", "GET", "/scheduled_jobs?page=-1", "4xx"),
        Req("page not a number", "GET", "/queued_jobs/w_a?page=abc", "4xx"),
        Req("page 0", "GET", "/dead_jobs?page=0", "no5xx", point="7"),
        Req("page 1e3", "GET", "/dead_jobs?page=1e3", "4xx"),
        Req("10,000 query parameters", "GET", "/dead_jobs?" + "&".join(f"p{i}=1" for i in range(10000)), "no5xx",
            point="7"),
        Req("queue name of invalid UTF-8", "GET", "/queued_jobs/%ff%fe", "no5xx"),
        Req("queue name 10 kB", "GET", "/queued_jobs/" + "q" * 10000, "no5xx"),
        Req("static path traversal", "GET", "/static/../../../../etc/passwd", "4xx"),
        Req("static encoded traversal", "GET", "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "4xx"),
        Req("static encoded slash traversal", "GET", "/static/..%2f..%2fwebui.py", "4xx"),
        Req("double slash", "GET", "//etc/passwd", "4xx"),
        Req("NUL in path", "GET", "/static/%00", "4xx"),
        Req("dot segments to an API route", "GET", "/queues/../dead_jobs", "no5xx"),
        Req("unknown route", "GET", "/admin", "4xx"),
        Req("wrong method on a GET route", "POST", "/queues", "4xx"),
        Req("PUT", "PUT", "/dead_jobs", "4xx"),
        Req("TRACE", "TRACE", "/", "4xx"),
        Req("delete dead job, non-integer time", "POST", "/delete_dead_job/abc/xyz", "4xx"),
        Req("delete dead job, time beyond int64", "POST", "/delete_dead_job/99999999999999999999999/x", "4xx"),
        Req("retry dead job that is not there", "POST", "/retry_dead_job/1/nonexistent", "4xx"),
        Req("delete retry job, negative time", "POST", "/delete_retry_job/-1/x", "4xx"),
        Req("bad JSON body", "POST", "/delete_dead_job/1/nope", "4xx",
            headers={"Content-Type": "application/json"}, body=b'{"bad json'),
        Req("oversize body (20 MB)", "POST", "/delete_scheduled_job/1/nope", "4xx", body=b"x" * (20 << 20)),
        Req("oversize header (200 kB)", "GET", "/queues", "4xx", headers={"X-Big": "a" * 200_000}),
        Req("cross-site Origin", "POST", "/retry_all_dead_jobs", "4xx", headers={"Origin": "http://evil.example"}),
        Req("Origin null", "POST", "/delete_all_dead_jobs", "4xx", headers={"Origin": "null"}),
        Req("Sec-Fetch-Site cross-site", "POST", "/delete_all_dead_jobs", "4xx",
            headers={"Sec-Fetch-Site": "cross-site"}),
        Req("cross-site Referer", "POST", "/delete_all_dead_jobs", "4xx", headers={"Referer": "http://evil.example/x"}),
        Req("cross-site Origin, oversize body", "POST", "/retry_all_dead_jobs", "4xx",
            headers={"Origin": "http://evil.example"}, body=b"{" * (5 << 20)),
        Req("garbage basic auth (none configured)", "GET", "/queues", "2xx", headers={"Authorization": "Basic %%%"}),
        Req("no Host header (HTTP/1.1)", "GET", "/queues", "4xx", host=None),
        Req("loopback name as Host", "GET", "/queues", "2xx", host=f"localhost:{port}"),
        Req("empty Host", "GET", "/queues", "no5xx", host=" "),
        Req("look-alike Host", "GET", "/queues", "4xx", host=f"127.0.0.1.nip.io:{port}", point="6"),
        Req("foreign Host, no Origin (curl-like), delete all dead", "POST", "/delete_all_dead_jobs", "4xx",
            host=evil, point="6"),
        Req("DNS rebinding: foreign Host, read", "GET", "/dead_jobs", "4xx", host=evil, point="6 (and 7)"),
        Req("DNS rebinding: foreign Host, read a queue", "GET", "/queued_jobs/w_a", "4xx", host=evil,
            point="6 (and 7)"),
        Req("DNS rebinding: foreign Host and matching Origin, retry all dead", "POST", "/retry_all_dead_jobs", "4xx",
            host=evil, headers={"Origin": f"http://{evil}"}, point="6"),
        Req("DNS rebinding: foreign Host and matching Origin, delete all dead", "POST", "/delete_all_dead_jobs",
            "4xx", host=evil, headers={"Origin": f"http://{evil}", "Sec-Fetch-Site": "same-origin"}, point="6"),
    ]


def _snapshot(r: redis.Redis, ns: str) -> dict[bytes, bytes | None]:
    return {k: r.dump(k) for k in sorted(r.scan_iter(match=f"{ns}:*", count=1000))}


def exp_webui(e: Exp, P: Json) -> Json:
    names = ["w_a", "w_b"]
    for i in range(6):
        e.enqueue_py(names[i % 2], 1)
    for _ in range(3):
        u = e.uid()
        e.enq.enqueue_in(names[0], 3600, {"uid": u})
        e.expected[u] = {"name": names[0], "by": "python", "fault": ""}
    now = int(time.time())
    for i in range(3):
        u = e.uid()
        rec = {"name": names[1], "id": f"r{i}", "t": now, "args": {"uid": u}, "fails": 1, "err": "x",
               "failed_at": now}
        e.r.zadd(f"{e.ns}:retry", {json.dumps(rec): now + 3600})
        e.expected[u] = {"name": names[1], "by": "python", "fault": ""}
        u = e.uid()
        rec = {"name": names[1], "id": f"d{i}", "t": now, "args": {"uid": u}, "fails": 4, "err": "boom",
               "failed_at": now}
        e.r.zadd(f"{e.ns}:dead", {json.dumps(rec): now - i})
        e.expected[u] = {"name": names[1], "by": "python", "fault": "raise_always"}
    bad = b'{"name":"w_a","id":"chaos-bad-1","t":1,"args":{"x":NaN'
    e.r.lpush(f"{e.ns}:jobs:w_a", bad)
    for z in ("retry", "scheduled", "dead"):
        e.r.zadd(f"{e.ns}:{z}", {bad + z.encode(): now + 3600})
    e.r.sadd(f"{e.ns}:known_jobs", *names)

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("GOWORK_WEBUI_AUTH", None)
    errf = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([sys.executable, "-m", "gowork_compat", "webui", "--redis", e.server.url,
                             "-n", e.ns, "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=errf)
    results: list[Json] = []
    try:
        if not wait_until(lambda: _http(port, Req("", "GET", "/queues", "2xx"))[0] == 200, 20, 0.2):
            raise RuntimeError("gowork webui did not answer")
        before = _snapshot(e.r, e.ns)
        # the CLI over the namespace first, while it is intact (issue 8 point 7: one unreadable member
        # must not fail it); then the hostile requests, which may change it when they get through
        for view in ("retry", "scheduled", "dead"):
            cli = subprocess.run([sys.executable, "-m", "gowork_compat", "inspect", view, "--redis", e.server.url,
                                  "-n", e.ns], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            after = _snapshot(e.r, e.ns)
            changed = sorted(k.decode("utf-8", "replace") for k in set(before) | set(after)
                             if before.get(k) != after.get(k))
            results.append({"what": f"gowork inspect {view} (one unreadable member)", "method": "CLI",
                            "path": f"gowork inspect {view}", "expect": "exit 0", "status": cli.returncode,
                            "ok": cli.returncode == 0 and not changed, "data_changed": changed, "leaks": [],
                            "point": "7", "body": "" if cli.returncode == 0 else cli.stderr.strip()[-160:]})
            before = after
        for rq in webui_requests(port):
            status, body = _http(port, rq)
            after = _snapshot(e.r, e.ns)
            changed = sorted(k.decode("utf-8", "replace") for k in set(before) | set(after)
                             if before.get(k) != after.get(k))
            if status == 0:
                ok_status = rq.expect != "2xx"  # closing on a hostile request is a refusal
            elif rq.expect == "2xx":
                ok_status = 200 <= status < 300
            elif rq.expect == "4xx":
                ok_status = 400 <= status < 500
            else:
                ok_status = status < 500
            leaks = [w for w in (b"Traceback", b"Exceeds the limit", b"root:x:") if w in body]
            alive = proc.poll() is None
            results.append({"what": rq.what, "method": rq.method, "path": rq.path[:80], "expect": rq.expect,
                            "status": status, "ok": ok_status and not changed and not leaks and alive,
                            "data_changed": changed, "leaks": [w.decode() for w in leaks], "point": rq.point,
                            "body": body[:160].decode("utf-8", "replace") if not ok_status or leaks else ""})
            before = after
        alive = proc.poll() is None
    finally:
        stop_process(proc, 10)
        errf.seek(0)
        stderr = errf.read()
        errf.close()
    failed = [x for x in results if not x["ok"]]
    res = e.account(names)
    res["http"] = {
        "requests": sum(1 for x in results if x["method"] != "CLI"),
        "cli_runs": sum(1 for x in results if x["method"] == "CLI"),
        "ok": len(results) - len(failed),
        "status_5xx": sum(1 for x in results if x["method"] != "CLI" and x["status"] >= 500),
        "data_changing": sum(1 for x in results if x["data_changed"]),
        "server_alive_after": alive,
        "failed": failed,
        "statuses": {x["what"]: x["status"] for x in results},
        "stderr_tracebacks": stderr.count("Traceback"),
    }
    res["crashes"] += res["http"]["status_5xx"] + (0 if alive else 1)
    return res


# -- the run -------------------------------------------------------------------------------------
RUNNERS: dict[str, Callable[[Exp, Json], Json]] = {
    "selfcheck": exp_selfcheck,
    "kill9": exp_kill9, "restart": exp_restart, "outage": exp_outage, "mixed": exp_mixed,
    "malformed": exp_malformed, "faults": exp_faults, "webui": exp_webui,
}

DESCRIPTIONS = {
    "selfcheck": "the instrument's own check: one job deleted, one pushed twice, one stranded, a lock set by hand",
    "kill9": "kill -9 cycles across 2 Go + 2 Python (sync, async) pools on shared job names, jobs fed by Go and "
             "Python enqueuers; every killed pool replaced at once",
    "restart": "Redis restarted (alternately SIGTERM and SIGKILL; AOF, fsync always; 1 s down) under 1 Go + 2 Python "
               "pools; the Go pool stopped first",
    "outage": "Redis down (SIGTERM, AOF) with 1 Go + 2 Python pools running 100 ms jobs; the Go pool stopped first",
    "mixed": "a Go pool running go_only and both, a Python pool running py_only and both: Python-only jobs "
             "that fail once (2 s backoff) or are scheduled 2 s ahead, Go-scheduled jobs of both sides",
    "malformed": "malformed payloads in queues, retry, scheduled and dead sets among valid jobs, 2 Python pools; "
                 "then Client.retry_all_dead_jobs() and another pass",
    "faults": "Python pools whose handlers raise (once / always), os._exit mid-job, block a thread 3 s, and "
              "hog the event loop of the async pool past the 10 s dead-pool window; exited pools restarted",
    "webui": "hostile HTTP requests against `gowork webui` on loopback over a namespace with jobs in every "
             "state and one unreadable member per set",
}


def verdict(res: Json) -> str:
    problems = []
    for k, label in (("lost", "lost"), ("in_progress_left", "left in in-progress"),
                     ("live_pools_reaped", "live pools reaped"), ("run_twice_not_allowed", "duplicates not allowed"),
                     ("crashes", "crashes"), ("dead_unexpected", "dead unexpectedly")):
        if res.get(k):
            problems.append(f"{res[k]} {label}")
    if res.get("lock_residue_total"):
        problems.append(f"lock residue {res['lock_residue']}")
    http_ = res.get("http")
    if http_ and http_["failed"]:
        problems.append(f"{len(http_['failed'])} HTTP checks failed")
    return "ok" if not problems else "; ".join(problems)


@contextlib.contextmanager
def _server() -> Iterator[RedisProc]:
    s = RedisProc()
    s.start()
    try:
        yield s
    finally:
        s.close()


def find_harness() -> Path:
    """$GOWORK_HARNESS when it names an executable, else go-harness/ built into go-harness/gowork-harness."""
    env = os.environ.get("GOWORK_HARNESS")
    if env and os.access(env, os.X_OK):
        return Path(env)
    log("building the Go harness (go build)")
    try:
        return build_harness(HARNESS_DIR)
    except HarnessError as e:
        raise SystemExit(f"the Go harness needs Go (or GOWORK_HARNESS naming a built gowork-harness): {e}") from None


def run(quick: bool, only: list[str], out: Path) -> Json:
    P = params(quick)
    harness_bin = find_harness()
    started = time.monotonic()
    doc: Json = {"meta": meta(quick, P), "experiments": {}}
    with _server() as server:
        for name in only:
            log(f"{name} ...")
            t = time.monotonic()
            e = Exp(name, server, harness_bin, quick)
            try:
                res = RUNNERS[name](e, P)
            except Exception as exc:
                res = {"error": f"{type(exc).__name__}: {exc}"[:2000], "lost": None,
                       "traceback": traceback.format_exc()[-3000:]}
                log(f"{name} failed: {res['error']}")
            finally:
                e.close()
            res["description"] = DESCRIPTIONS[name]
            res["duration_s"] = round(time.monotonic() - t, 1)
            res["verdict"] = verdict(res) if "error" not in res else "ERROR: " + res["error"][:200]
            doc["experiments"][name] = res
            log(f"{name}: {res['duration_s']} s, {res['verdict']}")
    doc["meta"]["duration_s"] = round(time.monotonic() - started, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    (out / "results.md").write_text(markdown(doc))
    return doc


def meta(quick: bool, P: Json) -> Json:
    def cmd(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": cmd(["git", "rev-parse", "--short", "HEAD"]),
        "dirty": bool(cmd(["git", "status", "--porcelain", "--untracked-files=no"])),
        "quick": quick,
        "params": P,
        "python": platform.python_version(),
        "go": cmd(["go", "version"]),
        "redis": cmd(["redis-server", "--version"]).split(" sha=")[0],
        "cpus": os.cpu_count(),
    }


def markdown(doc: Json) -> str:
    m = doc["meta"]
    lines = [
        "# gowork-compat chaos suite",
        "",
        f"{m['date']} · commit `{m['commit']}`{' (with uncommitted changes)' if m['dirty'] else ''} · "
        f"{'quick' if m['quick'] else 'full'} run, {m.get('duration_s', '?')} s · Python {m['python']} · "
        f"{m['go']} · {m['redis']} · {m['cpus']} CPUs",
        "",
        "Reproduce: `python benchmarks/chaos.py` (full, about 4-6 min) or `python benchmarks/chaos.py --quick` "
        "(under 2 min; run in CI by tests/test_chaos_quick.py). Every job carries a unique id; handlers print "
        "each execution; at the end every job is placed (done, dead, waiting, in-progress) and **lost** means "
        "it never ran to success and is in no list or set. See the docstring of benchmarks/chaos.py.",
        "",
        "| experiment | enqueued | run | executions | done | dead (expected / unexpected) | waiting | lost "
        "| run twice (not allowed) | left in in-progress | lock residue | live pools reaped | crashes | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    legend = [
        "",
        "*run*: jobs whose handler was called at least once; *executions*: handler calls; *done*: ran to success "
        "and in no list or set; *waiting*: still in a queue, retry or scheduled set; *run twice*: jobs run more "
        "than once other than retries after a handled failure (in brackets: those with no at-least-once reason; "
        "the reasons below count extra executions); *left in in-progress*: records in any in-progress list once "
        "every pool has stopped; *lock residue*: sum of |lock| and |lock_info| values left; *crashes*: pool "
        "processes that died on their own, dead loops or threads in their logs, 5xx answers of the web UI.",
        "",
    ]
    for name, r in doc["experiments"].items():
        if "error" in r:
            lines.append(f"| {name} | | | | | | | | | | | | | ERROR: {r['error'][:100]} |")
            continue
        lines.append(
            f"| {name} | {r['jobs_enqueued']} | {r['jobs_run']} | {r['executions']} | {r['done']} | "
            f"{r['dead_expected']} / {r['dead_unexpected']} | {r['waiting']} | **{r['lost']}** | "
            f"{r['run_twice']} ({r['run_twice_not_allowed']}) | {r['in_progress_left']} | "
            f"{r['lock_residue_total']} | {r['live_pools_reaped']} | {r['crashes']} | {r['verdict']} |")
    lines.append("")
    lines += legend
    for name, r in doc["experiments"].items():
        lines.append(f"## {name}")
        lines.append("")
        lines.append(f"{r.get('description', '')}. {r.get('duration_s', '?')} s.")
        if "error" in r:
            lines += ["", f"Error: `{r['error'][:500]}`", ""]
            continue
        lines.append("")
        extra = [f"pools started: {r['pools_started']}",
                 f"kills: {r['kills']}" + (f" {r['kills_by_kind']}" if r.get("kills_by_kind") else ""),
                 f"Redis restarts: {r['redis_restarts']}"]
        if "outage_s" in r:
            extra.append(f"outage: {r['outage_s']} s")
        lines.append("- " + ", ".join(extra))
        if r.get("enqueue_errors"):
            lines.append(f"- Enqueuer.enqueue raised {r['enqueue_errors']} times after a restart "
                         f"({r['enqueue_error_examples']}); each retried once on a new Enqueuer")
        if r["run_twice_reasons"]:
            lines.append("- duplicate executions, by reason: " +
                         "; ".join(f"{n} × {why}" for why, n in sorted(r["run_twice_reasons"].items())))
        if r["dead_reasons"]:
            lines.append("- dead, by reason: " + "; ".join(f"{n} × `{why}`" for why, n in r["dead_reasons"].items()))
        if r.get("in_progress_by_pool"):
            lines.append(f"- left in in-progress lists, by pool: {r['in_progress_by_pool']}")
        if r["lock_residue"]:
            lines.append(f"- lock residue: `{json.dumps(r['lock_residue'])}`")
        if r["live_pools_reaped_detail"]:
            lines.append("- live pools reaped: " + ", ".join(
                f"{x['kind']} {x['pool_id']} at {x['at_s']} s" for x in r["live_pools_reaped_detail"]))
        for c in r["crash_detail"][:5]:
            lines.append(f"- crash ({c['pool']}): {c['what']}" + (f": `{c['then'][:300]}`" if c.get("then") else ""))
        for x in r["lost_examples"][:3]:
            lines.append(f"- lost example: `{json.dumps(x)[:300]}`")
        if r.get("waiting"):
            lines.append(f"- {r['waiting']} jobs still waiting (queue, retry or scheduled) at the end")
        for n in r["notes"]:
            lines.append(f"- note: {n}")
        mal = r.get("malformed")
        if mal:
            lines.append(f"- lost: {r['lost_valid_jobs']} valid jobs + {r['lost_malformed_payloads']} malformed "
                         "payloads (the other columns count the valid jobs only)")
            lines.append(f"- malformed payloads placed: {mal['placed']} ({mal['placed_by_slot']}); where they ended: "
                         f"{mal['fate']}")
            if mal["lost_by_kind"]:
                lines.append(f"- malformed payloads LOST, by kind (placed in): {mal['lost_by_kind']}")
            if mal["stranded_by_kind"]:
                lines.append(f"- malformed payloads stranded in in-progress: {mal['stranded_by_kind']}")
            lines.append(f"- Client.retry_all_dead_jobs(): {mal['retry_all_dead']}")
        h = r.get("http")
        if h:
            lines.append(f"- HTTP: {h['requests']} requests and {h.get('cli_runs', 0)} `gowork inspect` runs, "
                         f"{h['ok']} as expected, {h['status_5xx']} answered 5xx, "
                         f"{h['data_changing']} changed data; server alive after: {h['server_alive_after']}")
            counts = Counter(str(v) for v in h.get("statuses", {}).values())
            lines.append("  - answers (HTTP status or CLI exit; 0 = connection closed): "
                         + ", ".join(f"{k} × {n}" for k, n in sorted(counts.items())))
            for x in h["failed"]:
                pt = f" (issue 8 point {x['point']})" if x["point"] else ""
                ch = f", changed {x['data_changed']}" if x["data_changed"] else ""
                lk = f", body leaks {x['leaks']}" if x["leaks"] else ""
                what = f"{x['method']} {x['path'][:50]}" if x["method"] != "CLI" else "exit status"
                lines.append(f"  - FAILED{pt}: {x['what']}: {what} → {x['status']} (expected {x['expect']}){ch}{lk}"
                             + (f": `{x['body'][:120]}`" if x["method"] == "CLI" and x["body"] else ""))
        lines.append("")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="the bounded CI version (under 2 minutes)")
    ap.add_argument("--only", default=",".join(EXPERIMENTS), help="comma-separated experiments")
    ap.add_argument("--out", type=Path, default=None, help="output directory (default: benchmarks/chaos)")
    a = ap.parse_args(argv)
    only = [x for x in a.only.split(",") if x]
    unknown = set(only) - set(RUNNERS)
    if unknown:
        ap.error(f"unknown experiments: {sorted(unknown)}")
    out = a.out or BENCH / "chaos"
    doc = run(a.quick, only, out)
    print((out / "results.md").read_text())
    bad = [n for n, r in doc["experiments"].items() if r["verdict"] != "ok"]
    log(f"done in {doc['meta']['duration_s']} s; not ok: {bad or 'none'}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
