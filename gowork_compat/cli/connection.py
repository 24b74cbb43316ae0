"""Where the CLI connects: the Redis URL and namespace from flags or the environment,
with passwords kept out of messages."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import redis
from redis import exceptions as rex

from .._topology import parse_url
from ..client import Client
from .errors import _usage_error

__all__ = ["DEFAULT_REDIS_URL", "check_url", "connect", "redact"]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class _Ctx:
    """What a subcommand gets: its arguments and the resolved connection settings."""

    args: argparse.Namespace
    url: str
    url_given: bool
    namespace: str | None
    namespace_flag: bool

    def need_namespace(self) -> str:
        if self.namespace is None:
            raise _usage_error("no namespace: pass --namespace/-n NS or set GOWORK_NAMESPACE")
        return self.namespace

    def redis(self) -> redis.Redis:
        return connect(self.url, self.namespace)

    def client(self) -> Client:
        return Client(self.redis(), self.need_namespace())


#: the URL of the connection in use, for the "cannot reach Redis" message
_current_url: list[str] = []


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    except ValueError:
        return url


def check_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster"):
        raise _usage_error(f"unsupported Redis URL {redact(url)!r}: use redis://, rediss:// (TLS), unix://, "
                           "redis+sentinel://HOST:PORT[,HOST:PORT]/SERVICE[/DB] or redis+cluster://HOST:PORT[,...]")
    check_db(url)


def check_db(url: str) -> None:
    """A database number in the path (``redis://host/2``) or ``?db=`` must be a number:
    redis-py silently uses db 0 for ``redis://host/abc``."""
    parts = urlsplit(url)
    texts: list[tuple[str, str]] = []
    if parts.scheme in ("redis", "rediss"):
        path = unquote(parts.path).strip("/")
        if path:
            texts.append(("path", path))
    texts += [("db=", v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k == "db"]
    for where, text in texts:
        if not text.isascii() or not text.isdigit():
            raise _usage_error(f"bad Redis URL {redact(url)!r}: the database ({where} {text!r}) must be a number "
                               "such as 0")


def connect(url: str, namespace: str | None = None) -> redis.Redis:
    """A client for ``url`` that gives up connecting after 5 s (through Sentinel, or to the master
    owning ``namespace``'s slot on a cluster)."""
    check_url(url)
    try:
        topo = parse_url(url)
        if topo is not None:
            if topo.kind == "cluster" and namespace is None:
                raise ValueError("a redis+cluster:// URL needs --namespace (its hash tag picks the shard)")
            client = topo.sync_client(namespace, socket_connect_timeout=5.0, socket_timeout=60.0)
        else:
            client = redis.Redis.from_url(url, socket_connect_timeout=5.0, socket_timeout=60.0)
    except ValueError as exc:
        raise _usage_error(f"bad Redis URL {redact(url)!r}: {exc}") from exc
    _current_url[:] = [url]
    return client


def _context(args: argparse.Namespace) -> _Ctx:
    flag_url: str | None = getattr(args, "redis", None)
    env_url = os.environ.get("REDIS_URL") or None
    url = flag_url or env_url or DEFAULT_REDIS_URL
    flag_ns: str | None = getattr(args, "namespace", None)
    namespace = flag_ns if flag_ns is not None else (os.environ.get("GOWORK_NAMESPACE") or None)
    return _Ctx(args=args, url=url, url_given=bool(flag_url or env_url), namespace=namespace,
                namespace_flag=flag_ns is not None)


def _redis_problem(exc: BaseException) -> str:
    where = redact(_current_url[0]) if _current_url else "Redis"
    if isinstance(exc, rex.AuthenticationError) or (
            isinstance(exc, rex.ResponseError) and str(exc).split(" ", 1)[0] in ("NOAUTH", "WRONGPASS", "NOPERM")):
        return f"Redis at {where} refused the credentials: {exc}"
    if isinstance(exc, (rex.ConnectionError, rex.TimeoutError)):
        return f"cannot reach Redis at {where}: {exc}"
    return f"Redis at {where} answered with an error: {type(exc).__name__}: {exc}"
