"""Every Redis key of a gocraft/work namespace, built in one place.

Pure functions, no I/O. The layout is described in ``spec/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Keys", "namespace_prefix"]


def namespace_prefix(namespace: str) -> str:
    """The prefix every key of ``namespace`` starts with.

    As in Go, a colon is appended only when the namespace is non-empty and does not
    already end in one; the empty namespace has the empty prefix.
    """
    if namespace and not namespace.endswith(":"):
        return namespace + ":"
    return namespace


class Keys:
    """Key builder bound to one namespace."""

    __slots__ = ("jobs_prefix", "namespace", "prefix")

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.prefix = namespace_prefix(namespace)
        self.jobs_prefix = self.prefix + "jobs:"

    # -- namespace-wide keys -------------------------------------------------
    @property
    def known_jobs(self) -> str:
        return self.prefix + "known_jobs"

    @property
    def retry(self) -> str:
        return self.prefix + "retry"

    @property
    def dead(self) -> str:
        return self.prefix + "dead"

    @property
    def scheduled(self) -> str:
        return self.prefix + "scheduled"

    @property
    def worker_pools(self) -> str:
        return self.prefix + "worker_pools"

    @property
    def last_periodic_enqueue(self) -> str:
        return self.prefix + "last_periodic_enqueue"

    # -- beyond Go (keys Go never reads) -------------------------------------
    @property
    def stats_prefix(self) -> str:
        """``<ns>:gowork:stats:``; ``stats_prefix + str(minute)`` is a minute's counters."""
        return self.prefix + "gowork:stats:"

    def stats(self, minute: int) -> str:
        """Our pools' finished / failed jobs per job name in the minute starting at
        ``minute`` (epoch seconds, a multiple of 60): a hash, kept for a day."""
        return self.stats_prefix + str(minute)

    # -- per pool / per worker -----------------------------------------------
    def heartbeat(self, pool_id: str) -> str:
        return self.prefix + "worker_pools:" + pool_id

    def worker_observation(self, worker_id: str) -> str:
        return self.prefix + "worker:" + worker_id

    # -- per job name ----------------------------------------------------------
    def jobs(self, job_name: str) -> str:
        return self.jobs_prefix + job_name

    def in_progress(self, pool_id: str, job_name: str) -> str:
        return self.jobs_prefix + job_name + ":" + pool_id + ":inprogress"

    def paused(self, job_name: str) -> str:
        return self.jobs_prefix + job_name + ":paused"

    def lock(self, job_name: str) -> str:
        return self.jobs_prefix + job_name + ":lock"

    def lock_info(self, job_name: str) -> str:
        return self.jobs_prefix + job_name + ":lock_info"

    def max_concurrency(self, job_name: str) -> str:
        return self.jobs_prefix + job_name + ":max_concurrency"

    def unique(self, job_name: str, key_args: Mapping[str, Any] | None) -> str:
        """The unique-job key: prefix, ``unique:``, name, ``:`` and Go's ``json.Encoder``
        output for the args (with its trailing newline); nothing after the colon for nil args.
        """
        from .unique import unique_key  # unique jobs live in gowork_compat.unique

        return unique_key(self.prefix, job_name, key_args)

    def job_name_from_queue(self, queue_key: str) -> str | None:
        """Inverse of :meth:`jobs` (``None`` when the key is not a job queue of this namespace)."""
        if queue_key.startswith(self.jobs_prefix):
            return queue_key[len(self.jobs_prefix):]
        return None
