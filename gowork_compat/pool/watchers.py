"""Wake-on-enqueue: blocking watchers on empty queues that wake the fetcher the moment
a job arrives (beyond Go, invisible to Go pools)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis.asyncio as aredis
from redis.exceptions import ResponseError

from .._redis import clone_async
from .common import OUTAGE, log

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["MAX_WATCHED_QUEUES", "Watchers"]

#: at most this many queues get a blocking watcher (one connection each); beyond it, polling
MAX_WATCHED_QUEUES = 16


class Watchers:
    """Wakes the fetcher the moment a job lands in an empty queue.

    For each queue found empty, one connection blocks in ``BLMOVE q q RIGHT RIGHT``: it
    returns as soon as the list has an element and moves the tail element onto the tail
    of the same list, i.e. leaves the list exactly as it was. Go pools see nothing. An
    idle pool thus picks up a job within a round trip while sending one command per
    empty queue per ``timeout`` seconds. Needs Redis >= 6.2 (otherwise: plain polling).
    """

    def __init__(self, engine: Engine, timeout: float) -> None:
        self.engine = engine
        self.timeout = timeout
        self.enabled = timeout > 0
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.clients: dict[str, aredis.Redis] = {}
        self.ids: dict[str, int] = {}

    def watch(self, names: list[str]) -> int:
        """Start watching these empty queues; returns how many queues are watched now."""
        if not self.enabled or self.engine.closing.is_set():
            return 0
        for n in names:
            if n not in self.tasks and len(self.tasks) < MAX_WATCHED_QUEUES:
                t = asyncio.create_task(self._watch(n))
                self.tasks[n] = t
                t.add_done_callback(self._forget(n))
        return len(self.tasks)

    def _forget(self, name: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_t: asyncio.Task[None]) -> None:
            self.tasks.pop(name, None)
        return done

    def _client(self, name: str) -> aredis.Redis:
        c = self.clients.get(name)
        if c is None:
            # the server-side timeout bounds the wait; through Sentinel or to a slot owner if the engine's is
            c = clone_async(self.engine.client, socket_timeout=None, max_connections=1)
            self.clients[name] = c
        return c

    async def _watch(self, name: str) -> None:
        e = self.engine
        queue_key = e.keys.jobs(name)
        client = self._client(name)
        try:
            if name not in self.ids:
                self.ids[name] = int(await client.client_id())
            while not e.closing.is_set():
                got = await client.blmove(
                    queue_key, queue_key, self.timeout, "RIGHT", "RIGHT")  # type: ignore[arg-type]
                if got is not None:
                    e.st.wake.set()
                    return
        except OUTAGE:
            # the fetcher, woken, notices the outage (or the failover) and backs off; we start again later
            e.st.wake.set()
            return
        except ResponseError as exc:
            if str(exc).startswith("UNBLOCKED"):  # the server was demoted to a replica: a failover
                e.st.wake.set()
                return
            log.info("not blocking on queues (%s): falling back to polling", exc)
            self.enabled = False
        except Exception as exc:  # e.g. a Redis without BLMOVE
            log.info("not blocking on queues (%s): falling back to polling", exc)
            self.enabled = False

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        if tasks:
            for cid in self.ids.values():
                try:
                    await self.engine.client.execute_command("CLIENT", "UNBLOCK", cid)  # type: ignore[no-untyped-call]
                except Exception:
                    break
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for t in pending:
                t.cancel()
        for c in self.clients.values():
            try:
                await asyncio.wait_for(c.connection_pool.disconnect(), timeout=1.0)
            except Exception:
                pass
