"""The ``gowork`` CLI, run as a subprocess against the real redis-server fixture."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gowork_compat import Enqueuer, Job, WorkerPool
from gowork_compat.keys import Keys

from .conftest import RedisServer, free_port, until

ROOT = Path(__file__).resolve().parent.parent


def wait_for(pred: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    return until(pred, timeout, what)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GOWORK_NAMESPACE", "GOWORK_WEBUI_AUTH")}
    env.update(extra)
    return env


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gowork_compat", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env if env is not None else clean_env(), cwd=ROOT)


@pytest.fixture
def gw(redis_url: str, ns: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run gowork with --redis and --namespace of this test."""
    def call(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run("--redis", redis_url, "-n", ns, *args, **kwargs)
    return call


def one_error_line(p: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The process failed with ``code`` and said so in one line, without a traceback."""
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("gowork: error: "), p.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def ns_keys(r: redis.Redis, ns: str) -> list[bytes]:
    return sorted(r.scan_iter(match=f"{ns}:*"))


# -- help and version -------------------------------------------------------------------
@pytest.mark.parametrize("cmd", [
    [], ["worker"], ["enqueue"], ["bulk"], ["inspect"], ["dead"], ["dead", "retry"], ["dead", "delete"],
    ["pause"], ["unpause"], ["webui"], ["demo"],
], ids=lambda c: "-".join(c) or "gowork")
def test_help_of_every_subcommand(cmd: list[str]) -> None:
    p = run(*cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("usage: gowork")
    assert "examples:" in p.stdout
    assert p.stderr == ""


def test_version_and_entry_points() -> None:
    p = run("--version")
    assert p.returncode == 0 and p.stdout.startswith("gowork 0.1.0")
    p = subprocess.run([sys.executable, "-m", "gowork_compat.cli", "--version"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("gowork ")
    script = shutil.which("gowork")
    if script is not None:  # the console script of pyproject.toml
        p = subprocess.run([script, "--version"], capture_output=True, text=True)
        assert p.returncode == 0 and p.stdout.startswith("gowork ")


def test_no_subcommand_prints_help_and_fails() -> None:
    p = run()
    assert p.returncode == 2
    assert "COMMAND" in p.stderr and "Traceback" not in p.stderr


def test_usage_errors_are_one_line() -> None:
    one_error_line(run("inspect", "--bogus"), 2, "unrecognized arguments: --bogus")
    one_error_line(run("-n", "x", "inspect", "--page", "zero"), 2, "--page")
    one_error_line(run("-n", "x", "inspect", "nowhere"), 2, "invalid choice")


# -- connection settings ---------------------------------------------------------------------
def test_settings_from_environment_and_after_the_subcommand(redis_url: str, ns: str, r: redis.Redis) -> None:
    p = run("enqueue", "from_env", env=clean_env(REDIS_URL=redis_url, GOWORK_NAMESPACE=ns))
    assert p.returncode == 0, p.stderr
    p = run("enqueue", "after", "--redis", redis_url, "-n", ns)
    assert p.returncode == 0, p.stderr
    assert r.llen(f"{ns}:jobs:from_env") == 1 and r.llen(f"{ns}:jobs:after") == 1
    # the flag beats the environment
    p = run("-n", ns, "enqueue", "flag_wins", env=clean_env(REDIS_URL=redis_url, GOWORK_NAMESPACE=ns + "-other"))
    assert p.returncode == 0 and r.llen(f"{ns}:jobs:flag_wins") == 1


def test_namespace_is_required(redis_url: str) -> None:
    one_error_line(run("--redis", redis_url, "inspect"), 2, "namespace", "GOWORK_NAMESPACE")


def test_bad_redis_url() -> None:
    one_error_line(run("--redis", "http://localhost:6379", "-n", "x", "inspect"), 2, "redis://", "unix://")
    one_error_line(run("--redis", "redis://localhost:notaport/0", "-n", "x", "inspect"), 2, "bad Redis URL")


def test_password_is_not_shown(redis_url: str, ns: str) -> None:
    url = redis_url.replace("redis://", "redis://someone:hunter2@")
    line = one_error_line(run("--redis", url, "-n", ns, "inspect"), 1, "credentials")
    assert "hunter2" not in line and "someone:***@" in line


def test_unix_socket_url(tmp_path: Path, ns: str) -> None:
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(sock), "--save", "",
                               "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(sock.exists, what="the unix socket")
        url = f"unix://{sock}?db=2"
        p = run("--redis", url, "-n", ns, "enqueue", "over_unix", "--args", "{}")
        assert p.returncode == 0, p.stderr
        client = redis.Redis(unix_socket_path=str(sock), db=2)
        assert client.llen(f"{ns}:jobs:over_unix") == 1
        client.close()
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


UNREACHABLE_CMDS = [
    ["inspect"], ["inspect", "dead", "--json"], ["enqueue", "x", "--args", '{"a": 1}'], ["pause", "x"],
    ["unpause", "x"], ["dead", "retry", "--all"], ["dead", "delete", "someid"],
]


@pytest.mark.parametrize("cmd", UNREACHABLE_CMDS, ids=lambda c: "-".join(c[:2]))
def test_redis_unreachable_is_one_line_and_exit_1(cmd: list[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    one_error_line(run("--redis", url, "-n", "x", *cmd), 1, "cannot reach Redis at " + url)


def test_redis_unreachable_bulk_and_worker(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    p = run("--redis", url, "-n", "x", "bulk", "-", stdin='{"name": "a", "args": {}}\n')
    one_error_line(p, 1, "cannot reach Redis", "0 jobs were enqueued before it")
    (tmp_path / "envpool.py").write_text(textwrap.dedent("""
        import os
        from gowork_compat import WorkerPool
        pool = WorkerPool(os.environ["REDIS_URL"], "x").job("a", lambda job: None)
    """))
    p = run("--redis", url, "worker", "--app-dir", str(tmp_path), "envpool:pool")
    one_error_line(p, 1, "cannot reach Redis at " + url)


def test_debug_shows_the_traceback() -> None:
    p = run("--debug", "--redis", f"redis://127.0.0.1:{free_port()}/0", "-n", "x", "inspect")
    assert p.returncode != 0
    assert "Traceback" in p.stderr


# -- enqueue -----------------------------------------------------------------------------
def test_enqueue_then_inspect_shows_it(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                       ns: str) -> None:
    p = gw("enqueue", "send_email", "--args", '{"to": "ada@example.com", "n": 1, "html": "<b>&</b>"}')
    assert p.returncode == 0, p.stderr
    job = json.loads(p.stdout)
    assert job["name"] == "send_email" and job["args"] == {"to": "ada@example.com", "n": 1, "html": "<b>&</b>"}
    raw = r.lindex(f"{ns}:jobs:send_email", 0)
    assert raw is not None
    stored = Job.decode(raw)
    assert stored.id == job["id"] and stored.args == job["args"]
    assert r.smembers(f"{ns}:known_jobs") == {b"send_email"}

    p = gw("inspect", "queues")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "Queues:"
    header, row = lines[1], lines[2]
    assert header.split()[:3] == ["JOB", "NAME", "WAITING"]
    assert row.split()[:2] == ["send_email", "1"]
    assert header.index("WAITING") + len("WAITING") == row.index("1") + 1  # right-aligned under its header

    p = gw("inspect", "queues", "--json")
    (queue,) = json.loads(p.stdout)
    assert queue["job_name"] == "send_email" and queue["count"] == 1 and queue["latency"] >= 0


def test_enqueue_without_args_and_scheduled(gw: Callable[..., subprocess.CompletedProcess[str]],
                                            r: redis.Redis, ns: str) -> None:
    p = gw("enqueue", "ping")
    assert p.returncode == 0 and json.loads(p.stdout)["args"] is None
    p = gw("enqueue", "report", "--in", "300", "--args", '{"day": "mon"}')
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["run_at"] == out["t"] + 300
    assert r.zscore(f"{ns}:scheduled", r.zrange(f"{ns}:scheduled", 0, 0)[0]) == out["run_at"]
    p = gw("inspect", "scheduled")
    assert "Scheduled jobs: 1 (page 1 of 1)" in p.stdout and out["id"] in p.stdout
    p = gw("inspect", "scheduled", "--json")
    assert json.loads(p.stdout)["count"] == 1 and json.loads(p.stdout)["jobs"][0]["id"] == out["id"]


def test_unique_duplicate_exits_3(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                  ns: str) -> None:
    args = '{"account": 42}'
    first = gw("enqueue", "sync_crm", "--args", args, "--unique")
    assert first.returncode == 0 and json.loads(first.stdout)["unique"] is True
    dup = gw("enqueue", "sync_crm", "--args", args, "--unique")
    assert dup.returncode == 3
    assert dup.stdout == "" and "duplicate: not enqueued" in dup.stderr
    assert r.llen(f"{ns}:jobs:sync_crm") == 1
    # other args are another job; scheduled unique jobs too
    assert gw("enqueue", "sync_crm", "--args", '{"account": 43}', "--unique").returncode == 0
    assert gw("enqueue", "later", "--in", "60", "--unique").returncode == 0
    assert gw("enqueue", "later", "--in", "60", "--unique").returncode == 3


def test_unique_by_key(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis, ns: str) -> None:
    p = gw("enqueue", "sync", "--args", '{"account": 1, "v": 1}', "--unique-key", '{"account": 1}')
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["unique_key"].startswith(f"{ns}:unique:sync:")
    p = gw("enqueue", "sync", "--args", '{"account": 1, "v": 2}', "--unique-key", '{"account": 1}')
    assert p.returncode == 3
    assert r.llen(f"{ns}:jobs:sync") == 1
    one_error_line(gw("enqueue", "sync", "--unique-key", "[1]"), 2, "--unique-key", "object")


@pytest.mark.parametrize(("args", "needle"), [
    ('{"to": ', "--args is not valid JSON"),
    ("[1, 2]", "must be a JSON object, not an array"),
    ('"text"', "not a string"),
    ('{"id": 9007199254740993}', "2**53"),
])
def test_enqueue_bad_args_writes_nothing(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                         ns: str, args: str, needle: str) -> None:
    one_error_line(gw("enqueue", "x", "--args", args), 2, needle)
    assert ns_keys(r, ns) == []


# -- bulk ----------------------------------------------------------------------------------
def test_bulk_with_bad_lines_writes_nothing(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                            ns: str, tmp_path: Path) -> None:
    f = tmp_path / "jobs.jsonl"
    f.write_text("\n".join([
        '{"name": "ok", "args": {"i": 1}}',
        '{"name": "ok", "args": [1]}',
        "",
        '{"name": "ok", "args": {"i": 3}}',
        '{"name": "ok", "args": {"i": 4',
        '{"args": {}}',
        '{"name": "ok", "arg": {}}',
        '{"name": "ok", "args": {"big": 18014398509481984}}',
        '{"name": "ok"}',
    ]) + "\n")
    p = gw("bulk", str(f))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert [ln.split(": ", 1)[0] for ln in lines[:-1]] == [f"{f}:{n}" for n in (2, 5, 6, 7, 8)]
    assert lines[-1] == f"gowork: error: 5 bad lines in {f}; nothing was enqueued"
    assert ns_keys(r, ns) == []


def test_bulk_1000_lines_from_stdin(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                    ns: str) -> None:
    lines = [json.dumps({"name": f"job{i % 2}", "args": {"i": i}}) for i in range(1000)]
    p = gw("bulk", "-", "--chunk-size", "300", stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("enqueued 1000 jobs in ")
    assert "job0 500" in p.stdout and "job1 500" in p.stdout
    assert p.stderr == ""  # stderr is no terminal: no progress unless asked
    for name, first in (("job0", 0), ("job1", 1)):
        raws = r.lrange(f"{ns}:jobs:{name}", 0, -1)
        # LPUSH order: the oldest (first line) is at the right end, run first
        assert [Job.decode(x).args for x in reversed(raws)] == [{"i": i} for i in range(first, 1000, 2)]
    assert r.smembers(f"{ns}:known_jobs") == {b"job0", b"job1"}


@pytest.mark.timeout(120)
def test_bulk_progress_and_file(r: redis.Redis, ns: str, redis_url: str, tmp_path: Path) -> None:
    f = tmp_path / "jobs.jsonl"
    f.write_text("".join(json.dumps({"name": "p", "args": {"i": i}}) + "\n" for i in range(2500)))
    p = subprocess.run([sys.executable, "-m", "gowork_compat", "--redis", redis_url, "-n", ns, "bulk", str(f),
                        "--progress"], capture_output=True, env=clean_env(), cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stderr.startswith(b"\r[") and p.stderr.endswith(b"] 100% 2500/2500 jobs\n")
    assert r.llen(f"{ns}:jobs:p") == 2500


def test_bulk_empty_and_missing_file(gw: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> None:
    p = gw("bulk", "-", stdin="\n\n")
    assert p.returncode == 0 and "nothing to enqueue" in p.stdout
    one_error_line(gw("bulk", str(tmp_path / "nope.jsonl")), 2, "cannot read")


# -- pause / unpause -------------------------------------------------------------------------
def test_pause_and_unpause(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis, ns: str) -> None:
    key = f"{ns}:jobs:send_email:paused"
    assert gw("enqueue", "send_email").returncode == 0
    p = gw("pause", "send_email")
    assert p.returncode == 0 and "paused send_email" in p.stdout
    assert p.stderr == ""
    assert r.get(key) == b"1"
    table = gw("inspect", "queues").stdout.splitlines()
    assert next(ln for ln in table if ln.startswith("send_email")).split()[3] == "yes"
    p = gw("unpause", "send_email")
    assert p.returncode == 0 and r.exists(key) == 0
    p = gw("pause", "never_enqueued")
    assert p.returncode == 0 and "not (yet) a known job name" in p.stderr


# -- dead jobs ---------------------------------------------------------------------------------
def make_dead(redis_url: str, ns: str, r: redis.Redis, n: int, name: str = "boom") -> None:
    """Run ``name`` jobs in a Python pool whose handler fails, with max_fails=1: they die."""
    keys = Keys(ns)
    before = r.zcard(keys.dead)
    pool = WorkerPool(redis_url, ns, concurrency=2)

    def fail(job: Job) -> None:
        raise RuntimeError(f"kaboom {job.arg_int('i')}")

    pool.job(name, fail, max_fails=1)
    enq = Enqueuer(redis_url, ns)
    pending = r.llen(keys.jobs(name))
    for i in range(n):
        enq.enqueue(name, {"i": i})
    enq.close()
    pool.start()
    try:
        wait_for(lambda: r.zcard(keys.dead) == before + n + pending, what="dead jobs")
    finally:
        pool.stop()


def dead_list(gw: Callable[..., subprocess.CompletedProcess[str]]) -> dict[str, Any]:
    p = gw("inspect", "dead", "--json")
    assert p.returncode == 0, p.stderr
    out: dict[str, Any] = json.loads(p.stdout)
    return out


def test_dead_retry_and_delete(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis, ns: str,
                               redis_url: str) -> None:
    keys = Keys(ns)
    make_dead(redis_url, ns, r, 4)
    dead = dead_list(gw)
    assert dead["count"] == 4
    jobs = dead["jobs"]
    assert {j["err"] for j in jobs} == {f"RuntimeError: kaboom {i}" for i in range(4)}
    table = gw("inspect", "dead").stdout
    assert "Dead jobs: 4 (page 1 of 1)" in table and all(j["id"] in table for j in jobs)

    # retry by id alone: found in the dead set
    p = gw("dead", "retry", jobs[0]["id"])
    assert p.returncode == 0, p.stderr
    assert jobs[0]["id"] in p.stdout and str(jobs[0]["died_at"]) in p.stdout
    assert r.zcard(keys.dead) == 3 and r.llen(keys.jobs("boom")) == 1
    # delete with --died-at
    p = gw("dead", "delete", jobs[1]["id"], "--died-at", str(jobs[1]["died_at"]))
    assert p.returncode == 0, p.stderr
    assert r.zcard(keys.dead) == 2
    # gone or wrong: one line, exit 1
    one_error_line(gw("dead", "retry", jobs[0]["id"]), 1, "no dead job", jobs[0]["id"])
    one_error_line(gw("dead", "delete", "0123456789abcdef01234567"), 1, "no dead job")
    one_error_line(gw("dead", "delete", jobs[2]["id"], "--died-at", "12345"), 1, "died-at 12345")
    # usage
    one_error_line(gw("dead", "retry"), 2, "needs a job id")
    one_error_line(gw("dead", "retry", jobs[2]["id"], "--all"), 2, "--all")
    one_error_line(gw("dead", "retry", "x", "--died-at", "soon"), 2, "--died-at")

    p = gw("dead", "retry", "--all")
    assert p.returncode == 0 and p.stdout.strip() == "requeued 2 dead jobs"
    assert r.zcard(keys.dead) == 0 and r.llen(keys.jobs("boom")) == 3

    make_dead(redis_url, ns, r, 0)  # the 3 requeued jobs die again
    assert r.zcard(keys.dead) == 3
    p = gw("dead", "delete", "--all")
    assert p.returncode == 0 and p.stdout.strip() == "deleted 3 dead jobs"
    assert r.exists(keys.dead) == 0


def test_dead_retry_of_unknown_job_name(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                        ns: str) -> None:
    job = Job(name="nobody_runs_this", id="abc123abc123abc123abc123", enqueued_at=100, args={}, fails=1,
              last_err="x", failed_at=100)
    r.zadd(Keys(ns).dead, {job.encode(): 100})
    one_error_line(gw("dead", "retry", job.id), 1, "known_jobs")
    assert r.zcard(Keys(ns).dead) == 1


def test_dead_retry_of_a_buried_record(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                       ns: str) -> None:
    from gowork_compat.burial import buried_job

    k = Keys(ns)
    r.sadd(k.known_jobs, "p")
    rec = buried_job(b"garbage", "p", "malformed job payload in q: not a job", 100)
    r.zadd(k.dead, {rec.encode(): 100})
    one_error_line(gw("dead", "retry", rec.id), 1, "cannot be retried", "buried malformed payload")
    p = gw("dead", "retry", "--job-name", "p")
    assert p.returncode == 0 and p.stdout.startswith("requeued 0 of 1 dead job")
    assert "1 record left dead: not retryable" in p.stderr
    assert r.zrange(k.dead, 0, -1) == [rec.encode()]


UNKNOWN = "unknown job when requeueing"


def test_dead_by_filter(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis, ns: str) -> None:
    keys = Keys(ns)
    r.sadd(keys.known_jobs, "py_only")

    def dead(name: str, jid: str, err: str, t: int) -> None:
        j = Job(name=name, id=jid, enqueued_at=t - 5, args={"i": 1}, fails=1, last_err=err, failed_at=t)
        r.zadd(keys.dead, {j.encode(): t})

    dead("py_only", "a" * 24, UNKNOWN, 1000)
    dead("py_only", "b" * 24, UNKNOWN, 1001)
    dead("py_only", "c" * 24, "boom", 1002)
    dead("go_only", "d" * 24, UNKNOWN, 1003)
    p = gw("dead", "list", "--error", UNKNOWN)
    assert p.returncode == 0, p.stderr
    assert f"Dead jobs matching error containing {UNKNOWN!r}: 3" in p.stdout
    assert "a" * 24 in p.stdout and "c" * 24 not in p.stdout
    listed = json.loads(gw("dead", "list", "--job-name", "py_only", "--json").stdout)
    assert listed["count"] == 3 and {j["id"][0] for j in listed["jobs"]} == {"a", "b", "c"}

    p = gw("dead", "retry", "--error", UNKNOWN)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"requeued 2 of 3 dead jobs matching error containing {UNKNOWN!r}"
    assert "1 job left dead: the job name is not in known_jobs" in p.stderr
    assert sorted(Job.decode(m).id[0] for m in r.lrange(keys.jobs("py_only"), 0, -1)) == ["a", "b"]

    p = gw("dead", "delete", "--job-name", "go_only", "--error", "unknown job")
    assert p.returncode == 0 and p.stdout.startswith("deleted 1 of 1 dead job matching job name 'go_only'")
    assert [Job.decode(m).id[0] for m in r.zrange(keys.dead, 0, -1)] == ["c"]
    one_error_line(gw("dead", "retry", "--job-name", "nobody"), 1, "no dead job matches job name 'nobody'")
    one_error_line(gw("dead", "retry", "x", "--job-name", "py_only"), 2, "not both")
    one_error_line(gw("dead", "delete", "--all", "--error", "boom"), 2, "--all")
    one_error_line(gw("dead", "delete", "--error", ""), 2, "--error must not be empty")
    assert r.zcard(keys.dead) == 1


def test_inspect_marks_an_unreadable_member_and_shows_its_neighbours(
        gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis, ns: str) -> None:
    keys = Keys(ns)
    good = Job(name="mail", id="e" * 24, enqueued_at=5, args={}, fails=1, last_err="x", failed_at=6)
    r.zadd(keys.dead, {good.encode(): 6, b"\x1b[31m{not json": 7})
    r.zadd(keys.retry, {b"[]": 8})
    p = gw("inspect")
    assert p.returncode == 0, p.stderr
    dead_part = p.stdout.split("Dead jobs:", 1)[1]
    assert "e" * 24 in dead_part and "!! UNREADABLE" in dead_part
    assert "\\x1b[31m{not json" in dead_part and "\x1b" not in p.stdout  # escaped, never raw
    assert "!! UNREADABLE" in p.stdout.split("Retry jobs:", 1)[1].split("Scheduled jobs:", 1)[0]
    out = json.loads(gw("inspect", "dead", "--json").stdout)
    assert out["count"] == 2 and out["jobs"][1]["unreadable"] is True
    one_error_line(gw("inspect", "dead", "--page", "9" * 15), 2, "--page is out of range")
    err = one_error_line(gw("inspect", "dead", "--page", "9" * 5000), 2, "value out of range")
    assert "5000 characters" in err and len(err) < 300


# -- inspect with live pools -------------------------------------------------------------------
def test_inspect_pools_busy_retry_and_all(gw: Callable[..., subprocess.CompletedProcess[str]], r: redis.Redis,
                                          ns: str, redis_url: str) -> None:
    release = threading.Event()
    pool = WorkerPool(redis_url, ns, concurrency=3)

    def slow(job: Job) -> None:
        job.checkin("halfway there")
        release.wait(20)

    def flaky(job: Job) -> None:
        raise ValueError("try again")

    pool.job("slow", slow)
    pool.job("flaky", flaky, max_fails=5, backoff=lambda job: 3600)  # stays in retry however slow the test
    pool.start()
    try:
        enq = Enqueuer(redis_url, ns)
        busy_job = enq.enqueue("slow", {"n": 1})
        retry_job = enq.enqueue("flaky", {"n": 2})
        enq.close()
        wait_for(lambda: r.zcard(Keys(ns).retry) == 1, what="the retry job")
        p = wait_for(lambda: (q := gw("inspect", "busy")).returncode == 0 and "halfway there" in q.stdout and q,
                     what="the busy worker and its check-in")
        assert busy_job.id in p.stdout
        p = gw("inspect", "pools")
        assert pool.pool_id in p.stdout and "flaky,slow" in p.stdout
        p = gw("inspect", "retry")
        assert retry_job.id in p.stdout and "try again" in p.stdout
        p = gw("inspect")
        assert p.returncode == 0
        titles = ("Queues:", "Worker pools:", "Busy workers:", "Retry jobs: 1", "Scheduled jobs: 0", "Dead jobs: 0")
        for title in titles:
            assert title in p.stdout
        out = json.loads(gw("inspect", "all", "--json").stdout)
        assert set(out) == {"queues", "worker_pools", "busy_workers", "retry_jobs", "scheduled_jobs", "dead_jobs"}
        assert out["worker_pools"][0]["worker_pool_id"] == pool.pool_id
        assert [b["job_id"] for b in out["busy_workers"]] == [busy_job.id]
        assert out["retry_jobs"]["jobs"][0]["id"] == retry_job.id
        assert out["dead_jobs"] == {"count": 0, "jobs": []}
        # a page past the end is empty, not an error
        p = gw("inspect", "retry", "--page", "3")
        assert p.returncode == 0 and "(page 3 of 1)" in p.stdout and "(none)" in p.stdout
    finally:
        release.set()
        pool.stop()


# -- worker ------------------------------------------------------------------------------------
APP = """
import os
import redis
from gowork_compat import WorkerPool

R = redis.Redis.from_url(os.environ["REDIS_URL"])
pool = WorkerPool(os.environ["REDIS_URL"], os.environ["GOWORK_NAMESPACE"], concurrency=2)

def record(job):
    R.rpush(os.environ["GOWORK_NAMESPACE"] + ":test:ran", job.id)

pool.job("record", record)
pool.job("other", record)

def make_pool():
    return pool

not_a_pool = 42

def broken():
    raise RuntimeError("cannot build the pool")
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "cliapp.py").write_text(APP)
    (tmp_path / "brokenapp.py").write_text("raise RuntimeError('boom at import')\n")
    return tmp_path


@pytest.fixture
def worker_proc(redis_url: str, ns: str, app_dir: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        env = clean_env(PYTHONPATH=str(app_dir), REDIS_URL=redis_url, GOWORK_NAMESPACE=ns)
        p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "worker", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def read_line(p: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert p.stdout is not None
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(p.stdout.readline() if p.stdout else ""), daemon=True)
    t.start()
    t.join(timeout)
    assert out, "no line from the worker in time"
    return out[0]


def test_worker_runs_jobs_and_stops_on_sigterm(worker_proc: Callable[..., subprocess.Popen[str]],
                                               r: redis.Redis, ns: str, redis_url: str) -> None:
    p = worker_proc("cliapp:pool")
    line = read_line(p)
    assert "started" in line and "jobs: other, record" in line, line
    pool_id = line.split("worker pool ", 1)[1].split()[0]
    assert r.sismember(f"{ns}:worker_pools", pool_id)
    enq = Enqueuer(redis_url, ns)
    ids = [enq.enqueue("record", {"i": i}).id for i in range(5)]
    enq.close()
    wait_for(lambda: r.llen(f"{ns}:test:ran") == 5, what="the jobs to run")
    assert sorted(x.decode() for x in r.lrange(f"{ns}:test:ran", 0, -1)) == sorted(ids)

    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert f"worker pool {pool_id} stopped" in out
    assert "SIGTERM: stopping" in err and "Traceback" not in err
    assert not r.sismember(f"{ns}:worker_pools", pool_id)  # a clean stop unregisters the pool


def test_worker_factory_with_concurrency_and_sigint(worker_proc: Callable[..., subprocess.Popen[str]],
                                                    r: redis.Redis, ns: str) -> None:
    p = worker_proc("cliapp:make_pool", "--concurrency", "3", "--grace-period", "5")
    line = read_line(p)
    assert "concurrency 3" in line, line
    pool_id = line.split("worker pool ", 1)[1].split()[0]
    beat = r.hgetall(f"{ns}:worker_pools:{pool_id}")
    assert beat[b"concurrency"] == b"3" and len(beat[b"worker_ids"].split(b",")) == 3
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_worker_stops_on_sigterm_after_its_pipes_closed(worker_proc: Callable[..., subprocess.Popen[str]],
                                                        r: redis.Redis, ns: str) -> None:
    """The reader of its output went away (a log shipper died, a terminal closed): the signal
    handler's message cannot be written, and the worker must still stop, cleanly."""
    p = worker_proc("cliapp:pool")
    line = read_line(p)
    pool_id = line.split("worker pool ", 1)[1].split()[0]
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()
    p.stderr.close()
    p.send_signal(signal.SIGTERM)
    try:
        code = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("gowork worker ignored SIGTERM once its stdout/stderr pipe had closed")
    assert code == 0
    assert not r.sismember(f"{ns}:worker_pools", pool_id)  # it stopped the pool, not just the process


@pytest.mark.parametrize(("target", "code", "needle"), [
    ("no_such_module_xyz:pool", 2, "no module named 'no_such_module_xyz'"),
    ("cliapp:missing", 2, "has no attribute 'missing'"),
    ("cliapp", 2, "MODULE:ATTR"),
    ("cliapp:not_a_pool", 2, "neither a WorkerPool"),
    ("cliapp:broken", 1, "cannot build the pool"),
    ("brokenapp:pool", 1, "boom at import"),
])
def test_worker_bad_targets(worker_proc: Callable[..., subprocess.Popen[str]], target: str, code: int,
                            needle: str) -> None:
    p = worker_proc(target)
    out, err = p.communicate(timeout=30)
    one_error_line(subprocess.CompletedProcess(p.args, p.returncode, out, err), code, needle)


def test_worker_namespace_mismatch(redis_url: str, ns: str, app_dir: Path) -> None:
    env = clean_env(PYTHONPATH=str(app_dir), REDIS_URL=redis_url, GOWORK_NAMESPACE=ns)
    code = f"import os; os.environ['GOWORK_NAMESPACE'] = {ns!r}"
    (app_dir / "fixedns.py").write_text(code + "\nfrom cliapp import pool\n")
    p = run("-n", ns + "-other", "worker", "fixedns:pool", env=env)
    one_error_line(p, 2, "namespace")


# -- webui and demo ---------------------------------------------------------------------------
def test_webui_serves_with_basic_auth_and_stops(redis_url: str, ns: str, gw: Callable[..., Any]) -> None:
    assert gw("enqueue", "seen_by_ui").returncode == 0
    port = free_port()
    env = clean_env(REDIS_URL=redis_url, GOWORK_NAMESPACE=ns, GOWORK_WEBUI_AUTH="admin:s3cret")
    p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "webui", "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        def up() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/queues", auth=("admin", "s3cret"), timeout=2)
            except httpx.TransportError:
                return None
        resp = wait_for(up, what="the web UI")
        assert resp.status_code == 200
        assert [q["job_name"] for q in resp.json()] == ["seen_by_ui"]
        assert httpx.get(f"http://127.0.0.1:{port}/queues", timeout=2).status_code == 401
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0, err
        assert f"http://127.0.0.1:{port}/" in out
        assert "warning" not in err and "Traceback" not in err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def test_webui_warns_when_exposed_without_auth(redis_url: str, ns: str) -> None:
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "--redis", redis_url, "-n", ns, "webui",
                          "--host", "0.0.0.0", "--port", str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(), cwd=ROOT)
    try:
        assert p.stderr is not None
        first = read_stderr_line(p)
        assert first.startswith("gowork: warning: serving on 0.0.0.0 without --basic-auth")
    finally:
        p.terminate()
        p.communicate(timeout=20)
    assert p.returncode == 0


def read_stderr_line(p: subprocess.Popen[str], timeout: float = 20.0) -> str:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(p.stderr.readline() if p.stderr else ""), daemon=True)
    t.start()
    t.join(timeout)
    assert out, "no line on stderr in time"
    return out[0]


def start_webui(*args: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    p = subprocess.Popen([sys.executable, "-m", "gowork_compat", "webui", "--port", str(port), *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    return p, port


def test_webui_auth_from_a_file_and_allowed_hosts(redis_url: str, ns: str, tmp_path: Path) -> None:
    secret = tmp_path / "auth"
    secret.write_text("admin:s3cret\n")
    env = clean_env(REDIS_URL=redis_url, GOWORK_NAMESPACE=ns)
    p, port = start_webui("--basic-auth-file", str(secret), "--allowed-host", "jobs.internal", env=env)
    try:
        url = f"http://127.0.0.1:{port}/queues"

        def up() -> httpx.Response | None:
            try:
                return httpx.get(url, auth=("admin", "s3cret"), timeout=2)
            except httpx.TransportError:
                return None
        assert wait_for(up, what="the web UI").status_code == 200
        assert httpx.get(url, timeout=2).status_code == 401
        named = httpx.get(url, auth=("admin", "s3cret"), headers={"host": f"jobs.internal:{port}"}, timeout=2)
        assert named.status_code == 200
        rebound = httpx.get(url, auth=("admin", "s3cret"), headers={"host": f"evil.example:{port}"}, timeout=2)
        assert rebound.status_code == 421
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 0 and "warning" not in err and "s3cret" not in out + err
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_webui_password_on_the_command_line_is_warned_about(redis_url: str, ns: str) -> None:
    p, _ = start_webui("--basic-auth", "admin:s3cret", env=clean_env(REDIS_URL=redis_url, GOWORK_NAMESPACE=ns))
    try:
        first = read_stderr_line(p)
        assert first.startswith("gowork: warning: a password on the command line is visible")
        assert "--basic-auth-file" in first and "GOWORK_WEBUI_AUTH" in first
    finally:
        p.terminate()
        p.communicate(timeout=20)


def test_webui_bad_auth_and_port(gw: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    one_error_line(gw("webui", "--basic-auth", "nopassword"), 2, "USER:PASSWORD")
    one_error_line(gw("webui", "--basic-auth-file", "/nonexistent/auth"), 2, "cannot read --basic-auth-file")
    one_error_line(gw("webui", "--basic-auth-file", "/dev/null", "--basic-auth", "a:b"), 2, "not both")
    one_error_line(gw("webui", "--port", "70000"), 2, "--port")


def test_demo_without_harness_fails_cleanly(tmp_path: Path) -> None:
    p = run("demo", "--harness", str(tmp_path / "missing-harness"))
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and ("harness" in p.stderr or "redis-server" in p.stderr)


def test_inspect_survives_a_closed_pipe(redis_server: RedisServer, ns: str) -> None:
    p1 = subprocess.Popen([sys.executable, "-m", "gowork_compat", "--redis", redis_server.url, "-n", ns, "inspect"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=ROOT)
    assert p1.stdout is not None
    p1.stdout.close()  # the reader went away before the output came
    _, err = p1.communicate(timeout=30)
    assert b"Traceback" not in err


def test_allowed_hosts_from_flags_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from gowork_compat.cli.commands import _allowed_hosts_of

    monkeypatch.setenv("GOWORK_WEBUI_HOSTS", " jobs.internal, ops.example ,")
    assert _allowed_hosts_of(argparse.Namespace(allowed_host=None)) == ["jobs.internal", "ops.example"]
    assert _allowed_hosts_of(argparse.Namespace(allowed_host=["x.example"])) == ["x.example"]
    monkeypatch.delenv("GOWORK_WEBUI_HOSTS")
    assert _allowed_hosts_of(argparse.Namespace(allowed_host=None)) == []
