"""Driving the Go harness (``go-harness/`` in the repository: a Go program over the real
gocraft/work) and its Python counterpart, for tests, the demo and the benchmarks.

The harness speaks JSON lines: one-shot subcommands (``enqueue``, ``client``, ``json``) read
requests on stdin and print one reply each; ``worker`` prints events (``started``,
``job_start``, ``job_end``, ``drained``, ``done``, ``stopped``) and obeys ``drain`` and
``stop`` on stdin; ``webui`` prints ``{"event": "listening", "addr": ...}`` and serves until
SIGTERM. The Python counterpart of ``worker`` (``python -m tests.interop.pyworker`` in the
repository) prints the same events, so both are driven by :class:`WorkerProcess`.

Processes are started by a launcher:

- :class:`LocalLauncher`: local processes (optionally pinned to CPUs, in a given directory);
- :class:`DockerLauncher`: containers, through the ``docker`` SDK (``pip install
  gowork-compat[docker]``), on the host network so loopback Redis addresses work as they
  are: the harness image (``Dockerfile.harness``) and the Python image (``Dockerfile``).
  ``docker kill`` is the kill -9, SIGTERM is ``docker stop`` without its timer.

    harness = Harness(build_harness(Path("go-harness")), "127.0.0.1", 6379, "my-app")
    with harness.start_worker({"jobs": {"send_email": {"behavior": {"kind": "succeed"}}}}) as go:
        harness.enqueue([{"method": "Enqueue", "name": "send_email", "args": {}}])
        go.wait_jobs(1)
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

__all__ = [
    "HARNESS_IMAGE_BINARY",
    "Command",
    "DockerLauncher",
    "Event",
    "Harness",
    "HarnessError",
    "Launcher",
    "LocalLauncher",
    "Proc",
    "WebUI",
    "WorkerProcess",
    "build_harness",
    "free_port",
    "peak_rss_kb",
    "stop_process",
]

Event = dict[str, Any]

#: where Dockerfile.harness installs the harness (the image's entrypoint)
HARNESS_IMAGE_BINARY = "/usr/local/bin/gowork-harness"
#: the module that runs a Python WorkerPool like the harness's ``worker`` subcommand
PYWORKER_MODULE = "tests.interop.pyworker"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the kernel's pick), for a server started right after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM, ``grace`` seconds to exit, then SIGKILL; returns once the process is reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def peak_rss_kb(pid: int | str = "self") -> int | None:
    """VmHWM (peak resident set) of process ``pid`` in kB from /proc (Linux), None when
    unknown: another system, a process gone or a zombie (whose status has no VmHWM)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class HarnessError(RuntimeError):
    """A harness process failed, hung, or answered something else than expected."""


# -- building --------------------------------------------------------------------------------


def build_harness(src: Path, out: Path | None = None, *, tags: Sequence[str] = (),
                  replace: Mapping[str, Path] | None = None, timeout: float = 900.0) -> Path:
    """``go build`` the harness in ``src`` (the go-harness directory) into ``out`` (default
    ``src/gowork-harness``) and return the binary's path.

    ``tags`` are Go build tags (``gowork_master`` for the master dialect); ``replace`` maps
    module paths to local checkouts (``{"github.com/gocraft/work": Path("/tmp/work")}``).
    With a replace, the build runs in a temporary copy of ``src`` whose go.mod gets the
    ``replace`` directives (``src`` itself is never changed)."""
    if shutil.which("go") is None:
        raise HarnessError("building the Go harness needs the go toolchain on PATH")
    target = (out or src / "gowork-harness").resolve()
    env = {**os.environ, "GOFLAGS": "-mod=mod"} if replace else dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="gowork-harness-src-") as tmp:
        work = src
        if replace:
            work = Path(tmp) / "go-harness"
            shutil.copytree(src, work, ignore=shutil.ignore_patterns("gowork-harness", "cronref"))
            for module, path in replace.items():
                _go(["go", "mod", "edit", f"-replace={module}={Path(path).resolve()}"], work, env, timeout)
            _go(["go", "mod", "tidy"], work, env, timeout)
        argv = ["go", "build", "-o", str(target)]
        if tags:
            argv.append("-tags=" + ",".join(tags))
        _go([*argv, "."], work, env, timeout)
    return target


def _go(argv: list[str], cwd: Path, env: Mapping[str, str], timeout: float) -> None:
    res = subprocess.run(argv, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
    if res.returncode != 0:
        raise HarnessError(f"{' '.join(argv)} failed in {cwd}:\n{res.stdout}{res.stderr}")


# -- launchers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """What to start: the harness (``args`` after the binary), the Python interpreter
    (``args`` after ``python``), or any local program (``args`` is the whole argv)."""

    kind: Literal["harness", "python", "exec"]
    args: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.args[0] if self.args else self.kind


class Proc:
    """A started process as the driver sees it: text stdin/stdout, stderr to a file."""

    stdin: IO[str] | None
    stdout: IO[str]
    #: the local process id (None for a container)
    pid: int | None = None

    def poll(self) -> int | None:
        raise NotImplementedError

    def wait(self, timeout: float | None = None) -> int:
        """The exit status; raises subprocess.TimeoutExpired after ``timeout`` seconds."""
        raise NotImplementedError

    def send_signal(self, sig: int) -> None:
        raise NotImplementedError


class Launcher:
    """Starts harness and Python worker processes."""

    def start(self, cmd: Command, stderr: IO[str], stdin: bool = True) -> Proc:
        raise NotImplementedError


class _LocalProc(Proc):
    def __init__(self, argv: Sequence[str], stderr: IO[str], stdin: bool, cwd: Path | None,
                 cpus: set[int] | None, env: Mapping[str, str] | None) -> None:
        def pin() -> None:  # in the child before exec: every thread it starts inherits the mask
            if cpus:
                os.sched_setaffinity(0, cpus)

        self.popen = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr, encoding="utf-8", bufsize=1, cwd=cwd, env=None if env is None else dict(env),
            preexec_fn=pin if cpus else None)
        self.stdin = self.popen.stdin
        assert self.popen.stdout is not None
        self.stdout = self.popen.stdout
        self.pid = self.popen.pid

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout)

    def send_signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)


@dataclass
class LocalLauncher(Launcher):
    """Local processes: the harness ``binary`` and ``python`` (default: this interpreter),
    started in ``cwd``, optionally pinned to ``cpus``."""

    binary: Path | None = None
    python: str = sys.executable
    cwd: Path | None = None
    cpus: set[int] | None = None
    env: Mapping[str, str] | None = None

    def argv(self, cmd: Command) -> list[str]:
        if cmd.kind == "harness":
            if self.binary is None:
                raise HarnessError("LocalLauncher has no harness binary")
            return [str(self.binary), *cmd.args]
        if cmd.kind == "python":
            return [self.python, *cmd.args]
        return list(cmd.args)

    def start(self, cmd: Command, stderr: IO[str], stdin: bool = True) -> Proc:
        return _LocalProc(self.argv(cmd), stderr, stdin, self.cwd, self.cpus, self.env)


class _DockerProc(Proc):
    """A container attached like a subprocess: local pipes stand for its stdin and stdout and
    are pumped to and from the attach socket; stderr frames go to ``stderr``."""

    def __init__(self, client: Any, image: str, command: list[str], stderr: IO[str], stdin: bool,
                 entrypoint: list[str] | None, volumes: dict[str, dict[str, str]],
                 environment: dict[str, str], labels: dict[str, str]) -> None:
        frames_iter = importlib.import_module("docker.utils.socket").frames_iter
        self._returncode: int | None = None
        # the low-level config: the SDK has no stdin_once (EOF on stdin when we close it)
        api = client.api
        binds = [f"{host}:{v['bind']}:{v['mode']}" for host, v in volumes.items()]
        config = api.create_container_config(
            image, command, entrypoint=entrypoint, stdin_open=stdin, environment=environment, labels=labels,
            host_config=api.create_host_config(network_mode="host", init=True, binds=binds))
        config["StdinOnce"] = stdin
        created = api.create_container_from_config(config)
        self._container = client.containers.get(created["Id"])
        try:
            sock = self._container.attach_socket(
                params={"stdin": int(stdin), "stdout": 1, "stderr": 1, "stream": 1})
            raw: socket.socket = getattr(sock, "_sock", sock)
            raw.settimeout(None)  # the API client's request timeout would end an idle stream
            self._container.start()
        except BaseException:
            self._container.remove(force=True)
            raise
        self.id: str = self._container.id

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
            except (OSError, ValueError):
                pass  # the container went away
            finally:
                os.close(out_w)

        threading.Thread(target=pump_out, daemon=True).start()
        self.stdin = None
        if stdin:
            in_r, in_w = os.pipe()
            self.stdin = open(in_w, "w", encoding="utf-8", buffering=1)

            def pump_in() -> None:
                with open(in_r, "rb", buffering=0) as src:
                    try:
                        while chunk := src.read(65536):
                            raw.sendall(chunk)
                        raw.shutdown(socket.SHUT_WR)  # EOF on the container's stdin (stdin_once)
                    except OSError:
                        pass  # the container went away

            threading.Thread(target=pump_in, daemon=True).start()

    def poll(self) -> int | None:
        if self._returncode is None:
            try:
                self._container.reload()
            except importlib.import_module("docker.errors").NotFound:
                return self._returncode
            if self._container.status in ("exited", "dead"):
                return self.wait(10)
        return self._returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._returncode is None:
            try:
                status = self._container.wait(timeout=timeout)
            except OSError as e:  # requests' timeouts are OSErrors
                raise subprocess.TimeoutExpired(f"container {self.id[:12]}", timeout or 0) from e
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


@dataclass
class DockerLauncher(Launcher):
    """Containers on the host network: the harness from ``harness_image`` (its entrypoint is
    the harness) and Python from ``python_image`` (``python`` on its PATH), with
    ``python_volumes`` mounted read-only (host path -> container path). ``exec`` commands
    run locally. Every container is labelled ``gowork-compat.harness=1``."""

    harness_image: str = "gowork-compat-harness:test"
    python_image: str = "gowork-compat:test"
    python_volumes: Mapping[str, str] = field(default_factory=dict)
    python_env: Mapping[str, str] = field(default_factory=dict)
    client: Any = None

    def __post_init__(self) -> None:
        if self.client is None:
            try:
                from_env = importlib.import_module("docker").from_env  # the SDK ships no type information
            except (ImportError, AttributeError) as e:  # a directory named docker/ is no SDK
                raise HarnessError("containers need the docker SDK: pip install 'gowork-compat[docker]'") from e
            self.client = from_env()
        self.client.ping()

    def has_image(self, image: str) -> bool:
        try:
            self.client.images.get(image)
            return True
        except importlib.import_module("docker.errors").ImageNotFound:
            return False

    def require_images(self, *images: str) -> None:
        missing = [i for i in images if not self.has_image(i)]
        if missing:
            raise HarnessError(f"missing image(s) {', '.join(missing)}: build them first "
                               "(in the repository: bash scripts/docker.sh up)")

    def start(self, cmd: Command, stderr: IO[str], stdin: bool = True) -> Proc:
        labels = {"gowork-compat.harness": "1"}
        if cmd.kind == "harness":
            return _DockerProc(self.client, self.harness_image, list(cmd.args), stderr, stdin, None, {}, {}, labels)
        if cmd.kind == "python":
            volumes = {host: {"bind": inside, "mode": "ro"} for host, inside in self.python_volumes.items()}
            return _DockerProc(self.client, self.python_image, ["python", *cmd.args], stderr, stdin, [],
                               volumes, dict(self.python_env), labels)
        return _LocalProc(cmd.args, stderr, stdin, None, None, None)


# -- long-running workers ------------------------------------------------------------------


class WorkerProcess:
    """A running worker (Go harness ``worker`` or the Python pyworker) and the events it printed.

    A reader thread appends every stdout line, parsed, to a list guarded by a Condition, with
    the time it was read (``time.time_ns``); lines that are not JSON become
    ``{"event": "garbage", "line": ...}`` and the end of the output adds ``{"event": "exited"}``.
    Unless ``wait_started`` is false, the constructor returns once the worker printed
    ``started`` (its ``pool_id`` and ``pid`` are kept)."""

    def __init__(self, cmd: Command, launcher: Launcher, start_timeout: float = 30.0,
                 wait_started: bool = True) -> None:
        self._stderr = tempfile.NamedTemporaryFile(
            "w+", prefix="gowork-worker-", suffix=".log", delete=False, encoding="utf-8")
        self._events: list[Event] = []
        self._times: list[int] = []
        self._cond = threading.Condition()
        self._exited = False
        self.pool_id = ""
        self.pid = 0
        self.spawned_ns = time.time_ns()
        self.proc = launcher.start(cmd, self._stderr)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if wait_started:
            try:
                self.wait_started(start_timeout)
            except BaseException:
                self.kill()
                self.close()
                raise

    def wait_started(self, timeout: float = 30.0) -> Event:
        started = self.wait_for(lambda e: e.get("event") == "started", timeout=timeout)
        self.pool_id = started["pool_id"]
        self.pid = started["pid"]
        return started

    def _read(self) -> None:
        for line in self.proc.stdout:
            now = time.time_ns()
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError(line)
            except ValueError:
                ev = {"event": "garbage", "line": line}
            with self._cond:
                self._events.append(ev)
                self._times.append(now)
                self._cond.notify_all()
        with self._cond:
            self._events.append({"event": "exited"})
            self._times.append(time.time_ns())
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

    def peak_rss_mb(self) -> float:
        """VmHWM of a local worker process in MB (NaN when unknown, e.g. in a container)."""
        kb = peak_rss_kb(self.proc.pid) if isinstance(self.proc.pid, int) else None
        return float("nan") if kb is None else kb / 1024.0

    # -- events ---------------------------------------------------------------

    def wait_for_timed(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> tuple[int, Event]:
        """The first event (oldest first, including those already seen) matching ``pred``,
        with the time it was read (``time.time_ns``)."""
        deadline = time.monotonic() + timeout
        scanned = 0
        with self._cond:
            while True:
                for i in range(scanned, len(self._events)):
                    if pred(self._events[i]):
                        return self._times[i], self._events[i]
                scanned = len(self._events)
                left = deadline - time.monotonic()
                if self._exited or left <= 0:
                    raise self._failure("no matching worker event", timeout)
                self._cond.wait(left)

    def wait_for(self, pred: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        """The first event (oldest first, including those already seen) matching ``pred``."""
        return self.wait_for_timed(pred, timeout)[1]

    def events(self, kind: str | None = None) -> list[Event]:
        with self._cond:
            return [e for e in self._events if kind is None or e.get("event") == kind]

    def timed_events(self, kind: str | None = None) -> list[tuple[int, Event]]:
        with self._cond:
            return [(t, e) for t, e in zip(self._times, self._events) if kind is None or e.get("event") == kind]

    def wait_count(self, kind: str, n: int, timeout: float) -> list[Event]:
        """Wait until ``n`` events of ``kind`` arrived; returns them all."""
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

    _wait_count = wait_count

    def wait_jobs(self, n: int, timeout: float = 20.0) -> list[Event]:
        """Wait until ``n`` handler calls have ended; returns the job_end events."""
        return self.wait_count("job_end", n, timeout)

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
        self.wait_count("drained", before + 1, timeout)

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
        """SIGTERM: the worker stops gracefully and exits 0 (``docker stop`` for a container)."""
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL (``docker kill`` for a container), then reap."""
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


class WebUI:
    """Upstream's workwebui served by the harness, until stop()."""

    def __init__(self, cmd: Command, launcher: Launcher) -> None:
        self._err = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.proc = launcher.start(cmd, self._err, stdin=False)
        line = self.proc.stdout.readline()
        ev: Event = json.loads(line) if line.strip() else {}
        if ev.get("event") != "listening":
            self.stop()
            raise HarnessError(f"webui did not start: {line!r}")
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


# -- the harness -------------------------------------------------------------------------------


class Harness:
    """The Go harness bound to one Redis and one namespace, started by ``launcher`` (default:
    local processes of ``binary``)."""

    def __init__(self, binary: Path | str, redis_host: str, redis_port: int, namespace: str,
                 launcher: Launcher | None = None) -> None:
        self.binary = Path(binary)
        self.redis_host = redis_host
        self.redis_port = redis_port
        self.namespace = namespace
        self.launcher = launcher if launcher is not None else LocalLauncher(binary=self.binary)
        if isinstance(self.launcher, LocalLauncher) and self.launcher.binary is None:
            self.launcher.binary = self.binary

    @property
    def addr(self) -> str:
        return f"{self.redis_host}:{self.redis_port}"

    def command(self, sub: str, *extra: str) -> Command:
        """The harness subcommand ``sub`` bound to this Redis and namespace."""
        return Command("harness", (sub, "-redis", self.addr, "-ns", self.namespace, *extra))

    def python_worker_command(self, config: dict[str, Any], module: str = PYWORKER_MODULE) -> Command:
        return Command("python", ("-m", module, "-redis", self.addr, "-ns", self.namespace,
                                  "-config", json.dumps(config)))

    def run(self, cmd: Command, lines: Iterable[str] | None, expect: int | None = None,
            timeout: float = 120.0) -> list[Event]:
        """Run one process to completion, feeding ``lines`` on stdin (None: no stdin), and
        return its stdout lines parsed. Raises HarnessError, with its stderr, when it fails,
        hangs or prints a number of lines other than ``expect``."""
        with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
            proc = self.launcher.start(cmd, err, stdin=lines is not None)
            out: list[str] = []
            reader = threading.Thread(target=lambda: out.extend(proc.stdout), daemon=True)
            reader.start()

            def problem(what: str) -> HarnessError:
                err.seek(0)
                return HarnessError(f"harness {cmd.name}: {what}; stderr:\n{err.read()[-4000:]}")

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

    _run = run

    def enqueue(self, requests: list[dict[str, Any]]) -> list[Event]:
        """Go Enqueuer calls in one process; one reply per request:
        {"job": ... | None, "run_at"?: int, "error"?: str}."""
        return self.run(self.command("enqueue"), [json.dumps(r) for r in requests], expect=len(requests))

    def bench_enqueue(self, n: int, names: Sequence[str], concurrency: int = 1,
                      args: dict[str, Any] | None = None, timeout: float = 120.0) -> Event:
        """``n`` Go Enqueue calls round-robin over ``names``: {"count": n, "seconds": float}."""
        extra = ["-bench", str(n), "-names", ",".join(names), "-bench-concurrency", str(concurrency)]
        if args is not None:
            extra += ["-args", json.dumps(args)]
        (res,) = self.run(self.command("enqueue", *extra), None, expect=1, timeout=timeout)
        if res.get("error"):
            raise HarnessError(f"harness enqueue -bench: {res['error']}")
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
        out = self.run(Command("harness", ("json",)), lines, expect=len(requests))
        return [{**o, "out": base64.b64decode(o["out"])} if "out" in o else o for o in out]

    def client(self, op: str, **args: Any) -> Event:
        """One call of Go's work.Client: {"result": ..., "count"?: int, "error"?: str}."""
        (res,) = self.run(self.command("client", "-op", op, "-args", json.dumps(args)), None, expect=1)
        return res

    def start_worker(self, config: dict[str, Any], start_timeout: float = 30.0,
                     wait_started: bool = True) -> WorkerProcess:
        """A Go WorkerPool (config: see go-harness/worker.go); returns once it heartbeats."""
        return WorkerProcess(self.command("worker", "-config", json.dumps(config)), self.launcher,
                             start_timeout, wait_started)

    def start_python_worker(self, config: dict[str, Any], start_timeout: float = 30.0,
                            wait_started: bool = True, module: str = PYWORKER_MODULE) -> WorkerProcess:
        """A Python WorkerPool in its own process (``python -m module``), driven exactly like
        the Go one."""
        return WorkerProcess(self.python_worker_command(config, module), self.launcher, start_timeout,
                             wait_started)

    def start_webui(self, port: int) -> WebUI:
        """Upstream's web UI on 127.0.0.1:``port``; returns once it accepts connections."""
        return WebUI(self.command("webui", "-addr", f"127.0.0.1:{port}"), self.launcher)
