"""Sentinel and Redis Cluster at every entry point, on real loopback servers (tests/ha_servers.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import redis
import redis.cluster
import redis.sentinel

from gowork_compat import AsyncEnqueuer, Enqueuer, NotReplicatedError, WorkerPool
from gowork_compat._topology import Topology, describe_url, namespace_slot, parse_url
from gowork_compat.client import AsyncClient, Client
from gowork_compat.namespaces import find_namespaces
from gowork_compat.webui import create_app
from tests.conftest import RedisServer, until
from tests.ha_servers import SERVICE, ClusterSetup, Node, SentinelSetup, running_cluster, running_sentinels
from tests.test_webui import TestClient

# -- URLs and namespaces (no server) ---------------------------------------------------------

def test_sentinel_url_form() -> None:
    t = parse_url("redis+sentinel://u:p%40ss@127.0.0.1:26379,localhost:26380/mymaster/2?socket_timeout=1.5")
    assert t == Topology("sentinel", (("127.0.0.1", 26379), ("localhost", 26380)), service="mymaster", db=2,
                         conn_kwargs={"username": "u", "password": "p@ss", "socket_timeout": 1.5})
    t = parse_url("redis+sentinel://127.0.0.1:26379/mymaster?sentinel_password=s")
    assert t is not None and t.db == 0 and t.sentinel_kwargs == {"password": "s"}
    assert parse_url("redis://127.0.0.1:6379/0") is None


def test_cluster_url_form() -> None:
    t = parse_url("redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001")
    assert t == Topology("cluster", (("127.0.0.1", 7000), ("127.0.0.1", 7001)), conn_kwargs={"password": "pw"})


@pytest.mark.parametrize(("url", "match"), [
    ("redis+sentinel://127.0.0.1:26379", "SERVICE"),
    ("redis+sentinel://127.0.0.1:26379/m/x", "SERVICE"),
    ("redis+sentinel://127.0.0.1/m", "HOST:PORT"),
    ("redis+cluster://127.0.0.1:7000/1", "only database 0"),
    ("redis+cluster://127.0.0.1:7000?bogus=1", "unknown option 'bogus'"),
])
def test_bad_urls(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_url(url)


def test_describe_url_hides_password() -> None:
    assert describe_url("redis+sentinel://u:secret@h:1/m") == "redis+sentinel://u:***@h:1/m"


def test_namespace_slot_needs_a_hash_tag() -> None:
    assert namespace_slot("{billing}") == namespace_slot("app-{billing}") == redis.cluster.key_slot(b"billing")
    for bad in ("billing", "", "{}x", "bill{ing"):
        with pytest.raises(ValueError, match="has no hash tag"):
            namespace_slot(bad)


URL = "redis+cluster://127.0.0.1:1"


@pytest.mark.parametrize("make", [
    lambda: Enqueuer(URL, "plain"),
    lambda: AsyncEnqueuer(URL, "plain"),
    lambda: Client(URL, "plain"),
    lambda: AsyncClient(URL, "plain"),
    lambda: WorkerPool(URL, "plain"),
])
def test_a_cluster_refuses_a_namespace_without_hash_tag(make: object) -> None:
    with pytest.raises(ValueError, match=r"no hash tag.*CROSSSLOT.*'\{plain\}'"):
        make()  # type: ignore[operator]


def test_cli_refuses_a_namespace_without_hash_tag() -> None:
    res = subprocess.run([sys.executable, "-m", "gowork_compat", "inspect", "--redis", URL, "-n", "plain"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0
    assert "has no hash tag" in res.stderr


def test_durable_enqueue_without_replica_is_refused(redis_server: RedisServer, ns: str) -> None:
    e = Enqueuer(redis_server.url, ns, wait_replicas=1, wait_timeout=0.05)
    with pytest.raises(NotReplicatedError, match="0 of 1 replicas acknowledged"):
        e.enqueue("x")
    assert Enqueuer(redis_server.url, ns).enqueue("x").name == "x"  # not durable: no WAIT


# -- Sentinel ------------------------------------------------------------------------------

sentinels = pytest.fixture(running_sentinels, scope="module", name="sentinels")


def _run_one(pool: WorkerPool, enqueue: object, ran: list[int], n: int) -> None:
    enqueue("ha", {"n": n})  # type: ignore[operator]
    until(lambda: n in ran, timeout=15, what=f"job {n} to run")


def _role(server: Node) -> str | None:
    """The server's replication role; None while a failover closes its connections (Sentinel
    kills the clients of both servers as it switches them, and a poll can land on that)."""
    try:
        return str(server.client().info("replication")["role"])
    except redis.ConnectionError:
        return None


def test_sentinel_every_entry_point_and_a_failover(sentinels: SentinelSetup, ns: str) -> None:
    s = sentinels
    manager = redis.sentinel.Sentinel([("127.0.0.1", n.port) for n in s.sentinels], socket_timeout=1)
    as_client = manager.master_for(SERVICE, socket_timeout=2)
    ran: list[int] = []
    pool = WorkerPool(as_client, ns, concurrency=2)  # a Sentinel-managed client: the pool makes its own
    pool.job("ha", lambda job: ran.append(job.args["n"]))
    pool.start()
    try:
        url_enq, client_enq = Enqueuer(s.url, ns), Enqueuer(as_client, ns, wait_replicas=1)
        _run_one(pool, url_enq.enqueue, ran, 1)
        _run_one(pool, client_enq.enqueue, ran, 2)
        assert Client(as_client, ns).worker_pool_heartbeats()
        before = s.master_port()
        s.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", SERVICE)  # graceful: master -> replica
        until(lambda: s.master_port() not in (before, None), timeout=30, what="the failover")
        until(lambda: _role(s.replica) == "master", timeout=30, what="promotion")
        until(lambda: _role(s.master) == "slave", timeout=30, what="the demotion")

        def enqueued() -> bool:
            try:
                url_enq.enqueue("ha", {"n": 3})
                return True
            except redis.ConnectionError:  # the demoted master closed our connection: an outage
                return False
        until(enqueued, timeout=30, what="an enqueue on the new master")
        until(lambda: 3 in ran, timeout=30, what="the pool to follow the failover")

        async def via_asyncio() -> int:
            c = AsyncClient(s.url, ns)
            await AsyncEnqueuer(s.url, ns).enqueue("ha", {"n": 4})
            return len(await c.worker_pool_heartbeats())
        assert asyncio.run(via_asyncio()) == 1
        until(lambda: 4 in ran, timeout=15, what="job 4")
    finally:
        pool.stop()


# -- Cluster -------------------------------------------------------------------------------

cluster = pytest.fixture(running_cluster, scope="module", name="cluster")


def _namespaces_on_two_shards(c: ClusterSetup, base: str) -> tuple[str, str]:
    first = f"{{{base}-0}}"
    for i in range(1, 300):
        other = f"{{{base}-{i}}}"
        if c.owner(namespace_slot(other)) != c.owner(namespace_slot(first)):
            return first, other
    raise AssertionError("no second shard")


def test_cluster_two_namespaces_two_shards(cluster: ClusterSetup, ns: str) -> None:
    c = cluster
    a, b = _namespaces_on_two_shards(c, ns.replace(":", ""))
    rc = redis.cluster.RedisCluster(host="127.0.0.1", port=c.nodes[0].port)
    ran: dict[str, list[int]] = {a: [], b: []}
    pools = []
    for name in (a, b):
        p = WorkerPool(c.url if name == a else rc, name, concurrency=2)
        p.job("ha", lambda job, name=name: ran[name].append(job.args["n"]))
        p.start()
        pools.append(p)
    try:
        Enqueuer(c.url, a).enqueue("ha", {"n": 1})
        Enqueuer(rc, b).enqueue("ha", {"n": 2})
        until(lambda: ran[a] == [1] and ran[b] == [2], timeout=15, what="a job in each namespace")
        # every shard's master holds its namespace; the CLI and find_namespaces list both
        found = {s.namespace: s.node for s in find_namespaces(c.url)}
        assert found[a] != found[b]
        assert found[a].endswith(f":{c.owner(namespace_slot(a))}")
        res = subprocess.run([sys.executable, "-m", "gowork_compat", "namespaces", "--redis", c.url, "--json"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        listed = {row["namespace"]: row for row in json.loads(res.stdout)}
        assert listed[a]["worker_pools"] == 1 and listed[b]["worker_pools"] == 1
        with TestClient(create_app(c.url, b)) as web:  # the web UI on the shard of b
            got = web.get("/worker_pools")
            assert got.status_code == 200 and len(got.json()) == 1, got.text
        # a client made for one namespace is not used for another shard's
        with pytest.raises(ValueError, match="lives in slot"):
            Client(Client(c.url, a).redis, b)
        # a graceful failover of a's shard: the next enqueue goes to the new owner, no error
        enq = Enqueuer(c.url, a)
        enq.enqueue("ha", {"n": 3})
        owner = c.owner(namespace_slot(a))
        assert owner is not None
        replica = c.replica_of(owner)
        c.node(replica).client().execute_command("CLUSTER", "FAILOVER")
        until(lambda: c.owner(namespace_slot(a)) == replica, timeout=30, what="the failover")
        enq.enqueue("ha", {"n": 4})
        until(lambda: ran[a] == [1, 3, 4], timeout=30, what="the pool to follow the failover")
    finally:
        for p in pools:
            p.stop()
