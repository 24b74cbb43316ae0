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
``POST /delete_scheduled_job/{scheduled_for}/{job_id}``; ``GET /`` serves our own page
(``static/``).

Errors are ``{"error": "..."}`` like upstream's, but with a fitting status where upstream
always answers 500: 400 for a bad page number or a non-integer time in the path (with Go's
``strconv`` message), 404 for an unknown route or a job that is not there (Go's ``nothing
deleted`` / ``nothing retried``), 409 when a dead job's name is unknown (not retried),
405 for a wrong method, 503 when Redis cannot be reached, 500 (no trace) otherwise.

Safe by default: POSTs whose ``Sec-Fetch-Site``, ``Origin`` or ``Referer`` shows another
site get 403 (requests carrying none of them, like curl's, are not browser-driven and are
let through); ``basic_auth=(user, password)`` requires HTTP basic auth on every route.
:func:`serve` binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import gojson
from ._redis import RedisLike
from .client import AsyncClient, JobNotFound, UnknownJobName, job_json, parse_int, parse_uint
from .heartbeat import DEAD_AFTER

__all__ = ["create_app", "go_marshal_indent", "serve"]

log = logging.getLogger("gowork_compat.webui")

STATIC_DIR = Path(__file__).with_name("static")
JSON_TYPE = "application/json; charset=utf-8"
#: values of these keys are Go maps (keys sorted), everything else in a view is a struct
_MAP_FIELDS = frozenset({"args", "lock_info"})
#: larger page numbers would overflow Redis' LIMIT offset
MAX_PAGE = 1 << 40


# -- Go's JSON output --------------------------------------------------------------------
def _compact(value: Any, as_map: bool = False) -> bytes:
    if isinstance(value, dict) and not as_map:
        parts = [gojson.dumps(str(k)) + b":" + _compact(v, k in _MAP_FIELDS) for k, v in value.items()]
        return b"{" + b",".join(parts) + b"}"
    if isinstance(value, (list, tuple)) and not as_map:
        return b"[" + b",".join(_compact(v) for v in value) + b"]"
    return gojson.dumps(value)


def _indent(compact: bytes) -> bytes:
    """Go's ``json.Indent(dst, src, "", "\\t")`` of compact JSON."""
    out = bytearray()
    depth = 0
    need_indent = False
    in_string = False
    escaped = False
    for byte in compact:
        c = bytes((byte,))
        if in_string:
            out += c
            if escaped:
                escaped = False
            elif c == b"\\":
                escaped = True
            elif c == b'"':
                in_string = False
            continue
        if need_indent and c not in (b"]", b"}"):
            need_indent = False
            out += b"\n" + b"\t" * depth
        if c == b'"':
            in_string = True
            out += c
        elif c in (b"{", b"["):
            out += c
            depth += 1
            need_indent = True
        elif c == b",":
            out += b",\n" + b"\t" * depth
        elif c == b":":
            out += b": "
        elif c in (b"}", b"]"):
            depth -= 1
            if need_indent:
                need_indent = False  # empty: "{}" / "[]"
            else:
                out += b"\n" + b"\t" * depth
            out += c
        else:
            out += c
    return bytes(out)


def go_marshal_indent(value: Any) -> bytes:
    """What Go's ``json.MarshalIndent(v, "", "\\t")`` writes for a view's ``to_json()``
    (objects are structs in field order, except ``args`` / ``lock_info``, which are maps)."""
    return _indent(_compact(value))


def _json(value: Any, status: int = 200) -> Response:
    return Response(go_marshal_indent(value), status_code=status, media_type=None,
                    headers={"content-type": JSON_TYPE})


def _error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    body = b'{"error": ' + gojson.dumps(message) + b"}"
    return Response(body, status_code=status, headers={"content-type": JSON_TYPE, **(headers or {})})


_OK = {"status": "ok"}


# -- security middleware ---------------------------------------------------------------------
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: on every response: no framing (clickjacking), no sniffing, only our own assets
_SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none';"
     b" form-action 'self'"),
]


class _Guard:
    """Basic auth (when configured) and refusal of cross-site state-changing requests."""

    def __init__(self, app: ASGIApp, basic_auth: tuple[str, str] | None,
                 allowed_origins: Sequence[str]) -> None:
        self.app = app
        self.expected: bytes | None = None
        if basic_auth is not None:
            user, password = basic_auth
            self.expected = base64.b64encode(f"{user}:{password}".encode()).strip()
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_SECURITY_HEADERS]}
            await send(message)

        await self._guarded(scope, receive, secured)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.expected is not None and not self._authorized(headers.get("authorization", "")):
            resp = _error("authentication required", 401,
                          {"www-authenticate": 'Basic realm="gowork", charset="UTF-8"'})
            await resp(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS:
            problem = self._cross_site(headers)
            if problem:
                await _error(f"cross-site request refused: {problem}", 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _authorized(self, header: str) -> bool:
        assert self.expected is not None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(token.strip().encode("latin-1", "replace"), self.expected)

    def _cross_site(self, headers: dict[str, str]) -> str:
        """Why this request looks cross-site ("" when it does not)."""
        host = headers.get("host", "").lower()
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() in self.allowed:
            return ""
        site = headers.get("sec-fetch-site")
        if site is not None and site.lower() not in ("same-origin", "none"):
            return f"Sec-Fetch-Site is {site}"
        if origin is not None:
            if origin == "null" or urlsplit(origin).netloc.lower() != host:
                return f"Origin {origin} is not this host"
            return ""
        referer = headers.get("referer")
        if referer is not None:
            ref_origin = "{0.scheme}://{0.netloc}".format(urlsplit(referer)).lower()
            if ref_origin in self.allowed:
                return ""
            if urlsplit(referer).netloc.lower() != host:
                return "Referer is another site"
        return ""


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
    dead_after: int = DEAD_AFTER,
) -> Starlette:
    """The web UI and JSON API for ``namespace``.

    ``redis``: a URL, ``redis.Redis`` or ``redis.asyncio.Redis`` (an asyncio client is used
    as given and must belong to the serving event loop; otherwise one is made per loop).
    ``basic_auth``: require these credentials. ``allowed_origins``: other origins (e.g.
    ``"https://admin.example.com"``) whose pages may POST here.
    """
    clients: dict[int, AsyncClient] = {}
    given = redis if isinstance(redis, aredis.Redis) else None

    def client() -> AsyncClient:
        if given is not None:
            if not clients:
                clients[0] = AsyncClient(given, namespace, dead_after=dead_after)
            return clients[0]
        loop_id = id(asyncio.get_running_loop())
        found = clients.get(loop_id)
        if found is None:
            found = clients[loop_id] = AsyncClient(redis, namespace, dead_after=dead_after)
        return found

    def endpoint(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await fn(request, client())
            except UnknownJobName as exc:
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
        djobs, count = await c.dead_jobs(_page_of(request))
        return _json({"count": count, "jobs": [j.to_json() for j in djobs]})

    async def delete_dead_job(request: Request, c: AsyncClient) -> Response:
        await c.delete_dead_job(_time_of(request, "died_at"), request.path_params["job_id"])
        return _json(_OK)

    async def retry_dead_job(request: Request, c: AsyncClient) -> Response:
        await c.retry_dead_job(_time_of(request, "died_at"), request.path_params["job_id"])
        return _json(_OK)

    async def delete_all_dead_jobs(request: Request, c: AsyncClient) -> Response:
        await c.delete_all_dead_jobs()
        return _json(_OK)

    async def retry_all_dead_jobs(request: Request, c: AsyncClient) -> Response:
        await c.retry_all_dead_jobs()
        return _json(_OK)

    # beyond Go
    async def delete_retry_job(request: Request, c: AsyncClient) -> Response:
        await c.delete_retry_job(_time_of(request, "retry_at"), request.path_params["job_id"])
        return _json(_OK)

    async def delete_scheduled_job(request: Request, c: AsyncClient) -> Response:
        await c.delete_scheduled_job(_time_of(request, "scheduled_for"), request.path_params["job_id"])
        return _json(_OK)

    async def pause(request: Request, c: AsyncClient) -> Response:
        await c.pause(request.path_params["job_name"])
        return _json(_OK)

    async def unpause(request: Request, c: AsyncClient) -> Response:
        await c.unpause(request.path_params["job_name"])
        return _json(_OK)

    async def locks(request: Request, c: AsyncClient) -> Response:
        return _json([lk.to_json() for lk in await c.locks()])

    async def queued_jobs(request: Request, c: AsyncClient) -> Response:
        qjobs, count = await c.queued_jobs(request.path_params["job_name"], _page_of(request))
        return _json({"count": count, "jobs": [job_json(j) for j in qjobs]})

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
        post("/delete_dead_job/{died_at}/{job_id}", delete_dead_job),
        post("/retry_dead_job/{died_at}/{job_id}", retry_dead_job),
        post("/delete_all_dead_jobs", delete_all_dead_jobs),
        post("/retry_all_dead_jobs", retry_all_dead_jobs),
        post("/delete_retry_job/{retry_at}/{job_id}", delete_retry_job),
        post("/delete_scheduled_job/{scheduled_for}/{job_id}", delete_scheduled_job),
        post("/pause/{job_name:path}", pause),
        post("/unpause/{job_name:path}", unpause),
        get("/locks", locks),
        get("/queued_jobs/{job_name:path}", queued_jobs),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: any_error},
        lifespan=lifespan,
    )
    app.add_middleware(_Guard, basic_auth=basic_auth, allowed_origins=allowed_origins)
    return app


def serve(app: ASGIApp, host: str = "127.0.0.1", port: int = 5040, **uvicorn_options: Any) -> None:
    """Serve ``app`` with uvicorn (on the loopback interface unless ``host`` says otherwise)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, **uvicorn_options)
