"""gowork_compat.testing: fates read from Redis, the plugin's activation, the bundled harness
source, and the plugin in a user's project (a pytest run of its own)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import redis

from gowork_compat import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.testing import pytest_entry, read_fates, wait_fates
from gowork_compat.testing.go import BUNDLED_HARNESS_SOURCE

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_harness_source_is_go_harness() -> None:
    """In the source tree the package data is go-harness/ itself (a link; the wheel holds the
    files, see tests/test_packaging.py)."""
    assert BUNDLED_HARNESS_SOURCE.resolve() == (ROOT / "go-harness").resolve()
    assert (BUNDLED_HARNESS_SOURCE / "main.go").is_file()


def test_pyproject_declares_the_entry_point_and_extras() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+ (the project's .venv has it)")
    p = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert p["project"]["entry-points"]["pytest11"] == {"gowork_compat": "gowork_compat.testing.pytest_entry"}
    testing = set(p["project"]["optional-dependencies"]["testing"])
    assert {"pytest>=8.0.0", "hypothesis>=6.100.0", "jsonschema>=4.18.0"} <= testing
    assert p["project"]["optional-dependencies"]["contracts"] == ["jsonschema>=4.18.0"]


def test_entry_point_is_active_only_with_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    reqs = ["redis>=5", 'pytest>=8; extra == "testing"', "hypothesis>=6.100 ; extra == 'testing'",
            'docker>=7; extra == "docker"']
    monkeypatch.setattr(importlib.metadata, "requires", lambda dist: reqs)
    assert pytest_entry.extra_installed()
    reqs.append('surely-not-installed-xyz>=1; extra == "testing"')
    assert not pytest_entry.extra_installed()
    monkeypatch.setattr(importlib.metadata, "requires", lambda dist: ["redis>=5"])
    assert not pytest_entry.extra_installed()  # an install without the extra declares none
    assert not pytest_entry.extra_installed("surely-not-installed-xyz")


def test_read_fates_from_redis_alone(redis_url: str, ns: str, r: redis.Redis) -> None:
    k = Keys(ns)
    with_err = {"fails": 2, "last_err": "boom", "failed_at": 5}
    retry = Job(name="a", id="r" * 24, enqueued_at=1, args={}, **with_err)  # type: ignore[arg-type]
    dead = Job(name="a", id="d" * 24, enqueued_at=1, args={}, **with_err)  # type: ignore[arg-type]
    busy = Job(name="a", id="b" * 24, enqueued_at=1, args={})
    later = Job(name="a", id="s" * 24, enqueued_at=1, args={})
    r.zadd(k.retry, {retry.encode(): 10})
    r.zadd(k.dead, {dead.encode(): 10, b"{not json": 11})
    r.zadd(k.scheduled, {later.encode(): 10})
    r.lpush(k.in_progress("pool1", "a"), busy.encode())
    enq = Enqueuer(redis_url, ns)
    try:
        queued = enq.enqueue("a", {"x": 1})
    finally:
        enq.close()
    fates = read_fates(r, ns, [retry, dead, busy, later, queued, "0" * 24])
    assert [f.state for f in fates.values()] == ["retry", "dead", "in_progress", "scheduled", "queued", "done"]
    assert (fates[retry.id].error, fates[retry.id].fails) == ("boom", 2)
    assert str(fates[dead.id]) == "dead after 2 failure(s): boom"
    # nothing runs the queued job: the wait ends at its timeout with the state it has
    (f,) = wait_fates(r, ns, [queued], timeout=0.1)
    assert f.state == "queued" and not f.clean


USER_TEST = textwrap.dedent('''
    def test_fixtures(gowork, go_worker):
        go_worker({"jobs": {"hello": {"behavior": {"kind": "succeed"}},
                            "nope": {"max_fails": 1, "behavior": {"kind": "fail", "error": "no way"}}}})
        gowork.assert_runs_clean("hello", [{"n": i} for i in range(30)])
        (fate,) = gowork.run_batch("nope", [{}])
        assert (fate.state, fate.error) == ("dead", "no way")
''')


def _pytest(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:gowork_compat",
                           *args, str(tmp)], cwd=tmp, env=env, capture_output=True, text=True, timeout=240)


def test_plugin_in_a_user_project(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TEST)
    off = _pytest(tmp_path)
    assert off.returncode == 1 and "fixture 'gowork' not found" in off.stdout, off.stdout[-2000:]
    on = _pytest(tmp_path, "-p", "gowork_compat.testing.plugin")
    assert on.returncode == 0, on.stdout[-3000:] + on.stderr[-2000:]
    assert "1 passed" in on.stdout


def test_a_user_worker_that_never_heartbeats(redis_server: object, r: redis.Redis, ns: str) -> None:
    from gowork_compat.testing.go import GoWorkerError, UserWorker

    port = r.connection_pool.connection_kwargs["port"]
    with pytest.raises(GoWorkerError, match=r"exited before its pool heartbeat appeared; worker output:\nno redis"):
        UserWorker(r, "127.0.0.1", port, ns, command=["sh", "-c", "echo no redis at $REDIS_ADDR; exit 3"])
    with pytest.raises(ValueError, match=r"exactly one of command= or image="):
        UserWorker(r, "127.0.0.1", port, ns)
