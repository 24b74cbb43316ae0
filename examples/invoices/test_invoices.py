"""The invoices example: the Python producer against the real Go worker (worker/main.go).

Run: ``pip install 'gowork-compat[testing]'`` then ``pytest`` in this directory (Go installed:
the worker is built with ``go build``; or INVOICES_WORKER_IMAGE=invoices-worker to run the
image built from the Dockerfile instead).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from producer import invoice_args, invoice_args_wrong

from gowork_compat import Enqueuer, WorkerPool
from gowork_compat.contracts import Contracts, ContractViolation
from gowork_compat.testing.strategies import args_from_schema

HERE = Path(__file__).resolve().parent
SCHEMA = json.loads((HERE / "send_invoice.schema.json").read_text())
CONTRACTS = Contracts({"send_invoice": SCHEMA})
#: examples in the batched property (25 a batch): INVOICES_EXAMPLES=2000 for a longer run
EXAMPLES = int(os.environ.get("INVOICES_EXAMPLES", "250"))
BATCH = 25

FAST = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                      HealthCheck.data_too_large])


@pytest.fixture(scope="session")
def worker_binary(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The Go worker built once (None when running the image instead)."""
    if os.environ.get("INVOICES_WORKER_IMAGE"):
        return None
    if shutil.which("go") is None:
        pytest.skip("the Go worker needs Go (or INVOICES_WORKER_IMAGE=<image built from the Dockerfile>)")
    out = tmp_path_factory.mktemp("invoices") / "invoices-worker"
    subprocess.run(["go", "build", "-o", str(out), "./worker"], cwd=HERE, check=True)
    return out


@pytest.fixture
def invoice_worker(go_worker: Any, worker_binary: Path | None) -> Any:
    """The Go invoices worker on the test's Redis and namespace (REDIS_ADDR, WORK_NAMESPACE)."""
    if worker_binary is None:
        return go_worker(image=os.environ["INVOICES_WORKER_IMAGE"])
    return go_worker(command=[str(worker_binary)])


@FAST
@given(args=args_from_schema(SCHEMA))
def test_any_valid_invoice_runs_clean(gowork: Any, invoice_worker: Any, args: dict[str, Any]) -> None:
    """One job per example: whatever the schema allows, the Go handler accepts."""
    gowork.assert_runs_clean("send_invoice", args)


def test_many_valid_invoices_run_clean(gowork: Any, invoice_worker: Any) -> None:
    """The same property, batched: 25 jobs enqueued at once per example, their fates awaited together."""
    sent: list[dict[str, Any]] = []

    @settings(FAST, max_examples=-(-EXAMPLES // BATCH))
    @given(batch=st.lists(args_from_schema(SCHEMA), min_size=BATCH, max_size=BATCH))
    def batches(batch: list[dict[str, Any]]) -> None:
        gowork.assert_runs_clean("send_invoice", batch)
        sent.extend(batch)

    batches()
    assert len(sent) >= EXAMPLES


def test_the_producer_runs_clean(gowork: Any, invoice_worker: Any) -> None:
    gowork.assert_runs_clean("send_invoice", invoice_args(42, 7, "ada@example.com", [("PEN-1", 3, 250)]))


def test_the_wrong_producer_is_caught(gowork: Any, invoice_worker: Any) -> None:
    """Amounts in euros: the Go worker fails the job, and the contract refuses it before it is sent."""
    wrong = invoice_args_wrong(43, 7, "ada@example.com", [("BOOK-9", 1, 1999)])
    with pytest.raises(AssertionError, match=r"1 of 1 job\(s\) did not run clean:\n.*retry after 1 failure\(s\): "
                                             r"amount_cents: not an integer: 19\.99"):
        gowork.assert_runs_clean("send_invoice", wrong)
    with pytest.raises(ContractViolation, match=r"'send_invoice' break its contract at /amount_cents: 19\.99"):
        Enqueuer(gowork.url, gowork.namespace, contracts=CONTRACTS).enqueue("send_invoice", wrong)


def test_a_python_handler_runs_go_made_jobs(gowork: Any, go_enqueuer: Any) -> None:
    """The other direction: jobs made by Go's Enqueuer, run by a Python pool with the contract."""
    seen: list[dict[str, Any]] = []
    pool = WorkerPool(gowork.url, gowork.namespace, concurrency=2, contracts=CONTRACTS)
    pool.job("send_invoice", lambda job: seen.append(job.args))
    good = invoice_args(44, 8, "bob@example.com", [("MUG", 2, 900)])
    jobs = go_enqueuer.enqueue_many([("send_invoice", good), ("send_invoice", {**good, "currency": "eur"})])
    pool.start()
    try:
        done, dead = gowork.wait_fates(jobs, timeout=30)
    finally:
        pool.stop()
    assert done.state == "done" and seen == [good]
    assert dead.state == "dead"
    assert "break its contract at /currency" in dead.error
