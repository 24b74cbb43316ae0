"""Regenerates docs/metrics.png: ``gowork exporter``'s /metrics for a small namespace with a
(simulated) Go pool, on a throwaway redis-server, shown in headless Chromium.

    PYTHONPATH=. python3 scripts/metrics_screenshot.py
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.getcwd())

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.metrics import exporter_registry, serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    port = free_port()
    d = tempfile.mkdtemp()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", d],
                            stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        url = f"redis://127.0.0.1:{port}/0"
        r = redis.Redis(port=port)
        ns = "my-app"
        k = Keys(ns)
        now = int(time.time())
        enq = Enqueuer(url, ns)
        r.lpush(k.jobs("send_email"), Job("send_email", "old", now - 42, None).encode())
        for i in range(120):
            enq.enqueue("send_email", {"to": f"u{i}@example.com"})
        for i in range(7):
            enq.enqueue("resize_image", {"id": i})
        enq.enqueue_in("report", 3600)
        r.zadd(k.retry, {Job("resize_image", "r1", now, None, fails=1).encode(): now + 60})
        r.set(k.lock("send_email"), 3)
        r.set(k.max_concurrency("send_email"), 5)
        pid = "4f3c2b1a0e9d8c7b6a5f4e3d"
        r.sadd(k.worker_pools, pid)
        r.hset(k.heartbeat(pid), mapping={"heartbeat_at": now + 3600, "job_names": "resize_image,send_email",
                                          "concurrency": 10, "host": "go-worker-1", "pid": 4242})
        r.lpush(k.in_progress(pid, "send_email"), b"a", b"b", b"c")
        registry, _ = exporter_registry(url, ns)
        mport = free_port()
        server = serve(mport, registry)
        out = os.path.abspath("docs/metrics.png")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={out}", "--window-size=1000,760", f"http://127.0.0.1:{mport}/metrics"],
                       check=True, capture_output=True, timeout=60)
        server.shutdown()
        print(out)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
