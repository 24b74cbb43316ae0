"""Redis Sentinel and Redis Cluster behind an ordinary ``redis.Redis`` / ``redis.asyncio.Redis``.

Everything in gowork-compat talks to one Redis through a connection pool; this module makes
that pool dial the right server:

* **Sentinel** (``redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]``, or a client made by
  ``redis.sentinel.Sentinel.master_for``): redis-py's ``SentinelConnectionPool`` asks the sentinels
  for the current master on every new connection; a ``READONLY`` reply (the old master came back
  as a replica) closes the connection and is raised as a ``ConnectionError``, i.e. an outage.
* **Cluster** (``redis+cluster://HOST:PORT[,HOST:PORT...]``, or a ``redis.cluster.RedisCluster`` /
  ``redis.asyncio.cluster.RedisCluster``): a gocraft/work namespace with a hash tag (``{billing}``)
  keeps every key in one slot, so the whole namespace lives on one shard. :class:`SlotConnectionPool`
  dials the master that owns that slot (found with ``CLUSTER SLOTS``); a ``MOVED``, ``ASK``,
  ``READONLY``, ``CLUSTERDOWN`` or ``TRYAGAIN`` reply (a failover or resharding) forgets the owner,
  closes the connection and is raised as a ``ConnectionError``: the next connection finds the new
  owner. Hand-packed commands, pipelines and scripts thus work unchanged, on one connection.

A single plain Redis never goes through this module after a client is built: no cost on the hot path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
import redis.asyncio as aredis
import redis.asyncio.cluster
import redis.asyncio.connection as aconn
import redis.asyncio.sentinel as asentinel
import redis.cluster
import redis.connection as sconn
import redis.sentinel as ssentinel
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from .keys import Keys

__all__ = [
    "CLUSTER_SCHEME",
    "SENTINEL_SCHEME",
    "AsyncSlotConnection",
    "AsyncSlotConnectionPool",
    "SlotConnection",
    "SlotConnectionPool",
    "Topology",
    "describe_url",
    "namespace_slot",
    "parse_url",
    "topology_of",
]

SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"

#: replies saying "this server does not (or no longer) serve these keys for writing" (UNBLOCKED: a
#: blocking command ended because its master became a replica)
WRONG_NODE = ("MOVED", "ASK", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "UNBLOCKED")


class WrongNodeError(RedisConnectionError):
    """The server no longer serves the namespace's slot (or is no master any more); the command did not run
    there, the connection is closed and the next one goes to the new owner."""

#: connection settings that belong to one pool or one server, never carried to a new pool
_NOT_CARRIED = ("host", "port", "connection_pool", "path", "maint_notifications_pool_handler", "orig_host_address",
                "orig_socket_timeout", "orig_socket_connect_timeout", "redis_connect_func", "retry")

_FLOAT_OPTS = ("socket_timeout", "socket_connect_timeout", "health_check_interval")


def namespace_slot(namespace: str) -> int:
    """The cluster slot of every key of ``namespace``; ``ValueError`` (saying how to fix it) when
    the namespace has no hash tag, i.e. its keys would spread over the cluster."""
    prefix = Keys(namespace).prefix
    start = prefix.find("{")
    end = prefix.find("}", start + 1) if start >= 0 else -1
    if start < 0 or end < 0 or end == start + 1:
        raise ValueError(
            f"namespace {namespace!r} has no hash tag, so its keys hash to different slots of the Redis Cluster; "
            "gocraft/work's scripts and transactions touch several keys at once (Go's too) and would fail with "
            "CROSSSLOT. Put a hash tag in the namespace, e.g. "
            f"{'{' + (namespace.strip(':{}') or 'work') + '}'!r}: every key then lives in one slot, on one shard "
            "(use the same namespace in the Go pools). See docs/scaling.md.")
    return key_slot(prefix.encode("utf-8"))


@dataclass(frozen=True)
class Topology:
    """Where a namespace's Redis is: through sentinels, or on a cluster."""

    kind: str  # "sentinel" or "cluster"
    nodes: tuple[tuple[str, int], ...]
    service: str = ""
    db: int = 0
    #: settings of the data connections (credentials, timeouts, TLS, ...)
    conn_kwargs: dict[str, Any] = field(default_factory=dict)
    #: settings of the connections to the sentinels
    sentinel_kwargs: dict[str, Any] | None = None

    def slot_for(self, namespace: str | None) -> int:
        if namespace is None:
            raise ValueError("a Redis Cluster connection needs the namespace (its hash tag picks the shard)")
        return namespace_slot(namespace)

    def _kwargs(self, cls: type, overrides: dict[str, Any]) -> dict[str, Any]:
        from ._redis import _accepted
        kwargs = {**self.conn_kwargs, **overrides}
        accepted = _accepted(cls)
        return {k: v for k, v in kwargs.items() if k in accepted or k == "max_connections"}

    def sync_client(self, namespace: str | None = None, **overrides: Any) -> redis.Redis:
        if self.kind == "sentinel":
            cls = ssentinel.SentinelManagedSSLConnection if self.conn_kwargs.get("ssl") else \
                ssentinel.SentinelManagedConnection
            kwargs = self._kwargs(cls, overrides)
            kwargs.pop("db", None)
            manager = ssentinel.Sentinel(list(self.nodes), sentinel_kwargs=self._sentinel_kwargs())  # type: ignore[no-untyped-call]
            return manager.master_for(self.service, db=self.db, connection_class=cls, **kwargs)  # type: ignore[no-untyped-call,no-any-return]
        slot = self.slot_for(namespace)
        kwargs = self._kwargs(SlotConnection, overrides)
        pool = SlotConnectionPool(self, slot, connection_class=SlotConnection, **kwargs)
        return redis.Redis(connection_pool=pool)

    def async_client(self, namespace: str | None = None, **overrides: Any) -> aredis.Redis:
        if self.kind == "sentinel":
            cls = asentinel.SentinelManagedSSLConnection if self.conn_kwargs.get("ssl") else \
                asentinel.SentinelManagedConnection
            kwargs = self._kwargs(cls, overrides)
            kwargs.pop("db", None)
            manager = asentinel.Sentinel(list(self.nodes), sentinel_kwargs=self._sentinel_kwargs())  # type: ignore[no-untyped-call]
            return manager.master_for(self.service, db=self.db, connection_class=cls, **kwargs)  # type: ignore[no-any-return]
        slot = self.slot_for(namespace)
        kwargs = self._kwargs(AsyncSlotConnection, overrides)
        pool = AsyncSlotConnectionPool(self, slot, connection_class=AsyncSlotConnection, **kwargs)
        return aredis.Redis(connection_pool=pool)

    def _sentinel_kwargs(self) -> dict[str, Any]:
        if self.sentinel_kwargs is not None:
            return dict(self.sentinel_kwargs)
        return {k: v for k, v in self.conn_kwargs.items() if k.startswith("socket_")}


def parse_url(url: str) -> Topology | None:
    """The topology of a ``redis+sentinel://`` or ``redis+cluster://`` URL; ``None`` for any other URL.

    ``redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/SERVICE[/DB][?OPTIONS]`` and
    ``redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...][?OPTIONS]``. USER:PASSWORD are the data
    nodes' credentials; OPTIONS: ``socket_timeout``, ``socket_connect_timeout`` (seconds) and, for
    sentinels that need their own, ``sentinel_username`` / ``sentinel_password``.
    """
    scheme, sep, _ = url.partition("://")
    if not sep or scheme.lower() not in (SENTINEL_SCHEME, CLUSTER_SCHEME):
        return None
    parts = urlsplit(url)
    netloc = parts.netloc
    creds, _, hosts = netloc.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"bad node {item!r} in {describe_url(url)!r}: expected HOST:PORT")
        nodes.append((host.strip("[]"), int(port)))
    kwargs: dict[str, Any] = {}
    if creds:
        user, has_pw, pw = creds.partition(":")
        if has_pw:
            kwargs["password"] = unquote(pw)
            if user:
                kwargs["username"] = unquote(user)
        else:
            kwargs["password"] = unquote(user)
    sentinel_kwargs: dict[str, Any] | None = None
    for key, values in parse_qs(parts.query).items():
        value = values[-1]
        if key in _FLOAT_OPTS:
            kwargs[key] = float(value)
        elif key in ("sentinel_username", "sentinel_password"):
            sentinel_kwargs = sentinel_kwargs or {}
            sentinel_kwargs[key.removeprefix("sentinel_")] = value
        else:
            raise ValueError(f"unknown option {key!r} in {describe_url(url)!r}")
    path = [p for p in parts.path.split("/") if p]
    if scheme.lower() == CLUSTER_SCHEME:
        if path:
            raise ValueError(f"{describe_url(url)!r}: a Redis Cluster has only database 0; no path expected")
        return Topology("cluster", tuple(nodes), conn_kwargs=kwargs)
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(f"{describe_url(url)!r}: expected redis+sentinel://HOST:PORT[,HOST:PORT...]/SERVICE[/DB]")
    if sentinel_kwargs is not None:
        sentinel_kwargs.update({k: v for k, v in kwargs.items() if k.startswith("socket_")})
    return Topology("sentinel", tuple(nodes), service=unquote(path[0]), db=int(path[1]) if len(path) == 2 else 0,
                    conn_kwargs=kwargs, sentinel_kwargs=sentinel_kwargs)


def describe_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    creds, at, hosts = rest.partition("@")
    if at and ":" in creds:
        return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{hosts}"
    if at:
        return f"{scheme}{sep}***@{hosts}"
    return url


def _carried(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if k not in _NOT_CARRIED}


def topology_of(client: Any) -> Topology | None:
    """The topology behind a client (Sentinel-managed or a cluster); ``None`` for a plain Redis."""
    if isinstance(client, (redis.cluster.RedisCluster, aredis.cluster.RedisCluster)):
        nodes = tuple((n.host, int(n.port)) for n in client.get_nodes())
        kwargs = getattr(getattr(client, "nodes_manager", None), "connection_kwargs", None) or {}
        if not kwargs and isinstance(client, aredis.cluster.RedisCluster):
            kwargs = getattr(client, "connection_kwargs", {})
        return Topology("cluster", nodes, conn_kwargs=_carried(dict(kwargs)))
    pool = getattr(client, "connection_pool", None)
    if isinstance(pool, (SlotConnectionPool, AsyncSlotConnectionPool)):
        return pool.topology
    if isinstance(pool, (ssentinel.SentinelConnectionPool, asentinel.SentinelConnectionPool)) and pool.is_master:
        manager = pool.sentinel_manager
        nodes = tuple((s.connection_pool.connection_kwargs["host"], int(s.connection_pool.connection_kwargs["port"]))
                      for s in manager.sentinels)
        kwargs = _carried(pool.connection_kwargs)
        if issubclass(pool.connection_class, (sconn.SSLConnection, aconn.SSLConnection)):
            kwargs["ssl"] = True
        db = int(kwargs.pop("db", 0) or 0)
        return Topology("sentinel", nodes, service=pool.service_name, db=db, conn_kwargs=kwargs,
                        sentinel_kwargs=dict(manager.sentinel_kwargs))
    return None


# -- the cluster's slot owner -------------------------------------------------------------

def _owner(reply: Any, slot: int) -> tuple[str, int] | None:
    for entry in reply:
        start, end, master = int(entry[0]), int(entry[1]), entry[2]
        if start <= slot <= end:
            host = master[0].decode() if isinstance(master[0], bytes) else str(master[0])
            return host, int(master[1])
    return None


def _learn(topology: Topology, reply: Any) -> Topology:
    """``topology`` with every node ``reply`` (CLUSTER SLOTS) names, so that it outlives its startup nodes."""
    known = list(topology.nodes)
    for entry in reply:
        for node in entry[2:]:
            host = node[0].decode() if isinstance(node[0], bytes) else str(node[0])
            if host and (host, int(node[1])) not in known:
                known.append((host, int(node[1])))
    return replace(topology, nodes=tuple(known))


def _probe_kwargs(topology: Topology) -> dict[str, Any]:
    kw = {k: v for k, v in topology.conn_kwargs.items()
          if k in ("username", "password", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs")}
    kw["socket_timeout"] = kw["socket_connect_timeout"] = min(
        float(topology.conn_kwargs.get("socket_connect_timeout") or 1.0), 1.0)
    return kw


class _Owner:
    """The cached address of a slot's master, looked up again after a failure."""

    def __init__(self, topology: Topology, slot: int) -> None:
        self.topology = topology
        self.slot = slot
        self.addr: tuple[str, int] | None = None
        self.lock = threading.Lock()

    def forget(self) -> None:
        self.addr = None

    def lookup(self) -> tuple[str, int]:
        addr = self.addr
        if addr is not None:
            return addr
        cls = sconn.SSLConnection if self.topology.conn_kwargs.get("ssl") else sconn.Connection
        errors: list[str] = []
        for host, port in self.topology.nodes:
            c = cls(host=host, port=port, **_probe_kwargs(self.topology))
            try:
                c.send_command("CLUSTER", "SLOTS")  # type: ignore[no-untyped-call]
                reply = c.read_response()
            except Exception as exc:
                errors.append(f"{host}:{port}: {exc}")
                continue
            finally:
                c.disconnect()  # type: ignore[no-untyped-call]
            found = _owner(reply, self.slot)
            if found is not None:
                self.topology = _learn(self.topology, reply)
                self.addr = found
                return found
            errors.append(f"{host}:{port}: no master for slot {self.slot}")
        raise RedisConnectionError(f"no cluster node knows the master of slot {self.slot}: {'; '.join(errors)}")

    async def alookup(self) -> tuple[str, int]:
        addr = self.addr
        if addr is not None:
            return addr
        cls = aconn.SSLConnection if self.topology.conn_kwargs.get("ssl") else aconn.Connection
        errors: list[str] = []
        for host, port in self.topology.nodes:
            c = cls(host=host, port=port, **_probe_kwargs(self.topology))
            try:
                await c.send_command("CLUSTER", "SLOTS")
                reply = await c.read_response()
            except Exception as exc:
                errors.append(f"{host}:{port}: {exc}")
                continue
            finally:
                await c.disconnect()
            found = _owner(reply, self.slot)
            if found is not None:
                self.topology = _learn(self.topology, reply)
                self.addr = found
                return found
            errors.append(f"{host}:{port}: no master for slot {self.slot}")
        raise RedisConnectionError(f"no cluster node knows the master of slot {self.slot}: {'; '.join(errors)}")


def _wrong_node(exc: ResponseError) -> bool:
    return str(exc).split(" ", 1)[0] in WRONG_NODE or type(exc).__name__ in (
        "MovedError", "AskError", "ReadOnlyError", "ClusterDownError", "TryAgainError")


class SlotConnection(sconn.Connection):
    """A connection to whichever master owns the pool's slot right now."""

    def __init__(self, **kwargs: Any) -> None:
        self.owner: _Owner = kwargs.pop("slot_owner")
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    def connect(self) -> None:
        if self._sock is not None:
            return
        self.host, self.port = self.owner.lookup()
        try:
            super().connect()  # type: ignore[no-untyped-call]
        except BaseException:
            self.owner.forget()
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except ResponseError as exc:
            if not _wrong_node(exc):
                raise
            self.owner.forget()
            self.disconnect()  # type: ignore[no-untyped-call]
            raise WrongNodeError(f"slot {self.owner.slot} moved ({exc}); reconnecting to its owner") from exc


class AsyncSlotConnection(aconn.Connection):
    """The asyncio twin of :class:`SlotConnection`."""

    def __init__(self, **kwargs: Any) -> None:
        self.owner: _Owner = kwargs.pop("slot_owner")
        super().__init__(**kwargs)

    async def connect(self) -> None:
        if self.is_connected:
            return
        self.host, self.port = await self.owner.alookup()
        try:
            await super().connect()  # type: ignore[no-untyped-call]
        except BaseException:
            self.owner.forget()
            raise

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        except ResponseError as exc:
            if not _wrong_node(exc):
                raise
            self.owner.forget()
            await self.disconnect()
            raise WrongNodeError(f"slot {self.owner.slot} moved ({exc}); reconnecting to its owner") from exc


class SlotConnectionPool(redis.ConnectionPool):
    """Connections to the master of one cluster slot (see the module doc)."""

    def __init__(self, topology: Topology, slot: int, **kwargs: Any) -> None:
        self.topology = topology
        self.slot = slot
        self.owner = _Owner(topology, slot)
        kwargs.setdefault("connection_class", SlotConnection)
        super().__init__(slot_owner=self.owner, **kwargs)


class AsyncSlotConnectionPool(aredis.ConnectionPool):
    """The asyncio twin of :class:`SlotConnectionPool`."""

    def __init__(self, topology: Topology, slot: int, **kwargs: Any) -> None:
        self.topology = topology
        self.slot = slot
        self.owner = _Owner(topology, slot)
        kwargs.setdefault("connection_class", AsyncSlotConnection)
        super().__init__(slot_owner=self.owner, **kwargs)
