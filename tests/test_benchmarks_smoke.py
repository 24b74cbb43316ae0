"""benchmarks/run.py --smoke: every case runs (1,000 jobs, one run, short idle) and the
JSON it writes has numeric Go and Python figures and a ratio for each."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ("enqueue", "bulk", "process", "pickup_latency", "idle_commands", "peak_rss")

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
    pytest.mark.skipif(shutil.which("go") is None and not os.environ.get("GOWORK_HARNESS"),
                       reason="needs Go (or GOWORK_HARNESS) for the Go side"),
]


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@pytest.mark.timeout(120)
def test_smoke_run_writes_every_case(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--no-peers",
                          "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert res.returncode == 0, res.stderr[-4000:]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["meta"]["smoke"] is True and doc["meta"]["jobs"] == 1000
    results = doc["results"]
    for case in CASES:
        c = results[case]
        assert c["unit"] in ("jobs/s", "ms", "cmds/s", "MB"), case
        for key in ("go", "python", "ratio"):
            assert _number(c[key]) and c[key] > 0, (case, key, c[key])
        assert len(c["runs"]) == 1, case
    assert math.isclose(results["enqueue"]["ratio"], results["enqueue"]["python"] / results["enqueue"]["go"])
    assert math.isclose(results["bulk"]["go"], results["enqueue"]["go"])  # bulk is compared with Go's Enqueue
    assert _number(results["process"]["python_async"])
    assert _number(results["pickup_latency"]["p99"]["python"]) and _number(results["pickup_latency"]["p99"]["go"])
    md = (tmp_path / "results.md").read_text()
    assert "Python/Go" in md
    assert "peers" not in results
