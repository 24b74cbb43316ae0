"""A Python WorkerPool for benchmarks/chaos.py, in its own process (so it can be SIGKILLed).

Speaks the Go harness ``worker`` protocol (JSON lines on stdout: ``started``, ``job_start``,
``job_end``, ``stopped``; ``stop`` on stdin), with handlers whose behaviour each job's args
choose, so one pool can run ordinary jobs and faulty ones side by side:

    {"uid": str, "fault": "raise" | "raise_always" | "exit" | "block" | "hog", "sleep_ms": int}

* raise: raises on the first attempt (job.fails == 0), then succeeds.
* raise_always: raises on every attempt (the job ends dead after max_fails).
* exit: ``os._exit(17)`` mid-job on the first attempt (a marker file per uid says "done once").
* block: a sync handler sleeping ``block_s`` seconds on the first attempt (a stuck thread).
* hog: an async handler calling ``time.sleep(hog_s)`` on the first attempt, blocking the
  event loop (the pool's own loops included).

Every handler call prints ``job_start`` before anything else and ``job_end`` after, with the
job's id and uid, so the orchestrator accounts executions from stdout (kept even for a killed
process: the lines are written and flushed before the handler goes on).

    python benchmarks/chaos_worker.py -redis HOST:PORT -ns NS -config JSON
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gowork_compat.job import Job  # noqa: E402
from gowork_compat.pool import WorkerPool  # noqa: E402

_out_lock = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, separators=(",", ":"), default=repr)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _first_time(marker_dir: str, uid: str, fault: str) -> bool:
    """True the first time (across processes) this uid's fault fires."""
    path = os.path.join(marker_dir, f"{fault}-{uid}".replace("/", "_"))
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-redis", required=True)
    ap.add_argument("-ns", required=True)
    ap.add_argument("-config", required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg: dict[str, Any] = json.loads(a.config)
    mode = cfg.get("mode", "sync")
    default_sleep = cfg.get("sleep_ms", 0) / 1000.0
    block_s = float(cfg.get("block_s", 3.0))
    hog_s = float(cfg.get("hog_s", 12.0))
    marker_dir = cfg.get("marker_dir") or "/tmp"
    pool = WorkerPool(
        f"redis://{a.redis}/0", a.ns, cfg.get("concurrency", 5),
        sleep_backoffs=cfg.get("sleep_backoffs"),
        grace_period=cfg.get("grace_period", 5.0),
        reap_period=cfg.get("reap_period", 600.0),
        first_reap=cfg.get("first_reap", 10.0),
    )

    def info(job: Job) -> tuple[str | None, str, float]:
        args = job.args if isinstance(job.args, dict) else {}
        uid = args.get("uid")
        fault = args.get("fault") or ""
        sleep_ms = args.get("sleep_ms")
        sleep_s = sleep_ms / 1000.0 if isinstance(sleep_ms, (int, float)) else default_sleep
        return (uid if isinstance(uid, str) else None), str(fault), sleep_s

    def start(job: Job, uid: str | None) -> None:
        emit({"event": "job_start", "name": job.name, "id": job.id, "uid": uid, "fails": job.fails,
              "ts_ns": time.time_ns(), "pid": os.getpid()})

    def end(job: Job, uid: str | None, result: str) -> None:
        emit({"event": "job_end", "name": job.name, "id": job.id, "uid": uid, "result": result,
              "ts_ns": time.time_ns()})

    def sync_handler(job: Job) -> None:
        uid, fault, sleep_s = info(job)
        start(job, uid)
        key = uid or job.id
        if fault == "exit" and _first_time(marker_dir, key, fault):
            os._exit(17)
        if fault == "block" and _first_time(marker_dir, key, fault):
            time.sleep(block_s)
        if sleep_s:
            time.sleep(sleep_s)
        if fault == "raise_always" or (fault == "raise" and job.fails == 0):
            end(job, uid, "error")
            raise RuntimeError(f"chaos fault {fault}")
        end(job, uid, "ok")

    async def async_handler(job: Job) -> None:
        uid, fault, sleep_s = info(job)
        start(job, uid)
        key = uid or job.id
        if fault == "exit" and _first_time(marker_dir, key, fault):
            os._exit(17)
        if fault == "hog" and _first_time(marker_dir, key, fault):
            time.sleep(hog_s)  # deliberately blocks the event loop
        if sleep_s:
            await asyncio.sleep(sleep_s)
        if fault == "raise_always" or (fault == "raise" and job.fails == 0):
            end(job, uid, "error")
            raise RuntimeError(f"chaos fault {fault}")
        end(job, uid, "ok")

    handler = async_handler if mode == "async" else sync_handler
    backoff = cfg.get("backoff_seconds", 1)
    for name in cfg.get("jobs", []):
        pool.job(name, handler, max_fails=cfg.get("max_fails", 3),
                 backoff=lambda _job, _s=backoff: _s)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    pool.start()
    emit({"event": "started", "pool_id": pool.pool_id, "pid": os.getpid()})

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip() == "stop":
                break
        stop.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    stop.wait()
    pool.stop()
    emit({"event": "stopped"})


if __name__ == "__main__":
    main()
