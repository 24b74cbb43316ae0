"""Drives the Go harness (go-harness/, the real gocraft/work) and the Python pool process
(tests/interop/pyworker.py) from the interop tests.

Processes are started by a launcher: a local process (the default, what CI runs) or, with
GOWORK_INTEROP_DOCKER=1, a container through the ``docker`` SDK (image built from
Dockerfile.harness, host network).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
HARNESS_DIR = ROOT / "go-harness"
_build_lock = threading.Lock()
_built: Path | None = None


def build_harness() -> Path:
    """The harness binary: $GOWORK_HARNESS when it is executable, else built once with go."""
    global _built
    env = os.environ.get("GOWORK_HARNESS")
    if env and os.access(env, os.X_OK):
        return Path(env)
    with _build_lock:
        if _built is None:
            target = HARNESS_DIR / "gowork-harness"
            res = subprocess.run(["go", "build", "-o", str(target), "."], cwd=HARNESS_DIR,
                                 capture_output=True, text=True, timeout=600)
            if res.returncode != 0:
                raise RuntimeError(f"building the Go harness failed:\n{res.stdout}\n{res.stderr}")
            _built = target
        return _built


class _Proc:
    """What a launcher returns: a process-like handle."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen

    @property
    def stdin(self) -> IO[str] | None:
        return self.popen.stdin

    @property
    def stdout(self) -> IO[str] | None:
        return self.popen.stdout

    @property
    def pid(self) -> int:
        return self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def send_signal(self, sig: int) -> None:
        self.popen.send_signal(sig)


class _Launcher:
    def start(self, argv: Sequence[str], stderr: IO[str], stdin: bool = True) -> _Proc:
        raise NotImplementedError


class _LocalLauncher(_Launcher):
    def start(self, argv: Sequence[str], stderr: IO[str], stdin: bool = True) -> _Proc:
        return _Proc(subprocess.Popen(list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1,
                                      cwd=ROOT))


class _DockerLauncher(_Launcher):
    """Runs the harness binary inside the harness image (host network, so loopback Redis
    addresses work unchanged). Python pool processes stay local."""

    IMAGE = "gowork-compat-harness:test"

    def __init__(self) -> None:
        import docker  # type: ignore[import-untyped]

        self.client = docker.from_env()
        self.client.images.build(path=str(ROOT), dockerfile="Dockerfile.harness", tag=self.IMAGE)

    def start(self, argv: Sequence[str], stderr: IO[str], stdin: bool = True) -> _Proc:
        if not argv or not str(argv[0]).endswith("gowork-harness"):
            return _LocalLauncher().start(argv, stderr, stdin)
        cmd = ["docker", "run", "--rm", "-i", "--network", "host", self.IMAGE, *argv[1:]]
        return _LocalLauncher().start(cmd, stderr, stdin)


def _launcher() -> _Launcher:
    if os.environ.get("GOWORK_INTEROP_DOCKER") == "1":
        return _DockerLauncher()
    return _LocalLauncher()


class WorkerProcess:
    """A running worker (Go harness or Python pyworker) and the events it printed."""

    def __init__(self, argv: Sequence[str], launcher: _Launcher) -> None:
        self._stderr = tempfile.NamedTemporaryFile("w+", prefix="gowork-worker-", suffix=".log", delete=False)
        self.proc = launcher.start(argv, self._stderr)
        self._events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        started = self.wait_for(lambda e: e.get("event") == "started", timeout=30)
        self.pool_id: str = started.get("pool_id", "")
        self.pid: int = started.get("pid", 0)

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        for line in out:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "garbage", "line": line}
            with self._cond:
                self._events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._events.append({"event": "exited"})
            self._cond.notify_all()

    def stderr_tail(self, n: int = 40) -> str:
        try:
            with open(self._stderr.name) as fh:
                return "".join(fh.readlines()[-n:])
        except OSError:
            return ""

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self._events:
                    if pred(ev):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = self._events[-10:]
                    raise AssertionError(f"worker event not seen within {timeout}s; recent events: {recent}; "
                                         f"stderr:\n{self.stderr_tail()}")
                self._cond.wait(left)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self._events if kind is None or e.get("event") == kind]

    def wait_jobs(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until ``n`` handler calls have ended; returns the job_end events."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                ends = [e for e in self._events if e.get("event") == "job_end"]
                if len(ends) >= n:
                    return ends
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(ends)} of {n} jobs ended within {timeout}s; stderr:\n"
                                         f"{self.stderr_tail()}")
                self._cond.wait(left)

    def send(self, line: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def drain(self, timeout: float = 30.0) -> None:
        before = len(self.events("drained"))
        self.send("drain")
        deadline = time.monotonic() + timeout
        while len(self.events("drained")) <= before:
            if time.monotonic() > deadline:
                raise AssertionError("drain did not finish")
            time.sleep(0.01)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is not None:
            return
        try:
            self.send("stop")
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(timeout=15)  # graceful (acknowledgements land), SIGKILL when it hangs
        self._reader.join(5)
        self._stderr.close()
        os.unlink(self._stderr.name)


GoWorker = WorkerProcess


class Harness:
    """The Go harness bound to one Redis and one namespace."""

    def __init__(self, binary: Path, redis_host: str, redis_port: int, namespace: str) -> None:
        self.binary = binary
        self.redis_host = redis_host
        self.redis_port = redis_port
        self.namespace = namespace
        self.launcher = _launcher()

    @property
    def addr(self) -> str:
        return f"{self.redis_host}:{self.redis_port}"

    def _argv(self, sub: str, *extra: str) -> list[str]:
        return [str(self.binary), sub, "-redis", self.addr, "-ns", self.namespace, *extra]

    def _run_lines(self, argv: list[str], lines: list[str], timeout: float = 120) -> list[dict[str, Any]]:
        with tempfile.TemporaryFile("w+") as err:
            proc = self.launcher.start(argv, err)
            assert proc.stdin is not None and proc.stdout is not None
            out_lines: list[str] = []
            reader = threading.Thread(target=lambda: out_lines.extend(proc.stdout or []), daemon=True)
            reader.start()
            for line in lines:
                proc.stdin.write(line + "\n")
            proc.stdin.close()
            proc.wait(timeout)
            reader.join(timeout)
            if proc.poll() != 0:
                err.seek(0)
                raise RuntimeError(f"harness {argv[1]} exited with {proc.poll()}: {err.read()[-2000:]}")
        return [json.loads(x) for x in out_lines if x.strip()]

    def enqueue(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Run Go Enqueuer calls; one response per request: {"job": ..., "run_at"?, "error"?}."""
        return self._run_lines(self._argv("enqueue"), [json.dumps(r) for r in requests])

    def bench_enqueue(self, n: int, names: Sequence[str], concurrency: int = 1) -> dict[str, Any]:
        argv = self._argv("enqueue", "-bench", str(n), "-names", ",".join(names),
                          "-bench-concurrency", str(concurrency))
        (res,) = self._run_lines(argv, [])
        return res

    def json(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Go's encoding/json on given inputs: requests {"op", "input": bytes, "ns"?, "name"?};
        responses {"out": bytes} or {"error": str}."""
        lines = []
        for r in requests:
            inp = r["input"]
            if isinstance(inp, str):
                inp = inp.encode("utf-8", "surrogatepass")
            lines.append(json.dumps({**r, "input": base64.b64encode(inp).decode()}))
        out = self._run_lines([str(self.binary), "json"], lines)
        return [{**o, "out": base64.b64decode(o["out"])} if "out" in o else o for o in out]

    def client(self, op: str, **args: Any) -> dict[str, Any]:
        """One call of Go's work.Client: {"result": ..., "count"?: int, "error"?: str}."""
        (res,) = self._run_lines(self._argv("client", "-op", op, "-args", json.dumps(args)), [])
        return res

    def start_worker(self, config: dict[str, Any]) -> WorkerProcess:
        """A Go WorkerPool (see go-harness/worker.go for the config)."""
        return WorkerProcess(self._argv("worker", "-config", json.dumps(config)), self.launcher)

    def start_python_worker(self, config: dict[str, Any]) -> WorkerProcess:
        """A Python WorkerPool in its own process, driven exactly like the Go one."""
        argv = [sys.executable, "-m", "tests.interop.pyworker", "-redis", self.addr, "-ns", self.namespace,
                "-config", json.dumps(config)]
        return WorkerProcess(argv, _LocalLauncher())

    def start_webui(self, port: int) -> WebUI:
        return WebUI(self._argv("webui", "-addr", f"127.0.0.1:{port}"), self.launcher)


class WebUI:
    """Upstream's workwebui served by the harness."""

    def __init__(self, argv: list[str], launcher: _Launcher) -> None:
        self._err = tempfile.TemporaryFile("w+")
        self.proc = launcher.start(argv, self._err, stdin=False)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self._err.seek(0)
            raise RuntimeError(f"webui did not start: {self._err.read()}")
        self.addr = json.loads(line)["addr"]

    @property
    def url(self) -> str:
        return f"http://{self.addr}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
        self._err.close()

    def __enter__(self) -> WebUI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
