"""Several namespaces, several shards: find the gocraft/work namespaces a Redis (a plain one,
behind Sentinel, or every master of a Redis Cluster) holds, and summarize each.

What the CLI's ``gowork namespaces`` prints and what a namespace switcher needs:
:func:`find_namespaces` gives one :class:`NamespaceSummary` per namespace, with the node that
holds it (on a cluster: the master owning its hash-tag slot).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from . import _topology
from ._redis import RedisLike, sync_client
from .client import Client

__all__ = ["NamespaceSummary", "find_namespaces", "namespaces_on", "node_clients"]

#: keys every namespace with pools or enqueued jobs has: ``<prefix>known_jobs`` / ``<prefix>worker_pools``
_MARKERS = ("known_jobs", "worker_pools")


@dataclass(frozen=True)
class NamespaceSummary:
    namespace: str
    node: str  # host:port holding it
    queued: int
    worker_pools: int
    job_names: int

    def to_json(self) -> dict[str, Any]:
        return {"namespace": self.namespace, "node": self.node, "queued": self.queued,
                "worker_pools": self.worker_pools, "job_names": self.job_names}


def namespaces_on(client: redis.Redis) -> list[str]:
    """The namespaces one server holds (found by their ``known_jobs`` / ``worker_pools`` keys)."""
    found: set[str] = set()
    for marker in _MARKERS:
        for key in client.scan_iter(match=f"*{marker}", count=1000):
            k = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
            if not k.endswith(marker):
                continue
            prefix = k[:-len(marker)]
            if prefix and not prefix.endswith(":"):
                continue  # e.g. "xknown_jobs": not a gocraft/work key
            found.add(prefix[:-1] if prefix.endswith(":") else prefix)
    return sorted(found)


def node_clients(conn: RedisLike) -> list[tuple[str, redis.Redis]]:
    """One client per server to look at: the master of a cluster's every shard, or the one Redis."""
    topo = _topology.parse_url(conn) if isinstance(conn, str) else _topology.topology_of(conn)
    if topo is not None and topo.kind == "cluster":
        masters: list[tuple[str, int]] = []
        last: Exception | None = None
        for host, port in topo.nodes:
            c = redis.Redis(host=host, port=port, **_topology._probe_kwargs(topo))
            try:
                for entry in c.execute_command("CLUSTER", "SLOTS"):  # type: ignore[no-untyped-call]
                    h = entry[2][0].decode() if isinstance(entry[2][0], bytes) else str(entry[2][0])
                    addr = (h or host, int(entry[2][1]))
                    if addr not in masters:
                        masters.append(addr)
                break
            except redis.RedisError as exc:
                last = exc
            finally:
                c.close()
        if not masters:
            raise redis.ConnectionError(f"no cluster node answered CLUSTER SLOTS: {last}")
        kw = {k: v for k, v in topo.conn_kwargs.items() if k not in ("ssl",)}
        return [(f"{h}:{p}", redis.Redis(host=h, port=p, **kw)) for h, p in sorted(masters)]
    client = sync_client(conn)
    kwargs = client.connection_pool.connection_kwargs
    where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}" if "host" in kwargs else str(kwargs.get("path"))
    if topo is not None:
        where = f"{topo.service} (sentinel)"
    return [(where, client)]


def find_namespaces(conn: RedisLike) -> list[NamespaceSummary]:
    """Every namespace on ``conn`` (on each master of a cluster), with its queued jobs, live pools
    and known job names."""
    out: list[NamespaceSummary] = []
    for where, client in node_clients(conn):
        for ns in namespaces_on(client):
            c = Client(client, ns)
            try:
                queued = sum(q.count for q in c.queues())
                pools = len(c.worker_pool_heartbeats())
                names = int(client.scard(c.planner.keys.known_jobs))
            except redis.ResponseError:  # e.g. a namespace without hash tag spread over a cluster
                queued = pools = names = -1
            out.append(NamespaceSummary(ns, where, queued, pools, names))
    return sorted(out, key=lambda s: (s.namespace, s.node))
