"""Where the time of the processing case goes: runs one worker (Python pool via
tests/interop/pyworker.py, or the Go harness) over N pre-filled no-op jobs, under py-spy
(Python) or strace -c (either: syscalls, i.e. socket reads/writes per job), and prints a
summary plus the Redis commands per job (INFO commandstats).

    python benchmarks/profile_pool.py [--impl python|python_async|go] [--jobs N] [--tool py-spy|strace|none]
                                      [--rate 250] [--out DIR]

py-spy: writes DIR/<impl>.collapsed (flamegraph-ready) and prints the top functions by
own samples and by inclusive samples. strace: prints syscall counts per job (strace slows
the worker a lot; only the counts mean something).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PYROOT, ROOT, Bench, WorkerProc, find_harness, kill_children, redis_server


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(utime, stime) of a process (all its threads), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan"), float("nan")
    tck = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tck, int(fields[12]) / tck


def ctx_switches(pid: int) -> int:
    """Voluntary + involuntary context switches of all threads of a process."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") or "ctxt_switches:" in line:
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def summarize_collapsed(path: Path, top: int) -> None:
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  if " (" in f else f for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    print(f"\n{total} samples")
    print(f"\ntop {top} by own samples:")
    for f, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {f}")
    print(f"\ntop {top} by inclusive samples (gowork_compat, asyncio, redis, threading, queue, json):")
    shown = 0
    for f, n in incl.most_common():
        if any(k in f for k in ("/pool/", "pool.py", "worker.py", "job.py", "gojson.py", "_redis.py", "observer.py",
                                "base_events.py", "events.py", "connection.py", "threading.py", "queue.py",
                                "pyworker.py", "selector_events.py", "streams.py", "locks.py", "tasks.py")):
            print(f"  {100 * n / total:5.1f}%  {f}")
            shown += 1
            if shown >= top:
                break


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", default="python", choices=("python", "python_async", "go"))
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--tool", default="py-spy", choices=("py-spy", "strace", "none"))
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", default=tempfile.gettempdir())
    a = ap.parse_args()
    if a.impl == "go" and a.tool == "py-spy":
        ap.error("py-spy profiles Python only; use --tool strace for Go")
    tool = shutil.which(a.tool) if a.tool != "none" else None
    if a.tool != "none" and tool is None:
        ap.error(f"{a.tool} is not installed (pip install py-spy / apt-get install strace)")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    bench_args = argparse.Namespace(jobs=a.jobs)
    with tempfile.TemporaryDirectory(prefix="gowork-prof-") as tmp:
        harness = find_harness(Path(tmp))
        try:
            with redis_server(Path(tmp)) as (port, server):
                b = Bench(bench_args, port, harness)
                ns = b.fresh("prof")
                b.prefill(ns, a.jobs)
                b.r.config_resetstat()
                argv = b.worker_argv(a.impl, ns, b.worker_cfg(True, a.jobs))
                collapsed = out / f"{a.impl}.collapsed"
                strace_out = out / f"{a.impl}.strace"
                if a.tool == "py-spy":
                    argv = [str(tool), "record", "-r", str(a.rate), "-f", "raw", "--gil", "--nonblocking",
                            "-o", str(collapsed),
                            "--", *argv]
                elif a.tool == "strace":
                    argv = [str(tool), "-f", "-c", "-o", str(strace_out), *argv]
                w = WorkerProc(argv, cwd=ROOT if a.impl == "go" else PYROOT)
                started, _ = w.wait_for("started", 60)
                cpu0 = cpu_seconds(w.proc.pid), cpu_seconds(server.pid)
                cs0 = ctx_switches(w.proc.pid), ctx_switches(server.pid)
                _, done = w.wait_for("done", 600 + a.jobs / 50)
                cpu1 = cpu_seconds(w.proc.pid), cpu_seconds(server.pid)
                cs1 = ctx_switches(w.proc.pid), ctx_switches(server.pid)
                first, last = int(done["first_start_ns"]), int(done["last_end_ns"])
                w.stop(60)
                time.sleep(0.5)
                stats = b.commandstats()
        finally:
            kill_children()
    print(f"{a.impl}: {a.jobs:,} jobs in {(last - min(first, started)) / 1e9:.2f} s "
          f"({a.jobs / ((last - min(first, started)) / 1e9):,.0f} jobs/s{' under ' + a.tool if tool else ''})")
    wall = (last - min(first, started)) / 1e9
    if a.tool == "none":  # under a tool the worker is a grandchild and the tool's CPU is counted
        for who, i in (("worker", 0), ("redis-server", 1)):
            user, system = cpu1[i][0] - cpu0[i][0], cpu1[i][1] - cpu0[i][1]
            print(f"CPU of {who} from 'started' to 'done' (wall {wall:.2f} s): {user + system:.2f} s = "
                  f"{1e6 * (user + system) / a.jobs:.1f} µs/job (user {1e6 * user / a.jobs:.1f}, "
                  f"sys {1e6 * system / a.jobs:.1f}); context switches {(cs1[i] - cs0[i]) / a.jobs:.2f}/job")
    print("Redis commands per job: " + f"{sum(stats.values()) / a.jobs:.2f} = "
          + ", ".join(f"{k} {v / a.jobs:.3f}" for k, v in sorted(stats.items(), key=lambda x: -x[1])))
    if a.tool == "py-spy":
        summarize_collapsed(collapsed, a.top)
        print(f"\ncollapsed stacks: {collapsed}")
    elif a.tool == "strace":
        print(f"\nsyscalls per job ({strace_out}):")
        for line in strace_out.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[3].isdigit():
                print(f"  {parts[-1]:<16} {int(parts[3]) / a.jobs:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
