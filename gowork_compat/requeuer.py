"""Move due jobs from the retry and scheduled sets back onto their queues (every
:data:`REQUEUE_PERIOD` seconds, as Go's requeuers)."""

from __future__ import annotations

from collections.abc import Iterable

from ._redis import Call
from .keys import Keys
from .scripts import requeue_due_call

__all__ = ["REQUEUE_BATCH", "REQUEUE_PERIOD", "Requeuer"]

REQUEUE_PERIOD = 1.0
#: jobs moved per script call (Go moves one per call and loops)
REQUEUE_BATCH = 500


class Requeuer:
    """Builds the calls that requeue due jobs of ``zset_key``.

    Jobs whose name is neither one of ``job_names`` nor in known_jobs (when
    ``use_known_jobs``) go dead with Go's "unknown job when requeueing" error; Go's own
    requeuer only accepts the names of its pool.
    """

    def __init__(self, keys: Keys, zset_key: str, job_names: Iterable[str], *, use_known_jobs: bool = True) -> None:
        self.keys = keys
        self.zset_key = zset_key
        self.job_names = sorted(job_names)
        self._known = keys.known_jobs if use_known_jobs else ""

    def call(self, now: int, limit: int = REQUEUE_BATCH) -> Call:
        return requeue_due_call(self.keys, self.zset_key, self.job_names, now, limit, self._known)
