"""gowork-compat: speak gocraft/work's Redis protocol from Python.

Enqueue jobs that Go workers run, run jobs Go enqueued, and operate a shared namespace.

The names most programs need are here: the enqueuers, :class:`WorkerPool` and its
options, :class:`Client` / :class:`AsyncClient`, and every exception the library raises
on purpose.
"""

from .burial import UnretryableJob
from .client import AsyncClient, Client, JobNotFound, UnknownJobName
from .cron import CronSpecError
from .enqueuer import AsyncEnqueuer, Enqueuer, NotReplicatedError, ScheduledJob
from .gojson import GoJSONError, InvalidArgsError
from .job import Job, JobArgError, JobDecodeError
from .pool import WorkerPool
from .pool.runner import JobOutcome, JobTimeout
from .worker import JobOptions

__version__ = "0.1.0"

__all__ = [
    "AsyncClient",
    "AsyncEnqueuer",
    "Client",
    "CronSpecError",
    "Enqueuer",
    "GoJSONError",
    "InvalidArgsError",
    "Job",
    "JobArgError",
    "JobDecodeError",
    "JobNotFound",
    "JobOptions",
    "JobOutcome",
    "JobTimeout",
    "NotReplicatedError",
    "ScheduledJob",
    "UnknownJobName",
    "UnretryableJob",
    "WorkerPool",
    "__version__",
]
