"""The enqueuer of docker-compose.yml: every second, jobs for the Go worker and for the
Python worker (and a few both run), through one Redis namespace.

    python compose_app/enqueue_loop.py

Settings from the environment: ``REDIS_URL``, ``GOWORK_NAMESPACE`` (default ``demo-app``),
``ENQUEUE_INTERVAL`` (seconds between rounds, default 1) and ``ENQUEUE_COUNT`` (rounds,
default 0: until SIGTERM/SIGINT).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from types import FrameType

import redis

from gowork_compat import Enqueuer

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
NAMESPACE = os.environ.get("GOWORK_NAMESPACE") or "demo-app"

#: run by the compose file's go-worker: send_email checks in and sleeps, charge_card fails once then succeeds
GO_JOBS = ("send_email", "charge_card")
#: run by the Python worker (compose_app/worker_app.py): flaky_report fails half the time, dead after 2 tries
PY_JOBS = ("resize_image", "flaky_report")
#: run by whichever pool fetches first
SHARED_JOBS = ("shared",)

__all__ = ["GO_JOBS", "PY_JOBS", "SHARED_JOBS", "enqueue_round", "main"]


def enqueue_round(enq: Enqueuer, n: int) -> list[str]:
    """One round of jobs; returns the names enqueued."""
    names = ["send_email", "resize_image", "shared", "shared"]
    enq.enqueue("send_email", {"to": f"user{n}@example.com", "subject": "Hello <from Python> & welcome"})
    enq.enqueue("resize_image", {"w": 320 + n % 5 * 160, "h": 240 + n % 5 * 120})
    enq.enqueue_many([("shared", {"i": 2 * n}), ("shared", {"i": 2 * n + 1})])
    if n % 5 == 0:
        enq.enqueue("charge_card", {"amount": 1999, "currency": "EUR"})
        names.append("charge_card")
    if n % 3 == 0:
        job = enq.enqueue_unique("flaky_report", {"report": "daily"})
        if job is not None:
            names.append("flaky_report")
    return names


def wait_for_redis(url: str, stop: threading.Event, timeout: float = 60.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2.0)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                if time.monotonic() > deadline or stop.is_set():
                    raise SystemExit(f"enqueue_loop: Redis at {url} unreachable: {exc}") from exc
                stop.wait(0.5)
    finally:
        client.close()


def main() -> int:
    interval = float(os.environ.get("ENQUEUE_INTERVAL") or "1")
    count = int(os.environ.get("ENQUEUE_COUNT") or "0")
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    wait_for_redis(REDIS_URL, stop)
    enq = Enqueuer(REDIS_URL, NAMESPACE)
    print(f"enqueue_loop: namespace {NAMESPACE!r}; Go runs {', '.join(GO_JOBS)}; "
          f"Python runs {', '.join(PY_JOBS)}; both run {', '.join(SHARED_JOBS)}", flush=True)
    n = 0
    try:
        while not stop.is_set() and (count == 0 or n < count):
            n += 1
            try:
                names = enqueue_round(enq, n)
                print(f"enqueue_loop: round {n}: {' '.join(names)}", flush=True)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                print(f"enqueue_loop: round {n}: Redis unreachable ({exc}); retrying", flush=True)
            if count == 0 or n < count:
                stop.wait(interval)
    finally:
        enq.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
