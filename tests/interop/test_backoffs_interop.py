"""Idle sleep backoffs against the real Go pool: the cadence of empty fetches, seen on the
redis-server itself (MONITOR timestamps), of a Go pool and a Python pool side by side.

After its n-th consecutive empty fetch a worker sleeps ``backoffs[min(n, len - 1)]`` ms
(worker.go, both v0.5.1 and master), so the gaps between one worker's consecutive empty
fetches are ``backoffs[1], backoffs[2], ..., backoffs[-1], backoffs[-1], ...``. Each pool
runs one worker (concurrency 1): a Go worker is one fetch loop, a Python pool has one fetch
loop whatever its concurrency. The Python pool runs with ``wake_on_enqueue=False`` so that
it sleeps its backoffs like Go instead of watching the queues.

The master-dialect test (configured ``SleepBackoffs``) is in test_master_interop.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import IO

import pytest

from gowork_compat.harness import Harness as GoHarness
from gowork_compat.harness import HarnessError, WorkerProcess
from gowork_compat.pool import DEFAULT_SLEEP_BACKOFFS, WorkerPool
from tests.conftest import RedisServer, stop_process, until
from tests.interop.harness import Harness

pytestmark = [pytest.mark.timeout(120)]

class Monitor:
    """``redis-cli MONITOR`` of one redis-server into a file: every command the server ran,
    with the server's own timestamp (so a slow reader cannot skew the gaps)."""

    def __init__(self, port: int) -> None:
        exe = shutil.which("redis-cli")
        if exe is None:
            pytest.fail("redis-cli is not installed (it comes with redis-server)")
        self.out: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self.proc = subprocess.Popen([exe, "-h", "127.0.0.1", "-p", str(port), "monitor"], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        until(lambda: self._text().startswith("OK"), 10, "redis-cli MONITOR to start")

    def _text(self) -> str:
        self.out.seek(0)
        return self.out.read()

    def fetches(self, ns: str, name: str, pool_id: str) -> list[float]:
        """Server times of the fetch scripts a pool ran for job ``name`` in namespace ``ns``:
        EVAL or EVALSHA naming the pool's in-progress list of the job (the requeuer names the
        queue but no in-progress list), counted only when the script ran, that is when the
        commands it runs (MONITOR client "lua") come next: an EVALSHA refused with NOSCRIPT,
        retried after loading the script, is one fetch."""
        in_progress = f'"{ns}:jobs:{name}:{pool_id}:inprogress"'
        lines = [line.partition("] ") for line in self._text().splitlines()]
        times: list[float] = []
        for (head, sep, rest), (after, _, _) in pairwise(lines):
            if not sep or head.endswith(" lua") or not after.endswith(" lua"):
                continue
            words = rest.split(" ")
            if words[0].strip('"').upper() in ("EVAL", "EVALSHA") and in_progress in words:
                times.append(float(head.split(" ", 1)[0]))
        return times

    def close(self) -> None:
        stop_process(self.proc)
        self.out.close()


@pytest.fixture
def monitor(private_redis_server: RedisServer) -> Iterator[Monitor]:
    m = Monitor(private_redis_server.port)
    yield m
    m.close()


def expected_gaps(backoffs: Sequence[int], n: int) -> list[int]:
    """The first ``n`` gaps (ms) between one worker's consecutive empty fetches."""
    return [backoffs[min(i, len(backoffs) - 1)] for i in range(1, n + 1)]


def low(ms: int) -> float:
    # a sleep starts after the fetch's reply, so the server sees at least the sleep between
    # two fetches; the margin is for clock granularity only
    return 0.9 * ms - 2


def high(ms: int) -> float:
    # scheduling delays of a loaded 2-core machine; still below the next larger step of the
    # sequences tested (each step here is at least twice the one before)
    return max(1.5 * ms, ms + 80)


def gaps_ms(times: list[float]) -> list[float]:
    return [round((b - a) * 1000, 1) for a, b in pairwise(times)]


def assert_cadence(side: str, times: list[float], backoffs: Sequence[int], n: int) -> None:
    gaps = gaps_ms(times)[:n]
    want = expected_gaps(backoffs, n)
    print(f"{side}: idle gaps {gaps} ms, expected {want}")
    assert len(gaps) == n, f"{side}: {len(gaps)} gaps between empty fetches, wanted {n}: {gaps}"
    bad = [(i + 1, g, w) for i, (g, w) in enumerate(zip(gaps, want)) if not low(w) <= g <= high(w)]
    assert not bad, (f"{side}: idle gaps {gaps} ms do not follow the backoffs {list(backoffs)} "
                     f"(expected {want}); off: (step, seen, expected) {bad}")


Times = Callable[[], tuple[list[float], list[float]]]


@contextmanager
def idle_pools(go: GoHarness, go_config: dict[str, object], pool: WorkerPool, monitor: Monitor,
               name: str) -> Iterator[tuple[WorkerProcess, Times]]:
    """An idle Go pool (``go_config``) and ``pool`` (registered for ``name``), each on its
    own namespace, with a function returning each side's fetch times so far."""
    pool.start()
    try:
        with go.start_worker(go_config) as w:
            go_id = w.events("started")[0]["pool_id"]

            def times() -> tuple[list[float], list[float]]:
                return (monitor.fetches(go.namespace, name, go_id),
                        monitor.fetches(pool.namespace, name, pool.pool_id))
            yield w, times
    finally:
        pool.stop()


def wait_fetches(times: Times, n: int, timeout: float) -> tuple[list[float], list[float]]:
    """Each side's fetch times once both have at least ``n`` (or at ``timeout``)."""
    deadline = time.monotonic() + timeout
    while min(map(len, times())) < n and time.monotonic() < deadline:
        time.sleep(0.1)
    return times()


def cadence_timeout(backoffs: Sequence[int], n: int) -> float:
    """Seconds to wait for ``n`` gaps at the slowest cadence accepted, plus start-up."""
    return 3 + sum(high(b) for b in expected_gaps(backoffs, n)) / 1000


def test_default_idle_cadence_matches_go(harness_bin: Path, private_redis_server: RedisServer,
                                         monitor: Monitor, ns: str) -> None:
    """v0.5.1's hard-coded idle sleeps (0, 10, 100, 1000, 5000 ms) against our
    DEFAULT_SLEEP_BACKOFFS: Go's gaps validate the expected sequence, ours must follow it."""
    go_ns, py_ns = ns + "-go", ns + "-py"
    go = Harness(harness_bin, "127.0.0.1", private_redis_server.port, go_ns)
    pool = WorkerPool(private_redis_server.url, py_ns, 1, wake_on_enqueue=False)
    pool.job("idle", lambda job: None)
    n = len(DEFAULT_SLEEP_BACKOFFS) - 1  # every step once: 10, 100, 1000, 5000 ms
    with idle_pools(go, {"concurrency": 1, "jobs": {"idle": {}}}, pool, monitor, "idle") as (_, times):
        go_times, py_times = wait_fetches(times, n + 1, cadence_timeout(DEFAULT_SLEEP_BACKOFFS, n))
    assert_cadence("Go v0.5.1", go_times, DEFAULT_SLEEP_BACKOFFS, n)
    assert_cadence("Python", py_times, DEFAULT_SLEEP_BACKOFFS, n)


def test_v051_harness_refuses_sleep_backoffs(harness: Harness) -> None:
    """v0.5.1 has no WorkerPoolOptions: the harness says so instead of running the defaults."""
    config = {"concurrency": 1, "jobs": {"x": {}}, "sleep_backoffs": [0, 50, 400]}
    with pytest.raises(HarnessError, match=r"sleep_backoffs needs gocraft/work master .*built against v0\.5\.1"):
        harness.run(harness.command("worker", "-config", json.dumps(config)), None, timeout=30)
