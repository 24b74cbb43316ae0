"""Peer job queues (Dramatiq, arq, RQ, saq) in the benchmark's shapes, one library per process.

Runs with whatever interpreter has the peers installed (they may pin other versions of
redis-py than gowork-compat, so run.py can point at a separate venv with --peer-python).
Imports nothing from gowork_compat.

    python benchmarks/peers.py LIB enqueue -redis HOST:PORT -n N -names q0,q1,...
    python benchmarks/peers.py LIB work    -redis HOST:PORT -n N -names q0,q1,... [-concurrency 20]
    python benchmarks/peers.py LIB check   (exit 0 when LIB is importable, printing its version)

Prints one JSON line. enqueue: {"count", "seconds"} (one call at a time, one thread or
one task). work: {"count", "seconds", "ready_ns", "first_start_ns", "last_end_ns",
"rss_kb"}, seconds = from the worker being ready (queues pre-filled by enqueue) to the end
of the last no-op job, handled in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import json
import logging
import sys
import threading
import time
from typing import Any

LIBS = ("dramatiq", "arq", "rq", "saq")

_lock = threading.Lock()
_state: dict[str, Any] = {"done": 0, "first": 0, "last": 0, "target": 0, "event": threading.Event()}


def _job_started() -> None:
    if _state["first"] == 0:
        _state["first"] = time.time_ns()


def _job_ended() -> None:
    with _lock:
        _state["done"] += 1
        if _state["done"] <= _state["target"]:  # a job run twice (saq can) does not extend the time
            _state["last"] = time.time_ns()
        if _state["done"] == _state["target"]:
            _state["event"].set()


def rq_noop() -> None:
    """The RQ job, imported by name (peers.rq_noop: main() makes that this very module)."""
    _job_started()
    _job_ended()


def peak_rss_kb() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# -- Dramatiq ---------------------------------------------------------------------------
def _dramatiq_actors(addr: str, names: list[str]) -> tuple[Any, list[Any]]:
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(url=f"redis://{addr}/0")
    dramatiq.set_broker(broker)

    def make() -> Any:
        def noop() -> None:
            _job_started()
            _job_ended()
        return noop

    actors = [dramatiq.actor(make(), actor_name=n, queue_name=n, broker=broker, max_retries=0) for n in names]
    return broker, actors


def dramatiq_enqueue(addr: str, n: int, names: list[str], _conc: int) -> dict[str, Any]:
    _, actors = _dramatiq_actors(addr, names)
    k = len(actors)
    t0 = time.perf_counter()
    for i in range(n):
        actors[i % k].send()
    return {"count": n, "seconds": time.perf_counter() - t0}


def dramatiq_work(addr: str, n: int, names: list[str], conc: int) -> dict[str, Any]:
    from dramatiq import Worker

    broker, _ = _dramatiq_actors(addr, names)
    worker = Worker(broker, worker_threads=conc)
    ready = time.time_ns()
    worker.start()
    _state["event"].wait()
    worker.stop()
    broker.close()
    return {"ready_ns": ready}


# -- arq --------------------------------------------------------------------------------
def _arq_settings(addr: str) -> Any:
    from arq.connections import RedisSettings

    host, port = addr.rsplit(":", 1)
    return RedisSettings(host=host, port=int(port))


def arq_enqueue(addr: str, n: int, names: list[str], _conc: int) -> dict[str, Any]:
    from arq import create_pool

    async def go() -> float:
        pool = await create_pool(_arq_settings(addr))
        k = len(names)
        t0 = time.perf_counter()
        for i in range(n):
            await pool.enqueue_job(names[i % k])
        dt = time.perf_counter() - t0
        await pool.aclose()
        return dt

    return {"count": n, "seconds": asyncio.run(go())}


def arq_work(addr: str, n: int, names: list[str], conc: int) -> dict[str, Any]:
    from arq.worker import Worker, func

    async def noop(_ctx: dict[str, Any]) -> None:
        _job_started()
        _job_ended()

    async def go() -> int:
        worker = Worker([func(noop, name=nm) for nm in names], redis_settings=_arq_settings(addr),
                        max_jobs=conc, poll_delay=0, handle_signals=False)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        threading.Thread(target=lambda: (_state["event"].wait(), loop.call_soon_threadsafe(done.set)),
                         daemon=True).start()
        ready = time.time_ns()
        task = asyncio.create_task(worker.main())
        await done.wait()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        try:
            await worker.close()
        except (asyncio.CancelledError, Exception):
            pass  # jobs being finished when the main task was cancelled
        return ready

    return {"ready_ns": asyncio.run(go())}


# -- RQ ---------------------------------------------------------------------------------
def rq_enqueue(addr: str, n: int, names: list[str], _conc: int) -> dict[str, Any]:
    from redis import Redis
    from rq import Queue

    host, port = addr.rsplit(":", 1)
    conn = Redis(host=host, port=int(port))
    queues = [Queue(nm, connection=conn) for nm in names]
    k = len(queues)
    t0 = time.perf_counter()
    for i in range(n):
        queues[i % k].enqueue("peers.rq_noop")
    return {"count": n, "seconds": time.perf_counter() - t0}


def rq_work(addr: str, n: int, names: list[str], _conc: int) -> dict[str, Any]:
    from redis import Redis
    from rq import Queue, SimpleWorker

    host, port = addr.rsplit(":", 1)
    conn = Redis(host=host, port=int(port))
    worker = SimpleWorker([Queue(nm, connection=conn) for nm in names], connection=conn)
    ready = time.time_ns()
    worker.work(burst=True, logging_level="WARNING")
    return {"ready_ns": ready}


# -- saq (one queue: a saq worker serves a single queue) --------------------------------
def saq_enqueue(addr: str, n: int, names: list[str], _conc: int) -> dict[str, Any]:
    from saq import Queue

    async def go() -> float:
        queue = Queue.from_url(f"redis://{addr}/0", name="bench")
        await queue.connect()
        k = len(names)
        t0 = time.perf_counter()
        for i in range(n):
            await queue.enqueue(names[i % k])
        dt = time.perf_counter() - t0
        await queue.disconnect()
        return dt

    return {"count": n, "seconds": asyncio.run(go())}


def saq_work(addr: str, n: int, names: list[str], conc: int) -> dict[str, Any]:
    from saq import Queue, Worker

    async def noop(_ctx: Any) -> None:
        _job_started()
        _job_ended()

    async def go() -> int:
        queue = Queue.from_url(f"redis://{addr}/0", name="bench")
        worker = Worker(queue, [(nm, noop) for nm in names], concurrency=conc)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        threading.Thread(target=lambda: (_state["event"].wait(), loop.call_soon_threadsafe(done.set)),
                         daemon=True).start()
        ready = time.time_ns()
        task = asyncio.create_task(worker.start())
        await done.wait()
        await worker.stop()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
        await queue.disconnect()
        return ready

    return {"ready_ns": asyncio.run(go())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lib", choices=LIBS)
    ap.add_argument("op", choices=("enqueue", "work", "check"))
    ap.add_argument("-redis", default="127.0.0.1:6379")
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("-names", default="bench")
    ap.add_argument("-concurrency", type=int, default=20)
    a = ap.parse_args()
    sys.modules.setdefault("peers", sys.modules[__name__])  # RQ imports its job as peers.rq_noop
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if a.op == "check":
        importlib.import_module(a.lib)
        emit({"lib": a.lib, "version": importlib.metadata.version(a.lib)})
        return
    names = a.names.split(",")
    fn = globals()[f"{a.lib}_{a.op}"]
    if a.op == "enqueue":
        emit(fn(a.redis, a.n, names, a.concurrency))
        return
    _state["target"] = a.n
    out = fn(a.redis, a.n, names, a.concurrency)
    out.update(count=_state["done"], first_start_ns=_state["first"], last_end_ns=_state["last"],
               rss_kb=peak_rss_kb())
    out["seconds"] = (out["last_end_ns"] - out["ready_ns"]) / 1e9
    emit(out)


if __name__ == "__main__":
    main()
