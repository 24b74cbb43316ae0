"""Differential test: our web app against upstream's workwebui (gocraft/work v0.5.1) on
the same Redis state — each route's status and JSON body, and for the POST routes the
Redis contents they leave behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from gowork_compat.webui import create_app
from tests.conftest import free_port
from tests.interop.harness import Harness
from tests.interop.test_client_interop import busy_state, contents, restore, snapshot

pytestmark = pytest.mark.interop


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Our app under uvicorn on a free loopback port, in a thread."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def both_servers(harness: Harness, redis_url: str, ns: str) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    port = free_port()
    with harness.start_webui(port), serving(create_app(redis_url, ns)) as ours:
        go_http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        py_http = httpx.Client(base_url=ours, timeout=10)
        deadline = time.monotonic() + 15
        while True:
            try:
                go_http.get("/queues")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "workwebui did not come up"
                time.sleep(0.05)
        try:
            yield go_http, py_http
        finally:
            go_http.close()
            py_http.close()


GET_ROUTES = ["/queues", "/worker_pools", "/busy_workers", "/retry_jobs", "/retry_jobs?page=2",
              "/scheduled_jobs", "/scheduled_jobs?page=2", "/scheduled_jobs?page=0", "/dead_jobs",
              "/dead_jobs?page=1&page=2"]
#: routes whose body moves with the clock (latency, heartbeat_at): compared as JSON, settled
MOVING = {"/queues", "/worker_pools"}


def test_get_routes_match_workwebui(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    with busy_state(harness, redis_url, ns, r), both_servers(harness, redis_url, ns) as (go_http, py_http):
        for route in GET_ROUTES:
            for _ in range(6):
                before = py_http.get(route)
                go = go_http.get(route)
                after = py_http.get(route)
                if go.content in (before.content, after.content):
                    break
                time.sleep(0.3)
            assert go.status_code == after.status_code == 200, route
            assert after.headers["content-type"] == go.headers["content-type"], route
            assert go.content in (before.content, after.content), (route, go.text, after.text)
        busy = go_http.get("/busy_workers").json()
        assert sorted(w["job_name"] for w in busy) == ["g_sleep", "py_sleep"]


def test_empty_namespace_routes_match(harness: Harness, redis_url: str, ns: str) -> None:
    with both_servers(harness, redis_url, ns) as (go_http, py_http):
        for route in GET_ROUTES:
            go, py = go_http.get(route), py_http.get(route)
            assert (go.status_code, go.content) == (py.status_code, py.content), route
        assert py_http.get("/busy_workers").content == b"null"


def post_both(go_http: httpx.Client, py_http: httpx.Client, r: redis.Redis, ns: str,
              snap: dict[bytes, tuple[bytes, int]], route: str) -> tuple[httpx.Response, httpx.Response]:
    """POST ``route`` to each server from the same snapshot, within one clock second each
    (requeued jobs carry the time); assert both leave the same Redis contents."""
    for _ in range(6):
        restore(r, ns, snap)
        t_go = int(time.time())
        go = go_http.post(route)
        go_after = contents(r, ns)
        restore(r, ns, snap)
        t_py = int(time.time())
        py = py_http.post(route)
        py_after = contents(r, ns)
        if t_go == t_py == int(time.time()):
            break
    assert py_after == go_after, route
    return go, py


def test_post_routes_match_workwebui(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    with busy_state(harness, redis_url, ns, r):
        pass
    with both_servers(harness, redis_url, ns) as (go_http, py_http):
        dead = go_http.get("/dead_jobs").json()["jobs"]
        d = dead[0]
        snap = snapshot(r, ns)
        ok_routes = [f"/delete_dead_job/{d['died_at']}/{d['id']}",
                     f"/retry_dead_job/{d['died_at']}/{d['id']}",
                     "/retry_all_dead_jobs", "/delete_all_dead_jobs"]
        for route in ok_routes:
            go, py = post_both(go_http, py_http, r, ns, snap, route)
            assert go.status_code == py.status_code == 200, route
            assert go.content == py.content == b'{\n\t"status": "ok"\n}', route
        # nothing there: upstream answers 500 with Go's error text; we answer 404, same text
        for route, text in ((f"/delete_dead_job/{d['died_at']}/nope", "nothing deleted"),
                            (f"/retry_dead_job/{d['died_at']}/nope", "nothing retried")):
            go, py = post_both(go_http, py_http, r, ns, snap, route)
            assert go.status_code == 500 and py.status_code == 404
            assert go.json() == py.json() == {"error": text}
