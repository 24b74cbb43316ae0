"""Shared fixtures: one real redis-server per test session on a free loopback port,
and a fresh namespace per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from gowork_compat.harness import free_port, stop_process

__all__ = ["RedisServer", "free_port", "stop_process", "until"]


def until(pred: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll ``pred`` until it returns something truthy (returned), failing after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class RedisServer:
    """A redis-server process owned by the tests."""

    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, appendonly: bool = False) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.exit("redis-server is not installed (apt-get install -y redis-server)", returncode=3)
        args = [
            exe,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes" if appendonly else "no",
            "--appendfsync", "always",
            "--protected-mode", "no",
            "--loglevel", "warning",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client = redis.Redis(port=self.port, socket_timeout=2.0)
                try:
                    client.ping()
                finally:
                    client.close()
                return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
                # not listening yet, loading its AOF, or slow to answer on a loaded machine
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None

    def restart(self, downtime: float = 0.0) -> None:
        """Stop (SHUTDOWN, saving nothing extra: appendonly keeps what was acknowledged) and start again."""
        self.stop()
        time.sleep(downtime)
        self.start(appendonly=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    d = Path(tempfile.mkdtemp(prefix="gowork-redis-"))
    srv = RedisServer(port=free_port(), dir=d)
    srv.start()
    yield srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def private_redis_server() -> Iterator[RedisServer]:
    """A redis-server of its own (for tests that restart or break it), with appendonly on."""
    d = Path(tempfile.mkdtemp(prefix="gowork-redis-"))
    srv = RedisServer(port=free_port(), dir=d)
    srv.start(appendonly=True)
    yield srv
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def r(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=redis_server.port)
    yield client
    client.close()


@pytest.fixture
def ns(request: pytest.FixtureRequest) -> str:
    """A namespace no other test uses."""
    name = request.node.name.replace("[", "-").replace("]", "")[:40]
    return f"t-{name}-{uuid.uuid4().hex[:8]}"


def pytest_report_header() -> str:
    return f"redis-server: {shutil.which('redis-server')}; GOWORK_HARNESS={os.environ.get('GOWORK_HARNESS', '')}"
