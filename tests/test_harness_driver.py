"""gowork_compat.harness, the one driver of the Go harness (tests, demo, benchmarks), with
small local programs standing in for the harness: argv building, one-shot runs and their
failures, and the worker event stream."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from gowork_compat.harness import Command, Harness, HarnessError, LocalLauncher, WorkerProcess


def py(code: str) -> Command:
    return Command("exec", (sys.executable, "-c", textwrap.dedent(code)))


def test_local_launcher_argv() -> None:
    launcher = LocalLauncher(binary=Path("/opt/gowork-harness"), python="/usr/bin/python3")
    h = Harness("/opt/gowork-harness", "127.0.0.1", 6380, "ns", launcher)
    assert launcher.argv(h.command("client", "-op", "Queues")) == [
        "/opt/gowork-harness", "client", "-redis", "127.0.0.1:6380", "-ns", "ns", "-op", "Queues"]
    assert launcher.argv(h.python_worker_command({"jobs": {}})) == [
        "/usr/bin/python3", "-m", "tests.interop.pyworker", "-redis", "127.0.0.1:6380", "-ns", "ns",
        "-config", '{"jobs": {}}']
    assert launcher.argv(Command("exec", ("true", "x"))) == ["true", "x"]
    with pytest.raises(HarnessError, match="no harness binary"):
        LocalLauncher().argv(Command("harness", ("json",)))


def test_harness_binds_its_binary_to_a_launcher_without_one() -> None:
    h = Harness("/opt/h", "127.0.0.1", 1, "ns", LocalLauncher())
    assert isinstance(h.launcher, LocalLauncher) and h.launcher.binary == Path("/opt/h")


def test_run_parses_replies_and_reports_failures() -> None:
    h = Harness("/nonexistent", "127.0.0.1", 1, "ns")
    echo = py("""
        import json, sys
        for line in sys.stdin:
            print(json.dumps({"got": json.loads(line)}))
    """)
    assert h.run(echo, ['{"a": 1}', '{"b": 2}'], expect=2) == [{"got": {"a": 1}}, {"got": {"b": 2}}]
    with pytest.raises(HarnessError, match="1 replies to 2 requests"):
        h.run(echo, ['{"a": 1}'], expect=2)
    with pytest.raises(HarnessError, match=r"exit status 3; stderr:\nboom"):
        h.run(py("import sys; sys.stderr.write('boom'); sys.exit(3)"), None)
    with pytest.raises(HarnessError, match=r"no exit within 0\.5s"):
        h.run(py("import time; time.sleep(30)"), None, timeout=0.5)


WORKER = py("""
    import json, sys
    print(json.dumps({"event": "started", "pool_id": "p1", "pid": 42}), flush=True)
    print("not json", flush=True)
    for line in sys.stdin:
        if line.strip() == "drain":
            print(json.dumps({"event": "job_end", "name": "x", "id": "1", "result": "ok"}), flush=True)
            print(json.dumps({"event": "drained"}), flush=True)
        if line.strip() == "stop":
            break
    print(json.dumps({"event": "stopped"}), flush=True)
""")


def test_worker_process_events() -> None:
    with WorkerProcess(WORKER, LocalLauncher()) as w:
        assert (w.pool_id, w.pid) == ("p1", 42)
        assert w.spawned_ns > 0
        w.drain()
        assert [e["id"] for e in w.wait_jobs(1)] == ["1"]
        (t, ev), = w.timed_events("job_end")
        assert t >= w.spawned_ns and ev["result"] == "ok"
        assert w.wait_for(lambda e: e.get("event") == "garbage")["line"] == "not json\n"
        assert w.stop() == 0
        assert w.wait_for(lambda e: e.get("event") == "exited")
        with pytest.raises(AssertionError, match="1 of 2 job_end events: it exited"):
            w.wait_jobs(2, timeout=5)


def test_worker_that_never_starts_is_killed() -> None:
    with pytest.raises(AssertionError, match="no matching worker event: it exited"):
        WorkerProcess(py("print('hello')"), LocalLauncher(), start_timeout=10)
