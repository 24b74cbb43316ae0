"""Connection options of a passed client carry over (issue 8, point 8): a TLS
redis-server on loopback with a self-signed CA given as ``ssl_ca_data`` (and hostname
checking on) serves the worker pool and both enqueuers, whichever client kind is passed."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aredis

from gowork_compat._redis import async_client, clone_async, clone_sync, sync_client
from gowork_compat.enqueuer import AsyncEnqueuer, Enqueuer
from gowork_compat.job import Job
from gowork_compat.pool import WorkerPool
from tests.conftest import free_port


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def tls_redis() -> Iterator[tuple[int, str]]:
    """(port, CA certificate PEM) of a TLS-only redis-server on 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = Path(tempfile.mkdtemp(prefix="gowork-tls-"))
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
             "-days", "1", "-subj", "/CN=gowork test CA",
             # what Python 3.13's default strict X.509 checks require of a CA
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.csr",
             "-subj", "/CN=localhost", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                               "authorityKeyIdentifier=keyid,issuer\nbasicConstraints=CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "srv.crt", "-days", "1", "-extfile", "ext.cnf", cwd=d)
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", "0", "--tls-port", str(port),
         "--bind", "127.0.0.1", "--tls-cert-file", "srv.crt", "--tls-key-file", "srv.key",
         "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no", "--save", "", "--appendonly", "no",
         "--dir", str(d)],
        cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ca = (d / "ca.crt").read_text()
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.skip(f"this redis-server has no TLS: {err.strip()[:200]}")
            try:
                redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_data=ca, socket_timeout=1).ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield port, ca
    finally:
        proc.terminate()
        proc.wait(5)
        shutil.rmtree(d, ignore_errors=True)


def _sync(port: int, ca: str) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_data=ca, ssl_check_hostname=True,
                       client_name="gowork-tls-test")


def _async(port: int, ca: str) -> aredis.Redis:
    return aredis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_data=ca, ssl_check_hostname=True,
                        client_name="gowork-tls-test")


def test_every_connection_option_is_carried_over(tls_redis: tuple[int, str]) -> None:
    port, ca = tls_redis
    for made in (async_client(_sync(port, ca)), clone_async(_sync(port, ca)), clone_async(_async(port, ca))):
        kwargs = made.connection_pool.connection_kwargs
        assert (kwargs["ssl_ca_data"], kwargs["ssl_check_hostname"], kwargs["client_name"]) == \
            (ca, True, "gowork-tls-test")
        assert "SSL" in made.connection_pool.connection_class.__name__
    for back in (sync_client(_async(port, ca)), clone_sync(_sync(port, ca)), clone_sync(_async(port, ca))):
        assert back.ping()
        assert back.connection_pool.connection_kwargs["ssl_ca_data"] == ca
        back.close()


def test_pool_and_enqueuers_work_over_tls_with_ca_data(tls_redis: tuple[int, str], ns: str) -> None:
    port, ca = tls_redis
    done = threading.Event()
    seen: list[int] = []

    def handler(job: Job) -> None:
        seen.append(job.arg_int("i"))
        if len(seen) == 3:
            done.set()

    Enqueuer(_async(port, ca), ns).enqueue("tls", {"i": 1})

    async def enqueue_async() -> None:
        enq = AsyncEnqueuer(_sync(port, ca), ns)
        await enq.enqueue("tls", {"i": 2})
        await enq.aclose()

    asyncio.run(enqueue_async())
    Enqueuer(_sync(port, ca), ns).enqueue("tls", {"i": 3})
    pool = WorkerPool(_sync(port, ca), ns, 2)
    pool.job("tls", handler)
    pool.start()
    try:
        assert done.wait(15)
    finally:
        pool.stop()
    assert sorted(seen) == [1, 2, 3]
