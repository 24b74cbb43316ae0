"""A web UI and JSON API for a gocraft/work namespace, as an ASGI (Starlette) app.

The JSON API is upstream's ``workwebui`` API, route for route, with the same bodies
(Go's ``json.MarshalIndent`` with tabs, byte for byte) and the same success statuses:

=====  ====================================  ===============================================
GET    /queues                               ``[Queue, ...]``
GET    /worker_pools                         ``[WorkerPoolHeartbeat, ...]``
GET    /busy_workers                         busy ``[WorkerObservation, ...]`` (``null``: none)
GET    /retry_jobs?page=N                    ``{"count": total, "jobs": [RetryJob, ...]}``
GET    /scheduled_jobs?page=N                ``{"count": total, "jobs": [ScheduledJob, ...]}``
GET    /dead_jobs?page=N                     ``{"count": total, "jobs": [DeadJob, ...]}``
POST   /delete_dead_job/{died_at}/{job_id}   ``{"status": "ok"}``
POST   /retry_dead_job/{died_at}/{job_id}    ``{"status": "ok"}``
POST   /delete_all_dead_jobs                 ``{"status": "ok"}``
POST   /retry_all_dead_jobs                  ``{"status": "ok"}``
=====  ====================================  ===============================================

Beyond upstream: ``POST /pause/{job_name}``, ``POST /unpause/{job_name}``, ``GET /locks``
(``[JobLock, ...]`` for every known job name), ``GET /queued_jobs/{job_name}?page=N``
(``{"count", "jobs"}``, oldest first), ``POST /delete_retry_job/{retry_at}/{job_id}`` and
``POST /delete_scheduled_job/{scheduled_for}/{job_id}``; ``GET /info`` (``{"namespace",
"redis", "namespaces"}``: the Redis URL without its password, the namespaces served);
``POST /delete_queued_job/{job_id}/{job_name}``,
``POST /run_retry_job_now/{retry_at}/{job_id}`` and ``POST
/enqueue_scheduled_job_now/{scheduled_for}/{job_id}`` (one atomic script each: a pool that took
the job first makes them 404, never a lost or doubled job); ``POST /purge_queue/{job_name}``
with ``{"confirm": job_name}`` (the typed confirmation; ``{"status", "purged"}``) and ``POST
/reset_lock/{job_name}`` (the recomputed ``JobLock``); ``GET /job/{where}/{job_id}?score=N``
(``where``: retry, scheduled, dead, or queue with ``&job_name=``; no score: a scan) answers
``JobDetail.to_json()``: the decoded job, its raw bytes, and the busy workers running it;
``GET /search/{where}?q=TEXT&by=id|args&cursor=N`` answers one page of a bounded scan
(``{"jobs", "cursor", "scanned"}``; cursor 0: done); ``GET /throughput?minutes=60``: our
pools' finished and failed jobs per minute, oldest first (``[{"t", "processed", "failed",
"by_job"}]``; Go pools keep no counters); dead jobs by filter (query
``job_name`` and/or ``error``, a text their last error contains): ``GET /dead_jobs?job_name=..
&error=..&page=N`` (the matching ones), ``POST /retry_dead_jobs?...`` and ``POST
/delete_dead_jobs?...`` (``{"status": "ok", "matched", "done", "unknown_name", "gone", "kept"}``,
one atomic script call per job); ``POST /delete_unreadable/{retry|scheduled|dead|queue}``
with ``{"raw_base64": ..., "job_name": ...}`` removes a member that cannot be read as a job.
A page shows such a member as ``{"unreadable": true, "raw": ..., "error": ...}`` in its
place instead of failing (Go answers 500). ``GET /`` serves our own page (``static/``).

Errors are ``{"error": "..."}`` like upstream's, but with a fitting status where upstream
always answers 500: 400 for a bad page number or a non-integer time in the path (with Go's
``strconv`` message), 404 for an unknown route or a job that is not there (Go's ``nothing
deleted`` / ``nothing retried``), 409 when a dead job's name is unknown or the record
cannot be retried (a buried malformed payload; not retried),
405 for a wrong method, 503 when Redis cannot be reached, 500 (no trace) otherwise.

Safe by default (:mod:`gowork_compat.webguard`): requests naming another host than
localhost, an IP address or ``allowed_hosts`` get 421 (DNS rebinding); POSTs whose
``Sec-Fetch-Site``, ``Origin`` or ``Referer`` shows another site get 403 (requests carrying
none of them, like curl's, are not browser-driven and are let through);
``basic_auth=(user, password)`` requires HTTP basic auth on every route. :func:`serve`
binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from . import gojson
from ._redis import RedisLike
from .burial import UnretryableJob
from .client import (
    AsyncClient,
    DeadFilter,
    JobNotFound,
    UnknownJobName,
    UnreadableEntry,
    job_json,
    parse_int,
    parse_uint,
)
from .client.planner import MAX_PAGE, MAX_STATS_MINUTES, PAGE_SIZE
from .heartbeat import DEAD_AFTER
from .job import Job
from .webguard import JSON_TYPE, Guard, json_error

__all__ = ["create_app", "go_marshal_indent", "serve"]

log = logging.getLogger("gowork_compat.webui")

STATIC_DIR = Path(__file__).with_name("static")
#: values of these keys are Go maps (keys sorted), everything else in a view is a struct
_MAP_FIELDS = frozenset({"args", "lock_info"})


def go_marshal_indent(value: Any) -> bytes:
    """What Go's ``json.MarshalIndent(v, "", "\\t")`` writes for a view's ``to_json()``
    (objects are structs in field order, except ``args`` / ``lock_info``, which are maps):
    :func:`gowork_compat.gojson.marshal_indent`."""
    return gojson.marshal_indent(value, _MAP_FIELDS)


def _json(value: Any, status: int = 200) -> Response:
    return Response(go_marshal_indent(value), status_code=status, media_type=None,
                    headers={"content-type": JSON_TYPE})


def _row(item: Job | UnreadableEntry) -> dict[str, Any]:
    return item.to_json() if isinstance(item, UnreadableEntry) else job_json(item)


_error = json_error


_OK = {"status": "ok"}


def redis_location(redis: RedisLike) -> str:
    """Where ``redis`` points, as a URL without its password (``***`` in its place)."""
    if isinstance(redis, str):
        parts = urlsplit(redis)
        if parts.password is not None:
            host = parts.netloc.rsplit("@", 1)[1]
            user = parts.username or ""
            parts = parts._replace(netloc=f"{user}:***@{host}")
        return urlunsplit(parts._replace(query=""))
    pool = getattr(redis, "connection_pool", None)
    if pool is None:  # a cluster client: the nodes it knows
        nodes: list[Any] = getattr(redis, "get_nodes", list)()
        return "redis+cluster://" + (",".join(f"{n.host}:{n.port}" for n in nodes) or "?")
    kw = pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    scheme = "rediss" if kw.get("ssl") or "ssl_context" in kw else "redis"
    return f"{scheme}://{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


_NS_SCOPE_KEY = "gowork.namespace"


class _NamespacePrefix:
    """Serves ``/ns/<name>/...`` as ``/...`` for namespace ``name`` (the page's relative
    URLs then stay within it); ``/ns/<name>`` redirects to ``/ns/<name>/``."""

    def __init__(self, app: ASGIApp, namespaces: Sequence[str]) -> None:
        self.app = app
        self.namespaces = sorted(namespaces, key=len, reverse=True)  # the longest name first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/ns/"):
            await self.app(scope, receive, send)
            return
        rest = path[len("/ns/"):]
        for name in self.namespaces:
            if rest == name:
                where = "/ns/" + quote(name, safe="") + "/"
                await Response(status_code=307, headers={"location": where})(scope, receive, send)
                return
            if rest.startswith(name + "/"):
                inner = rest[len(name):]
                await self.app({**scope, "path": inner, "raw_path": inner.encode("utf-8"), _NS_SCOPE_KEY: name},
                               receive, send)
                return
        await _error("no such namespace served here", 404)(scope, receive, send)


# -- the app -------------------------------------------------------------------------------------
Handler = Callable[[Request, AsyncClient], Awaitable[Response]]


class _BadRequest(Exception):
    pass


def _page_of(request: Request) -> int:
    values = request.query_params.getlist("page")
    text = values[0] if values else ""  # Go's Form.Get: the first value
    if text == "":
        text = "1"
    try:
        page = parse_uint(text)
    except ValueError as exc:
        raise _BadRequest(str(exc)) from None
    if page > MAX_PAGE:
        raise _BadRequest(f'page "{text}" is out of range')
    return page


def _filter_of(request: Request) -> DeadFilter:
    """The dead-job filter in the query: ``job_name`` (exact) and ``error`` (a text the last
    error contains); empty values are no condition."""
    name = request.query_params.get("job_name") or None
    error = request.query_params.get("error") or None
    return DeadFilter(job_name=name, error=error)


def _time_of(request: Request, name: str) -> int:
    try:
        return parse_int(str(request.path_params[name]))
    except ValueError as exc:
        raise _BadRequest(str(exc)) from None


def create_app(
    redis: RedisLike,
    namespace: str,
    *,
    basic_auth: tuple[str, str] | None = None,
    allowed_origins: Sequence[str] = (),
    allowed_hosts: Sequence[str] = (),
    dead_after: int = DEAD_AFTER,
    namespaces: Sequence[str] = (),
) -> Starlette:
    """The web UI and JSON API for ``namespace``.

    ``namespaces``: more namespaces on the same Redis, each served under ``/ns/<name>/``
    (``namespace`` too; ``/`` stays ``namespace``'s); the page switches between them.

    ``redis``: a URL, ``redis.Redis`` or ``redis.asyncio.Redis`` (an asyncio client is used
    as given and must belong to the serving event loop; otherwise one is made per loop).
    ``basic_auth``: require these credentials. ``allowed_origins``: other origins (e.g.
    ``"https://admin.example.com"``) whose pages may POST here. ``allowed_hosts``: host names
    the app answers to besides ``localhost`` and IP addresses (``"*"``: any); requests naming
    another host get 421 (see :mod:`gowork_compat.webguard`).
    """
    clients: dict[tuple[int, str], AsyncClient] = {}
    redis_shown = redis_location(redis)
    given = redis if isinstance(redis, aredis.Redis) else None
    served = list(dict.fromkeys([namespace, *namespaces]))

    def client(ns: str = namespace) -> AsyncClient:
        loop_id = 0 if given is not None else id(asyncio.get_running_loop())
        found = clients.get((loop_id, ns))
        if found is None:
            base = clients.get((loop_id, namespace))
            if base is None:  # the connection pool of this loop; other namespaces share it
                base = clients[(loop_id, namespace)] = AsyncClient(given if given is not None else redis,
                                                                   namespace, dead_after=dead_after)
            found = base if ns == namespace else AsyncClient(base.redis, ns, dead_after=dead_after)
            clients[(loop_id, ns)] = found
        return found

    def endpoint(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await fn(request, client(request.scope.get(_NS_SCOPE_KEY, namespace)))
            except (UnknownJobName, UnretryableJob) as exc:  # the job is there, and stays dead
                return _error(str(exc), 409)
            except JobNotFound as exc:
                return _error(str(exc), 404)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("redis unavailable: %s", exc)
                return _error(f"redis unavailable: {exc}", 503)
            except _BadRequest as exc:
                return _error(str(exc), 400)
            except ValueError as exc:  # unreadable data in Redis (Go answers 500 too)
                log.exception("%s %s failed", request.method, request.url.path)
                return _error(f"bad data in redis: {exc}", 500)
            except Exception as exc:
                log.exception("%s %s failed", request.method, request.url.path)
                return _error(f"internal error: {type(exc).__name__}", 500)
        return run

    def acting(act: Callable[[AsyncClient, Request], Awaitable[object]]) -> Handler:
        """A route that does one client action with the route's parameters and answers
        Go's {"status": "ok"}."""
        async def run(request: Request, c: AsyncClient) -> Response:
            await act(c, request)
            return _json(_OK)
        return run

    def id_of(request: Request) -> str:
        return str(request.path_params["job_id"])

    def name_of(request: Request) -> str:
        return str(request.path_params["job_name"])

    # Go's routes
    async def queues(request: Request, c: AsyncClient) -> Response:
        return _json([q.to_json() for q in await c.queues()])

    async def worker_pools(request: Request, c: AsyncClient) -> Response:
        return _json([h.to_json() for h in await c.worker_pool_heartbeats()])

    async def busy_workers(request: Request, c: AsyncClient) -> Response:
        busy = [o.to_json() for o in await c.worker_observations() if o.is_busy]
        return _json(busy or None)  # Go marshals its nil slice: null

    async def retry_jobs(request: Request, c: AsyncClient) -> Response:
        rjobs, count = await c.retry_jobs(_page_of(request))
        return _json({"count": count, "jobs": [j.to_json() for j in rjobs]})

    async def scheduled_jobs(request: Request, c: AsyncClient) -> Response:
        sjobs, count = await c.scheduled_jobs(_page_of(request))
        return _json({"count": count, "jobs": [j.to_json() for j in sjobs]})

    async def dead_jobs(request: Request, c: AsyncClient) -> Response:
        page = _page_of(request)
        flt = _filter_of(request)
        if flt.is_empty():  # Go's route
            djobs, count = await c.dead_jobs(page)
            return _json({"count": count, "jobs": [j.to_json() for j in djobs]})
        found = await c.find_dead_jobs(flt)
        start = (max(page, 1) - 1) * PAGE_SIZE
        return _json({"count": len(found), "jobs": [d.to_json() for d in found[start:start + PAGE_SIZE]]})

    # beyond Go
    async def retry_dead_jobs(request: Request, c: AsyncClient) -> Response:
        flt = _filter_of(request)
        if flt.is_empty():
            raise _BadRequest("give job_name and/or error (or use /retry_all_dead_jobs)")
        res = await c.retry_dead_jobs_where(flt)
        return _json({"status": "ok", **res.to_json()})

    async def delete_dead_jobs(request: Request, c: AsyncClient) -> Response:
        flt = _filter_of(request)
        if flt.is_empty():
            raise _BadRequest("give job_name and/or error (or use /delete_all_dead_jobs)")
        res = await c.delete_dead_jobs_where(flt)
        return _json({"status": "ok", **res.to_json()})

    async def delete_unreadable(request: Request, c: AsyncClient) -> Response:
        where = request.path_params["where"]
        try:
            body = json.loads(await request.body())
            raw = base64.b64decode(body["raw_base64"], validate=True)
            job_name = body.get("job_name") or ""
            if not isinstance(job_name, str):
                raise TypeError("job_name must be a string")
        except (ValueError, TypeError, KeyError, binascii.Error) as exc:
            raise _BadRequest(f'the body must be {{"raw_base64": "...", "job_name": "..."}} ({exc})') from None
        if where not in ("retry", "scheduled", "dead", "queue") or (where == "queue" and not job_name):
            raise _BadRequest(f"cannot delete from {where!r}: retry, scheduled, dead, or queue with a job_name")
        await c.delete_unreadable(where, raw, job_name)
        return _json(_OK)

    async def info(request: Request, c: AsyncClient) -> Response:
        return _json({"namespace": c.namespace, "redis": redis_shown, "namespaces": served})

    async def purge_queue(request: Request, c: AsyncClient) -> Response:
        name = request.path_params["job_name"]
        try:
            body = json.loads(await request.body() or b"{}")
            typed = body.get("confirm") if isinstance(body, dict) else None
        except ValueError:
            typed = None
        if typed != name:
            raise _BadRequest("type the job name to purge its queue: the body must be "
                              f'{{"confirm": {json.dumps(name)}}}')
        return _json({"status": "ok", "purged": await c.purge_queue(name, typed)})

    async def reset_lock(request: Request, c: AsyncClient) -> Response:
        return _json((await c.reset_lock(request.path_params["job_name"])).to_json())

    def place_of(request: Request) -> tuple[str, str]:
        where = request.path_params["where"]
        job_name = request.query_params.get("job_name") or ""
        if where not in ("retry", "scheduled", "dead", "queue") or (where == "queue" and not job_name):
            raise _BadRequest(f"no place {where!r}: retry, scheduled, dead, or queue with ?job_name=")
        return where, job_name

    async def job_detail(request: Request, c: AsyncClient) -> Response:
        where, job_name = place_of(request)
        text = request.query_params.get("score") or ""
        try:
            score = parse_int(text) if text else None
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        found = await c.job_detail(where, request.path_params["job_id"], score, job_name)
        return _json(found.to_json())

    async def search(request: Request, c: AsyncClient) -> Response:
        where, job_name = place_of(request)
        q = request.query_params
        by = q.get("by") or "id"
        if by not in ("id", "args") or not q.get("q"):
            raise _BadRequest("give q (the text) and by=id or by=args")
        try:
            cursor = parse_uint(q.get("cursor") or "0")
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        page = await c.search(where, q["q"], by=by, job_name=job_name, cursor=cursor)
        return _json(page.to_json())

    async def throughput(request: Request, c: AsyncClient) -> Response:
        try:
            minutes = parse_uint(request.query_params.get("minutes") or "60")
        except ValueError as exc:
            raise _BadRequest(str(exc)) from None
        if not 1 <= minutes <= MAX_STATS_MINUTES:
            raise _BadRequest(f"minutes must be 1 to {MAX_STATS_MINUTES}")
        return _json([m.to_json() for m in await c.throughput(minutes)])

    async def locks(request: Request, c: AsyncClient) -> Response:
        return _json([lk.to_json() for lk in await c.locks()])

    async def queued_jobs(request: Request, c: AsyncClient) -> Response:
        qjobs, count = await c.queued_jobs(request.path_params["job_name"], _page_of(request))
        return _json({"count": count, "jobs": [_row(j) for j in qjobs]})

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"cache-control": "no-cache"})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: "not found", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
        return _error(message, exc.status_code, dict(exc.headers or {}))

    async def any_error(request: Request, exc: Exception) -> Response:
        return _error("internal error", 500)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for c in list(clients.values()):
            if given is None:
                try:
                    await c.aclose()
                except Exception:  # another loop's client: nothing more to do
                    pass
        clients.clear()

    def get(path: str, fn: Handler) -> Route:
        return Route(path, endpoint(fn), methods=["GET"])

    def post(path: str, fn: Handler) -> Route:
        return Route(path, endpoint(fn), methods=["POST"])

    routes = [
        Route("/", index, methods=["GET"]),
        get("/queues", queues),
        get("/worker_pools", worker_pools),
        get("/busy_workers", busy_workers),
        get("/retry_jobs", retry_jobs),
        get("/scheduled_jobs", scheduled_jobs),
        get("/dead_jobs", dead_jobs),
        post("/delete_dead_job/{died_at}/{job_id}",
             acting(lambda c, r: c.delete_dead_job(_time_of(r, "died_at"), id_of(r)))),
        post("/retry_dead_job/{died_at}/{job_id}",
             acting(lambda c, r: c.retry_dead_job(_time_of(r, "died_at"), id_of(r)))),
        post("/delete_all_dead_jobs", acting(lambda c, r: c.delete_all_dead_jobs())),
        post("/retry_all_dead_jobs", acting(lambda c, r: c.retry_all_dead_jobs())),
        post("/delete_retry_job/{retry_at}/{job_id}",
             acting(lambda c, r: c.delete_retry_job(_time_of(r, "retry_at"), id_of(r)))),
        post("/delete_scheduled_job/{scheduled_for}/{job_id}",
             acting(lambda c, r: c.delete_scheduled_job(_time_of(r, "scheduled_for"), id_of(r)))),
        post("/retry_dead_jobs", retry_dead_jobs),
        post("/delete_dead_jobs", delete_dead_jobs),
        post("/delete_unreadable/{where}", delete_unreadable),
        get("/info", info),
        get("/throughput", throughput),
        get("/job/{where}/{job_id}", job_detail),
        get("/search/{where}", search),
        post("/delete_queued_job/{job_id}/{job_name:path}",
             acting(lambda c, r: c.delete_queued_job(name_of(r), id_of(r)))),
        post("/run_retry_job_now/{retry_at}/{job_id}",
             acting(lambda c, r: c.run_retry_job_now(_time_of(r, "retry_at"), id_of(r)))),
        post("/enqueue_scheduled_job_now/{scheduled_for}/{job_id}",
             acting(lambda c, r: c.enqueue_scheduled_job_now(_time_of(r, "scheduled_for"), id_of(r)))),
        post("/purge_queue/{job_name:path}", purge_queue),
        post("/reset_lock/{job_name:path}", reset_lock),
        post("/pause/{job_name:path}", acting(lambda c, r: c.pause(name_of(r)))),
        post("/unpause/{job_name:path}", acting(lambda c, r: c.unpause(name_of(r)))),
        get("/locks", locks),
        get("/queued_jobs/{job_name:path}", queued_jobs),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: any_error},
        lifespan=lifespan,
    )
    if len(served) > 1:
        app.add_middleware(_NamespacePrefix, namespaces=served)
    app.add_middleware(Guard, basic_auth=basic_auth, allowed_origins=allowed_origins, allowed_hosts=allowed_hosts)
    return app


def serve(app: ASGIApp, host: str = "127.0.0.1", port: int = 5040, **uvicorn_options: Any) -> None:
    """Serve ``app`` with uvicorn (on the loopback interface unless ``host`` says otherwise)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, **uvicorn_options)
