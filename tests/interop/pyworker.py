"""A Python WorkerPool driven like the Go harness's ``worker`` subcommand: same JSON
config, same JSON-lines events on stdout, same stdin commands. Lets the interop tests
treat a Python pool in its own process (so it can be SIGKILLed) exactly like a Go one.

    python -m tests.interop.pyworker -redis HOST:PORT -ns NS -config JSON
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
from typing import Any

from gowork_compat.harness import peak_rss_kb
from gowork_compat.job import Job
from gowork_compat.pool import WorkerPool

_out_lock = threading.Lock()


def emit(obj: dict[str, Any]) -> None:
    line = json.dumps(obj, separators=(",", ":"))
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def make_handler(name: str, behavior: dict[str, Any], quiet: bool, counter: dict[str, Any],
                 use_async: bool) -> Any:
    kind = behavior.get("kind", "succeed")
    sleep_s = behavior.get("sleep_ms", 0) / 1000.0
    checkin = behavior.get("checkin", "")
    message = behavior.get("error", "harness failure")
    n = behavior.get("n", 0)

    def start(job: Job) -> None:
        if not quiet:
            emit({"event": "job_start", "name": job.name, "id": job.id, "t": job.enqueued_at, "args": job.args,
                  "fails": job.fails, "err": job.last_err, "failed_at": job.failed_at, "unique": job.unique,
                  "ts_ns": time.time_ns(), "pid": os.getpid()})
        if counter["first"] == 0:
            counter["first"] = time.time_ns()

    def finish(job: Job, result: str) -> None:
        if not quiet:
            emit({"event": "job_end", "name": job.name, "id": job.id, "result": result, "ts_ns": time.time_ns()})
        with _out_lock:
            counter["done"] += 1
            counter["last"] = time.time_ns()
            if counter["exit_after"] and counter["done"] == counter["exit_after"]:
                counter["event"].set()

    def outcome(job: Job) -> str:
        if kind == "fail" or (kind == "fail_n" and job.fails < n):
            return "error"
        if kind == "panic":
            return "panic"
        return "ok"

    if use_async:
        async def ahandler(job: Job) -> None:
            start(job)
            if checkin:
                job.checkin(checkin)
            if sleep_s:
                await asyncio.sleep(sleep_s)
            res = outcome(job)
            finish(job, res)
            if res == "error":
                raise RuntimeError(message)
            if res == "panic":
                raise ZeroDivisionError("harness panic")
        return ahandler

    def handler(job: Job) -> None:
        start(job)
        if checkin:
            job.checkin(checkin)
        if sleep_s:
            time.sleep(sleep_s)
        res = outcome(job)
        finish(job, res)
        if res == "error":
            raise RuntimeError(message)
        if res == "panic":
            raise ZeroDivisionError("harness panic")
    return handler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-redis", required=True)
    ap.add_argument("-ns", required=True)
    ap.add_argument("-config", required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cfg_text = a.config
    if cfg_text.startswith("@"):
        with open(cfg_text[1:]) as fh:
            cfg_text = fh.read()
    cfg = json.loads(cfg_text)
    quiet = bool(cfg.get("quiet"))
    counter: dict[str, Any] = {"done": 0, "first": 0, "last": 0, "exit_after": cfg.get("exit_after", 0),
                               "event": threading.Event()}
    pool = WorkerPool(
        a.redis if "://" in a.redis else f"redis://{a.redis}/0", a.ns, cfg.get("concurrency", 10),
        sleep_backoffs=cfg.get("sleep_backoffs"),
        fetch_batch=cfg.get("fetch_batch", 32),
        grace_period=cfg.get("grace_period", 30.0),
        reap_period=cfg.get("reap_period", 600.0),
        first_reap=cfg.get("first_reap", 10.0),
    )
    use_async = cfg.get("mode", "sync") == "async"
    for name, jc in cfg.get("jobs", {}).items():
        backoff = jc.get("backoff_seconds")
        pool.job(name, make_handler(name, jc.get("behavior", {}), quiet, counter, use_async),
                 priority=jc.get("priority", 1), max_fails=jc.get("max_fails", 4),
                 skip_dead=jc.get("skip_dead", False), max_concurrency=jc.get("max_concurrency", 0),
                 backoff=(lambda _job, _s=backoff: _s) if backoff is not None else None)
    if cfg.get("middleware"):
        def mw(job: Job, nxt: Any) -> Any:
            emit({"event": "middleware", "name": job.name, "id": job.id})
            return nxt()
        pool.middleware(mw)
    for p in cfg.get("periodic", []):
        pool.periodically_enqueue(p["spec"], p["name"])

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    pool.start()
    emit({"event": "started", "pool_id": pool.pool_id, "pid": os.getpid()})

    def read_stdin() -> None:
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "drain":
                pool.drain()
                emit({"event": "drained"})
            elif cmd == "stop":
                stop.set()
                return

    threading.Thread(target=read_stdin, daemon=True).start()
    while not stop.is_set():
        if counter["exit_after"] and counter["event"].is_set():
            done = {"event": "done", "count": counter["done"], "first_start_ns": counter["first"],
                    "last_end_ns": counter["last"]}
            rss = peak_rss_kb()
            if rss is not None:
                done["peak_rss_kb"] = rss
            emit(done)
            break
        stop.wait(0.05)
    pool.stop()
    emit({"event": "stopped"})


if __name__ == "__main__":
    main()
