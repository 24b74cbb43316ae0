"""The Docker engine for the container tests: the SDK client when an engine answers and the
images built by ``bash scripts/docker.sh up`` exist. Otherwise the test is skipped with the
reason, except in CI (CI=true), where a missing or failing engine is a failure."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS_IMAGE = os.environ.get("GOWORK_HARNESS_IMAGE") or "gowork-compat-harness:test"
PYTHON_IMAGE = os.environ.get("GOWORK_PYTHON_IMAGE") or "gowork-compat:test"
STATE = Path(os.environ.get("GOWORK_DOCKER_STATE") or "/tmp/gowork-compat-dockerd")


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"containers are required in CI: {reason}", pytrace=False)
    pytest.skip(f"{reason} (bash scripts/docker.sh up starts an engine and builds the images)")


def docker_client(*images: str) -> Any:
    """The docker SDK client (the images must exist), or skip/fail as the module says."""
    try:
        from_env = importlib.import_module("docker").from_env
    except (ImportError, AttributeError):
        unavailable("the docker SDK is not installed (pip install -e '.[docker]')")
    try:
        client = from_env()
        client.ping()
    except Exception as e:
        unavailable(f"no Docker engine answers: {e}")
    for image in images or (HARNESS_IMAGE, PYTHON_IMAGE):
        try:
            client.images.get(image)
        except Exception as e:
            unavailable(f"image {image} is missing: {e}")
    return client


def build_args_env() -> dict[str, str]:
    """The base images scripts/docker.sh used (stand-ins when upstream ones can't be pulled)."""
    out: dict[str, str] = {}
    path = STATE / "build-args.env"
    if path.is_file():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value.strip()
    return out
