"""The worker pool: fetches jobs of its registered names from a gocraft/work namespace
and runs them, side by side with Go pools.

One engine (asyncio) does the work; :class:`WorkerPool` drives it from sync code or from
asyncio. The package, by concept:

* :mod:`.api` -- :class:`WorkerPool`: registration and lifecycle (``start``/``stop``,
  ``serve`` for signals, the asyncio twins);
* :mod:`.engine` -- the fetch / run / acknowledge loop, start-up and shutdown;
* :mod:`.fetch` -- command packing, the round trip, script reload, dispatch;
* :mod:`.watchers` -- wake-on-enqueue;
* :mod:`.runner` -- worker threads, the middleware chain, timeouts, fate and backoff;
* :mod:`.background` -- requeuer, reaper, periodic enqueuer and observer loops, each
  with a ``run_once``;
* :mod:`.liveness` -- the heartbeat thread and the event-loop watch.
"""

from .api import DEFAULT_FETCH_BATCH, DEFAULT_SLEEP_BACKOFFS, WorkerPool
from .runner import JobOptions, JobTimeout
from .watchers import MAX_WATCHED_QUEUES

__all__ = ["DEFAULT_FETCH_BATCH", "DEFAULT_SLEEP_BACKOFFS", "MAX_WATCHED_QUEUES", "JobOptions", "JobTimeout",
           "WorkerPool"]
