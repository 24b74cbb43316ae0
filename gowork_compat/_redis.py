"""Connection plumbing shared by the sync and asyncio front ends.

Accepts a URL, a ``redis.Redis`` or a ``redis.asyncio.Redis`` and gives back the client
kind a front end needs; runs the scripts of :mod:`gowork_compat.scripts` with EVALSHA,
loading them on a NOSCRIPT reply (a restarted or flushed Redis).
"""

from __future__ import annotations

import asyncio
import inspect
import select
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Union, cast

import redis
import redis.asyncio as aredis
import redis.asyncio.cluster
import redis.cluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from . import _topology
from ._script import Script

#: a Redis URL (``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://``, ``redis+cluster://``), a
#: ``redis.Redis`` or ``redis.asyncio.Redis`` (plain or Sentinel-managed) or a ``RedisCluster`` of either kind
RedisLike = Union[str, "redis.Redis", "aredis.Redis", "redis.cluster.RedisCluster", "aredis.cluster.RedisCluster"]

__all__ = [
    "AutoPipeline",
    "Call",
    "RawSender",
    "RedisLike",
    "aexecute",
    "araw",
    "arun_script",
    "async_client",
    "bulk",
    "check_namespace",
    "clone_async",
    "clone_sync",
    "execute",
    "pack",
    "pack_call",
    "raise_errors",
    "run_script",
    "sync_client",
    "unloaded",
]

#: connection settings bound to the original pool or connection, never carried over
_POOL_BOUND = ("maint_notifications_pool_handler", "orig_host_address", "orig_socket_timeout",
               "orig_socket_connect_timeout", "redis_connect_func")
#: settings whose objects differ between the sync and asyncio clients (each side makes its own)
_KIND_BOUND = ("retry",)

_ACCEPTED: dict[type, frozenset[str]] = {}


def _accepted(cls: type) -> frozenset[str]:
    """The keyword arguments a connection class (and its bases) takes."""
    got = _ACCEPTED.get(cls)
    if got is None:
        names: set[str] = set()
        for klass in cls.__mro__:
            if klass is object or "__init__" not in vars(klass):
                continue
            for prm in inspect.signature(vars(klass)["__init__"]).parameters.values():
                if prm.kind in (prm.POSITIONAL_OR_KEYWORD, prm.KEYWORD_ONLY) and prm.name != "self":
                    names.add(prm.name)
        got = _ACCEPTED[cls] = frozenset(names)
    return got


def _counterpart(cls: type, sync: bool) -> type:
    """The connection class of the other client kind that does what ``cls`` does."""
    import redis.asyncio.connection as aconn
    import redis.connection as sconn

    pairs = ((sconn.SSLConnection, aconn.SSLConnection),
             (sconn.UnixDomainSocketConnection, aconn.UnixDomainSocketConnection),
             (sconn.Connection, aconn.Connection))
    for s_cls, a_cls in pairs:
        if issubclass(cls, a_cls if sync else s_cls):
            return s_cls if sync else a_cls
    return sconn.Connection if sync else aconn.Connection


def _settings(client: redis.Redis | aredis.Redis, sync: bool) -> tuple[type, dict[str, Any]]:
    """The connection class and every connection setting of ``client``'s pool, for a new
    pool of the ``sync`` (or asyncio) kind: TLS material (``ssl_ca_data``, ``ssl_ca_path``,
    ``ssl_check_hostname``, ...), credentials, timeouts, keepalive, protocol, client name,
    unix socket path and the rest. Settings the target kind does not take are dropped."""
    pool = client.connection_pool
    cls: type = pool.connection_class
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if k not in _POOL_BOUND}
    if isinstance(client, redis.Redis) != sync:
        cls = _counterpart(cls, sync)
        for k in _KIND_BOUND:
            kwargs.pop(k, None)
    accepted = _accepted(cls)
    return cls, {k: v for k, v in kwargs.items() if k in accepted}


def _kwargs_of(client: redis.Redis | aredis.Redis) -> dict[str, Any]:
    """Every connection setting of ``client`` (deprecated helper; see :func:`clone_async`)."""
    return _settings(client, isinstance(client, redis.Redis))[1]


def _topology_of(conn: RedisLike) -> _topology.Topology | None:
    if isinstance(conn, str):
        return _topology.parse_url(conn)
    return _topology.topology_of(conn)


def _check_slot(client: redis.Redis | aredis.Redis, namespace: str | None) -> None:
    pool = client.connection_pool
    if namespace is not None and isinstance(pool, (_topology.SlotConnectionPool, _topology.AsyncSlotConnectionPool)):
        if _topology.namespace_slot(namespace) != pool.slot:
            raise ValueError(f"this cluster client serves slot {pool.slot}, namespace {namespace!r} lives in slot "
                             f"{_topology.namespace_slot(namespace)}: make a client for that namespace")


def clone_async(conn: RedisLike, namespace: str | None = None, **overrides: Any) -> aredis.Redis:
    """A new ``redis.asyncio.Redis`` with a pool of its own and every connection setting of
    ``conn`` (``overrides`` replace some); close it with ``connection_pool.disconnect()``.
    Through Sentinel, or to a cluster's slot owner, when ``conn`` is so (a cluster needs the
    ``namespace``, unless ``conn`` already is a client made for one)."""
    topo = _topology_of(conn)
    if topo is not None:
        pool = getattr(conn, "connection_pool", None)
        if namespace is None and isinstance(pool, (_topology.SlotConnectionPool, _topology.AsyncSlotConnectionPool)):
            return aredis.Redis(connection_pool=_topology.AsyncSlotConnectionPool(
                pool.owner.topology, pool.slot, **topo._kwargs(_topology.AsyncSlotConnection, overrides)))
        return topo.async_client(namespace, **overrides)
    if isinstance(conn, str):
        return aredis.Redis(connection_pool=aredis.ConnectionPool.from_url(conn, **overrides))
    assert isinstance(conn, (redis.Redis, aredis.Redis))
    cls, kwargs = _settings(conn, sync=False)
    kwargs.update(overrides)
    return aredis.Redis(connection_pool=aredis.ConnectionPool(connection_class=cls, **kwargs))


def clone_sync(conn: RedisLike, namespace: str | None = None, **overrides: Any) -> redis.Redis:
    """The sync twin of :func:`clone_async`."""
    topo = _topology_of(conn)
    if topo is not None:
        pool = getattr(conn, "connection_pool", None)
        if namespace is None and isinstance(pool, (_topology.SlotConnectionPool, _topology.AsyncSlotConnectionPool)):
            return redis.Redis(connection_pool=_topology.SlotConnectionPool(
                pool.owner.topology, pool.slot, **topo._kwargs(_topology.SlotConnection, overrides)))
        return topo.sync_client(namespace, **overrides)
    if isinstance(conn, str):
        return redis.Redis(connection_pool=redis.ConnectionPool.from_url(conn, **overrides))
    assert isinstance(conn, (redis.Redis, aredis.Redis))
    cls, kwargs = _settings(conn, sync=True)
    kwargs.update(overrides)
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=cls, **kwargs))


_EXPECTED = "a Redis URL, redis.Redis, redis.asyncio.Redis or a RedisCluster"


def check_namespace(conn: RedisLike, namespace: str) -> None:
    """Refuse (``ValueError``) a namespace a Redis Cluster cannot hold: one without a hash tag."""
    topo = _topology_of(conn)
    if topo is not None and topo.kind == "cluster":
        _topology.namespace_slot(namespace)


def sync_client(conn: RedisLike, namespace: str | None = None) -> redis.Redis:
    """A ``redis.Redis`` for ``conn`` (the same object when it already is one). A cluster URL or
    client gives a client of the master owning ``namespace``'s slot (the namespace needs a hash tag)."""
    if isinstance(conn, str):
        topo = _topology.parse_url(conn)
        return redis.Redis.from_url(conn) if topo is None else topo.sync_client(namespace)
    if isinstance(conn, redis.Redis):
        _check_slot(conn, namespace)
        return conn
    if isinstance(conn, (aredis.Redis, redis.cluster.RedisCluster, aredis.cluster.RedisCluster)):
        return redis.Redis.from_pool(clone_sync(conn, namespace).connection_pool)
    raise TypeError(f"expected {_EXPECTED}, got {type(conn).__name__}")


def async_client(conn: RedisLike, namespace: str | None = None) -> aredis.Redis:
    """A ``redis.asyncio.Redis`` for ``conn`` (the same object when it already is one); see :func:`sync_client`."""
    if isinstance(conn, str):
        topo = _topology.parse_url(conn)
        return aredis.Redis.from_url(conn) if topo is None else topo.async_client(namespace)
    if isinstance(conn, aredis.Redis):
        _check_slot(conn, namespace)
        return conn
    if isinstance(conn, (redis.Redis, redis.cluster.RedisCluster, aredis.cluster.RedisCluster)):
        return aredis.Redis.from_pool(clone_async(conn, namespace).connection_pool)
    raise TypeError(f"expected {_EXPECTED}, got {type(conn).__name__}")


def run_script(client: redis.Redis, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
    try:
        return client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        client.script_load(script.source)
        return client.evalsha(script.sha, len(keys), *keys, *args)


async def arun_script(client: aredis.Redis, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
    try:
        return await client.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        await client.script_load(script.source)
        return await client.evalsha(script.sha, len(keys), *keys, *args)


class Call:
    """One command of a plan: a plain Redis command, or a script with its keys and args."""

    __slots__ = ("args", "keys", "script")

    def __init__(self, *args: Any, script: Script | None = None, keys: Sequence[str] = ()) -> None:
        self.args = args
        self.script = script
        self.keys = keys

    def __repr__(self) -> str:
        if self.script is not None:
            return f"Call(script={self.script.name}, keys={list(self.keys)!r}, args={list(self.args)!r})"
        return f"Call{self.args!r}"


def _queue(pipe: Any, call: Call) -> None:
    if call.script is not None:
        pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
    else:
        pipe.execute_command(*call.args)


def unloaded(scripts: Sequence[Script | None], replies: Sequence[Any]) -> list[int]:
    """Indices of replies saying NOSCRIPT for a script command: the server lost its script
    cache (restart, flush), the script did not run, and it can be loaded and run again."""
    return [i for i, rep in enumerate(replies) if isinstance(rep, NoScriptError) and scripts[i] is not None]


def raise_errors(replies: list[Any]) -> list[Any]:
    """Raise the first error reply; otherwise return the replies."""
    for rep in replies:
        if isinstance(rep, Exception):
            raise rep
    return replies


def execute(client: redis.Redis, calls: Sequence[Call], transaction: bool = False) -> list[Any]:
    """Send ``calls`` in one round trip and return their replies (errors raised).

    A script the server does not know (NOSCRIPT: it did not run) is loaded and run again
    by itself, so a restarted Redis costs one extra round trip and nothing else. In a
    transaction no script may be used.
    """
    if len(calls) == 1 and not transaction:
        c = calls[0]
        if c.script is not None:
            return [run_script(client, c.script, c.keys, c.args)]
        return [client.execute_command(*c.args)]  # type: ignore[no-untyped-call]
    pipe = client.pipeline(transaction=transaction)
    for c in calls:
        _queue(pipe, c)
    replies: list[Any] = pipe.execute(raise_on_error=False)
    for i in unloaded([c.script for c in calls], replies):
        c = calls[i]
        assert c.script is not None
        replies[i] = run_script(client, c.script, c.keys, c.args)
    return raise_errors(replies)


async def aexecute(client: aredis.Redis, calls: Sequence[Call], transaction: bool = False) -> list[Any]:
    """The asyncio twin of :func:`execute`."""
    if len(calls) == 1 and not transaction:
        c = calls[0]
        if c.script is not None:
            return [await arun_script(client, c.script, c.keys, c.args)]
        return [await client.execute_command(*c.args)]  # type: ignore[no-untyped-call]
    pipe = client.pipeline(transaction=transaction)
    for c in calls:
        _queue(pipe, c)
    replies: list[Any] = await pipe.execute(raise_on_error=False)
    for i in unloaded([c.script for c in calls], replies):
        c = calls[i]
        assert c.script is not None
        replies[i] = await arun_script(client, c.script, c.keys, c.args)
    return raise_errors(replies)


# -- the hot path: commands packed by hand -------------------------------------------------
# redis-py's asyncio client packs every argument in Python; the pool's fetch/acknowledge
# round trip sends dozens of arguments per job, so it packs RESP itself from
# pre-encoded pieces and writes them on one pooled connection.

def bulk(arg: bytes | str | int) -> bytes:
    """One RESP bulk string."""
    if isinstance(arg, str):
        arg = arg.encode("utf-8")
    elif isinstance(arg, int):
        arg = b"%d" % arg
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def pack(*args: bytes | str | int) -> bytes:
    """One RESP command."""
    return b"*%d\r\n" % len(args) + b"".join(bulk(a) for a in args)


async def araw(client: aredis.Redis, commands: Sequence[bytes]) -> list[Any]:
    """Send pre-packed ``commands`` in one write and read their replies; an error reply
    is returned as its exception (not raised); a connection problem is raised."""
    pool = client.connection_pool
    conn = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        await conn.send_packed_command(b"".join(commands), check_health=False)
        out: list[Any] = []
        for _ in commands:
            try:
                out.append(await conn.read_response())
            except ResponseError as exc:
                out.append(exc)
        return out
    except BaseException:
        await conn.disconnect()
        raise
    finally:
        await pool.release(conn)


class _ReadFailed(Exception):
    """A connection problem after the commands were written: they may have run, so they are
    not sent again (enqueue commands are not idempotent); carries the original error."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


def _resend_safe(exc: Exception) -> bool:
    """The errors of a retry policy after which the commands may be sent again: a connection
    error while writing (reset, broken pipe: the server closed the connection). Not a write
    timeout (part of the commands may have been delivered), nothing once the commands are
    written (:class:`_ReadFailed`)."""
    return isinstance(exc, RedisConnectionError) and not isinstance(exc, _ReadFailed)


def _polls_readable(sock: Any) -> bool:
    """Whether an idle connection's socket has something to read (the server closed it, or
    unread data): a zero-timeout poll(2), one system call. False where there is no socket
    (not connected: sending connects) or no poll(2)."""
    if sock is None or not hasattr(select, "poll"):
        return False
    try:
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


async def _ignore_failure(_exc: Exception) -> None:
    return None


def _only_safe_resends(attempt: Callable[[], list[Any]]) -> Callable[[], list[Any]]:
    """``attempt`` for a redis-py ``Retry`` (any version: ``is_retryable`` came after 5.3):
    an error after which the commands must not be sent again reaches the retry policy
    wrapped in :class:`_ReadFailed`, which no policy retries."""
    def run() -> list[Any]:
        try:
            return attempt()
        except Exception as exc:
            if isinstance(exc, _ReadFailed) or _resend_safe(exc):
                raise
            raise _ReadFailed(exc) from exc
    return run


def _aonly_safe_resends(attempt: Callable[[], Awaitable[list[Any]]]) -> Callable[[], Awaitable[list[Any]]]:
    """The asyncio twin of :func:`_only_safe_resends`."""
    async def run() -> list[Any]:
        try:
            return await attempt()
        except Exception as exc:
            if isinstance(exc, _ReadFailed) or _resend_safe(exc):
                raise
            raise _ReadFailed(exc) from exc
    return run


class RawSender:
    """The sync twin of :func:`araw` for an enqueuer: each thread keeps one connection of
    the client's pool and writes pre-packed commands on it, skipping redis-py's per-call
    machinery (about half the cost of a single enqueue).

    Behaves like redis-py with the client's settings: a connection closed by the server
    while it sat idle (a Redis restart) is found before writing and reconnected, as redis-py's
    pool does on checkout; the client's ``health_check_interval`` is honoured; and a
    connection error while *writing* is retried under the client's ``retry=`` policy. An
    error once the commands are written (reading the replies) is raised, never resent: the
    commands may have run."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._local = threading.local()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self.client.connection_pool.get_connection()
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.disconnect()
            finally:
                self.client.connection_pool.release(conn)

    def _ready(self) -> Any:
        """This thread's connection, reconnected when the server closed it (or it holds
        unread data) while idle: nothing of ours is lost, nothing was sent on it."""
        conn = self._conn()
        if _polls_readable(getattr(conn, "_sock", None)):
            conn.disconnect()
            conn.connect()
        return conn

    def _attempt(self, data: bytes, n: int) -> list[Any]:
        try:
            conn = self._ready()
            conn.send_packed_command([data], check_health=True)
        except BaseException:
            self._drop()
            raise  # nothing (or no complete command) reached Redis: the retry policy may resend
        try:
            out: list[Any] = []
            for _ in range(n):
                try:
                    out.append(conn.read_response())
                except ResponseError as exc:
                    out.append(exc)
            return out
        except Exception as exc:
            self._drop()
            raise _ReadFailed(exc) from exc
        except BaseException:
            self._drop()
            raise

    def send(self, commands: Sequence[bytes]) -> list[Any]:
        data = b"".join(commands)
        retry = getattr(self._conn(), "retry", None)
        try:
            if retry is None:
                return self._attempt(data, len(commands))
            return cast("list[Any]", retry.call_with_retry(
                _only_safe_resends(lambda: self._attempt(data, len(commands))), lambda _exc: None))
        except _ReadFailed as failed:
            raise failed.exc from None

    def execute(self, calls: Sequence[Call]) -> list[Any]:
        """Like :func:`execute` (errors raised, NOSCRIPT handled) without response callbacks:
        replies come back as Redis sent them."""
        packed = [pack_call(c) for c in calls]
        replies = self.send(packed)
        for i in unloaded([c.script for c in calls], replies):
            self.client.script_load(calls[i].script.source)  # type: ignore[union-attr]
            (replies[i],) = self.send([packed[i]])
        return raise_errors(replies)

    def close(self) -> None:
        self._drop()


def pack_call(call: Call) -> bytes:
    if call.script is not None:
        return pack("EVALSHA", call.script.sha, len(call.keys), *call.keys, *call.args)
    return pack(*call.args)


class AutoPipeline:
    """Coalesces the commands that concurrent coroutines send during one turn of the event
    loop into a single write (one round trip for all of them); each caller gets its own
    replies back, in order."""

    def __init__(self, client: aredis.Redis) -> None:
        self.client = client
        self._pending: list[tuple[list[bytes], asyncio.Future[list[Any]]]] = []
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, commands: list[bytes]) -> list[Any]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((commands, fut))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._kick)
        return await fut

    def _kick(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if batch:
            t = asyncio.get_running_loop().create_task(self._flush(batch))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    @staticmethod
    def _stale(conn: Any) -> bool:
        """The server closed this idle connection (or it holds unread data), though the event
        loop may not have noticed yet: a zero-timeout poll of its socket."""
        reader = getattr(conn, "_reader", None)
        writer = getattr(conn, "_writer", None)
        if reader is None or writer is None:
            return False  # not connected: sending connects
        if reader.at_eof():
            return True
        return _polls_readable(writer.get_extra_info("socket"))

    async def _attempt(self, data: bytes, n: int) -> list[Any]:
        pool = self.client.connection_pool
        conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            try:
                if self._stale(conn):
                    await conn.disconnect()
                    await conn.connect()
                await conn.send_packed_command(data, check_health=True)
            except BaseException:
                await conn.disconnect()
                raise  # nothing (or no complete command) reached Redis: the retry policy may resend
            try:
                out: list[Any] = []
                for _ in range(n):
                    try:
                        out.append(await conn.read_response())
                    except ResponseError as exc:
                        out.append(exc)
                return out
            except Exception as exc:
                await conn.disconnect()
                raise _ReadFailed(exc) from exc
            except BaseException:
                await conn.disconnect()
                raise
        finally:
            await pool.release(conn)

    async def _send_raw(self, commands: list[bytes]) -> list[Any]:
        """Like :func:`araw`, with the client's settings as redis-py applies them (see
        :class:`RawSender`): a connection the server closed while idle is reconnected before
        writing, a connection error while writing follows the client's ``retry=`` policy,
        and nothing is resent once written."""
        data = b"".join(commands)
        retry = self.client.get_retry() if hasattr(self.client, "get_retry") else None
        try:
            if retry is None:
                return await self._attempt(data, len(commands))
            return cast("list[Any]", await retry.call_with_retry(
                _aonly_safe_resends(lambda: self._attempt(data, len(commands))), _ignore_failure))
        except _ReadFailed as failed:
            raise failed.exc from None

    async def _flush(self, batch: list[tuple[list[bytes], asyncio.Future[list[Any]]]]) -> None:
        flat = [c for cmds, _ in batch for c in cmds]
        try:
            replies = await self._send_raw(flat)
        except BaseException as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        i = 0
        for cmds, fut in batch:
            if not fut.done():
                fut.set_result(replies[i:i + len(cmds)])
            i += len(cmds)

    async def execute(self, calls: Sequence[Call]) -> list[Any]:
        """Like :func:`aexecute` (errors raised, NOSCRIPT handled), replies as Redis sent them."""
        packed = [pack_call(c) for c in calls]
        replies = await self.send(packed)
        for i in unloaded([c.script for c in calls], replies):
            await self.client.script_load(calls[i].script.source)  # type: ignore[union-attr]
            (replies[i],) = await self.send([packed[i]])
        return raise_errors(replies)
