"""The OpenTelemetry middleware: one span per job (name, id, fails, outcome), recorded by
opentelemetry-sdk's in-memory exporter, with the job's bytes left as Go wrote them."""

from __future__ import annotations

import json
import threading

import pytest
import redis

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.otel import tracing_middleware
from gowork_compat.pool import WorkerPool
from tests.conftest import until


@pytest.mark.parametrize("asynchronous", [False, True])
def test_one_span_per_job(redis_url: str, ns: str, r: redis.Redis, asynchronous: bool) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    pool = WorkerPool(redis_url, ns, 2, sleep_backoffs=[0, 10, 50])
    pool.middleware(tracing_middleware(provider, asynchronous=asynchronous))
    ran = threading.Event()

    if asynchronous:
        async def ok(job: Job) -> None:
            ran.set()

        async def bad(job: Job) -> None:
            raise ValueError("broken <x>")
    else:
        def ok(job: Job) -> None:  # type: ignore[misc]
            ran.set()

        def bad(job: Job) -> None:  # type: ignore[misc]
            raise ValueError("broken <x>")

    pool.job("ok", ok)
    pool.job("bad", bad, max_fails=3)
    enq = Enqueuer(redis_url, ns)
    good = enq.enqueue("ok", {"a": 1})
    failing = enq.enqueue("bad", {"b": [1, 2]})
    pool.start()
    try:
        until(lambda: len(exporter.get_finished_spans()) == 2, what="2 spans")
    finally:
        pool.stop(grace_period=2)
    spans = {s.attributes["gowork.job.id"]: s for s in exporter.get_finished_spans()}  # type: ignore[index]
    s_ok, s_bad = spans[good.id], spans[failing.id]
    assert s_ok.name == "gowork ok" and s_ok.kind == SpanKind.CONSUMER
    assert dict(s_ok.attributes or {}) == {"gowork.job.name": "ok", "gowork.job.id": good.id, "gowork.job.fails": 0,
                                           "messaging.system": "gocraft/work", "gowork.job.outcome": "succeeded"}
    assert s_bad.attributes is not None and s_bad.attributes["gowork.job.outcome"] == "failed"
    assert s_bad.status.status_code == StatusCode.ERROR and s_bad.status.description == "broken <x>"
    assert [e.name for e in s_bad.events] == ["exception"]
    # the bytes written back are what a pool without tracing writes: no trace context added
    (member,) = r.zrange(Keys(ns).retry, 0, -1)
    stored = json.loads(member)
    assert set(stored) == {"name", "id", "t", "args", "fails", "err", "failed_at"}
    assert stored["args"] == {"b": [1, 2]} and stored["err"] == "ValueError: broken <x>"
    back = Job.decode(member)
    back.fails, back.last_err, back.failed_at = 0, "", 0
    assert back.encode() == failing.encode()
