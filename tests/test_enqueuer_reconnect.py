"""Issue 8: the enqueuers behave like redis-py with the client's settings across a Redis
restart: a connection the server closed while idle is reconnected before writing (the first
enqueue after the restart goes through), a failed write follows the client's ``retry=``
policy, and commands already written are never sent twice."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gowork_compat.enqueuer import AsyncEnqueuer, Enqueuer
from gowork_compat.keys import Keys
from tests.conftest import RedisServer, free_port


def queued_ids(r: redis.Redis, ns: str, name: str) -> list[str]:
    import json
    return sorted(json.loads(m)["id"] for m in r.lrange(Keys(ns).jobs(name), 0, -1))


def test_first_enqueue_after_a_restart_goes_through(private_redis_server: RedisServer, ns: str) -> None:
    srv = private_redis_server
    enq = Enqueuer(srv.url, ns)
    a = enq.enqueue("re", {"n": 1})
    srv.restart()
    b = enq.enqueue("re", {"n": 2})  # was: ConnectionError "Connection closed by server."
    r = redis.Redis(port=srv.port)
    assert queued_ids(r, ns, "re") == sorted([a.id, b.id])
    enq.close()


def test_first_enqueue_after_a_restart_goes_through_without_retries(private_redis_server: RedisServer,
                                                                     ns: str) -> None:
    """With a client that retries nothing, the stale connection is still found before writing
    (as redis-py's pool does on checkout): nothing is resent, nothing is lost."""
    srv = private_redis_server
    client = redis.Redis(port=srv.port, retry=Retry(NoBackoff(), 0))
    enq = Enqueuer(client, ns)
    a = enq.enqueue("re0", {"n": 1})
    srv.restart()
    b = enq.enqueue("re0", {"n": 2})
    assert queued_ids(client, ns, "re0") == sorted([a.id, b.id])
    enq.close()


def test_async_enqueuer_first_enqueue_after_a_restart_goes_through(private_redis_server: RedisServer,
                                                                    ns: str) -> None:
    srv = private_redis_server

    async def go() -> list[str]:
        enq = AsyncEnqueuer(aredis.Redis(port=srv.port), ns)
        a = await enq.enqueue("are", {"n": 1})
        srv.restart()
        b, c = await asyncio.gather(enq.enqueue("are", {"n": 2}), enq.enqueue("are", {"n": 3}))
        return [a.id, b.id, c.id]

    ids = asyncio.run(go())
    assert queued_ids(redis.Redis(port=srv.port), ns, "are") == sorted(ids)


class CutAfterForward:
    """A loopback TCP relay in front of Redis that, once armed, forwards the next bytes
    from the client to Redis and then closes the client's side before any reply: the
    command ran, the client sees its connection dropped while reading."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.armed = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", self.port))
        self.threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            t = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            t.start()
            self.threads.append(t)

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        def back() -> None:
            try:
                while data := upstream.recv(65536):
                    if self.armed.is_set():
                        return
                    client.sendall(data)
            except OSError:
                pass
        threading.Thread(target=back, daemon=True).start()
        try:
            while data := client.recv(65536):
                upstream.sendall(data)
                if self.armed.is_set():
                    self.armed.clear()
                    client.shutdown(socket.SHUT_RDWR)
                    client.close()
                    return
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def relay(private_redis_server: RedisServer) -> Iterator[CutAfterForward]:
    rl = CutAfterForward(private_redis_server.port)
    yield rl
    rl.close()


def test_a_command_cut_off_while_reading_is_not_sent_again(relay: CutAfterForward,
                                                            private_redis_server: RedisServer, ns: str) -> None:
    """The client retries everything 3 times; the enqueue that reached Redis but lost its
    reply raises (as it must: it may have run) and is in the queue exactly once."""
    client = redis.Redis(port=relay.port, retry=Retry(NoBackoff(), 3))
    enq = Enqueuer(client, ns)
    enq.enqueue("cut", {"n": 0})
    relay.armed.set()
    with pytest.raises(redis.ConnectionError, match=r"Connection closed by server|Error while reading"):
        enq.enqueue("cut", {"n": 1})
    direct = redis.Redis(port=private_redis_server.port)
    assert direct.llen(Keys(ns).jobs("cut")) == 2, "the cut-off enqueue ran once, and was not resent"
    enq.enqueue("cut", {"n": 2})  # the next one reconnects
    assert direct.llen(Keys(ns).jobs("cut")) == 3
    enq.close()
