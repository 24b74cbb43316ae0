"""Mixed Go and Python pools through a failover, on real Sentinel and Redis Cluster topologies.

A Python enqueuer streams jobs (each with a sequence number) into the namespace while one Go
pool (gocraft/work v0.5.1 dialled through FZambia/sentinel, or bound to the slot owner with
mna/redisc) and one Python pool run them; in the middle the master is SIGKILLed (or a replica
takes over with CLUSTER FAILOVER), then the old master comes back as a replica. Printed figures:
enqueues acknowledged, jobs lost (acknowledged, never run), jobs run twice, seconds from the
fault until a job enqueued after it ran. With ``wait_replicas=1`` (durable enqueue) no
acknowledged enqueue may be lost.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gowork_compat import Enqueuer, NotReplicatedError
from gowork_compat._topology import namespace_slot
from tests.conftest import until
from tests.ha_servers import ClusterSetup, SentinelSetup, cluster_setup, sentinel_setup
from tests.interop.harness import Harness, WorkerProcess

__all__ = ["cluster_setup", "sentinel_setup"]

# failovers take their time (sentinel promotion, rejoin); each wait inside is bounded
pytestmark = pytest.mark.timeout(300)

JOB = "ha_job"
#: two pools of 2 workers, 30 ms per job: together slower than the stream, so both stay busy
CONFIG = {"concurrency": 2, "jobs": {JOB: {"behavior": {"kind": "succeed", "sleep_ms": 30}}}}
RATE = 150  # enqueues per second (at most)
DURATION = 6.0  # seconds of enqueueing; the fault comes at FAULT_AT
FAULT_AT = 2.0
AFTER_RESTORE = 6.0  # seconds of enqueueing once the old master is back (> gocraft's longest fetch backoff, 5 s)


class TopoHarness(Harness):
    """The Go harness (and pyworker) given a redis+sentinel:// or redis+cluster:// URL."""

    def __init__(self, binary: Path, url: str, namespace: str) -> None:
        super().__init__(binary, "127.0.0.1", 0, namespace)
        self.url = url

    @property
    def addr(self) -> str:
        return self.url


@dataclass
class Figures:
    namespace: str
    acknowledged: int
    refused: int
    lost: int
    twice: int
    recovery_s: float | None
    #: per pool (Go, Python): jobs it ran that were enqueued after the fault
    after_fault: tuple[int, int] = (0, 0)

    def line(self, topo: str, mode: str) -> str:
        rec = "never" if self.recovery_s is None else f"{self.recovery_s:.2f} s"
        return (f"[{topo} {mode}] {self.namespace}: {self.acknowledged} enqueues acknowledged, {self.refused} "
                f"refused during the outage, {self.lost} acknowledged jobs lost, {self.twice} run twice, jobs ran "
                f"again {rec} after the fault (Go/Python pools ran {self.after_fault[0]}/{self.after_fault[1]} of the "
                "later jobs)")


class Stream:
    """Enqueues numbered jobs at RATE per second until stopped; remembers which were acknowledged."""

    def __init__(self, url: str, ns: str, durable: bool) -> None:
        kw = {"wait_replicas": 1, "wait_timeout": 0.5} if durable else {}
        self.enqueuer = Enqueuer(url, ns, **kw)  # type: ignore[arg-type]
        self.ns = ns
        self.acked: dict[int, int] = {}  # sequence number -> time.time_ns() of the acknowledgement
        self.refused = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                self.enqueuer.enqueue(JOB, {"n": i})
                self.acked[i] = time.time_ns()
            except (NotReplicatedError, OSError, Exception):
                self.refused += 1
                time.sleep(0.05)
            time.sleep(1 / RATE)


def run_scenario(binary: Path, url: str, namespaces: list[str], durable: bool,
                 fault: Callable[[], None], restore: Callable[[], None]) -> list[Figures]:
    workers: list[WorkerProcess] = []
    try:
        for ns in namespaces:
            h = TopoHarness(binary, url, ns)
            workers.append(h.start_worker(CONFIG))
            workers.append(h.start_python_worker(CONFIG))
        streams = [Stream(url, ns, durable) for ns in namespaces]
        for s in streams:
            s.thread.start()
        time.sleep(FAULT_AT)
        fault_ns = time.time_ns()
        fault()
        restore()
        time.sleep(max(AFTER_RESTORE, DURATION - FAULT_AT - (time.time_ns() - fault_ns) / 1e9))
        for s in streams:
            s.stop.set()
            s.thread.join(30)
        by_ns: dict[str, list[WorkerProcess]] = collections.defaultdict(list)
        for i, w in enumerate(workers):
            by_ns[namespaces[i // 2]].append(w)
        out = []
        for s in streams:
            def ran(s: Stream = s) -> collections.Counter[int]:
                c: collections.Counter[int] = collections.Counter()
                for w in by_ns[s.ns]:
                    for e in w.events("job_start"):
                        c[int(e["args"]["n"])] += 1
                return c

            try:
                until(lambda s=s: set(s.acked) <= set(ran(s)), timeout=20, what="every acknowledged job to run")
            except AssertionError:
                pass  # lost jobs: counted below
            counts = ran()
            starts = [(int(e["ts_ns"]), int(e["args"]["n"])) for w in by_ns[s.ns] for e in w.events("job_start")]
            after = [ts for ts, n in starts if s.acked.get(n, 0) > fault_ns]
            go, py = (sum(1 for e in w.events("job_start") if s.acked.get(int(e["args"]["n"]), 0) > fault_ns)
                      for w in by_ns[s.ns])
            if not (go and py):
                for w in by_ns[s.ns]:
                    print(w.stderr_tail())
            out.append(Figures(s.ns, len(s.acked), s.refused, len(set(s.acked) - set(counts)),
                               sum(1 for v in counts.values() if v > 1),
                               (min(after) - fault_ns) / 1e9 if after else None, (go, py)))
        return out
    finally:
        for w in workers:
            w.__exit__(None, None, None)


@pytest.fixture(scope="module")
def binary(harness_bin: Path) -> Path:
    return harness_bin


@pytest.mark.parametrize("mode", ["default", "durable"])
def test_sentinel_failover_mixed_pools(sentinel_setup: SentinelSetup, binary: Path, mode: str, ns: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    s = sentinel_setup
    old = s.master

    def fault() -> None:
        old.kill()

    def restore() -> None:
        until(lambda: s.master_port() == s.replica.port, timeout=60, what="the sentinels to promote the replica")
        old.start()  # comes back as a master with no data; the sentinels turn it into a replica (INFO every 10 s)

        def rejoined() -> bool:
            return old.client().info("replication").get("master_link_status") == "up"
        try:
            until(rejoined, timeout=25, what="the sentinels to turn the old master into a replica")
        except AssertionError:
            # a sentinel in TILT mode (the process was starved of CPU) acts only 30 s later: do what it would
            print("(the sentinels did not reconfigure the old master in 25 s: REPLICAOF sent by the test)")
            old.client().execute_command("REPLICAOF", "127.0.0.1", str(s.replica.port))
            until(rejoined, timeout=30, what="the old master to rejoin as a replica")

    (fig,) = run_scenario(binary, s.url, [ns], mode == "durable", fault, restore)
    with capsys.disabled():
        print("\n" + fig.line("sentinel, master SIGKILLed", mode))
    assert s.master_port() == s.replica.port
    assert fig.recovery_s is not None, "the pools never ran a job enqueued after the failover"
    assert fig.acknowledged > 0
    assert all(fig.after_fault), f"a pool did not follow the failover: {fig.after_fault}"
    if mode == "durable":
        assert fig.lost == 0


def _two_shards(c: ClusterSetup, prefix: str) -> list[str]:
    """Two hash-tagged namespaces whose slots live on different masters."""
    picked: list[str] = []
    owners: set[int | None] = set()
    for i in range(200):
        ns = f"{{{prefix}{i}}}"
        owner = c.owner(namespace_slot(ns))
        if owner not in owners:
            owners.add(owner)
            picked.append(ns)
        if len(picked) == 2:
            return picked
    raise AssertionError("no two shards found")


@pytest.fixture
def cluster(cluster_setup: ClusterSetup) -> Iterator[ClusterSetup]:
    until(cluster_setup.healthy, timeout=30, what="a healthy cluster")
    yield cluster_setup


@pytest.mark.parametrize("mode", ["default", "durable"])
def test_cluster_failover_two_namespaces(cluster: ClusterSetup, binary: Path, mode: str, ns: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    c = cluster
    a, b = _two_shards(c, ns.replace(":", "") + "-")
    owner_a, owner_b = c.owner(namespace_slot(a)), c.owner(namespace_slot(b))
    assert owner_a is not None and owner_b is not None
    replica_a, replica_b = c.replica_of(owner_a), c.replica_of(owner_b)

    def fault() -> None:
        c.node(replica_a).client().execute_command("CLUSTER", "FAILOVER")  # graceful, on a's shard
        c.node(owner_b).kill()  # a crash, on b's shard

    def restore() -> None:
        until(lambda: c.owner(namespace_slot(a)) == replica_a and c.owner(namespace_slot(b)) == replica_b,
              timeout=60, what="both replicas to take over")
        c.node(owner_b).start()  # rejoins as a replica (its nodes.conf survives)
        until(c.healthy, timeout=60, what="a healthy cluster")

    figs = run_scenario(binary, c.url, [a, b], mode == "durable", fault, restore)
    with capsys.disabled():
        print()
        print(figs[0].line("cluster, CLUSTER FAILOVER", mode))
        print(figs[1].line("cluster, master SIGKILLed", mode))
    for fig in figs:
        assert fig.recovery_s is not None, f"{fig.namespace}: pools never ran a job enqueued after the failover"
        assert fig.acknowledged > 0
        assert all(fig.after_fault), f"{fig.namespace}: a pool did not follow the failover: {fig.after_fault}"
        if mode == "durable":
            assert fig.lost == 0
