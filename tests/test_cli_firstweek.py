"""The CLI items of issue 11: streaming bulk with in/unique/unique_key, --allow-big-ints,
reset-lock and negative locks, the web UI's own exit code for a taken port, the master
by-key duplicate message, Go's bytes from enqueue and inspect, db-number URLs, scoped log
levels and the worker's "started" line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

from gowork_compat import Enqueuer, Job
from gowork_compat.keys import Keys

from .test_cli import ROOT, clean_env, one_error_line, read_line, run

GW = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def gw(redis_url: str, ns: str) -> GW:
    """Run gowork with --redis and --namespace of this test."""
    def call(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run("--redis", redis_url, "-n", ns, *args, **kwargs)
    return call


def test_bulk_stdin_is_sent_as_it_arrives(r: redis.Redis, ns: str, redis_url: str) -> None:
    p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "--redis", redis_url, "-n", ns, "bulk", "-",
                          "--progress"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=clean_env(), cwd=ROOT)
    assert p.stdin is not None
    try:
        p.stdin.write(b'{"name": "early", "args": {"i": 1}}\n{"name": "early", "args": {"i": 2}}\n')
        p.stdin.flush()
        deadline = time.monotonic() + 20
        while r.llen(f"{ns}:jobs:early") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert r.llen(f"{ns}:jobs:early") == 2, "the first lines were not sent while stdin stayed open"
        p.stdin.write(b'{"name": "late", "args": null}\n')
        p.stdin.close()
        assert p.stdout is not None and p.stderr is not None
        p.wait(30)
        out, err = p.stdout.read(), p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 0, err
    assert out.startswith(b"enqueued 3 jobs in ") and b"early 2, late 1" in out
    assert err.endswith(b"3 jobs sent\n")


def test_bulk_lines_with_in_unique_and_unique_key(gw: GW, r: redis.Redis, ns: str) -> None:
    lines = [
        {"name": "plain", "args": {"i": 1}},
        {"name": "later", "args": {"i": 2}, "in": 300},
        {"name": "once", "args": {"a": 1}, "unique": True},
        {"name": "once", "args": {"a": 1}, "unique": True},
        {"name": "bykey", "args": {"v": 1}, "unique_key": {"k": 1}},
        {"name": "soon_once", "args": {"a": 2}, "in": 60, "unique": True},
    ]
    p = gw("bulk", "-", stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert p.returncode == 0, p.stderr
    assert "enqueued 5 jobs" in p.stdout and "1 duplicate not enqueued" in p.stdout
    k = Keys(ns)
    assert r.llen(k.jobs("plain")) == 1 and r.llen(k.jobs("once")) == 1 and r.llen(k.jobs("bykey")) == 1
    (once_raw,) = r.lrange(k.jobs("once"), 0, -1)
    assert Job.decode(once_raw).unique
    scheduled = {Job.decode(m).name: (Job.decode(m), int(s)) for m, s in r.zrange(k.scheduled, 0, -1, withscores=True)}
    later, at = scheduled["later"]
    assert at == later.enqueued_at + 300 and scheduled["soon_once"][0].unique
    (bykey_raw,) = r.lrange(k.jobs("bykey"), 0, -1)
    assert Job.decode(bykey_raw).unique_key.startswith(f"{ns}:unique:bykey:")


def test_bulk_stdin_stops_at_a_bad_line_after_sending_the_lines_before(gw: GW, r: redis.Redis, ns: str) -> None:
    text = '{"name": "ok", "args": {"i": 1}}\n{"name": "ok", "in": "soon"}\n{"name": "ok", "args": {"i": 3}}\n'
    p = gw("bulk", "-", stdin=text)
    assert p.returncode == 2
    assert p.stderr.splitlines()[0].startswith('stdin:2: "in" must be a number of seconds')
    assert "bad line 2 in stdin: stopped there; the 1 job of the lines before it were enqueued" in p.stderr
    assert r.llen(f"{ns}:jobs:ok") == 1


def test_allow_big_ints_is_the_flag_the_error_names(gw: GW, r: redis.Redis, ns: str, tmp_path: Path) -> None:
    big = '{"id": 9007199254740993}'
    one_error_line(gw("enqueue", "big", "--args", big), 2, "--allow-big-ints")
    p = gw("enqueue", "big", "--args", big, "--allow-big-ints")
    assert p.returncode == 0, p.stderr
    assert json.loads(r.lindex(f"{ns}:jobs:big", 0) or b"")["args"]["id"] == 9007199254740993
    f = tmp_path / "big.jsonl"
    f.write_text('{"name": "big", "args": ' + big + "}\n")
    p = gw("bulk", str(f))
    assert p.returncode == 2 and "--allow-big-ints" in p.stderr and "allow_big_ints=True" not in p.stderr
    assert gw("bulk", str(f), "--allow-big-ints").returncode == 0
    assert r.llen(f"{ns}:jobs:big") == 2


def test_reset_lock_and_negative_locks_in_inspect(gw: GW, r: redis.Redis, ns: str) -> None:
    k = Keys(ns)
    assert gw("enqueue", "capped").returncode == 0
    r.set(k.lock("capped"), -2)
    p = gw("inspect", "queues")
    assert p.returncode == 0, p.stderr
    assert "-2 !!" in p.stdout
    assert "problem: the lock count of capped is -2, below 0" in p.stdout and "gowork reset-lock capped" in p.stdout
    p = gw("reset-lock", "capped")
    assert p.returncode == 0, p.stderr
    assert "reset the lock of capped: -2 -> 0" in p.stdout
    assert int(r.get(k.lock("capped")) or 0) == 0
    assert "problem" not in gw("inspect", "queues").stdout


def test_webui_on_a_taken_port_has_its_own_exit_code(gw: GW) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = gw("webui", "--port", str(port), timeout=60)
    one_error_line(p, 4, f"cannot listen on 127.0.0.1:{port}", "port is taken", "--port")
    assert "4 the web UI (or a metrics server) cannot listen" in run("--help").stdout


def test_master_by_key_duplicate_says_the_args_were_replaced(gw: GW, r: redis.Redis, ns: str) -> None:
    first = gw("enqueue", "sync", "--dialect", "master", "--args", '{"v": 1}', "--unique-key", '{"a": 1}')
    assert first.returncode == 0, first.stderr
    dup = gw("enqueue", "sync", "--dialect", "master", "--args", '{"v": 2}', "--unique-key", '{"a": 1}')
    assert dup.returncode == 3
    assert "args were replaced by these" in dup.stderr and "duplicate: not enqueued" not in dup.stderr
    stored = r.get(json.loads(first.stdout)["unique_key"])
    assert stored is not None and Job.decode(stored).args == {"v": 2}


def test_enqueue_prints_the_job_as_stored(gw: GW, r: redis.Redis, ns: str) -> None:
    p = gw("enqueue", "html", "--args", '{"html": "<b>&</b>", "x": 1.0, "big": 1e21}')
    assert p.returncode == 0, p.stderr
    assert p.stdout.rstrip("\n").encode() == r.lindex(f"{ns}:jobs:html", 0)
    assert "\\u003cb\\u003e\\u0026" in p.stdout
    p = gw("enqueue", "later", "--in", "60", "--args", '{"a": "<"}')
    (member, score), = r.zrange(f"{ns}:scheduled", 0, -1, withscores=True)
    assert p.stdout.rstrip("\n") == '{"run_at":' + str(int(score)) + "," + member.decode()[1:]


def test_inspect_prints_args_as_go_does_everywhere(gw: GW, r: redis.Redis, ns: str, redis_url: str) -> None:
    with Enqueuer(redis_url, ns) as enq:
        enq.enqueue_in("sched", 300, {"html": "<i>", "n": 1})
    go_bytes = '{"html":"\\u003ci\\u003e","n":1}'
    p = gw("inspect", "scheduled", "--wide")
    assert go_bytes in p.stdout, p.stdout


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/abc", "redis://127.0.0.1:6379/1x", "unix:///tmp/s?db=x"])
def test_a_redis_url_with_a_bad_db_is_an_error(url: str) -> None:
    one_error_line(run("--redis", url, "-n", "x", "inspect"), 2, "database", "must be a number")


APP = """
import logging, os
from gowork_compat import WorkerPool

pool = WorkerPool(os.environ["REDIS_URL"], os.environ["GOWORK_NAMESPACE"], concurrency=1)

def first(job):
    print("ran", job.id, flush=True)
    logging.getLogger("asyncio").debug("ASYNCIO-NOISE")
    logging.getLogger("myapp").info("APP-INFO")
    logging.getLogger("gowork_compat.test").debug("LIB-DEBUG")

pool.job("first", first)
"""


@pytest.mark.parametrize("extra", [[], ["--log-level-all", "debug"]], ids=["scoped", "all"])
def test_worker_started_line_comes_first_and_log_level_is_scoped(r: redis.Redis, ns: str, redis_url: str,
                                                                 tmp_path: Path, extra: list[str]) -> None:
    (tmp_path / "fwapp.py").write_text(textwrap.dedent(APP))
    with Enqueuer(redis_url, ns) as enq:
        job = enq.enqueue("first", {})  # waiting before the worker starts
    env = clean_env(PYTHONPATH=str(tmp_path), REDIS_URL=redis_url, GOWORK_NAMESPACE=ns)
    p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "worker", "fwapp:pool", "--log-level", "debug",
                          *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        first, second = read_line(p), read_line(p)
        assert "started" in first, (first, second)
        assert second.split() == ["ran", job.id]
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "LIB-DEBUG" in err and "APP-INFO" in err
    assert ("ASYNCIO-NOISE" in err) == bool(extra)


