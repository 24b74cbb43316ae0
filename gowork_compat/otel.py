"""OpenTelemetry tracing (extra ``otel``: ``pip install gowork-compat[otel]``).

:func:`tracing_middleware` returns a pool middleware that runs every job in a span named
``gowork <job name>`` (kind CONSUMER) with the attributes ``gowork.job.name``,
``gowork.job.id``, ``gowork.job.fails`` (before this run), ``gowork.job.outcome``
(``succeeded`` or ``failed``) and ``messaging.system`` = ``gocraft/work``; a failure is
recorded on the span with the error status. The job's bytes are not touched: Go sees the
same payload (no trace context travels in it).

    pool.middleware(tracing_middleware())            # sync first step
    pool.middleware(tracing_middleware(asynchronous=True))  # for async handlers
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .job import Job

try:
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError("gowork_compat.otel needs opentelemetry-api: pip install 'gowork-compat[otel]'") from exc

__all__ = ["tracing_middleware"]

SCOPE = "gowork_compat"


def tracing_middleware(tracer_provider: Any = None, *, asynchronous: bool = False) -> Callable[..., Any]:
    """A middleware ``(job, next)`` tracing each job; ``asynchronous`` makes it an
    ``async def`` (keep a chain of async handlers on the event loop)."""
    tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)

    def attributes(job: Job) -> dict[str, Any]:
        return {"gowork.job.name": job.name, "gowork.job.id": job.id, "gowork.job.fails": job.fails,
                "messaging.system": "gocraft/work"}

    def failed(span: Any, exc: BaseException) -> None:
        span.set_attribute("gowork.job.outcome", "failed")
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, str(exc) or type(exc).__name__))

    if asynchronous:
        async def traced_async(job: Job, next: Callable[[], Awaitable[None]]) -> None:
            with tracer.start_as_current_span(f"gowork {job.name}", kind=SpanKind.CONSUMER,
                                              attributes=attributes(job), record_exception=False,
                                              set_status_on_exception=False) as span:
                try:
                    await next()
                except BaseException as exc:
                    failed(span, exc)
                    raise
                span.set_attribute("gowork.job.outcome", "succeeded")
        return traced_async

    def traced(job: Job, next: Callable[[], None]) -> None:
        with tracer.start_as_current_span(f"gowork {job.name}", kind=SpanKind.CONSUMER, attributes=attributes(job),
                                          record_exception=False, set_status_on_exception=False) as span:
            try:
                next()
            except BaseException as exc:
                failed(span, exc)
                raise
            span.set_attribute("gowork.job.outcome", "succeeded")
    return traced
