"""A Python user's first week (issue 11): visible failures, handlers tested without Redis,
context managers, enqueuers across event loops, top-level exports."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import redis

import gowork_compat
from gowork_compat import AsyncClient, AsyncEnqueuer, Client, Enqueuer, Job, WorkerPool
from gowork_compat.keys import Keys
from gowork_compat.pool.runner import error_text


def test_err_holds_the_exception_type_and_message() -> None:
    assert error_text(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"
    assert error_text(KeyError("column 'sku' missing")) == "KeyError: column 'sku' missing"
    assert error_text(ValueError()) == "ValueError"
    assert error_text(gowork_compat.JobTimeout(2)) == "timeout after 2 s"


def test_every_failure_is_logged_with_its_traceback(redis_url: str, ns: str, r: redis.Redis,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    def divide(job: Job) -> None:
        job.arg_int("n") // 0

    pool = WorkerPool(redis_url, ns, 2)
    pool.job("retry_me", divide, max_fails=3, backoff=lambda j: 1000)
    pool.job("dead_me", divide, max_fails=1)
    with Enqueuer(redis_url, ns) as enq:
        enq.enqueue("retry_me", {"n": 1})
        enq.enqueue("dead_me", {"n": 1})
    caplog.set_level(logging.WARNING, logger="gowork_compat")
    pool.start()
    try:
        pool.drain()
    finally:
        pool.stop()
    failures = [rec for rec in caplog.records if rec.name.startswith("gowork_compat") and "failed" in rec.message]
    by_name = {("retry" if "retry_me" in rec.message else "dead"): rec for rec in failures}
    assert by_name["retry"].levelno == logging.WARNING and "retried in 1000 s" in by_name["retry"].message
    assert by_name["dead"].levelno == logging.ERROR and "dead set" in by_name["dead"].message
    for rec in by_name.values():
        assert rec.exc_info is not None and rec.exc_info[0] is ZeroDivisionError
        assert "ZeroDivisionError: integer division or modulo by zero" in rec.message
    (dead_raw,) = r.zrange(Keys(ns).dead, 0, -1)
    assert json.loads(dead_raw)["err"] == "ZeroDivisionError: integer division or modulo by zero"


# -- handlers tested without Redis ------------------------------------------------------

def test_run_job_runs_the_chain_and_returns_the_outcome() -> None:
    seen: list[str] = []
    pool = WorkerPool("redis://127.0.0.1:1/0", "unit", 1, context=lambda: {"user": "ctx"})

    @pool.middleware
    def mw(job: Job, nxt: Any) -> None:
        seen.append("mw")
        nxt()

    @pool.job("resize", max_fails=2, backoff=lambda j: 42)
    def resize(ctx: dict[str, str], job: Job) -> None:
        seen.append(ctx["user"])
        w = job.arg_int("w")
        if err := job.arg_error():
            raise err
        seen.append(str(w))

    ok = pool.run_job("resize", {"w": 10})
    assert ok.ok and ok.fate == "done" and ok.err == "" and ok.retry_in is None and seen == ["mw", "ctx", "10"]
    bad = pool.run_job("resize", {})
    assert bad.fate == "retry" and bad.retry_in == 42 and bad.err.startswith("JobArgError: ")
    assert isinstance(bad.exception, gowork_compat.JobArgError) and bad.job.fails == 1
    last = pool.run_job("resize", {}, fails=1)
    assert last.fate == "dead" and last.retry_in is None and last.job.fails == 2
    with pytest.raises(KeyError, match="no handler registered for job 'nope'"):
        pool.run_job("nope")


def test_arun_job_from_a_running_loop() -> None:
    pool = WorkerPool("redis://127.0.0.1:1/0", "unit", 1)

    @pool.job("boom", skip_dead=True, max_fails=1)
    async def boom(job: Job) -> None:
        raise RuntimeError("no")

    async def main() -> None:
        with pytest.raises(RuntimeError, match=r"use .await pool\.arun_job"):
            pool.run_job("boom")
        out = await pool.arun_job("boom")
        assert out.fate == "dropped" and out.err == "RuntimeError: no"

    asyncio.run(main())


def test_fakeredis_is_refused_with_a_clear_error() -> None:
    fake_cls = type("FakeRedis", (redis.Redis,), {"__module__": "fakeredis._server"})
    with pytest.raises(TypeError, match=r"does not run on fakeredis.*pool\.run_job"):
        WorkerPool(fake_cls(), "unit", 1)


# -- API surface ------------------------------------------------------------------------

def test_exceptions_and_clients_are_exported_at_the_top_level() -> None:
    for name in ("Client", "AsyncClient", "JobNotFound", "JobArgError", "JobTimeout", "CronSpecError",
                 "InvalidArgsError", "GoJSONError", "UnretryableJob", "JobOutcome"):
        assert name in gowork_compat.__all__ and hasattr(gowork_compat, name), name


EXPORTED_CLASSES = [getattr(gowork_compat, n) for n in gowork_compat.__all__
                    if inspect.isclass(getattr(gowork_compat, n))]


@pytest.mark.parametrize("cls", EXPORTED_CLASSES, ids=lambda c: c.__name__)
def test_every_public_method_has_a_docstring(cls: type) -> None:
    assert cls.__doc__
    missing = [n for n, f in inspect.getmembers(cls) if not n.startswith("_") and inspect.isfunction(f)
               and not f.__doc__]
    missing += [n for n in dir(cls) if not n.startswith("_") and isinstance(inspect.getattr_static(cls, n), property)
                and not inspect.getattr_static(cls, n).__doc__]
    assert missing == []


def test_worker_pool_documents_every_constructor_option() -> None:
    doc = WorkerPool.__doc__ or ""
    for name in list(inspect.signature(WorkerPool.__init__).parameters)[1:]:
        assert f"``{name}``" in doc, name


def test_clients_and_enqueuers_are_context_managers(redis_url: str, ns: str) -> None:
    with Client(redis_url, ns) as c:
        assert c.known_jobs() == []
    with Enqueuer(redis_url, ns) as e:
        e.enqueue("cm", {})

    async def main() -> None:
        async with AsyncEnqueuer(redis_url, ns) as ae:
            await ae.enqueue("cm", {})
        async with AsyncClient(redis_url, ns) as ac:
            assert [q.job_name for q in await ac.queues()] == ["cm"]

    asyncio.run(main())


def test_an_async_enqueuer_works_across_event_loops(redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = AsyncEnqueuer(redis_url, ns)
    asyncio.run(enq.enqueue("twice", {"n": 1}))
    asyncio.run(enq.enqueue("twice", {"n": 2}))
    asyncio.run(enq.aclose())
    assert r.llen(Keys(ns).jobs("twice")) == 2


# -- safe defaults ----------------------------------------------------------------------

def test_a_five_field_cron_spec_warns_once_with_its_meaning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gowork_compat")
    pool = WorkerPool("redis://127.0.0.1:1/0", "unit-cron", 1)
    pool.periodically_enqueue("*/7 * * * *", "a").periodically_enqueue("*/7 * * * *", "b")
    pool.periodically_enqueue("0 */7 * * * *", "c")
    WorkerPool("redis://127.0.0.1:1/0", "unit-cron", 1, dialect="master").periodically_enqueue("*/9 * * * *", "d")
    warned = [rec.message for rec in caplog.records if "cron spec" in rec.message]
    assert len(warned) == 1
    assert "'*/7 * * * *' has 5 fields" in warned[0] and "second=*/7 minute=*" in warned[0]
    assert "'0 */7 * * * *'" in warned[0]


def test_the_readme_worker_example_fails_a_job_with_bad_args() -> None:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Run jobs in Python"):]
    code = section[section.index("```python") + len("```python"):]
    code = code[:code.index("```")]
    code = "\n".join(line for line in code.splitlines() if not line.startswith("pool.serve("))
    scope: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), scope)  # builds the pool; nothing connects to Redis
    pool: WorkerPool = scope["pool"]
    assert pool.run_job("resize", {"w": 100}).ok
    bad = pool.run_job("resize", {"w": "wide"})
    assert bad.fate == "retry" and bad.err.startswith("JobArgError: ")
    assert pool.run_job("resize", {}).fate == "retry"


def test_the_readme_sentry_recipe_reports_and_still_fails_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\nimport sentry_sdk")
    recipe = text[start + len("```python"):text.index("```", start + 10)]
    captured: list[tuple[BaseException, dict[str, Any]]] = []

    class Scope:
        def __init__(self) -> None:
            self.data: dict[str, Any] = {}

        def __enter__(self) -> Scope:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def set_tag(self, key: str, value: str) -> None:
            self.data[key] = value

        def set_context(self, key: str, value: dict[str, Any]) -> None:
            self.data[key + ":context"] = value

    scope = Scope()
    sdk = types.ModuleType("sentry_sdk")
    sdk.new_scope = lambda: scope  # type: ignore[attr-defined]
    sdk.capture_exception = lambda exc: captured.append((exc, dict(scope.data)))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sentry_sdk", sdk)
    pool = WorkerPool("redis://127.0.0.1:1/0", "unit-sentry", 1)

    @pool.job("div")
    async def div(job: Job) -> None:
        1 / job.arg_int("n")

    exec(compile(recipe, "README.md", "exec"), {"pool": pool, "Job": Job})
    out = pool.run_job("div", {"n": 0})
    assert out.fate == "retry" and out.err == "ZeroDivisionError: division by zero"
    (exc, data), = captured
    assert isinstance(exc, ZeroDivisionError) and data["job"] == "div" and data["job:context"]["args"] == {"n": 0}


def test_on_started_runs_before_the_first_job(redis_url: str, ns: str) -> None:
    # Before the fix, on_started ran when astart's 5 ms poll noticed the start: often after
    # a waiting job had already run. Several rounds make that race show.
    for round_ in range(8):
        order: list[str] = []
        pool = WorkerPool(redis_url, f"{ns}-{round_}", 2)

        @pool.job("first")
        async def first(job: Job, pool: WorkerPool = pool, order: list[str] = order) -> None:
            order.append("ran")
            await pool.astop(grace_period=0)

        with Enqueuer(redis_url, f"{ns}-{round_}") as enq:
            enq.enqueue("first", {})
        asyncio.run(pool.aserve((), on_started=lambda order=order: order.append("started")))  # type: ignore[misc]
        assert order == ["started", "ran"], round_
