"""The demo: Python and the real Go gocraft/work share jobs through a throwaway Redis.

    python -m gowork_compat.demo --harness go-harness/gowork-harness

Starts its own redis-server on a free loopback port, a Go worker pool (the harness built
from go-harness/, linked against the real gocraft/work) and a Python WorkerPool, then:
Python enqueues jobs of every kind for Go, Go enqueues jobs for Python, a job failing in
Go is retried and goes dead where the Python client sees it, and both pools drain a
shared queue. It prints what
each side received, then stops everything it started.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from .client import Client, DeadJob
from .enqueuer import Enqueuer
from .harness import Harness, WorkerProcess, free_port
from .job import Job
from .pool import WorkerPool

__all__ = ["main", "missing_requirements", "run_demo"]


def _started(job_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("event") == "job_start" and e.get("id") == job_id


def _say(who: str, text: str) -> None:
    print(f"  [{who:>6}] {text}", flush=True)


def missing_requirements(harness: str) -> list[str]:
    """What the demo needs and does not find, one sentence each (empty: all there)."""
    problems = []
    if shutil.which("redis-server") is None:
        problems.append("redis-server is not installed (Debian/Ubuntu: apt-get install -y redis-server); "
                        "the demo starts a throwaway one on a free loopback port")
    if not (os.path.isfile(harness) and os.access(harness, os.X_OK)):
        problems.append(
            f"no Go harness at {harness}: the demo runs the real Go gocraft/work through the harness "
            "program, whose Go source (go-harness/) is in the gowork-compat source repository, not in the "
            "pip package. In a clone of the repository run 'bash scripts/demo.sh' (it builds the harness), "
            "or build it with Go 1.22 or newer ('cd go-harness && go build -o gowork-harness .') and pass "
            "--harness PATH or set GOWORK_HARNESS")
    return problems


def run_demo(harness: str) -> int:
    problems = missing_requirements(harness)
    if problems:
        print("the demo cannot start:", file=sys.stderr)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        return 2
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="gowork-demo-"))
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    ns = "demo-app"
    go: WorkerProcess | None = None
    pool: WorkerPool | None = None
    try:
        r = redis.Redis(port=port)
        for _ in range(200):
            try:
                r.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.02)
        print(f"redis-server on 127.0.0.1:{port} (namespace {ns!r})")

        go_harness = Harness(harness, "127.0.0.1", port, ns)
        go = go_harness.start_worker({
            "concurrency": 4,
            "jobs": {
                "send_email": {"behavior": {"kind": "succeed"}},
                "charge_card": {"max_fails": 2, "backoff_seconds": 1,
                                "behavior": {"kind": "fail", "error": "card declined (from Go)"}},
                "shared": {"behavior": {"kind": "sleep", "sleep_ms": 5}},
            },
            "quiet": False,
        })
        print("Go pool started (real gocraft/work, via the harness)")

        done_py: list[Job] = []
        lock = threading.Lock()

        def py_handler(job: Job) -> None:
            with lock:
                done_py.append(job)
            if job.name != "shared":
                _say("python", f"ran {job.name} id={job.id} args={json.dumps(job.args)} fails={job.fails}"
                     + (f" last_err={job.last_err!r}" if job.last_err else ""))
            else:
                time.sleep(0.005)

        pool = WorkerPool(url, ns, concurrency=4)
        pool.job("resize_image", py_handler)
        pool.job("charge_card_py", py_handler)
        pool.job("shared", py_handler)
        pool.start()
        print(f"Python pool started (pool id {pool.pool_id})")

        print("\n1. Python enqueues, Go runs:")
        enq = Enqueuer(url, ns)
        jobs = [
            enq.enqueue("send_email", {"to": "ada@example.com", "subject": "<Welcome> & hello", "n": 1}),
            enq.enqueue_in("send_email", 1, {"to": "bob@example.com", "delay": 1.5}).job,
        ]
        uniq = enq.enqueue_unique("send_email", {"to": "carol@example.com"})
        assert uniq is not None
        jobs.append(uniq)
        dup = enq.enqueue_unique("send_email", {"to": "carol@example.com"})
        _say("python", f"duplicate unique job refused: {dup is None}")
        for j in jobs:
            ev = go.wait_for(_started(j.id), 20)
            _say("go", f"ran {ev['name']} id={ev['id']} args={json.dumps(ev['args'])} unique={ev.get('unique')}")

        print("\n2. Go enqueues, Python runs:")
        replies = go_harness.enqueue([
            {"method": "Enqueue", "name": "resize_image", "args": {"w": 640, "h": 480}},
            {"method": "EnqueueUnique", "name": "resize_image", "args": {"w": 1}},
        ])
        go_ids = [reply["job"]["id"] for reply in replies]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not set(go_ids) <= {j.id for j in done_py}:
            time.sleep(0.05)

        print("\n3. A job failing in Go is retried, then dead; the Python client reads Go's dead set:")
        failing = enq.enqueue("charge_card", {"amount": 1999})
        go.wait_for(lambda e: e.get("event") == "job_end" and e.get("id") == failing.id
                    and e.get("result") == "error", 20)
        _say("go", "charge_card failed once: retry in 1 s")
        client = Client(url, ns)
        deadline = time.monotonic() + 20
        dead: list[DeadJob] = []
        while time.monotonic() < deadline:
            dead = client.find_dead_jobs()
            if dead:
                break
            time.sleep(0.1)
        for d in dead:
            _say("client", f"dead: {d.job.name} id={d.job.id} fails={d.job.fails} err={d.job.last_err!r}")
        print("\n4. Go and Python pools drain one queue together:")
        before = len(done_py)
        shared = enq.enqueue_many(("shared", {"i": i}) for i in range(400))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            go_n = sum(1 for e in go.events("job_end") if e.get("name") == "shared")
            py_n = len(done_py) - before
            if go_n + py_n >= len(shared):
                break
            time.sleep(0.05)
        _say("both", f"400 shared jobs: Go ran {go_n}, Python ran {py_n}")
        print("\nDone: both sides ran each other's jobs through one Redis namespace.")
        return 0
    finally:
        if pool is not None:
            pool.stop(grace_period=5)
        if go is not None:
            go.stop()
            go.close()
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gowork_compat.demo", description=__doc__.split("\n\n")[0])
    ap.add_argument("--harness", default=os.environ.get("GOWORK_HARNESS", "go-harness/gowork-harness"),
                    help="path of the built Go harness (default: go-harness/gowork-harness)")
    a = ap.parse_args(argv)
    return run_demo(a.harness)


if __name__ == "__main__":
    sys.exit(main())
