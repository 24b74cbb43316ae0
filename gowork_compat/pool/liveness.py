"""Liveness: the heartbeat beats from a thread of its own, on a sync connection of its
own, so that no handler can stop it (an async handler that blocks the event loop would
otherwise get its own live pool reaped by another pool: Go's or ours).

The same thread watches the event loop: when an async handler keeps it busy for longer
than ``block_warning`` seconds, it warns once per job name.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import redis

from .._redis import execute
from ..heartbeat import BEAT_PERIOD, Heartbeat
from .common import OUTAGE, Outage, log

__all__ = ["Liveness"]


class Liveness:
    def __init__(self, client: redis.Redis, heartbeat: Heartbeat, loop: asyncio.AbstractEventLoop, *,
                 period: float = BEAT_PERIOD, block_warning: float = 0.0,
                 job_of: Callable[[asyncio.Task[None]], str | None] = lambda _t: None,
                 on_outage: Callable[[], None] = lambda: None) -> None:
        self.client = client
        self.heartbeat = heartbeat
        self.loop = loop
        self.period = period
        self.block_warning = block_warning
        self.job_of = job_of
        self.on_outage = on_outage
        self.warned: set[str] = set()
        self.stopping = threading.Event()
        self.probe_sent: float | None = None
        self.thread: threading.Thread | None = None

    def run_once(self) -> None:
        """One beat: the pool's heartbeat hash and its membership in worker_pools."""
        execute(self.client, self.heartbeat.beat_calls(int(time.time())))

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name=f"gowork-heartbeat-{self.heartbeat.pool_id[:6]}",
                                       daemon=True)
        self.thread.start()

    def run(self) -> None:
        outage = Outage("heartbeat")
        step = min(0.25, self.block_warning / 2) if self.block_warning > 0 else self.period
        next_beat = time.monotonic() + self.period  # the first beat was part of the pool's start
        while not self.stopping.wait(max(0.0, min(step, next_beat - time.monotonic()))):
            now = time.monotonic()
            if self.block_warning > 0:
                self.probe(now)
            if now < next_beat:
                continue
            try:
                self.run_once()
                outage.ok()
                next_beat = now + self.period
            except OUTAGE as exc:
                self.on_outage()
                next_beat = now + min(outage.failed(exc), self.period)
            except Exception:
                log.exception("heartbeat failed")
                next_beat = now + self.period

    # -- the event loop watch ---------------------------------------------------------
    def probe(self, now: float) -> None:
        sent = self.probe_sent
        if sent is None:
            self.probe_sent = now
            try:
                self.loop.call_soon_threadsafe(self.answered)
            except RuntimeError:  # the loop is closed
                self.probe_sent = None
            return
        if now - sent < self.block_warning:
            return
        task = asyncio.current_task(self.loop)  # a dict lookup: safe from this thread
        name = self.job_of(task) if task is not None else None
        if name is not None and name not in self.warned:
            self.warned.add(name)
            log.warning("an async handler of job %r has blocked the pool's event loop for %.1f s: fetching, "
                        "acknowledging and every other async job wait meanwhile; make it await, or make it a "
                        "plain def handler (run in a worker thread). Warned once per job name.",
                        name, now - sent)

    def answered(self) -> None:
        self.probe_sent = None

    def stop(self, timeout: float) -> None:
        """End the thread (waiting up to ``timeout`` seconds) and close its connection."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)
            if self.thread.is_alive():
                log.warning("the heartbeat thread did not end within %g s", timeout)
        try:
            self.client.connection_pool.disconnect()
        except Exception:
            pass
