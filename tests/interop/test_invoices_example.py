"""CI runs examples/invoices (the user's view of gowork_compat.testing) with its Go worker
as a local binary: its own pytest run, the plugin enabled with -p."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "invoices"


def run_example(extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "gowork_compat.testing.plugin",
         "-rA", str(EXAMPLE)], cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=300)


def test_invoices_example_with_a_local_worker() -> None:
    if shutil.which("go") is None:
        pytest.skip("the example's worker is built with go")
    res = run_example()
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "5 passed" in res.stdout
    # the batched property sent its >= 250 examples through the Go worker
    assert "PASSED test_invoices.py::test_many_valid_invoices_run_clean" in res.stdout
