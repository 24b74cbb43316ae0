"""The web UI's guard, an ASGI middleware in front of every route:

* **hosts** (against DNS rebinding): a request must name this server, in its ``Host``
  header, by ``localhost``, an IP address (a rebinding attack needs a host name that the
  attacker's DNS points here), the bound address, or one of the configured names
  (``"*"`` accepts any); anything else gets 421, a request without ``Host`` 400;
* **basic auth** (when configured) on every route, compared in constant time;
* **cross-site requests**: POSTs whose ``Sec-Fetch-Site``, ``Origin`` or ``Referer`` shows
  another site get 403 (requests carrying none of them, like curl's, are not
  browser-driven and are let through); ``allowed_origins`` names other sites' origins
  whose pages may POST;
* security headers on every response (no framing, no sniffing, only our own assets).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import gojson

__all__ = ["JSON_TYPE", "LOOPBACK_NAMES", "Guard", "host_name", "json_error"]

JSON_TYPE = "application/json; charset=utf-8"
#: host names always accepted (besides IP addresses)
LOOPBACK_NAMES = frozenset({"localhost"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: on every response: no framing (clickjacking), no sniffing, only our own assets
_SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none';"
     b" form-action 'self'"),
]


def json_error(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    """The API's error response, ``{"error": "..."}`` as upstream's (Go's string escaping)."""
    body = b'{"error": ' + gojson.dumps(message) + b"}"
    return Response(body, status_code=status, headers={"content-type": JSON_TYPE, **(headers or {})})


def host_name(host: str) -> str:
    """The name part of a ``Host`` header or address: no port, no brackets, lower case,
    no trailing dot (``"[::1]:5040"`` -> ``"::1"``, ``"Jobs.Example.:80"`` -> ``"jobs.example"``)."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        name = host.split(":", 1)[0]
    else:
        name = host  # a bare name, or an unbracketed IPv6 address
    return name.rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The middleware (see the module doc). ``allowed_hosts``: names accepted besides
    localhost and IP addresses (the CLI adds the bound address); ``"*"``: any."""

    def __init__(self, app: ASGIApp, basic_auth: tuple[str, str] | None = None,
                 allowed_origins: Sequence[str] = (), allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.expected: bytes | None = None
        if basic_auth is not None:
            user, password = basic_auth
            self.expected = base64.b64encode(f"{user}:{password}".encode()).strip()
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}
        names = {host_name(h) for h in allowed_hosts if h.strip()}
        self.any_host = "*" in names
        self.hosts = frozenset(names | LOOPBACK_NAMES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *_SECURITY_HEADERS]}
            await send(message)

        await self._guarded(scope, receive, secured)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self.host_problem(headers.get("host"))
        if problem:
            status = 400 if headers.get("host") is None else 421
            await json_error(problem, status)(scope, receive, send)
            return
        if self.expected is not None and not self._authorized(headers.get("authorization", "")):
            resp = json_error("authentication required", 401,
                          {"www-authenticate": 'Basic realm="gowork", charset="UTF-8"'})
            await resp(scope, receive, send)
            return
        if scope["method"] not in _SAFE_METHODS:
            problem = self._cross_site(headers)
            if problem:
                await json_error(f"cross-site request refused: {problem}", 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def host_problem(self, host: str | None) -> str:
        """Why a request with this ``Host`` header is refused ("" when it is not)."""
        if host is None:
            return "missing Host header"
        name = host_name(host)
        if self.any_host or name in self.hosts or _is_ip(name):
            return ""
        shown = host if len(host) <= 100 else host[:100] + "..."
        return (f"host {shown!r} is not served here (DNS rebinding protection; "
                "start the web UI with --allowed-host NAME to accept a name)")

    def _authorized(self, header: str) -> bool:
        assert self.expected is not None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(token.strip().encode("latin-1", "replace"), self.expected)

    def _cross_site(self, headers: dict[str, str]) -> str:
        """Why this request looks cross-site ("" when it does not)."""
        host = headers.get("host", "").lower()
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() in self.allowed:
            return ""
        site = headers.get("sec-fetch-site")
        if site is not None and site.lower() not in ("same-origin", "none"):
            return f"Sec-Fetch-Site is {site}"
        if origin is not None:
            if origin == "null" or urlsplit(origin).netloc.lower() != host:
                return f"Origin {origin} is not this host"
            return ""
        referer = headers.get("referer")
        if referer is not None:
            ref_origin = "{0.scheme}://{0.netloc}".format(urlsplit(referer)).lower()
            if ref_origin in self.allowed:
                return ""
            if urlsplit(referer).netloc.lower() != host:
                return "Referer is another site"
        return ""
