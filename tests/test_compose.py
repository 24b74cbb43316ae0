"""docker-compose.yml and the Python Dockerfile: the file validates with Docker Compose, says
what the README says, and its commands work, run here without a Docker engine against the
test redis-server (the Go worker's too when the harness is built)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import redis
import yaml

from gowork_compat.client import Client
from gowork_compat.enqueuer import Enqueuer
from gowork_compat.harness import HARNESS_IMAGE_BINARY, DockerLauncher, Harness
from tests.conftest import until as _until
from tests.containers.engine import build_args_env, docker_client, unavailable

from .conftest import RedisServer, free_port


def wait_for(pred: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    return _until(pred, timeout, what)

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"redis", "go-worker", "py-worker", "py-enqueuer", "webui"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def go_config(svc: dict[str, Any]) -> dict[str, Any]:
    cmd: list[str] = svc["command"]
    cfg: dict[str, Any] = json.loads(cmd[cmd.index("-config") + 1])
    return cfg


# -- Docker Compose itself ---------------------------------------------------------------
def compose_command() -> list[str]:
    """``docker compose`` (the v2 plugin), else ``docker-compose``; neither needs an engine
    for ``version`` and ``config``."""
    tried = []
    if shutil.which("docker"):
        p = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            return ["docker", "compose"]
        tried.append("'docker compose version' failed (the compose plugin is not installed)")
    else:
        tried.append("no docker CLI")
    legacy = shutil.which("docker-compose")
    if legacy:
        p = subprocess.run([legacy, "version"], capture_output=True, text=True, timeout=60)
        if p.returncode == 0:
            return [legacy]
        tried.append("'docker-compose version' failed")
    else:
        tried.append("no docker-compose")
    pytest.skip("cannot validate docker-compose.yml with Docker Compose: " + "; ".join(tried))


@pytest.mark.timeout(300)
def test_docker_compose_config_validates() -> None:
    cmd = compose_command()
    env = {k: v for k, v in os.environ.items() if k != "GOWORK_WEBUI_AUTH"}
    p = subprocess.run([*cmd, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, cwd=ROOT,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([*cmd, "-f", str(COMPOSE), "config"], capture_output=True, text=True, cwd=ROOT, env=env,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    resolved = yaml.safe_load(p.stdout)["services"]
    assert set(resolved) == SERVICES
    # the x-python anchor is merged into each Python service
    for name in ("py-worker", "py-enqueuer", "webui"):
        assert resolved[name]["build"]["dockerfile"] == "Dockerfile"
        assert resolved[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert resolved["webui"]["command"] == ["gowork", "webui", "--host", "0.0.0.0", "--port", "5040"]


# -- what the file says ------------------------------------------------------------------
def test_services_ports_and_commands(compose: dict[str, Any]) -> None:
    svc = services(compose)
    assert set(svc) == SERVICES
    assert svc["redis"]["image"] == "redis:7"
    assert svc["go-worker"]["build"] == {"context": ".", "dockerfile": "Dockerfile.harness"}
    cmd = svc["go-worker"]["command"]
    assert cmd[:5] == ["worker", "-redis", "redis:6379", "-ns", "demo-app"]
    assert svc["py-worker"]["command"] == ["gowork", "worker", "compose_app.worker_app:pool"]
    assert svc["py-enqueuer"]["command"] == ["python", "compose_app/enqueue_loop.py"]
    assert svc["webui"]["command"][:4] == ["gowork", "webui", "--host", "0.0.0.0"]
    # only the web UI is published, and only on the loopback interface
    assert svc["webui"]["ports"] == ["127.0.0.1:5040:5040"]
    assert [n for n, s in svc.items() if "ports" in s] == ["webui"]
    for name in ("py-worker", "py-enqueuer", "webui"):
        s = svc[name]
        assert s["build"] == {"context": ".", "dockerfile": "Dockerfile"}
        assert s["environment"]["GOWORK_NAMESPACE"] == "demo-app"
        assert s["depends_on"] == {"redis": {"condition": "service_healthy"}}
    for path in ("Dockerfile", "Dockerfile.harness", "compose_app/worker_app.py", "compose_app/enqueue_loop.py"):
        assert (ROOT / path).is_file(), path


def test_readme_describes_the_stack(compose: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docker-compose.yml" in readme and "docker compose up" in readme
    assert "127.0.0.1:5040" in readme
    webui = services(compose)["webui"]
    assert webui["ports"] == ["127.0.0.1:5040:5040"]


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    # the base is a build ARG defaulting to the upstream image (scripts/docker.sh passes a stand-in in CI)
    assert lines[:2] == ["ARG PYTHON_IMAGE=python:3.11-slim", "FROM ${PYTHON_IMAGE}"]
    assert any(ln.startswith("RUN pip install") and '".[web]"' in ln for ln in lines)
    assert "COPY compose_app/ compose_app/" in lines
    assert any(ln.startswith("USER ") for ln in lines)


def test_job_names_agree(compose: dict[str, Any]) -> None:
    loop = load(ROOT / "compose_app" / "enqueue_loop.py", "compose_enqueue_loop")
    app = load(ROOT / "compose_app" / "worker_app.py", "compose_worker_app")
    go_jobs = set(go_config(services(compose)["go-worker"])["jobs"])
    py_jobs = set(app.pool.job_types)
    assert go_jobs == set(loop.GO_JOBS) | set(loop.SHARED_JOBS)
    assert py_jobs == set(loop.PY_JOBS) | set(loop.SHARED_JOBS)
    assert go_jobs & py_jobs == set(loop.SHARED_JOBS)


# -- the commands, run without Docker ------------------------------------------------------
def harness_path() -> Path | None:
    path = Path(os.environ.get("GOWORK_HARNESS") or ROOT / "go-harness" / "gowork-harness")
    return path if path.is_file() and os.access(path, os.X_OK) else None


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
            p.wait()


def first_line(p: subprocess.Popen[str], timeout: float = 20.0) -> str:
    out: list[str] = []
    t = threading.Thread(target=lambda: out.append(p.stdout.readline() if p.stdout else ""), daemon=True)
    t.start()
    t.join(timeout)
    assert out and out[0], "no output in time"
    return out[0]


def test_compose_commands_run_here(compose: dict[str, Any], redis_server: RedisServer, ns: str, r: redis.Redis,
                                   procs: list[subprocess.Popen[str]]) -> None:
    svc = services(compose)

    def env_of(name: str, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({k: str(v) for k, v in svc[name]["environment"].items()})
        env.update(REDIS_URL=redis_server.url, GOWORK_NAMESPACE=ns, GOWORK_WORK_SECONDS="0.01", **extra)
        env.pop("GOWORK_WEBUI_AUTH", None)
        return env

    def command(name: str) -> list[str]:
        cmd = list(svc[name]["command"])
        if cmd[0] == "gowork":
            return [sys.executable, "-m", "gowork_compat", *cmd[1:]]
        if cmd[0] == "python":
            return [sys.executable, *cmd[1:]]
        return cmd

    py = subprocess.Popen(command("py-worker"), env=env_of("py-worker"), cwd=ROOT, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    procs.append(py)
    assert "started" in first_line(py)

    harness = harness_path()
    if harness is not None:
        go_cmd = [{"redis:6379": f"127.0.0.1:{redis_server.port}", "demo-app": ns}.get(a, a)
                  for a in svc["go-worker"]["command"]]
        go = subprocess.Popen([str(harness), *go_cmd], cwd=ROOT, text=True, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(go)
        assert json.loads(first_line(go))["event"] == "started"

    port = free_port()
    ui_cmd = [a if a != "5040" else str(port) for a in command("webui")]
    ui_cmd = [a if a != "0.0.0.0" else "127.0.0.1" for a in ui_cmd]
    ui = subprocess.Popen(ui_cmd, env=env_of("webui"), cwd=ROOT, text=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    procs.append(ui)

    loop = subprocess.run(command("py-enqueuer"), env=env_of("py-enqueuer", ENQUEUE_COUNT="10",
                                                           ENQUEUE_INTERVAL="0.05"),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert loop.returncode == 0, loop.stderr
    assert "round 10:" in loop.stdout

    keys = [f"{ns}:jobs:resize_image", f"{ns}:jobs:shared"]
    if harness is not None:
        keys += [f"{ns}:jobs:send_email", f"{ns}:jobs:charge_card"]
    wait_for(lambda: all(r.llen(k) == 0 for k in keys), what="the queues to drain")
    if harness is None:
        assert r.llen(f"{ns}:jobs:send_email") == 10  # waiting for a Go worker

    def queues() -> list[dict[str, Any]] | None:
        try:
            resp = httpx.get(f"http://127.0.0.1:{port}/queues", timeout=2)
        except httpx.TransportError:
            return None
        return resp.json() if resp.status_code == 200 else None
    listed = wait_for(queues, what="the web UI")
    assert {q["job_name"] for q in listed} >= {"send_email", "resize_image", "shared", "charge_card"}

    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.communicate(timeout=40)
        assert p.returncode == 0, p.args


# -- docker compose up, for real ------------------------------------------------------------
COMPOSE_CI = ROOT / "docker-compose.ci.yml"
WEBUI = "http://127.0.0.1:5040"


def test_ci_override_keeps_the_go_worker_config(compose: dict[str, Any]) -> None:
    """docker-compose.ci.yml repeats the Go worker's command with a loopback Redis: same config."""
    ci = yaml.safe_load(COMPOSE_CI.read_text())["services"]
    base_cmd, ci_cmd = services(compose)["go-worker"]["command"], ci["go-worker"]["command"]
    assert go_config(ci["go-worker"]) == go_config(services(compose)["go-worker"])
    assert ci_cmd[2].startswith("127.0.0.1:") and [a for a in ci_cmd if a != ci_cmd[2]] == \
        [a for a in base_cmd if a != "redis:6379"]
    assert set(ci) == SERVICES
    # host network only (no bridge network), Redis and the web UI on loopback
    assert {name: s["network_mode"] for name, s in ci.items()} == dict.fromkeys(SERVICES, "host")
    assert ci["redis"]["command"][1:3] == ["--bind", "127.0.0.1"]
    assert ci["webui"]["command"][2:4] == ["--host", "127.0.0.1"]


def _logs(base: list[str], service: str, env: dict[str, str]) -> str:
    p = subprocess.run([*base, "logs", "--no-color", service], capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=60)
    return p.stdout + p.stderr


def _go_events(text: str) -> list[dict[str, Any]]:
    found = []
    for line in text.splitlines():
        _, _, tail = line.partition("| ")
        try:
            ev = json.loads(tail)
        except ValueError:
            continue
        if isinstance(ev, dict):
            found.append(ev)
    return found


def _inprogress(r: redis.Redis, ns: str) -> dict[str, list[bytes]]:
    return {k.decode(): r.lrange(k, 0, -1) for k in r.scan_iter(f"{ns}:jobs:*:inprogress") if r.llen(k)}


@pytest.mark.interop
@pytest.mark.timeout(480)
def test_compose_up_for_real(tmp_path: Path) -> None:
    """The repo's docker-compose.yml (with the CI override: host network, loopback, local base
    images) brought up with Docker Compose: both sides run each other's jobs, retries and dead
    jobs appear, the web UI answers with basic auth, `docker kill` of the Python worker loses
    no job, `stop` leaves nothing in progress, and `down -v` leaves nothing behind."""
    client = docker_client("gowork-compat-harness:compose", "gowork-compat:compose")
    cmd = compose_command()
    try:
        httpx.get(WEBUI, timeout=1)
        unavailable("127.0.0.1:5040 is taken by another process")
    except httpx.TransportError:
        pass
    port = free_port()
    project = f"goworkci{os.getpid()}"
    env = {**os.environ, **build_args_env(), "GOWORK_COMPOSE_REDIS_PORT": str(port),
           "GOWORK_WEBUI_AUTH": "ci:s3cret", "GOWORK_FLAKY_RATE": "1", "ENQUEUE_INTERVAL": "0.5"}
    # The two files merged by Compose itself; with host networking the web UI's published port
    # must go (Compose v1 cannot reset a list in an override): it listens on 127.0.0.1:5040 itself.
    merged = subprocess.run([*cmd, "-f", str(COMPOSE), "-f", str(COMPOSE_CI), "config"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=120)
    assert merged.returncode == 0, merged.stderr
    effective = yaml.safe_load(merged.stdout)
    assert effective["services"]["webui"].pop("ports")
    effective_file = tmp_path / "docker-compose.effective.yml"
    effective_file.write_text(yaml.safe_dump(effective))
    base = [*cmd, "-p", project, "--project-directory", str(ROOT), "-f", str(effective_file)]
    ns = "demo-app"

    def compose_run(*args: str, timeout: float = 300) -> None:
        p = subprocess.run([*base, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
        assert p.returncode == 0, f"{' '.join(args)}:\n{p.stdout[-3000:]}{p.stderr[-3000:]}"

    def container_id(service: str) -> str:
        p = subprocess.run([*base, "ps", "-q", service], capture_output=True, text=True, env=env, cwd=ROOT,
                           timeout=60)
        return p.stdout.strip()

    r = redis.Redis(port=port)
    try:
        compose_run("up", "-d", "--build", timeout=600)
        wait_for(lambda: r.ping(), 60, "Redis of the compose file")
        # 1. Go runs Python-enqueued jobs (the py-enqueuer service, and one of ours)
        url = f"redis://127.0.0.1:{port}/0"
        enq = Enqueuer(url, ns)
        ours = enq.enqueue("send_email", {"to": "ci@example.com"})
        enq.close()

        def go_ran(job_id: str) -> bool:
            return any(e.get("event") == "job_end" and e.get("id") == job_id and e.get("result") == "ok"
                       for e in _go_events(_logs(base, "go-worker", env)))

        wait_for(lambda: go_ran(ours.id), 60, "the Go worker to run a Python-enqueued job")
        # 2. Python runs Go-enqueued jobs (the harness image as the Go enqueuer)
        go = Harness(HARNESS_IMAGE_BINARY, "127.0.0.1", port, ns,
                     DockerLauncher(harness_image="gowork-compat-harness:compose", client=client))
        (reply,) = go.enqueue([{"method": "Enqueue", "name": "resize_image", "args": {"w": 64, "h": 48}}])
        go_id = reply["job"]["id"]
        wait_for(lambda: f"resize_image {go_id}: resized to 64x48" in _logs(base, "py-worker", env), 60,
                 "the Python worker to run a Go-enqueued job")
        # 3. the retry (charge_card fails once in Go) and dead jobs (flaky_report, always failing here)
        wait_for(lambda: _charge_card_retried(_go_events(_logs(base, "go-worker", env))), 90,
                 "charge_card to fail once in Go and succeed on its retry")
        cl = Client(url, ns)

        def python_dead() -> list[Any]:
            # Go's requeuer kills the Python-only retries it sees ("unknown job when requeueing");
            # the Python pool's rescuer puts them back, so the job dies of its own 2 failures
            return [d for d in cl.dead_jobs(1)[0] if d.job.name == "flaky_report" and d.job.fails == 2
                    and "from Python" in d.job.last_err]

        wait_for(python_dead, 90, "a flaky_report job dead after its 2 tries in Python")
        assert {d.job.name for d in cl.dead_jobs(1)[0]} == {"flaky_report"}
        # 4. the web UI on 127.0.0.1:5040, with basic auth
        wait_for(lambda: _status(WEBUI + "/queues") == 401, 60, "the web UI to refuse a request without auth")
        resp = httpx.get(WEBUI + "/queues", auth=("ci", "s3cret"), timeout=5)
        assert resp.status_code == 200
        assert {q["job_name"] for q in resp.json()} >= {"send_email", "resize_image", "shared"}
        assert httpx.get(WEBUI + "/queues", auth=("ci", "wrong"), timeout=5).status_code == 401
        # 5. docker kill of the Python worker while it has jobs in progress: a reaper recovers them
        py_id = container_id("py-worker")

        def python_inprogress() -> dict[str, list[bytes]] | None:
            found = {k: v for k, v in _inprogress(r, ns).items()
                     if k.split(":")[2] in ("resize_image", "flaky_report")}
            return found or None

        stranded = wait_for(python_inprogress, 60, "jobs in progress in the Python worker")
        client.containers.get(py_id).kill()  # docker kill: SIGKILL
        stranded_ids = {json.loads(x)["id"] for v in stranded.values() for x in v}
        compose_run("start", "py-worker")  # a new Python pool, whose reaper requeues the dead pool's jobs
        wait_for(lambda: not any(r.llen(k) for k in stranded), 90, "the dead pool's jobs to be requeued")

        def all_run() -> bool:
            py_logs = _logs(base, "py-worker", env)
            dead_ids = {d.job.id for d in cl.dead_jobs(1)[0]}
            return all(f" {i}: " in py_logs or i in dead_ids or _in_retry(r, ns, i) for i in stranded_ids)

        wait_for(all_run, 90, "every job the killed worker held to run again")
        # 6. docker compose stop: nothing left in progress
        compose_run("stop", "py-enqueuer")
        compose_run("stop", "py-worker", "go-worker", "webui", timeout=120)
        assert _inprogress(r, ns) == {}
        compose_run("stop")
    finally:
        r.close()
        subprocess.run([*base, "down", "-v", "--remove-orphans"], capture_output=True, env=env, cwd=ROOT,
                       timeout=180)
    # 7. down -v leaves nothing
    label = f"com.docker.compose.project={project}"
    assert client.containers.list(all=True, filters={"label": label}) == []
    assert client.volumes.list(filters={"label": label}) == []
    assert client.networks.list(filters={"label": label}) == []


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.TransportError:
        return 0


def _charge_card_retried(events: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """charge_card jobs that failed once in Go and then succeeded (on the retry)."""
    ends = [e for e in events if e.get("event") == "job_end" and e.get("name") == "charge_card"]
    failed = {e["id"] for e in ends if e.get("result") == "error"}
    done = [e for e in ends if e.get("result") == "ok" and e["id"] in failed]
    return done or None


def _in_retry(r: redis.Redis, ns: str, job_id: str) -> bool:
    return any(json.loads(m)["id"] == job_id for m in r.zrange(f"{ns}:retry", 0, -1))
