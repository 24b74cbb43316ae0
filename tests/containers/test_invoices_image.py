"""examples/invoices with its Go worker as an image (its Dockerfile, built by
``bash scripts/docker.sh up`` on the same bases as the harness image): the example's own
pytest run, go_worker(image=...) starting the container on the host network."""

from __future__ import annotations

import os

import pytest

from tests.interop.test_invoices_example import run_example

from .engine import docker_client

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]
INVOICES_IMAGE = os.environ.get("GOWORK_INVOICES_IMAGE") or "gowork-compat-invoices:test"


def test_invoices_example_with_the_worker_image() -> None:
    docker_client(INVOICES_IMAGE)
    res = run_example({"INVOICES_WORKER_IMAGE": INVOICES_IMAGE})
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "5 passed" in res.stdout
