"""The web UI app through httpx (Starlette's TestClient) against a real redis-server.
Parity with upstream's workwebui is in tests/interop/test_webui_interop.py."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from starlette.applications import Starlette

from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.webui import create_app, go_marshal_indent

NOW = int(time.time())


def job(name: str, jid: str, **extra: Any) -> Job:
    return Job(name=name, id=jid, enqueued_at=NOW - 50, args={"to": "<a@b>"}, **extra)


class TestClient:
    """A blocking httpx client for an ASGI app (its own event loop; runs the app's lifespan)."""

    __test__ = False

    def __init__(self, app: Starlette) -> None:
        self.loop = asyncio.new_event_loop()
        self.lifespan = app.router.lifespan_context(app)
        self.loop.run_until_complete(self.lifespan.__aenter__())
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://localhost")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.http.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def __enter__(self) -> TestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.lifespan.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture
def app_client(redis_url: str, ns: str) -> Iterator[TestClient]:
    with TestClient(create_app(redis_url, ns)) as c:
        yield c


@pytest.fixture
def state(r: redis.Redis, ns: str) -> Keys:
    k = Keys(ns)
    r.sadd(k.known_jobs, "mail", "sms")
    r.lpush(k.jobs("mail"), job("mail", "q1").encode())
    r.zadd(k.dead, {job("mail", "d1", fails=1, last_err="boom", failed_at=NOW - 9).encode(): NOW - 9})
    r.zadd(k.retry, {job("sms", "r1", fails=1, last_err="x", failed_at=NOW).encode(): NOW + 60})
    r.zadd(k.scheduled, {job("sms", "s1").encode(): NOW + 600})
    r.sadd(k.worker_pools, "pool1")
    r.hset(k.heartbeat("pool1"), mapping={"heartbeat_at": NOW, "started_at": NOW - 10,
                                          "job_names": "mail,sms", "concurrency": 2, "host": "h", "pid": 9,
                                          "worker_ids": "w1,w2"})
    r.hset(k.worker_observation("w2"), mapping={"job_name": "sms", "job_id": "x", "started_at": NOW,
                                                "args": "{}"})
    return k


def test_go_marshal_indent_layout() -> None:
    assert go_marshal_indent({"count": 0, "jobs": []}) == b'{\n\t"count": 0,\n\t"jobs": []\n}'
    assert go_marshal_indent(None) == b"null"
    got = go_marshal_indent([{"died_at": 1, "args": {"b": "<", "a": {}}, "x": [1, "]"]}])
    assert got == (b'[\n\t{\n\t\t"died_at": 1,\n\t\t"args": {\n\t\t\t"a": {},\n\t\t\t"b": "\\u003c"\n\t\t},'
                   b'\n\t\t"x": [\n\t\t\t1,\n\t\t\t"]"\n\t\t]\n\t}\n]')


def test_get_routes(app_client: TestClient, state: Keys) -> None:
    resp = app_client.get("/queues")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    expected_latency = int(time.time()) - (NOW - 50)  # NOW is fixed at import time
    assert resp.json() == [{"job_name": "mail", "count": 1, "latency": pytest.approx(expected_latency, abs=2)},
                           {"job_name": "sms", "count": 0, "latency": 0}]
    assert resp.content.startswith(b'[\n\t{\n\t\t"job_name": "mail",')
    pools = app_client.get("/worker_pools").json()
    assert pools[0]["worker_pool_id"] == "pool1" and pools[0]["worker_ids"] == ["w1", "w2"]
    busy = app_client.get("/busy_workers").json()
    assert [w["worker_id"] for w in busy] == ["w2"]
    dead = app_client.get("/dead_jobs").json()
    assert dead == {"count": 1, "jobs": [{"died_at": NOW - 9, "name": "mail", "id": "d1", "t": NOW - 50,
                                          "args": {"to": "<a@b>"}, "fails": 1, "err": "boom",
                                          "failed_at": NOW - 9}]}
    assert app_client.get("/retry_jobs?page=1").json()["jobs"][0]["retry_at"] == NOW + 60
    assert app_client.get("/scheduled_jobs?page=").json()["jobs"][0]["run_at"] == NOW + 600
    assert app_client.get("/scheduled_jobs?page=2").json() == {"count": 1, "jobs": []}
    assert app_client.get("/scheduled_jobs?page=0").json()["count"] == 1
    locks = app_client.get("/locks").json()
    assert [lk["job_name"] for lk in locks] == ["mail", "sms"]
    queued = app_client.get("/queued_jobs/mail").json()
    assert queued["count"] == 1 and queued["jobs"][0]["id"] == "q1"


def test_busy_workers_null_when_idle(app_client: TestClient) -> None:
    resp = app_client.get("/busy_workers")
    assert resp.status_code == 200 and resp.content == b"null"
    assert app_client.get("/queues").content == b"[]"


def test_post_routes(app_client: TestClient, state: Keys, r: redis.Redis) -> None:
    ok = {"status": "ok"}
    resp = app_client.post(f"/retry_dead_job/{NOW - 9}/d1")
    assert resp.status_code == 200 and resp.json() == ok
    assert resp.content == b'{\n\t"status": "ok"\n}'
    assert r.llen(state.jobs("mail")) == 2 and r.zcard(state.dead) == 0
    r.zadd(state.dead, {job("mail", "d2").encode(): NOW - 5})
    assert app_client.post(f"/delete_dead_job/{NOW - 5}/d2").json() == ok
    r.zadd(state.dead, {job("mail", "d3").encode(): NOW - 5})
    assert app_client.post("/retry_all_dead_jobs").json() == ok
    assert r.llen(state.jobs("mail")) == 3
    r.zadd(state.dead, {job("mail", "d4").encode(): NOW - 5})
    assert app_client.post("/delete_all_dead_jobs").json() == ok
    assert r.exists(state.dead) == 0
    assert app_client.post(f"/delete_retry_job/{NOW + 60}/r1").json() == ok
    assert app_client.post(f"/delete_scheduled_job/{NOW + 600}/s1").json() == ok
    assert app_client.post("/pause/mail").json() == ok
    assert r.get(state.paused("mail")) == b"1"
    assert app_client.get("/locks").json()[0]["paused"] is True
    assert app_client.post("/unpause/mail").json() == ok
    assert not r.exists(state.paused("mail"))


def test_not_found_jobs(app_client: TestClient, state: Keys, r: redis.Redis) -> None:
    resp = app_client.post(f"/delete_dead_job/{NOW}/nope")
    assert resp.status_code == 404 and resp.json() == {"error": "nothing deleted"}
    resp = app_client.post(f"/retry_dead_job/{NOW}/nope")
    assert resp.status_code == 404 and resp.json() == {"error": "nothing retried"}
    r.zadd(state.dead, {job("stranger", "s").encode(): NOW - 1})
    resp = app_client.post(f"/retry_dead_job/{NOW - 1}/s")
    assert resp.status_code == 409 and resp.json() == {"error": "nothing retried"}


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/dead_jobs?page=abc", 400),
    ("GET", "/dead_jobs?page=-1", 400),
    ("GET", "/retry_jobs?page=1.5", 400),
    ("GET", "/scheduled_jobs?page=99999999999999999999999", 400),
    ("GET", "/queued_jobs/mail?page=x", 400),
    ("POST", "/delete_dead_job/12x/abc", 400),
    ("POST", "/retry_dead_job/abc/abc", 400),
    ("POST", "/delete_retry_job/99999999999999999999/abc", 400),
    ("GET", "/nowhere", 404),
    ("POST", "/delete_dead_job/12", 404),
    ("GET", "/retry_all_dead_jobs", 405),
    ("POST", "/queues", 405),
])
def test_bad_requests_get_json_errors(app_client: TestClient, method: str, path: str, status: int) -> None:
    resp = app_client.request(method, path)
    assert resp.status_code == status
    assert resp.headers["content-type"].startswith("application/json")
    assert isinstance(resp.json()["error"], str) and resp.json()["error"]


def test_an_unreadable_member_is_a_row_not_a_500(app_client: TestClient, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.zadd(k.dead, {job("a", "j1").encode(): 4, b"[1,2]": 5, b"\xff\x00": 6, job("b", "j2").encode(): 7})
    resp = app_client.get("/dead_jobs")
    assert resp.status_code == 200
    rows = resp.json()["jobs"]
    assert [x.get("id") for x in rows] == ["j1", None, None, "j2"]
    bad = rows[1]
    assert bad["unreadable"] is True and bad["raw"] == "[1,2]" and bad["score"] == "5" and bad["error"]
    assert base64.b64decode(rows[2]["raw_base64"]) == b"\xff\x00"
    # deleted by its bytes; its neighbours stay
    for row in rows[1:3]:
        ok = app_client.post("/delete_unreadable/dead", json={"raw_base64": row["raw_base64"]})
        assert ok.status_code == 200, ok.text
    again = app_client.post("/delete_unreadable/dead", json={"raw_base64": rows[1]["raw_base64"]})
    assert again.status_code == 404 and again.json() == {"error": "nothing deleted"}
    assert [x["id"] for x in app_client.get("/dead_jobs").json()["jobs"]] == ["j1", "j2"]


def test_unreadable_in_a_queue_page(app_client: TestClient, r: redis.Redis, ns: str) -> None:
    r.lpush(Keys(ns).jobs("q"), job("q", "ok").encode(), b"{")
    rows = app_client.get("/queued_jobs/q").json()["jobs"]
    assert rows[0]["id"] == "ok" and rows[1]["unreadable"] is True and rows[1]["job_name"] == "q"
    bad = app_client.post("/delete_unreadable/queue", json={"raw_base64": rows[1]["raw_base64"]})
    assert bad.status_code == 400  # a queue needs its job name
    ok = app_client.post("/delete_unreadable/queue", json={"raw_base64": rows[1]["raw_base64"], "job_name": "q"})
    assert ok.status_code == 200 and r.llen(Keys(ns).jobs("q")) == 1
    assert app_client.post("/delete_unreadable/dead", content=b"nope").status_code == 400


def test_redis_down_is_503(ns: str) -> None:
    from tests.conftest import free_port

    app = create_app(f"redis://127.0.0.1:{free_port()}/0", ns)
    with TestClient(app) as c:
        resp = c.get("/queues")
    assert resp.status_code == 503 and "redis unavailable" in resp.json()["error"]


@pytest.mark.parametrize("path", ["/dead_jobs?page=" + "9" * 5000, "/queued_jobs/q?page=" + "1" * 4400,
                                  "/delete_dead_job/" + "7" * 6000 + "/abc"])
def test_thousands_of_digits_get_a_clear_400(app_client: TestClient, path: str) -> None:
    resp = app_client.request("POST" if "delete" in path else "GET", path)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert "value out of range" in error and "characters)" in error
    assert "4300" not in error and "sys.set_int_max_str_digits" not in error and len(error) < 150


# -- DNS rebinding: the Host allow-list -------------------------------------------------------
@pytest.mark.parametrize("host", ["localhost", "localhost:5040", "LOCALHOST.", "127.0.0.1:5040", "[::1]:5040",
                                  "10.1.2.3", "[fe80::1]"])
def test_loopback_names_and_addresses_are_served(app_client: TestClient, host: str) -> None:
    assert app_client.get("/queues", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5040", "localhost.evil.example",
                                  "127.0.0.1.nip.io", "jobs.internal"])
def test_other_host_names_get_421(app_client: TestClient, state: Keys, r: redis.Redis, host: str) -> None:
    """A page of evil.example whose name was rebound to 127.0.0.1 reaches us same-origin
    (Origin and Host agree): only the Host name tells, and it is refused, reads and writes."""
    resp = app_client.get("/dead_jobs", headers={"host": host})
    assert resp.status_code == 421 and "not served here" in resp.json()["error"]
    hdrs = {"host": host, "origin": f"http://{host}", "sec-fetch-site": "same-origin"}
    assert app_client.post("/delete_all_dead_jobs", headers=hdrs).status_code == 421
    assert app_client.get("/", headers={"host": host}).status_code == 421
    assert r.zcard(state.dead) == 1


def test_configured_host_names_and_wildcard(redis_url: str, ns: str) -> None:
    with TestClient(create_app(redis_url, ns, allowed_hosts=["jobs.internal", "Ops.Example.COM:443"])) as c:
        for host in ("jobs.internal", "jobs.internal:8080", "ops.example.com", "localhost"):
            assert c.get("/queues", headers={"host": host}).status_code == 200, host
        assert c.get("/queues", headers={"host": "evil.example"}).status_code == 421
    with TestClient(create_app(redis_url, ns, allowed_hosts=["*"])) as c:
        assert c.get("/queues", headers={"host": "anything.example"}).status_code == 200


def test_missing_host_is_400(redis_url: str, ns: str) -> None:
    from gowork_compat.webguard import Guard

    guard = Guard(create_app(redis_url, ns))
    assert guard.host_problem(None) == "missing Host header"
    assert guard.host_problem("localhost") == ""


# -- dead jobs by filter -----------------------------------------------------------------------
UNKNOWN = "unknown job when requeueing"


def test_dead_jobs_by_filter(app_client: TestClient, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    r.sadd(k.known_jobs, "py_only")
    for i in range(25):
        r.zadd(k.dead, {job("py_only", f"p{i:02d}", fails=1, last_err=UNKNOWN).encode(): NOW - 100 + i})
    r.zadd(k.dead, {job("py_only", "boom", fails=3, last_err="boom").encode(): NOW})
    r.zadd(k.dead, {job("go_only", "g", fails=1, last_err=UNKNOWN).encode(): NOW})
    page2 = app_client.get("/dead_jobs", params={"job_name": "py_only", "error": "unknown job", "page": 2}).json()
    assert page2["count"] == 25 and [j["id"] for j in page2["jobs"]] == [f"p{i}" for i in range(20, 25)]
    assert app_client.get("/dead_jobs", params={"error": "boom"}).json()["count"] == 1
    assert app_client.post("/retry_dead_jobs").status_code == 400  # no filter: use retry_all
    resp = app_client.post("/retry_dead_jobs", params={"job_name": "py_only", "error": UNKNOWN})
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "matched": 25, "done": 25, "unknown_name": 0, "gone": 0, "kept": 0}
    assert r.llen(k.jobs("py_only")) == 25 and r.zcard(k.dead) == 2
    resp = app_client.post("/delete_dead_jobs", params={"error": UNKNOWN})
    assert resp.json() == {"status": "ok", "matched": 1, "done": 1, "unknown_name": 0, "gone": 0, "kept": 0}
    assert [Job.decode(m).id for m in r.zrange(k.dead, 0, -1)] == ["boom"]
    cross = app_client.post("/delete_dead_jobs", params={"error": "boom"}, headers={"origin": "http://evil.example"})
    assert cross.status_code == 403 and r.zcard(k.dead) == 1


# -- cross-site protection -------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"},
    {"origin": "null"},
    {"sec-fetch-site": "cross-site", "origin": "http://evil.example"},
    {"sec-fetch-site": "same-site"},
    {"referer": "http://evil.example/page"},
    {"origin": "http://localhost.evil.example"},
])
def test_cross_site_posts_refused(app_client: TestClient, state: Keys, r: redis.Redis,
                                  headers: dict[str, str]) -> None:
    resp = app_client.post("/delete_all_dead_jobs", headers=headers)
    assert resp.status_code == 403
    assert resp.json()["error"].startswith("cross-site request refused")
    assert r.zcard(state.dead) == 1
    assert app_client.get("/dead_jobs", headers=headers).status_code == 200  # reads are fine


@pytest.mark.parametrize("headers", [
    {},
    {"origin": "http://localhost"},
    {"sec-fetch-site": "same-origin", "origin": "http://localhost"},
    {"referer": "http://localhost/#dead"},
    {"sec-fetch-site": "none"},
])
def test_same_site_posts_allowed(app_client: TestClient, state: Keys, headers: dict[str, str]) -> None:
    assert app_client.post("/delete_all_dead_jobs", headers=headers).status_code == 200


def test_allowed_origins(redis_url: str, ns: str) -> None:
    app = create_app(redis_url, ns, allowed_origins=["https://admin.example.com"])
    with TestClient(app) as c:
        ok = c.post("/delete_all_dead_jobs",
                    headers={"origin": "https://admin.example.com", "sec-fetch-site": "cross-site"})
        assert ok.status_code == 200
        other = c.post("/delete_all_dead_jobs", headers={"origin": "https://other.example.com"})
        assert other.status_code == 403


# -- basic auth ---------------------------------------------------------------------------------
def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth(redis_url: str, ns: str) -> None:
    app = create_app(redis_url, ns, basic_auth=("admin", "s3cret"))
    with TestClient(app) as c:
        for path in ("/", "/queues", "/static/app.js"):
            resp = c.get(path)
            assert resp.status_code == 401
            assert resp.headers["www-authenticate"].startswith('Basic realm="gowork"')
            assert resp.json() == {"error": "authentication required"}
        assert c.get("/queues", headers=basic("admin", "wrong")).status_code == 401
        assert c.get("/queues", headers={"authorization": "Basic !!!"}).status_code == 401
        assert c.get("/queues", headers={"authorization": "Bearer x"}).status_code == 401
        assert c.get("/queues", headers=basic("admin", "s3cret")).status_code == 200
        assert c.post("/delete_all_dead_jobs").status_code == 401  # auth before anything else


# -- the page ------------------------------------------------------------------------------------
def test_page_and_assets(app_client: TestClient) -> None:
    page = app_client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert b"static/app.js" in page.content and b"http" not in page.content.split(b"<body>")[1]
    js = app_client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert b"innerHTML" not in js.content  # job data is rendered with textContent only
    assert app_client.get("/static/app.css").status_code == 200
    for resp in (page, js, app_client.get("/queues"), app_client.post("/x", headers={"origin": "http://e.vil"})):
        assert resp.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
        assert resp.headers["x-content-type-options"] == "nosniff"
    assert app_client.get("/static/../webui.py").status_code == 404


def test_json_route_body_is_valid_json_with_escapes(app_client: TestClient, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    weird = Job(name="n", id="i", enqueued_at=1, args={"s": 'quote " backslash \\ tab \t <&> \u2028 é'})
    r.zadd(k.dead, {weird.encode(): 3})
    resp = app_client.get("/dead_jobs")
    assert json.loads(resp.content)["jobs"][0]["args"] == weird.args
    assert b"\\u003c\\u0026\\u003e" in resp.content and b"\\u2028" in resp.content


def test_serve_binds_loopback_by_default(monkeypatch: pytest.MonkeyPatch, redis_url: str, ns: str) -> None:
    import uvicorn

    from gowork_compat.webui import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    app = create_app(redis_url, ns)
    serve(app)
    assert seen == {"app": app, "host": "127.0.0.1", "port": 5040}
    serve(app, host="0.0.0.0", port=8080, log_level="warning")
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8080 and seen["log_level"] == "warning"


def test_retrying_a_buried_record_is_409_and_leaves_it(app_client: TestClient, r: redis.Redis, ns: str) -> None:
    from gowork_compat.burial import buried_job

    k = Keys(ns)
    r.sadd(k.known_jobs, "p")
    rec = buried_job(b"garbage", "p", "malformed job payload in q: not a job", NOW - 9)
    r.zadd(k.dead, {rec.encode(): NOW - 9})
    resp = app_client.post(f"/retry_dead_job/{NOW - 9}/{rec.id}")
    assert resp.status_code == 409 and "cannot be retried" in resp.json()["error"]
    assert r.zcard(k.dead) == 1

