"""Benchmarks: gowork-compat (Python) against the real gocraft/work (Go) in one run.

    python benchmarks/run.py [--jobs N] [--runs R] [--only CASES] [--out DIR] [--smoke]
                             [--no-peers] [--peer-python PY] [--peer-jobs N]

One redis-server (save "", appendonly no) is started on a free loopback port; every case
runs in a fresh namespace, Go and Python alternating within each run. Cases (--only takes
a comma-separated subset of these keys):

  enqueue         N one-at-a-time enqueues over 10 job names: Go Enqueuer (harness bench
                  mode, 1 goroutine) vs Enqueuer (1 thread) vs AsyncEnqueuer (100 tasks)
  bulk            the same N with Enqueuer.enqueue_many (chunks of 10,000); ratio vs Go's enqueue
  process         N no-op jobs pre-filled over 10 queues, concurrency 20: Go pool (harness
                  worker) vs Python pool (tests/interop/pyworker.py, sync and async handlers)
  pickup_latency  an idle pool (>= 10 s), then jobs enqueued one at a time ~200 ms apart;
                  latency = handler start - time just before the enqueue call; p50 / p99
  idle_commands   Redis commands/s an idle pool sends (INFO commandstats over 10 idle s)
  peak_rss        VmHWM of the worker process at the end of the process case
  peers           Dramatiq, arq, RQ, saq in the enqueue and process shapes, where installed

Writes DIR/results.json and DIR/results.md and prints a table. Ratios are Python / Go
(jobs/s: higher is better for Python; ms, cmds/s, MB: lower is better for Python).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import redis

from gowork_compat.harness import (
    Command,
    Harness,
    HarnessError,
    LocalLauncher,
    WorkerProcess,
    build_harness,
    free_port,
    stop_process,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HARNESS_DIR = ROOT / "go-harness"

#: where `python -m tests.interop.pyworker` runs: another tree (with its own gowork_compat/
#: and tests/interop/pyworker.py) can be measured by pointing GOWORK_BENCH_PYROOT at it
PYROOT = Path(os.environ.get("GOWORK_BENCH_PYROOT") or ROOT)

CASES = ("enqueue", "bulk", "process", "pickup_latency", "idle_commands", "peak_rss", "peers")
PEERS = ("dramatiq", "arq", "rq", "saq")
#: peers are slow; they get at most this many jobs per run (--peer-jobs overrides)
PEER_JOBS = {"dramatiq": 20_000, "arq": 20_000, "saq": 20_000, "rq": 5_000}
#: commands of the runner itself, left out of command counts
OWN_COMMANDS = {"info", "config", "flushall", "ping", "hello", "client", "select"}

Json = dict[str, Any]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- statistics ------------------------------------------------------------------------
def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    if not s:
        return float("nan")
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def med(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def span(xs: list[float]) -> list[float]:
    return [min(xs), max(xs)] if xs else []


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# -- processes -------------------------------------------------------------------------
_children: list[subprocess.Popen[Any]] = []
_workers: list[WorkerProc] = []


def _spawn(argv: list[str], *, stdin: bool = False, stderr: IO[Any] | None = None,
           cpus: set[int] | None = None, cwd: Path = ROOT) -> subprocess.Popen[str]:
    def pin() -> None:  # in the child before exec: every thread it starts inherits the mask
        if cpus:
            os.sched_setaffinity(0, cpus)

    proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=stderr if stderr is not None else subprocess.DEVNULL,
                            text=True, bufsize=1, preexec_fn=pin if cpus else None)
    _children.append(proc)
    return proc


def _reap(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    stop_process(proc, timeout)
    if proc in _children:
        _children.remove(proc)


def kill_children() -> None:
    for w in list(_workers):
        w.stop(5.0)
    for p in list(_children):
        _reap(p, 5.0)


def run_json(argv: list[str], timeout: float, cpus: set[int] | None = None) -> Json:
    """Run a command to completion and parse its last stdout line as JSON."""
    with tempfile.TemporaryFile("w+") as err:
        proc = _spawn(argv, stderr=err, cpus=cpus)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _reap(proc)
            raise RuntimeError(f"{argv[:3]}: no exit within {timeout:.0f}s") from None
        _reap(proc)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{argv[:3]}: exit {proc.returncode}: {err.read()[-3000:]}")
    lines = [x for x in out.splitlines() if x.strip()]
    if not lines:
        raise RuntimeError(f"{argv[:3]}: printed nothing")
    res: Json = json.loads(lines[-1])
    if res.get("error"):
        raise RuntimeError(f"{argv[:3]}: {res['error']}")
    return res


class WorkerProc:
    """A worker process speaking the harness's JSON-lines protocol (driven by
    gowork_compat.harness.WorkerProcess); events come with the runner's clock
    (time.time_ns) at reading."""

    def __init__(self, argv: list[str], cwd: Path = ROOT) -> None:
        self.w = WorkerProcess(Command("exec", tuple(argv)), LocalLauncher(cwd=cwd), wait_started=False)
        self.spawn_ns = self.w.spawned_ns
        self.proc = self.w.proc
        _workers.append(self)

    def wait_for(self, kind: str, timeout: float) -> tuple[int, Json]:
        try:
            return self.w.wait_for_timed(lambda e: e.get("event") == kind, timeout)
        except AssertionError as e:
            raise RuntimeError(f"worker: {e}") from None

    def collect(self, kind: str, n: int, timeout: float) -> list[tuple[int, Json]]:
        try:
            self.w.wait_count(kind, n, timeout)
        except AssertionError:
            pass
        return self.w.timed_events(kind)[:n]

    def peak_rss_mb(self) -> float:
        return self.w.peak_rss_mb()

    def stop(self, timeout: float = 30.0) -> None:
        if self.w.stop(timeout) is None:
            log(f"worker {self.proc.pid} did not stop within {timeout:.0f}s")
        self.w.kill()
        self.w.close()
        if self in _workers:
            _workers.remove(self)


# -- redis-server ----------------------------------------------------------------------
@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir), "--protected-mode", "no", "--loglevel", "warning"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=port, socket_timeout=0.5).ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        yield port, proc
    finally:
        stop_process(proc, 10)


def find_harness(workdir: Path) -> Path:
    env = os.environ.get("GOWORK_HARNESS")
    if env and os.access(env, os.X_OK):
        return Path(env)
    log("building the Go harness (go build)")
    try:
        return build_harness(HARNESS_DIR, workdir / "gowork-harness")
    except HarnessError as e:
        raise SystemExit(f"the Go harness needs Go (or GOWORK_HARNESS naming a built gowork-harness): {e}") from None


# -- the benchmark ---------------------------------------------------------------------
class Bench:
    def __init__(self, args: argparse.Namespace, port: int, harness: Path, server_pid: int = 0) -> None:
        self.a = args
        self.server_pid = server_pid
        self.port = port
        self.addr = f"127.0.0.1:{port}"
        self.url = f"redis://{self.addr}/0"
        self.harness = harness
        self.r = redis.Redis(port=port, decode_responses=True)
        self.names = [f"bench{i}" for i in range(10)]
        self.n: int = args.jobs
        self.py = sys.executable

    # helpers
    def fresh(self, tag: str) -> str:
        self.r.flushall()
        return f"bench-{tag}-{uuid.uuid4().hex[:8]}"

    def queued(self, ns: str) -> int:
        return int(sum(self.r.llen(f"{ns}:jobs:{n}") for n in self.names))

    def commandstats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, val in self.r.info("commandstats").items():
            cmd = key.removeprefix("cmdstat_")
            if cmd.split("|")[0] in OWN_COMMANDS:
                continue
            out[cmd] = int(val["calls"])
        return out

    def go(self, ns: str, cpus: set[int] | None = None) -> Harness:
        """The Go harness on this Redis and namespace, as local processes (pinned to ``cpus``)."""
        return Harness(self.harness, "127.0.0.1", self.port, ns,
                       LocalLauncher(binary=self.harness, python=self.py, cpus=cpus))

    def worker_argv(self, impl: str, ns: str, cfg: Json) -> list[str]:
        h = self.go(ns)
        if impl == "go":
            cmd = h.command("worker", "-config", json.dumps(cfg))
        else:
            cmd = h.python_worker_command({**cfg, "mode": "async" if impl == "python_async" else "sync"})
        assert isinstance(h.launcher, LocalLauncher)
        return h.launcher.argv(cmd)

    def pyroot(self, impl: str) -> Path:
        return ROOT if impl == "go" else PYROOT

    def worker_cfg(self, quiet: bool, exit_after: int) -> Json:
        return {"concurrency": 20, "quiet": quiet, "exit_after": exit_after,
                "jobs": {n: {"behavior": {"kind": "succeed"}} for n in self.names}}

    def prefill(self, ns: str, n: int) -> None:
        from gowork_compat.enqueuer import Enqueuer

        enq = Enqueuer(self.url, ns)
        k = len(self.names)
        for start in range(0, n, 10_000):
            enq.enqueue_many((self.names[i % k], None) for i in range(start, min(n, start + 10_000)))
        enq.close()
        if self.queued(ns) != n:
            raise RuntimeError(f"prefill: {self.queued(ns)} jobs queued, expected {n}")

    @contextlib.contextmanager
    def pinned(self) -> Iterator[set[int] | None]:
        """--pin same: redis-server and the enqueuing client on one CPU; cross: on two
        different CPUs; none: as the scheduler likes. Yields the client's CPU set."""
        allowed = sorted(os.sched_getaffinity(0))
        mode = self.a.pin if len(allowed) >= 2 and self.server_pid else "none"
        if mode == "none":
            yield None
            return
        server, client = {allowed[0]}, {allowed[0] if mode == "same" else allowed[1]}
        os.sched_setaffinity(self.server_pid, server)
        try:
            yield client
        finally:
            os.sched_setaffinity(self.server_pid, set(allowed))

    # 1 + 2: enqueue
    def enqueue_once(self, impl: str) -> float:
        ns = self.fresh(impl)
        names = ",".join(self.names)
        timeout = 60 + self.n / 500
        with self.pinned() as cpus:
            if impl == "go":
                res = self.go(ns, cpus).bench_enqueue(self.n, self.names, 1, timeout=timeout)
            else:
                mode = {"python": "sync", "python_async": "async", "python_bulk": "bulk"}[impl]
                res = run_json([self.py, str(BENCH / "pyenqueue.py"), mode, "-redis", self.addr, "-ns", ns,
                                "-n", str(self.n), "-names", names, "-tasks", "100", "-chunk", "10000"], timeout, cpus)
        got = self.queued(ns)
        if got != self.n:
            raise RuntimeError(f"enqueue {impl}: {got} jobs queued, expected {self.n}")
        return self.n / float(res["seconds"])

    # 3 + 5: process
    def process_once(self, impl: str) -> Json:
        ns = self.fresh(impl)
        self.prefill(ns, self.n)
        self.r.config_resetstat()
        w = WorkerProc(self.worker_argv(impl, ns, self.worker_cfg(True, self.n)), cwd=self.pyroot(impl))
        try:
            started_ns, _ = w.wait_for("started", 60)
            done_ns, done = w.wait_for("done", 120 + self.n / 200)
            # the worker's own VmHWM in its done event (a process that exits right after it has
            # no /proc status left to read); the reading from outside where a worker has none
            rss = done["peak_rss_kb"] / 1024.0 if "peak_rss_kb" in done else w.peak_rss_mb()
        finally:
            w.stop()
        stats = self.commandstats()
        left = self.queued(ns)
        if done["count"] != self.n or left:
            raise RuntimeError(f"process {impl}: {done['count']} jobs run, {left} left, expected {self.n}")
        first, last = int(done["first_start_ns"]), int(done["last_end_ns"])
        start = min(started_ns, first)
        return {
            "jobs_per_s": self.n / ((last - start) / 1e9),
            "first_to_last_jobs_per_s": self.n / ((last - first) / 1e9),
            "spawn_to_done_s": (done_ns - w.spawn_ns) / 1e9,
            "started_after_first_job_ms": max(0.0, (started_ns - first) / 1e6),
            "peak_rss_mb": rss,
            "commands_per_job": sum(stats.values()) / self.n,
            "commandstats_per_job": {k: round(v / self.n, 3) for k, v in sorted(stats.items(), key=lambda x: -x[1])},
        }

    # 4: latency and idle commands
    def latency_once(self, impl: str) -> Json:
        ns = self.fresh(impl)
        w = WorkerProc(self.worker_argv(impl, ns, self.worker_cfg(False, 0)), cwd=self.pyroot(impl))
        try:
            w.wait_for("started", 60)
            time.sleep(self.a.settle)
            self.r.config_resetstat()
            t0 = time.monotonic()
            time.sleep(self.a.idle)
            stats = self.commandstats()
            idle_s = time.monotonic() - t0
            from gowork_compat.enqueuer import Enqueuer

            enq = Enqueuer(self.url, ns)
            enq.enqueue("warmup-not-handled")  # opens the enqueuer's connection; no pool listens to this name
            sent: dict[str, int] = {}
            for i in range(self.a.latency_jobs):
                name = self.names[i % len(self.names)]
                t = time.time_ns()
                job = enq.enqueue(name)
                sent[job.id] = t
                time.sleep(self.a.spacing)
            enq.close()
            starts = w.collect("job_start", len(sent), 30 + 6 * len(sent))
        finally:
            w.stop()
        lat = [(ev["ts_ns"] - sent[ev["id"]]) / 1e6 for _, ev in starts if ev.get("id") in sent]
        if len(lat) != len(sent):
            raise RuntimeError(f"latency {impl}: {len(lat)} of {len(sent)} jobs started")
        return {"p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99), "max_ms": max(lat),
                "idle_cmds_per_s": sum(stats.values()) / idle_s,
                "idle_commandstats": dict(sorted(stats.items(), key=lambda x: -x[1]))}

    # 6: peers
    def peer_versions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for lib in PEERS:
            try:
                res = run_json([self.a.peer_python, str(BENCH / "peers.py"), lib, "check"], 60)
                found[lib] = str(res["version"])
            except Exception:
                continue
        return found

    def peer_once(self, lib: str, n: int) -> Json:
        self.r.flushall()
        names = ",".join(self.names)
        base = [self.a.peer_python, str(BENCH / "peers.py"), lib]
        common = ["-redis", self.addr, "-n", str(n), "-names", names, "-concurrency", "20"]
        with self.pinned() as cpus:  # as the enqueue case
            enq = run_json([*base, "enqueue", *common], 120 + n / 50, cpus)
        work = run_json([*base, "work", *common], 120 + n / 20)
        if work["count"] < n:
            raise RuntimeError(f"peer {lib}: {work['count']} of {n} jobs run")
        # (saq may run a job twice: counted as one extra handler call)
        return {"enqueue": n / enq["seconds"], "process": n / work["seconds"], "peak_rss_mb": work["rss_kb"] / 1024,
                "extra_runs": work["count"] - n}


# -- orchestration ---------------------------------------------------------------------
def summarize(unit: str, runs: list[Json], keys: list[str], lower_is_better: bool) -> Json:
    out: Json = {"unit": unit, "better": "lower" if lower_is_better else "higher"}
    for k in keys:
        vals = [r[k] for r in runs if k in r]
        out[k] = med(vals)
        out.setdefault("range", {})[k] = span(vals)
    out["ratio"] = ratio(out.get("python", float("nan")), out.get("go", float("nan")))
    for k in keys:
        if k not in ("go", "python"):
            out[f"ratio_{k}"] = ratio(out[k], out.get("go", float("nan")))
    out["runs"] = runs
    return out


def run_all(b: Bench, want: set[str]) -> Json:
    a = b.a
    R = a.runs
    results: Json = {}
    impls = ["go", "python", "python_async"]

    if "enqueue" in want or "bulk" in want:
        runs: list[Json] = []
        bulk_runs: list[Json] = []
        for r in range(R):
            row: Json = {}
            for impl in impls if "enqueue" in want else ["go"]:
                row[impl] = b.enqueue_once(impl)
                log(f"enqueue run {r + 1}/{R} {impl}: {row[impl]:,.0f} jobs/s")
            if "enqueue" in want:
                runs.append(row)
            if "bulk" in want:
                py_bulk = b.enqueue_once("python_bulk")
                log(f"bulk run {r + 1}/{R}: {py_bulk:,.0f} jobs/s")
                bulk_runs.append({"go": row["go"], "python": py_bulk})
        if runs:
            results["enqueue"] = summarize("jobs/s", runs, impls, False)
            results["enqueue"]["note"] = ("one call at a time over 10 job names; go: harness bench, 1 goroutine; "
                                          "python: Enqueuer, 1 thread; python_async: AsyncEnqueuer, 100 tasks; "
                                          f"client and redis-server pinned: {a.pin}")
        if bulk_runs:
            results["bulk"] = summarize("jobs/s", bulk_runs, ["go", "python"], False)
            results["bulk"]["note"] = "python: Enqueuer.enqueue_many in chunks of 10,000; go: its single Enqueue"

    if "process" in want or "peak_rss" in want:
        runs = []
        for r in range(R):
            row = {}
            for impl in impls:
                row[impl] = b.process_once(impl)
                p = row[impl]
                log(f"process run {r + 1}/{R} {impl}: {p['jobs_per_s']:,.0f} jobs/s "
                    f"(first->last {p['first_to_last_jobs_per_s']:,.0f}), {p['commands_per_job']:.2f} cmds/job, "
                    f"peak RSS {p['peak_rss_mb']:.1f} MB")
            runs.append(row)
        flat = [{k: v["jobs_per_s"] for k, v in row.items()} for row in runs]
        proc = summarize("jobs/s", flat, impls, False)
        for extra in ("first_to_last_jobs_per_s", "spawn_to_done_s", "commands_per_job", "started_after_first_job_ms"):
            proc[extra] = {impl: med([row[impl][extra] for row in runs]) for impl in impls}
        proc["commandstats_per_job"] = {impl: runs[-1][impl]["commandstats_per_job"] for impl in impls}
        proc["runs"] = runs
        proc["note"] = ("N no-op jobs pre-filled over 10 queues, concurrency 20; jobs/s over the time from the pool's "
                        "start (its 'started' line, or its first job if earlier) to the end of its last job")
        if "process" in want:
            results["process"] = proc
        if "peak_rss" in want:
            rss = summarize("MB", [{k: v["peak_rss_mb"] for k, v in row.items()} for row in runs], impls, True)
            rss["note"] = "VmHWM of the worker process at the end of the process case"
            results["peak_rss"] = rss

    if "pickup_latency" in want or "idle_commands" in want:
        runs = []
        for r in range(R):
            row = {}
            for impl in impls:
                row[impl] = b.latency_once(impl)
                x = row[impl]
                log(f"latency run {r + 1}/{R} {impl}: p50 {x['p50_ms']:.2f} ms, p99 {x['p99_ms']:.2f} ms; "
                    f"idle {x['idle_cmds_per_s']:.1f} cmds/s")
            runs.append(row)
        if "pickup_latency" in want:
            lat = summarize("ms", [{k: v["p50_ms"] for k, v in row.items()} for row in runs], impls, True)
            lat["p99"] = {impl: med([row[impl]["p99_ms"] for row in runs]) for impl in impls}
            lat["p99_range"] = {impl: span([row[impl]["p99_ms"] for row in runs]) for impl in impls}
            lat["runs"] = [{k: {"p50_ms": v["p50_ms"], "p99_ms": v["p99_ms"], "max_ms": v["max_ms"]}
                            for k, v in row.items()} for row in runs]
            lat["note"] = (f"idle >= {a.settle + a.idle:.0f} s, then {a.latency_jobs} jobs {a.spacing * 1000:.0f} ms "
                           "apart; figures are p50 (p99 under 'p99'); ratio = python p50 / go p50")
            results["pickup_latency"] = lat
        if "idle_commands" in want:
            idle = summarize("cmds/s", [{k: v["idle_cmds_per_s"] for k, v in row.items()} for row in runs],
                             impls, True)
            idle["commandstats"] = {impl: runs[-1][impl]["idle_commandstats"] for impl in impls}
            idle["note"] = (f"INFO commandstats over {a.idle:.0f} idle s (CONFIG RESETSTAT first), "
                            "only the pool connected")
            results["idle_commands"] = idle

    if "peers" in want and not a.no_peers:
        versions = b.peer_versions()
        peers: Json = {"python": a.peer_python, "versions": versions}
        if not versions:
            log("no peer queue library importable with " + a.peer_python + ": peers skipped")
        go_enq = results.get("enqueue", {}).get("go")
        go_proc = results.get("process", {}).get("go")
        for lib, ver in versions.items():
            n = min(b.n, a.peer_jobs or PEER_JOBS[lib])
            pruns = []
            for r in range(R):
                try:
                    pruns.append(b.peer_once(lib, n))
                except Exception as exc:
                    log(f"peer {lib} failed: {exc}")
                    break
                log(f"peer {lib} run {r + 1}/{R} ({n:,} jobs): enqueue {pruns[-1]['enqueue']:,.0f} jobs/s, "
                    f"process {pruns[-1]['process']:,.0f} jobs/s")
            if not pruns:
                continue
            entry = summarize("jobs/s", pruns, ["enqueue", "process", "peak_rss_mb"], False)
            del entry["ratio"], entry["ratio_enqueue"], entry["ratio_process"], entry["ratio_peak_rss_mb"]
            entry.update(version=ver, jobs=n)
            if go_enq:
                entry["enqueue_ratio_vs_go"] = entry["enqueue"] / go_enq
            if go_proc:
                entry["process_ratio_vs_go"] = entry["process"] / go_proc
            peers[lib] = entry
        peers["note"] = ("peers, not gocraft/work: Dramatiq (Redis broker, 20 threads, 1 process), arq (max_jobs 20, "
                         "poll_delay 0), RQ (SimpleWorker, burst), saq (concurrency 20, one queue); one call at a "
                         "time to enqueue (pinned as the enqueue case); process = jobs/s from the worker's start "
                         "to its last job")
        results["peers"] = peers
    return results


def meta(b: Bench, harness: Path) -> Json:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    go_ver = ""
    with contextlib.suppress(Exception):
        go_ver = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
    upstream = ""
    with contextlib.suppress(OSError):
        upstream = next((ln.split()[1] for ln in (HARNESS_DIR / "go.mod").read_text().splitlines()
                         if "github.com/gocraft/work " in ln), "")
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "jobs": b.n, "runs": b.a.runs, "smoke": b.a.smoke, "pin_enqueue": b.a.pin, "job_names": len(b.names),
        "concurrency": 20,
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "go": go_ver,
        "gocraft_work": upstream, "redis": b.r.info("server")["redis_version"], "redis_py": redis.__version__,
        "harness": str(harness), "commit": _git_commit(),
    }


def _git_commit() -> str:
    """The commit the figures were measured at (with "+dirty" when the tree had changes)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def clean(x: Any) -> Any:
    """NaN (a figure that could not be had) as null, so that the file is strict JSON."""
    if isinstance(x, float) and x != x:
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def fmt(x: Any, unit: str) -> str:
    if not isinstance(x, (int, float)) or x != x:
        return "-"
    if unit == "jobs/s" or (unit == "cmds/s" and x >= 100):
        return f"{x:,.0f}"
    return f"{x:,.2f}" if x < 100 else f"{x:,.1f}"


def rng(case: Json, key: str) -> str:
    r = case.get("range", {}).get(key)
    if not r:
        return ""
    return f" ({fmt(r[0], case['unit'])}–{fmt(r[1], case['unit'])})" if len(case.get("runs", [])) > 1 else ""


TITLES = {
    "enqueue": "enqueue, one call at a time",
    "bulk": "bulk enqueue (enqueue_many) vs Go Enqueue",
    "process": "process no-op jobs, concurrency 20",
    "pickup_latency": "pickup latency of an idle pool, p50",
    "idle_commands": "idle pool: Redis commands/s",
    "peak_rss": "worker peak RSS",
}


def table_rows(results: Json) -> list[list[str]]:
    rows = [["case", "unit", "Go", "Python", "Python/Go", "Python async", "async/Go"]]
    for key, title in TITLES.items():
        c = results.get(key)
        if not c:
            continue
        u = c["unit"]
        better = "↑" if c["better"] == "higher" else "↓"
        rows.append([title, f"{u} {better}", fmt(c.get("go"), u) + rng(c, "go"),
                     fmt(c.get("python"), u) + rng(c, "python"), rfmt(c["ratio"]),
                     fmt(c.get("python_async"), u) + rng(c, "python_async") if "python_async" in c else "",
                     rfmt(c["ratio_python_async"]) if "ratio_python_async" in c else ""])
        if key == "pickup_latency":
            p99 = c["p99"]
            rows.append(["pickup latency of an idle pool, p99", f"{u} {better}", fmt(p99.get("go"), u),
                         fmt(p99.get("python"), u), rfmt(ratio(p99["python"], p99["go"])),
                         fmt(p99.get("python_async"), u), rfmt(ratio(p99["python_async"], p99["go"]))])
        if key == "process":
            cpj = c["commands_per_job"]
            rows.append(["  Redis commands per job (process)", "cmds", fmt(cpj["go"], ""), fmt(cpj["python"], ""),
                         rfmt(ratio(cpj["python"], cpj["go"])), fmt(cpj["python_async"], ""),
                         rfmt(ratio(cpj["python_async"], cpj["go"]))])
    return rows


def rfmt(x: float) -> str:
    return "-" if x != x else f"{x:.2f}" if x >= 0.1 else f"{x:.2g}"


def _r3(x: Any) -> str:
    return f"{x:.3f}" if isinstance(x, float) and x == x else "-"


def peer_rows(results: Json) -> list[list[str]]:
    peers = results.get("peers") or {}
    rows = [["peer (not gocraft/work)", "version", "jobs/run", "enqueue jobs/s", "vs Go", "process jobs/s", "vs Go",
             "peak RSS MB"]]
    for lib in PEERS:
        p = peers.get(lib)
        if not p:
            continue
        rows.append([lib, p["version"], f"{p['jobs']:,}", fmt(p["enqueue"], "jobs/s") + rng(p, "enqueue"),
                     _r3(p.get("enqueue_ratio_vs_go")),
                     fmt(p["process"], "jobs/s") + rng(p, "process"),
                     _r3(p.get("process_ratio_vs_go")), fmt(p["peak_rss_mb"], "MB")])
    return rows if len(rows) > 1 else []


def print_table(rows: list[list[str]]) -> None:
    if not rows:
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for j, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))


def markdown(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(out) + "\n"


def write_md(path: Path, doc: Json) -> None:
    m, res = doc["meta"], doc["results"]
    parts = [
        "# gowork-compat benchmarks: Python vs gocraft/work (Go)\n",
        f"{m['date']} · {m['jobs']:,} jobs × {m['runs']} run(s) · {m['cores']} cores ({m['cpu']}) · "
        f"Python {m['python']} · {m['go']} · gocraft/work {m['gocraft_work']} · Redis {m['redis']} (local, "
        "no persistence) · redis-py " + m["redis_py"] + "\n",
        "Figures are medians over the runs (min–max in brackets). Ratio = Python / Go; ↑ higher is better, "
        "↓ lower is better. Python = sync `def` handlers / `Enqueuer`; Python async = `async def` handlers / "
        "`AsyncEnqueuer` with 100 concurrent tasks.\n",
        markdown(table_rows(res)),
    ]
    for key in TITLES:
        if key in res and res[key].get("note"):
            parts.append(f"- **{key}**: {res[key]['note']}")
    if "process" in res:
        p = res["process"]
        parts.append("\nProcess case, other clocks (medians): first job start → last job end, jobs/s: "
                     + ", ".join(f"{k} {fmt(v, 'jobs/s')}" for k, v in p["first_to_last_jobs_per_s"].items())
                     + "; process spawn → done line, s: "
                     + ", ".join(f"{k} {v:.2f}" for k, v in p["spawn_to_done_s"].items()) + ".\n")
        parts.append("Redis commands per job in the process case (INFO commandstats; commands run inside Lua "
                     "scripts count too):\n")
        for impl, st in p["commandstats_per_job"].items():
            parts.append(f"- {impl}: " + ", ".join(f"{k} {v}" for k, v in list(st.items())[:12]))
    pr = peer_rows(res)
    if pr:
        parts += ["\n## Peers (other Python job queues, not gocraft/work-compatible)\n", markdown(pr),
                  res["peers"]["note"] + ".\n"]
    path.write_text("\n".join(parts) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated cases: " + ",".join(CASES))
    ap.add_argument("--out", default=str(BENCH))
    ap.add_argument("--smoke", action="store_true", help="1,000 jobs, 1 run, 2 s idle: for CI")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peer-python", default=os.environ.get("GOWORK_BENCH_PEER_PYTHON", sys.executable),
                    help="interpreter with dramatiq/arq/rq/saq installed (default: this one, or "
                         "$GOWORK_BENCH_PEER_PYTHON)")
    ap.add_argument("--peer-jobs", type=int, default=0, help="jobs per peer run (default: per-peer caps)")
    ap.add_argument("--idle", type=float, default=10.0, help="idle window for commands/s, seconds")
    ap.add_argument("--settle", type=float, default=1.0, help="idle time before the window, seconds")
    ap.add_argument("--latency-jobs", type=int, default=50)
    ap.add_argument("--spacing", type=float, default=0.2, help="seconds between latency jobs")
    ap.add_argument("--pin", default="same", choices=("same", "cross", "none"),
                    help="enqueue cases: redis-server and the client on the same CPU (default; a round trip "
                         "then costs no cross-CPU wake-up, which in a VM varies 3x run to run), on two CPUs, "
                         "or unpinned")
    a = ap.parse_args(argv)
    if a.smoke:
        a.jobs, a.runs, a.idle, a.settle, a.latency_jobs, a.spacing = 1000, 1, 2.0, 0.5, 10, 0.1
    want = set(a.only.split(",")) if a.only else set(CASES)
    unknown = want - set(CASES)
    if unknown:
        ap.error(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gowork-bench-") as tmp:
        workdir = Path(tmp)
        harness = find_harness(workdir)
        try:
            with redis_server(workdir) as (port, server):
                b = Bench(a, port, harness, server.pid)
                log(f"redis-server on port {port}; {a.jobs:,} jobs, {a.runs} run(s); cases: {','.join(sorted(want))}")
                results = run_all(b, want)
                doc = {"meta": {**meta(b, harness), "seconds": round(time.monotonic() - t0, 1)}, "results": results}
        finally:
            kill_children()
    (out / "results.json").write_text(json.dumps(clean(doc), indent=2) + "\n")
    write_md(out / "results.md", doc)
    print_table(table_rows(results))
    pr = peer_rows(results)
    if pr:
        print()
        print_table(pr)
    log(f"wrote {out / 'results.json'} and {out / 'results.md'} in {time.monotonic() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
