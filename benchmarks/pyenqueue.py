"""gowork-compat's enqueuers in the benchmark's shapes, in their own process (as the Go
harness's ``enqueue -bench`` mode), printing one JSON line {"count", "seconds"}.

    python benchmarks/pyenqueue.py MODE -redis HOST:PORT -ns NS -n N -names a,b,c [-tasks 100] [-chunk 10000]

MODE: sync (one Enqueuer.enqueue call at a time, one thread), async (AsyncEnqueuer.enqueue
from -tasks concurrent tasks), bulk (Enqueuer.enqueue_many over chunks of -chunk jobs).
Jobs have no args, round-robin over the names, like the harness's bench mode.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from gowork_compat.enqueuer import AsyncEnqueuer, Enqueuer


def run_sync(url: str, ns: str, n: int, names: list[str]) -> float:
    enq = Enqueuer(url, ns)
    k = len(names)
    enqueue = enq.enqueue
    t0 = time.perf_counter()
    for i in range(n):
        enqueue(names[i % k])
    dt = time.perf_counter() - t0
    enq.close()
    return dt


def run_bulk(url: str, ns: str, n: int, names: list[str], chunk: int) -> float:
    enq = Enqueuer(url, ns)
    k = len(names)
    t0 = time.perf_counter()
    for start in range(0, n, chunk):
        enq.enqueue_many((names[i % k], None) for i in range(start, min(n, start + chunk)))
    dt = time.perf_counter() - t0
    enq.close()
    return dt


def run_async(url: str, ns: str, n: int, names: list[str], tasks: int) -> float:
    async def go() -> float:
        enq = AsyncEnqueuer(url, ns)
        k = len(names)

        async def worker(first: int) -> None:
            for i in range(first, n, tasks):
                await enq.enqueue(names[i % k])

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(t) for t in range(tasks)))
        dt = time.perf_counter() - t0
        await enq.aclose()
        return dt

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("sync", "async", "bulk"))
    ap.add_argument("-redis", required=True)
    ap.add_argument("-ns", required=True)
    ap.add_argument("-n", type=int, required=True)
    ap.add_argument("-names", default="bench")
    ap.add_argument("-tasks", type=int, default=100)
    ap.add_argument("-chunk", type=int, default=10_000)
    a = ap.parse_args()
    url = f"redis://{a.redis}/0"
    names = a.names.split(",")
    if a.mode == "sync":
        dt = run_sync(url, a.ns, a.n, names)
    elif a.mode == "bulk":
        dt = run_bulk(url, a.ns, a.n, names, a.chunk)
    else:
        dt = run_async(url, a.ns, a.n, names, a.tasks)
    sys.stdout.write(json.dumps({"count": a.n, "seconds": dt}) + "\n")


if __name__ == "__main__":
    main()
