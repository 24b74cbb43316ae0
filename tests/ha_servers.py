"""Real Sentinel and Redis Cluster topologies on loopback ports, started and stopped by the tests.

* :class:`SentinelSetup`: 1 master, 1 replica, 3 sentinels (``redis-server CONF --sentinel``),
  service name ``gwmaster``, down-after 1000 ms, so a killed master is replaced in a few seconds.
* :class:`ClusterSetup`: 3 masters + 3 replicas (``--cluster-enabled yes``, created with
  ``redis-cli --cluster create --cluster-replicas 1 --cluster-yes``), cluster-node-timeout 1000 ms.

Every process is ours (started here, stopped by pid); nothing persists (``--save ""``).
"""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import free_port, stop_process, until

SERVICE = "gwmaster"
NODE_TIMEOUT_MS = 1000


def _exe(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        pytest.skip(f"{name} is not installed")
    return exe


class Node:
    """One redis-server process (data node or sentinel)."""

    def __init__(self, port: int, workdir: Path, extra: list[str], conf: str | None = None) -> None:
        self.port = port
        self.dir = workdir / str(port)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.extra = extra
        self.conf = conf
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [_exe("redis-server")]
        if self.conf is not None:
            path = self.dir / "sentinel.conf"
            path.write_text(self.conf)
            args += [str(path), "--sentinel"]
        args += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir), "--save", "",
                 "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning", *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: self._pings(), timeout=10, what=f"redis on port {self.port}")

    def _pings(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.exceptions.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: an abrupt crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def client(self, **kw: Any) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1, **kw)


class SentinelSetup:
    def __init__(self, workdir: Path) -> None:
        fast = ["--repl-diskless-sync-delay", "0"]
        self.master = Node(free_port(), workdir, fast)
        self.replica = Node(free_port(), workdir, [*fast, "--replicaof", "127.0.0.1", str(self.master.port)])
        self.sentinels = []
        for _ in range(3):
            port = free_port()
            conf = (f"port {port}\nbind 127.0.0.1\nprotected-mode no\n"
                    f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 2\n"
                    f"sentinel down-after-milliseconds {SERVICE} {NODE_TIMEOUT_MS}\n"
                    f"sentinel failover-timeout {SERVICE} 3000\n"
                    f"sentinel parallel-syncs {SERVICE} 1\n")
            self.sentinels.append(Node(port, workdir, [], conf=conf))

    @property
    def nodes(self) -> list[Node]:
        return [self.master, self.replica, *self.sentinels]

    @property
    def url(self) -> str:
        """``redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/gwmaster/0``."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> None:
        self.master.start()
        self.replica.start()
        until(lambda: self.replica.client().info("replication").get("master_link_status") == "up", timeout=20,
              what="the replica to sync")
        for s in self.sentinels:
            s.start()
        until(self.ready, timeout=30, what="the sentinels to see the replica and each other")

    def ready(self) -> bool:
        for s in self.sentinels:
            c = s.client(decode_responses=True)
            try:
                replicas = c.execute_command("SENTINEL", "REPLICAS", SERVICE)
                others = c.execute_command("SENTINEL", "SENTINELS", SERVICE)
            except redis.exceptions.RedisError:
                return False
            if len(replicas) != 1 or len(others) != 2:
                return False
        return True

    def master_port(self) -> int | None:
        """The master port the sentinels agree on right now."""
        try:
            got = self.sentinels[0].client().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        except redis.exceptions.RedisError:
            return None
        return int(got[1]) if got else None

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is valid and free too."""
    import socket
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as a:
            try:
                port = random.randint(20000, 55000)
                a.bind(("127.0.0.1", port))
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as b:
                    b.bind(("127.0.0.1", port + 10000))
            except OSError:
                time.sleep(0.001)
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterSetup:
    def __init__(self, workdir: Path) -> None:
        extra = ["--cluster-enabled", "yes", "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                 "--cluster-require-full-coverage", "no", "--repl-diskless-sync-delay", "0"]
        self.nodes = [Node(p, workdir, [*extra, "--cluster-config-file", f"nodes-{p}.conf"])
                      for p in (_cluster_port() for _ in range(6))]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes[:3])

    def start(self) -> None:
        for n in self.nodes:
            n.start()
        res = subprocess.run([_exe("redis-cli"), "--cluster", "create",
                              *(f"127.0.0.1:{n.port}" for n in self.nodes), "--cluster-replicas", "1",
                              "--cluster-yes"], capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {res.stdout[-2000:]} {res.stderr[-2000:]}")
        until(self.healthy, timeout=30, what="the cluster to be ok everywhere")

    def healthy(self) -> bool:
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            try:
                if n.client(decode_responses=True).cluster("info")["cluster_state"] != "ok":
                    return False
            except redis.exceptions.RedisError:
                return False
        return True

    def node(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)

    def owner(self, slot: int) -> int | None:
        """The port of the master serving ``slot``, as a live node sees it."""
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            try:
                for entry in n.client().execute_command("CLUSTER", "SLOTS"):
                    if int(entry[0]) <= slot <= int(entry[1]):
                        return int(entry[2][1])
            except redis.exceptions.RedisError:
                continue
        return None

    def replica_of(self, port: int) -> int:
        """The port of a replica of the master on ``port``."""
        node_id = self.node(port).client(decode_responses=True).execute_command("CLUSTER", "MYID")
        for n in self.nodes:
            if n.proc is None or n.proc.poll() is not None or n.port == port:
                continue
            info = n.client(decode_responses=True).execute_command("CLUSTER", "NODES")
            for line in info.splitlines():
                f = line.split()
                if "myself" in f[2] and f[3] == node_id:
                    return n.port
        raise AssertionError(f"no replica of {port}")

    def stop(self) -> None:
        for n in self.nodes:
            n.stop()


def running_sentinels() -> Iterator[SentinelSetup]:
    """A started master + replica + 3 sentinels in a temporary directory, stopped after."""
    with tempfile.TemporaryDirectory(prefix="gowork-sentinel-") as d:
        s = SentinelSetup(Path(d))
        try:
            s.start()
            yield s
        finally:
            s.stop()


def running_cluster() -> Iterator[ClusterSetup]:
    """A started 3 + 3 cluster in a temporary directory, stopped after."""
    with tempfile.TemporaryDirectory(prefix="gowork-cluster-") as d:
        c = ClusterSetup(Path(d))
        try:
            c.start()
            yield c
        finally:
            c.stop()


sentinel_setup = pytest.fixture(running_sentinels, name="sentinel_setup")
cluster_setup = pytest.fixture(running_cluster, scope="module", name="cluster_setup")


def wait_time(start: float) -> float:
    return round(time.monotonic() - start, 2)
