"""Prometheus metrics (extra ``metrics``: ``pip install gowork-compat[metrics]``).

Two sources:

* :func:`instrument` -- the jobs one Python :class:`~gowork_compat.pool.WorkerPool` runs:
  per job name started / succeeded / failed / retried / dead counters, run time and queue
  wait histograms, jobs in flight, and the pool's liveness. ``gowork worker --metrics-port``
  serves them; the returned :class:`PoolMetrics` exposes its ``registry`` for an
  application that already runs a metrics server.
* :class:`NamespaceCollector` -- the whole namespace as Redis holds it, Go pools included,
  read with a bounded number of pipelined commands per scrape (:attr:`NamespaceCollector.commands_last_scrape`);
  ``gowork exporter --port`` serves it.

A pool that is not instrumented pays nothing per job (see :mod:`gowork_compat.jobhooks`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._redis import RedisLike, sync_client
from .heartbeat import DEAD_AFTER
from .job import Job
from .jobhooks import DEAD, RETRIED, SUCCEEDED, add_job_hook
from .keys import Keys

try:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("gowork_compat.metrics needs prometheus-client: pip install 'gowork-compat[metrics]'") from exc

if TYPE_CHECKING:
    from .pool.api import WorkerPool

__all__ = ["NamespaceCollector", "PoolMetrics", "exporter_registry", "instrument", "serve"]

#: run-time buckets (seconds)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
#: queue-wait buckets (seconds); ``t`` has a one-second resolution
WAIT_BUCKETS = (1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400)


class PoolMetrics:
    """The metrics of one pool (a job hook); build with :func:`instrument`."""

    def __init__(self, pool: WorkerPool, registry: CollectorRegistry) -> None:
        self.pool = pool
        self.registry = registry
        label = ["job_name"]
        self.started_c = Counter("gowork_jobs_started", "Jobs started by this pool", label, registry=registry)
        self.succeeded_c = Counter("gowork_jobs_succeeded", "Jobs that succeeded", label, registry=registry)
        self.failed_c = Counter("gowork_jobs_failed", "Jobs that failed (retried, dead or dropped)", label,
                                registry=registry)
        self.retried_c = Counter("gowork_jobs_retried", "Failed jobs put in the retry set", label, registry=registry)
        self.dead_c = Counter("gowork_jobs_dead", "Failed jobs put in the dead set", label, registry=registry)
        self.duration_h = Histogram("gowork_job_duration_seconds", "Run time of a job", label,
                                    buckets=DURATION_BUCKETS, registry=registry)
        self.wait_h = Histogram("gowork_job_queue_wait_seconds", "Time from the job's enqueue time t to its start",
                                label, buckets=WAIT_BUCKETS, registry=registry)
        self.in_flight_g = Gauge("gowork_jobs_in_flight", "Jobs running now", label, registry=registry)
        registry.register(_PoolLiveness(pool))
        self._children: dict[str, tuple[Any, ...]] = {}

    def _of(self, name: str) -> tuple[Any, ...]:
        c = self._children.get(name)
        if c is None:
            c = tuple(m.labels(name) for m in (self.started_c, self.succeeded_c, self.failed_c, self.retried_c,
                                                self.dead_c, self.duration_h, self.wait_h, self.in_flight_g))
            self._children[name] = c
        return c

    # -- JobHook ------------------------------------------------------------------------
    def started(self, job: Job, pool_id: str, waited: float | None) -> None:
        c = self._of(job.name)
        c[0].inc()
        if waited is not None:
            c[6].observe(max(waited, 0.0))
        c[7].inc()

    def finished(self, job: Job, pool_id: str, outcome: str, duration: float, error: BaseException | None) -> None:
        c = self._of(job.name)
        c[7].dec()
        c[5].observe(duration)
        if outcome == SUCCEEDED:
            c[1].inc()
            return
        c[2].inc()
        if outcome == RETRIED:
            c[3].inc()
        elif outcome == DEAD:
            c[4].inc()


class _PoolLiveness(Collector):
    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool

    def collect(self) -> Iterable[GaugeMetricFamily]:
        p = self.pool
        labels = ["namespace", "pool_id"]
        st = p._st
        up = 1.0 if p._started and st is not None and not st.stopped.is_set() else 0.0
        g = GaugeMetricFamily("gowork_pool_up", "1 while the pool runs", labels=labels)
        g.add_metric([p.namespace, p.pool_id], up)
        yield g
        c = GaugeMetricFamily("gowork_pool_concurrency", "Worker slots of the pool", labels=labels)
        c.add_metric([p.namespace, p.pool_id], float(p.concurrency))
        yield c


def instrument(pool: WorkerPool, registry: CollectorRegistry | None = None) -> PoolMetrics:
    """Collect Prometheus metrics of ``pool`` (call before it starts) into ``registry``
    (default: a new one; pass ``prometheus_client.REGISTRY`` to use the global one). One
    pool per registry: a second pool needs a registry of its own."""
    m = PoolMetrics(pool, registry if registry is not None else CollectorRegistry())
    add_job_hook(pool, m)
    return m


def serve(port: int, registry: CollectorRegistry, addr: str = "127.0.0.1") -> Any:
    """Serve ``registry`` on ``http://addr:port/metrics`` from a daemon thread; returns the
    server (``server.shutdown()`` stops it)."""
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server


# ----------------------------------------------------------------------------- exporter

def _s(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else ("" if v is None else str(v))


def _num(v: Any) -> float | None:
    try:
        return float(_s(v)) if v is not None else None
    except ValueError:
        return None


class NamespaceCollector(Collector):
    """Reads a namespace (Go's pools and ours alike) on every scrape, in three pipelined
    round trips: 5 + 5·J + P + B commands for J job names in ``known_jobs`` (at most
    ``max_job_names``), P pools in ``worker_pools`` (at most ``max_pools``) and B the job
    names of the live pools (one in-progress length each)."""

    def __init__(self, redis: RedisLike, namespace: str, *, max_job_names: int = 1000, max_pools: int = 1000,
                 clock: Any = time.time) -> None:
        self.client = sync_client(redis)
        self.keys = Keys(namespace)
        self.namespace = namespace
        self.max_job_names = max_job_names
        self.max_pools = max_pools
        self.clock = clock
        self.commands_last_scrape = 0
        self.round_trips_last_scrape = 0

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # registering must not read Redis

    def _pipe(self, calls: list[tuple[Any, ...]]) -> list[Any]:
        self.commands_last_scrape += len(calls)
        self.round_trips_last_scrape += 1
        pipe = self.client.pipeline(transaction=False)
        for c in calls:
            pipe.execute_command(*c)  # type: ignore[no-untyped-call]
        replies: list[Any] = pipe.execute(raise_on_error=False)
        return replies

    def collect(self) -> Iterator[GaugeMetricFamily]:
        k = self.keys
        self.commands_last_scrape = self.round_trips_last_scrape = 0
        now = self.clock()
        known, pools, sched, retry, dead = self._pipe([
            ("SMEMBERS", k.known_jobs), ("SMEMBERS", k.worker_pools),
            ("ZCARD", k.scheduled), ("ZCARD", k.retry), ("ZCARD", k.dead)])
        names = sorted({_s(n) for n in (known if isinstance(known, (list, set)) else [])} - {""})
        names = names[:self.max_job_names]
        pool_ids = sorted({_s(p) for p in (pools if isinstance(pools, (list, set)) else [])} - {""})
        pool_ids = pool_ids[:self.max_pools]
        calls: list[tuple[Any, ...]] = []
        for n in names:
            calls += [("LLEN", k.jobs(n)), ("LINDEX", k.jobs(n), -1), ("GET", k.lock(n)),
                      ("GET", k.max_concurrency(n)), ("EXISTS", k.paused(n))]
        for p in pool_ids:
            calls.append(("HMGET", k.heartbeat(p), "heartbeat_at", "job_names", "concurrency", "host", "pid"))
        replies = self._pipe(calls) if calls else []
        labels = ["namespace"]
        ns = [self.namespace]

        def family(name: str, doc: str, extra: list[str] | None = None) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=labels + (extra or []))

        for metric, doc, value in (("gowork_scheduled_jobs", "Jobs in the scheduled set", sched),
                                   ("gowork_retry_jobs", "Jobs in the retry set", retry),
                                   ("gowork_dead_jobs", "Jobs in the dead set", dead)):
            f = family(metric, doc)
            f.add_metric(ns, float(value) if isinstance(value, int) else float("nan"))
            yield f
        qlen = family("gowork_queue_length", "Jobs waiting in the queue", ["job_name"])
        oldest = family("gowork_queue_oldest_age_seconds",
                        "Age (now - enqueue time t) of the next job to be fetched; 0 when empty", ["job_name"])
        lock = family("gowork_lock", "Jobs of this name running now, as the concurrency lock counts them",
                      ["job_name"])
        maxc = family("gowork_max_concurrency", "Cap on jobs of this name running at once (0: none)", ["job_name"])
        paused = family("gowork_queue_paused", "1 when the job name is paused", ["job_name"])
        for i, n in enumerate(names):
            length, tail, lk, mc, pz = replies[5 * i:5 * i + 5]
            qlen.add_metric([*ns, n], float(length) if isinstance(length, int) else float("nan"))
            age = 0.0
            if isinstance(tail, bytes):
                try:
                    age = round(max(0.0, now - float(json.loads(tail)["t"])), 3)
                except Exception:
                    age = float("nan")  # a malformed payload: see gowork doctor
            oldest.add_metric([*ns, n], age)
            lock.add_metric([*ns, n], _num(lk) or 0.0)
            maxc.add_metric([*ns, n], _num(mc) or 0.0)
            paused.add_metric([*ns, n], 1.0 if pz == 1 else 0.0)
        yield from (qlen, oldest, lock, maxc, paused)
        beats = replies[5 * len(names):]
        live: list[tuple[str, list[str], float, str, str]] = []
        for p, beat in zip(pool_ids, beats):
            if not isinstance(beat, list):
                continue
            at = _num(beat[0])
            if at is None or at + DEAD_AFTER <= now:
                continue
            live.append((p, [x for x in _s(beat[1]).split(",") if x], _num(beat[2]) or 0.0, _s(beat[3]),
                         _s(beat[4])))
        calls = [("LLEN", k.in_progress(p, n)) for p, jn, *_ in live for n in jn]
        counts = self._pipe(calls) if calls else []
        pools_live = family("gowork_pools_live", "Worker pools (Go's or Python's) with a fresh heartbeat")
        pools_live.add_metric(ns, float(len(live)))
        pools_seen = family("gowork_pools_registered", "Pools in the worker_pools set, live or not")
        pools_seen.add_metric(ns, float(len(pool_ids)))
        busy_total = family("gowork_busy_workers", "Jobs in the in-progress lists of live pools")
        conc = family("gowork_pool_concurrency", "Worker slots of a live pool", ["pool_id", "host", "pid"])
        busy = family("gowork_pool_busy_workers", "Jobs in a live pool's in-progress lists", ["pool_id", "host", "pid"])
        i = total = 0
        for p, jn, c, host, pid in live:
            n_busy = sum(int(x) for x in counts[i:i + len(jn)] if isinstance(x, int))
            i += len(jn)
            total += n_busy
            conc.add_metric([*ns, p, host, pid], c)
            busy.add_metric([*ns, p, host, pid], float(n_busy))
        busy_total.add_metric(ns, float(total))
        yield from (pools_live, pools_seen, busy_total, conc, busy)


def exporter_registry(redis: RedisLike, namespace: str, **options: Any) -> tuple[CollectorRegistry,
                                                                                 NamespaceCollector]:
    """A registry holding only a :class:`NamespaceCollector` of ``namespace``."""
    registry = CollectorRegistry()
    collector = NamespaceCollector(redis, namespace, **options)
    registry.register(collector)
    return registry, collector
