"""Fixtures of the interop suite: the Go harness built once per session, bound per test
to the session's redis-server and the test's own namespace. Every test collected from
tests/interop is marked ``interop``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import RedisServer
from tests.interop.harness import Harness, build_harness, docker_mode

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Hooks of a conftest see every collected item, so only ours are marked.
    for item in items:
        if _HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def harness_bin() -> Path:
    if not docker_mode():
        return build_harness()
    try:
        return build_harness()
    except Exception as e:  # no SDK, no engine, no images
        if os.environ.get("CI") == "true":
            pytest.fail(f"GOWORK_INTEROP_DOCKER=1 in CI but containers cannot run: {e}")
        pytest.skip(f"GOWORK_INTEROP_DOCKER=1 but containers cannot run here: {e}")


@pytest.fixture
def harness(harness_bin: Path, redis_server: RedisServer, ns: str) -> Harness:
    return Harness(harness_bin, "127.0.0.1", redis_server.port, ns)
