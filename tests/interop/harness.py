"""Drives the Go harness (go-harness/, the real gocraft/work v0.5.1) and the Python pool
process (tests/interop/pyworker.py) from the interop tests.

Processes are started by a launcher: a local process (the default, what CI runs) or, with
GOWORK_INTEROP_DOCKER=1, a container of the image built from Dockerfile.harness, started
through the ``docker`` SDK on the host network (so loopback Redis addresses work as they
are). Python processes always run locally.

The wire protocol of every subcommand is documented in go-harness/*.go.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import signal
import socket
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
DOCKER_IMAGE = "gowork-compat-harness:test"
IMAGE_BINARY = Path("/usr/local/bin/gowork-harness")  # where Dockerfile.harness installs it

_build_lock = threading.Lock()
_built: Path | None = None


def docker_mode() -> bool:
    return os.environ.get("GOWORK_INTEROP_DOCKER") == "1"


def build_harness() -> Path:
    """The harness binary: $GOWORK_HARNESS when it names an executable, else built once with
    ``go build``. In docker mode the image is built instead and its binary path returned."""
    global _built
    if docker_mode():
        _docker_launcher()
        return IMAGE_BINARY
    env = os.environ.get("GOWORK_HARNESS")
    if env and os.path.isfile(env) and os.access(env, os.X_OK):
        return Path(env)
    with _build_lock:
        if _built is None:
            target = HARNESS_DIR / "gowork-harness"
            try:
                res = subprocess.run(["go", "build", "-o", str(target), "."], cwd=HARNESS_DIR,
                                     capture_output=True, text=True, timeout=600)
            except FileNotFoundError as e:
                raise RuntimeError("building the Go harness needs the go toolchain on PATH "
                                   "(or GOWORK_HARNESS pointing at a built binary)") from e
            if res.returncode != 0:
                raise RuntimeError(f"building the Go harness failed (go build in {HARNESS_DIR}):\n"
                                   f"{res.stdout}{res.stderr}")
            _built = target
        return _built


# -- launchers -------------------------------------------------------------------


class _Proc:
    """A started process as the driver sees it: text stdin/stdout, stderr to a file."""

    stdin: IO[str] | None
    stdout: IO[str]

    def poll(self) -> int | None:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> int:
        """The exit status; raises subprocess.TimeoutExpired after ``timeout`` seconds."""
        raise NotImplementedError

    def send_signal(self, sig: int) -> None:
        raise NotImplementedError


class _LocalProc(_Proc):
    def __init__(self, argv: Sequence[str], stderr: IO[str], stdin: bool) -> None:
        self.popen = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr, encoding="utf-8", bufsize=1, cwd=ROOT)
        self.stdin = self.popen.stdin
        assert self.popen.stdout is not None
        self.stdout = self.popen.stdout

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def send_signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)


class _Launcher:
    def start(self, argv: Sequence[str], stderr: IO[str], stdin: bool = True) -> _Proc:
        raise NotImplementedError


class _LocalLauncher(_Launcher):
    def start(self, argv: Sequence[str], stderr: IO[str], stdin: bool = True) -> _Proc:
        return _LocalProc(argv, stderr, stdin)


class _DockerProc(_Proc):
    """A harness container attached like a subprocess: local pipes stand for its stdin and
    stdout and are pumped to and from the attach socket; stderr frames go to ``stderr``."""

    def __init__(self, client: Any, argv: Sequence[str], stderr: IO[str], stdin: bool) -> None:
        frames_iter = importlib.import_module("docker.utils.socket").frames_iter
        self._returncode: int | None = None
        # The image's entrypoint is the harness; argv[0] is its path, the rest the arguments.
        self._container = client.containers.create(
            DOCKER_IMAGE, command=list(argv[1:]), network_mode="host",
            stdin_open=stdin, stdin_once=stdin, detach=True)
        sock = self._container.attach_socket(
            params={"stdin": int(stdin), "stdout": 1, "stderr": 1, "stream": 1})
        raw: socket.socket = getattr(sock, "_sock", sock)
        raw.settimeout(None)  # the API client's request timeout would end an idle stream
        self._container.start()

        out_r, out_w = os.pipe()
        self.stdout = open(out_r, encoding="utf-8")

        def pump_out() -> None:
            try:
                for stream, data in frames_iter(sock, False):
                    if stream == 1:
                        view = memoryview(data)
                        while view:
                            view = view[os.write(out_w, view):]
                    else:
                        stderr.write(data.decode("utf-8", "replace"))
                        stderr.flush()
            finally:
                os.close(out_w)

        threading.Thread(target=pump_out, daemon=True).start()
        self.stdin = None
        if stdin:
            in_r, in_w = os.pipe()
            self.stdin = open(in_w, "w", encoding="utf-8", buffering=1)

            def pump_in() -> None:
                with open(in_r, "rb", buffering=0) as src:
                    while chunk := src.read(65536):
                        raw.sendall(chunk)
                raw.shutdown(socket.SHUT_WR)  # EOF on the container's stdin (stdin_once)

            threading.Thread(target=pump_in, daemon=True).start()

    def poll(self) -> int | None:
        if self._returncode is None:
            self._container.reload()
            if self._container.status in ("exited", "dead"):
                return self.wait(10)
        return self._returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._returncode is None:
            try:
                status = self._container.wait(timeout=timeout)
            except OSError as e:  # requests' timeouts are OSErrors
                raise subprocess.TimeoutExpired(f"container {self._container.id}", timeout or 0) from e
            self._returncode = int(status["StatusCode"])
            self._container.remove(force=True)
        return self._returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            api_error = importlib.import_module("docker.errors").APIError
            try:
                self._container.kill(signal=int(sig))
            except api_error:
                pass  # it exited meanwhile


class _DockerLauncher(_Launcher):
    """Harness processes as containers (image built from Dockerfile.harness, host network);
    anything else (the Python pool process) locally."""

    def __init__(self) -> None:
        # imported by name: the docker SDK ships no type information
        self.client = importlib.import_module("docker").from_env()
        self.client.images.build(path=str(ROOT), dockerfile="Dockerfile.harness", tag=DOCKER_IMAGE, rm=True)

    def start(self, argv: Sequence[str], stderr: IO[str], stdin: bool = True) -> _Proc:
        if Path(argv[0]) != IMAGE_BINARY:
            return _LocalProc(argv, stderr, stdin)
        return _DockerProc(self.client, argv, stderr, stdin)


_docker: _DockerLauncher | None = None


def _docker_launcher() -> _DockerLauncher:
    global _docker
    with _build_lock:
        if _docker is None:
            _docker = _DockerLauncher()
        return _docker


def _launcher() -> _Launcher:
    return _docker_launcher() if docker_mode() else _LocalLauncher()


# -- long-running workers --------------------------------------------------------


Event = dict[str, Any]


class WorkerProcess:
    """A running worker (Go harness ``worker`` or Python pyworker) and the events it printed.

    A reader thread appends every stdout line, parsed, to a list guarded by a Condition;
    lines that are not JSON become {"event": "garbage", "line": ...} and the end of the
    output adds {"event": "exited"}.
    """

    def __init__(self, argv: Sequence[str], launcher: _Launcher, start_timeout: float = 30.0) -> None:
        self._stderr = tempfile.NamedTemporaryFile(
            "w+", prefix="gowork-worker-", suffix=".log", delete=False, encoding="utf-8")
        self._events: list[Event] = []
        self._cond = threading.Condition()
        self._exited = False
        self.proc = launcher.start(argv, self._stderr)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            started = self.wait_for(lambda e: e.get("event") == "started", timeout=start_timeout)
        except BaseException:
            self.kill()
            self.close()
            raise
        self.pool_id: str = started["pool_id"]
        self.pid: int = started["pid"]

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError(line)
            except ValueError:
                ev = {"event": "garbage", "line": line}
            with self._cond:
                self._events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._events.append({"event": "exited"})
            self._exited = True
            self._cond.notify_all()

    # -- diagnostics ----------------------------------------------------------

    def stderr_tail(self, n: int = 40) -> str:
        try:
            with open(self._stderr.name, encoding="utf-8", errors="replace") as fh:
                return "".join(fh.readlines()[-n:])
        except OSError:
            return ""

    def _failure(self, what: str, timeout: float) -> AssertionError:
        state = "it exited" if self._exited else f"not within {timeout}s"
        return AssertionError(f"{what}: {state}; recent events: {self._events[-10:]}; "
                              f"stderr tail:\n{self.stderr_tail()}")

    # -- events ---------------------------------------------------------------

    def wait_for(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event (oldest first, including those already seen) matching ``pred``."""
        deadline = time.monotonic() + timeout
        scanned = 0
        with self._cond:
            while True:
                for ev in self._events[scanned:]:
                    if pred(ev):
                        return ev
                scanned = len(self._events)
                left = deadline - time.monotonic()
                if self._exited or left <= 0:
                    raise self._failure("no matching worker event", timeout)
                self._cond.wait(left)

    def events(self, kind: str | None = None) -> list[Event]:
        with self._cond:
            return [e for e in self._events if kind is None or e.get("event") == kind]

    def _wait_count(self, kind: str, n: int, timeout: float) -> list[Event]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [e for e in self._events if e.get("event") == kind]
                if len(found) >= n:
                    return found
                left = deadline - time.monotonic()
                if self._exited or left <= 0:
                    raise self._failure(f"{len(found)} of {n} {kind} events", timeout)
                self._cond.wait(left)

    def wait_jobs(self, n: int, timeout: float = 20.0) -> list[Event]:
        """Wait until ``n`` handler calls have ended; returns the job_end events."""
        return self._wait_count("job_end", n, timeout)

    # -- control --------------------------------------------------------------

    def send(self, line: str) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def drain(self, timeout: float = 30.0) -> None:
        """Send ``drain`` and wait for the pool's Drain() to return."""
        before = len(self.events("drained"))
        self.send("drain")
        self._wait_count("drained", before + 1, timeout)

    @property
    def returncode(self) -> int | None:
        return self.proc.poll()

    def stop(self, timeout: float = 15.0) -> int | None:
        """Send ``stop`` (a graceful pool Stop) and wait for the exit; SIGKILL after ``timeout``."""
        if self.proc.poll() is None:
            try:
                self.send("stop")
            except OSError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.poll()

    def terminate(self) -> None:
        """SIGTERM: the worker stops gracefully and exits 0."""
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL, then reap."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def close(self) -> None:
        self._reader.join(5)
        self._stderr.close()
        try:
            os.unlink(self._stderr.name)
        except OSError:
            pass

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop(timeout=15)  # graceful, so acknowledgements land; killed when it hangs
        finally:
            self.kill()
            self.close()


GoWorker = WorkerProcess


class WebUI:
    """Upstream's workwebui served by the harness, until stop()."""

    def __init__(self, argv: list[str], launcher: _Launcher) -> None:
        self._err = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.proc = launcher.start(argv, self._err, stdin=False)
        line = self.proc.stdout.readline()
        ev: Event = json.loads(line) if line.strip() else {}
        if ev.get("event") != "listening":
            self.stop()
            raise RuntimeError(f"webui did not start: {line!r}")
        self.addr: str = ev["addr"]

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
                self.proc.wait(10)
        self._err.close()

    def __enter__(self) -> WebUI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the harness -------------------------------------------------------------------


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

    def _run(self, argv: list[str], lines: list[str] | None, expect: int | None = None,
             timeout: float = 120.0) -> list[Event]:
        """Run one harness process to completion, feeding ``lines`` on stdin (none: no stdin),
        and return its stdout lines parsed. Raises RuntimeError, with its stderr, when it
        fails, hangs or prints a number of lines other than ``expect``."""
        with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
            proc = self.launcher.start(argv, err, stdin=lines is not None)
            out: list[str] = []
            reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
            reader.start()

            def problem(what: str) -> RuntimeError:
                err.seek(0)
                return RuntimeError(f"harness {argv[1]}: {what}; stderr:\n{err.read()[-4000:]}")

            if proc.stdin is not None:
                try:
                    proc.stdin.write("".join(line + "\n" for line in lines or ()))
                    proc.stdin.close()
                except OSError:
                    pass  # it died early; reported below
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                raise problem(f"no exit within {timeout}s") from None
            reader.join(10)
            if code != 0:
                raise problem(f"exit status {code}")
            parsed = [json.loads(x) for x in out if x.strip()]
            if expect is not None and len(parsed) != expect:
                raise problem(f"{len(parsed)} replies to {expect} requests")
        return parsed

    def enqueue(self, requests: list[dict[str, Any]]) -> list[Event]:
        """Go Enqueuer calls in one process; one reply per request:
        {"job": ... | None, "run_at"?: int, "error"?: str}."""
        return self._run(self._argv("enqueue"), [json.dumps(r) for r in requests], expect=len(requests))

    def bench_enqueue(self, n: int, names: Sequence[str], concurrency: int = 1,
                      args: dict[str, Any] | None = None) -> Event:
        """``n`` Go Enqueue calls round-robin over ``names``: {"count": n, "seconds": float}."""
        argv = self._argv("enqueue", "-bench", str(n), "-names", ",".join(names),
                          "-bench-concurrency", str(concurrency))
        if args is not None:
            argv += ["-args", json.dumps(args)]
        (res,) = self._run(argv, None, expect=1)
        return res

    def json(self, requests: list[dict[str, Any]]) -> list[Event]:
        """Go's encoding/json on given inputs. Requests {"op", "input": bytes (str is UTF-8
        encoded, lone surrogates kept as bytes), "ns"?, "name"?, "args_int"?}; replies
        {"out": bytes} or {"error": str}, in order."""
        lines = []
        for r in requests:
            inp = r["input"]
            if isinstance(inp, str):
                inp = inp.encode("utf-8", "surrogatepass")
            lines.append(json.dumps({**r, "input": base64.b64encode(inp).decode("ascii")}))
        out = self._run([str(self.binary), "json"], lines, expect=len(requests))
        return [{**o, "out": base64.b64decode(o["out"])} if "out" in o else o for o in out]

    def client(self, op: str, **args: Any) -> Event:
        """One call of Go's work.Client: {"result": ..., "count"?: int, "error"?: str}."""
        (res,) = self._run(self._argv("client", "-op", op, "-args", json.dumps(args)), None, expect=1)
        return res

    def start_worker(self, config: dict[str, Any]) -> WorkerProcess:
        """A Go WorkerPool (config: see go-harness/worker.go); returns once it heartbeats."""
        return WorkerProcess(self._argv("worker", "-config", json.dumps(config)), self.launcher)

    def start_python_worker(self, config: dict[str, Any]) -> WorkerProcess:
        """A Python WorkerPool in its own process, driven exactly like the Go one."""
        argv = [sys.executable, "-m", "tests.interop.pyworker", "-redis", self.addr, "-ns", self.namespace,
                "-config", json.dumps(config)]
        return WorkerProcess(argv, _LocalLauncher())

    def start_webui(self, port: int) -> WebUI:
        """Upstream's web UI on 127.0.0.1:``port``; returns once it accepts connections."""
        return WebUI(self._argv("webui", "-addr", f"127.0.0.1:{port}"), self.launcher)
