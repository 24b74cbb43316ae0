"""Commands and time per scrape of ``gowork exporter`` (NamespaceCollector) on a big
namespace: NAMES job names, JOBS queued jobs in all (pipelined LPUSH of small Go-format
payloads), POOLS live pools registering every name, on a throwaway redis-server.

    python benchmarks/exporter_scrape.py [--names 100] [--jobs 1000000] [--pools 4] [--scrapes 20]

Scrapes go through the real HTTP endpoint; prints one JSON line with the commands and
round trips per scrape (counted by the collector and checked against INFO commandstats)
and the median / max scrape time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from gowork_compat.harness import free_port
from gowork_compat.keys import Keys
from gowork_compat.metrics import exporter_registry, serve


def total_calls(r: redis.Redis) -> int:
    stats = r.info("commandstats")
    return sum(int(v["calls"]) for name, v in stats.items() if name not in ("cmdstat_info",))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=1_000_000)
    ap.add_argument("--pools", type=int, default=4)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--doctor", action="store_true", help="also time gowork doctor (diagnose) on the namespace")
    a = ap.parse_args()
    exe = shutil.which("redis-server")
    if exe is None:
        sys.exit("needs redis-server")
    port = free_port()
    d = tempfile.mkdtemp(prefix="gowork-exporter-bench-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", d], stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port)
        for _ in range(200):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        ns = "bench"
        k = Keys(ns)
        names = [f"job_{i:03d}" for i in range(a.names)]
        r.sadd(k.known_jobs, *names)
        now = int(time.time())
        per_name = a.jobs // a.names
        chunk = 1000
        t0 = time.perf_counter()
        for n in names:
            pipe = r.pipeline(transaction=False)
            for start in range(0, per_name, chunk):
                pipe.lpush(k.jobs(n), *(b'{"name":"%s","id":"%024x","t":%d,"args":null}' % (n.encode(), start + j,
                                                                                          now - 60)
                                        for j in range(min(chunk, per_name - start))))
            pipe.execute()
        fill = time.perf_counter() - t0
        for p in range(a.pools):
            pid = f"{p:024x}"
            r.sadd(k.worker_pools, pid)
            r.hset(k.heartbeat(pid), mapping={"heartbeat_at": now + 3600, "job_names": ",".join(names),
                                              "concurrency": 10, "host": "bench", "pid": p})
        registry, collector = exporter_registry(f"redis://127.0.0.1:{port}/0", ns, max_job_names=10_000)
        mport = free_port()
        server = serve(mport, registry)
        times: list[float] = []
        calls: list[int] = []
        for _ in range(a.scrapes):
            before = total_calls(r)
            t = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=60) as resp:
                resp.read()
            times.append(time.perf_counter() - t)
            calls.append(total_calls(r) - before)  # INFO itself is left out
        server.shutdown()
        doctor: dict[str, object] = {}
        if a.doctor:
            from gowork_compat.doctor import diagnose

            t = time.perf_counter()
            found = diagnose(f"redis://127.0.0.1:{port}/0", ns)
            doctor = {"doctor_seconds": round(time.perf_counter() - t, 1), "doctor_findings": len(found.findings)}
        print(json.dumps({**doctor,
            "names": a.names, "queued_jobs": int(r.eval("local n=0 for _,k in ipairs(KEYS) do n=n+redis.call('llen',k)"
                                                        " end return n", len(names), *(k.jobs(n) for n in names))),
            "live_pools": a.pools, "fill_seconds": round(fill, 1),
            "commands_per_scrape": collector.commands_last_scrape,
            "round_trips_per_scrape": collector.round_trips_last_scrape,
            "commandstats_calls_per_scrape": statistics.median(calls),
            "scrape_ms_median": round(statistics.median(times) * 1000, 1),
            "scrape_ms_max": round(max(times) * 1000, 1),
            "redis_used_memory_mb": round(int(r.info("memory")["used_memory"]) / 2**20),
        }))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
