"""gowork-compat: speak gocraft/work's Redis protocol from Python.

Enqueue jobs that Go workers run, run jobs Go enqueued, and operate a shared namespace.
"""

from .enqueuer import AsyncEnqueuer, Enqueuer, ScheduledJob
from .job import Job, JobDecodeError
from .pool import WorkerPool
from .worker import JobOptions

__version__ = "0.1.0"

__all__ = [
    "AsyncEnqueuer",
    "Enqueuer",
    "Job",
    "JobDecodeError",
    "JobOptions",
    "ScheduledJob",
    "WorkerPool",
    "__version__",
]
