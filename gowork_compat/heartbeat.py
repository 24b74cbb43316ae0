"""The worker-pool heartbeat: ``<ns>:worker_pools`` membership and the
``<ns>:worker_pools:<pool_id>`` hash, rewritten every :data:`BEAT_PERIOD` seconds."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from ._redis import Call
from .keys import Keys

__all__ = ["BEAT_PERIOD", "DEAD_AFTER", "Heartbeat"]

#: seconds between two heartbeats
BEAT_PERIOD = 5.0
#: a pool whose heartbeat is this many seconds old is dead for the reapers
DEAD_AFTER = 10


class Heartbeat:
    def __init__(self, keys: Keys, pool_id: str, job_names: Iterable[str], concurrency: int,
                 worker_ids: Iterable[str], started_at: int) -> None:
        self.keys = keys
        self.pool_id = pool_id
        self.job_names = ",".join(sorted(job_names))
        self.worker_ids = ",".join(sorted(worker_ids))
        self.concurrency = concurrency
        self.started_at = started_at
        try:
            self.host = socket.gethostname()
        except OSError:
            self.host = "hostname_errored"
        self.pid = os.getpid()

    def beat_calls(self, now: int) -> list[Call]:
        return [
            Call("SADD", self.keys.worker_pools, self.pool_id),
            Call("HSET", self.keys.heartbeat(self.pool_id),
                 "heartbeat_at", now, "started_at", self.started_at, "job_names", self.job_names,
                 "concurrency", self.concurrency, "worker_ids", self.worker_ids,
                 "host", self.host, "pid", self.pid),
        ]

    def remove_calls(self) -> list[Call]:
        return [Call("SREM", self.keys.worker_pools, self.pool_id),
                Call("DEL", self.keys.heartbeat(self.pool_id))]
