"""Several namespaces in one web UI: ``/ns/<name>/`` serves each (``/`` the first), the
page switches between them, and ``gowork webui --namespaces`` serves them."""

from __future__ import annotations

import subprocess
import sys

import httpx
import redis

from gowork_compat.keys import Keys
from gowork_compat.webui import create_app
from tests.test_cli import ROOT, clean_env, free_port, wait_for
from tests.test_webui import TestClient, job


def test_each_namespace_under_its_prefix(redis_url: str, ns: str, r: redis.Redis) -> None:
    a, b, tagged = ns + "-a", ns + "-b", "{" + ns + "}:x/y"
    for name in (a, b, tagged):
        r.sadd(Keys(name).known_jobs, "job_of_" + name)
    r.lpush(Keys(b).jobs("job_of_" + b), job("job_of_" + b, "b1").encode())
    with TestClient(create_app(redis_url, a, namespaces=[b, tagged])) as c:
        assert [q["job_name"] for q in c.get("/queues").json()] == ["job_of_" + a]
        assert [q["job_name"] for q in c.get(f"/ns/{a}/queues").json()] == ["job_of_" + a]
        assert [q["job_name"] for q in c.get(f"/ns/{b}/queues").json()] == ["job_of_" + b]
        assert [q["job_name"] for q in c.get(f"/ns/{tagged}/queues").json()] == ["job_of_" + tagged]
        assert c.get(f"/ns/{b}/info").json()["namespace"] == b
        assert c.get("/info").json()["namespaces"] == [a, b, tagged]
        assert c.get(f"/ns/{b}/queued_jobs/job_of_{b}").json()["jobs"][0]["id"] == "b1"
        assert c.post(f"/ns/{b}/delete_queued_job/b1/job_of_{b}").json() == {"status": "ok"}
        assert r.llen(Keys(b).jobs("job_of_" + b)) == 0
        page = c.get(f"/ns/{b}/")
        assert page.status_code == 200 and 'id="ns-switch"' in page.text
        assert c.get(f"/ns/{b}/static/app.js").status_code == 200
        moved = c.get(f"/ns/{b}", follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == f"/ns/{b}/"
        assert c.get("/ns/elsewhere/queues").json() == {"error": "no such namespace served here"}
    with TestClient(create_app(redis_url, a)) as c:  # one namespace: no prefixes
        assert c.get(f"/ns/{a}/queues").status_code == 404
        assert c.get("/info").json()["namespaces"] == [a]


def test_cli_serves_several_namespaces(redis_url: str, ns: str, r: redis.Redis) -> None:
    r.sadd(Keys(ns + "-2").known_jobs, "second")
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "--redis", redis_url, "-n", ns, "webui",
                          "--port", str(port), "--namespaces", f"{ns}-2, {ns}-3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=ROOT)
    try:
        def up() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/ns/{ns}-2/queues", timeout=2)
            except httpx.TransportError:
                return None
        resp = wait_for(up, what="the web UI")
        assert [q["job_name"] for q in resp.json()] == ["second"]
        info = httpx.get(f"http://127.0.0.1:{port}/info", timeout=2).json()
        assert info["namespaces"] == [ns, ns + "-2", ns + "-3"]
    finally:
        p.terminate()
        out, _ = p.communicate(timeout=20)
    assert f"/ns/{ns}-3/" in out
