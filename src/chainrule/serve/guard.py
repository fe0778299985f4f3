"""The checks every request passes before any handler sees it.

* **Host**: a loopback name or the host the server was started on (and, when it
  serves a network, an IP address or this machine's own name). A page on a
  foreign name that resolves to this machine (DNS rebinding) is refused.
* **Origin**: a browser request sent from a page of another origin is refused,
  and so is any cross-site request to the API (``Sec-Fetch-Site``), so a
  foreign page can neither post to the app nor read from it.
* **Token**: when the server has one (any ``--host`` other than loopback), every
  request carries it: ``?token=`` in the URL (the page load sets a same-site
  cookie from it), an ``Authorization: Bearer`` or ``X-Chainrule-Token`` header,
  or that cookie.
* **Body**: more than ``limits.MAX_BODY_BYTES`` is refused with 413, whether the
  request announces its length or streams it.

Every refusal is one line of JSON, ``{"error": "…"}``; every response carries
headers that keep the page from being framed or sniffed.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

from . import limits
from .errors import RequestError

__all__ = ["Guard", "LOOPBACK_NAMES", "TOKEN_COOKIE", "is_loopback"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
TOKEN_COOKIE = "chainrule_token"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The page is rendered by the app's own script and inlines nothing from elsewhere; the explanation's static
#: page, shown in a sandboxed frame, brings its own inline script and styles.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"content-security-policy",
     b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
     b"img-src 'self' data: blob:; connect-src 'self'; frame-src 'self' blob: data:; object-src 'none'; "
     b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
]


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _too_large() -> RequestError:
    return RequestError(f"the request body is larger than {limits.MAX_BODY_BYTES:,} bytes", 413)


class Guard:
    """ASGI middleware: the Host, Origin, token and body-size checks, and the security headers."""

    def __init__(self, app, *, host: str = "127.0.0.1", token: str | None = None):
        self.app = app
        self.token = token
        self.served_host = host.strip("[]").lower()
        self.network = not is_loopback(self.served_host)
        self.own_names = {self.served_host} | LOOPBACK_NAMES
        if self.network:  # a classroom reaches the machine by its address or its name
            name = socket.gethostname().lower()
            self.own_names |= {name, f"{name}.local", socket.getfqdn().lower()}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":  # the app has none: refused before anything could skip the checks
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":  # lifespan
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _respond(send, *refusal)
            return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limits.MAX_BODY_BYTES):
            await _respond(send, 413, str(_too_large()))
            return
        await self._guarded(scope, receive, send, headers)

    async def _guarded(self, scope, receive, send, headers):
        received = 0
        set_cookie = self._cookie_to_set(scope, headers)

        async def counted_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limits.MAX_BODY_BYTES:
                    raise _too_large()  # the handler reading the body answers 413
            return message

        async def headed_send(message):
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if set_cookie:
                    extra.append((b"set-cookie", set_cookie))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, counted_receive, headed_send)

    # -- the checks --------------------------------------------------------------------------------

    def _refusal(self, scope, headers) -> tuple[int, str] | None:
        host_header = headers.get("host", "")
        if not self._host_allowed(host_header):
            return 403, "refused: the Host header names neither this server nor a loopback name"
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host_header, scope.get("scheme", "http")):
            return 403, "refused: cross-origin requests are not served"
        site = headers.get("sec-fetch-site")
        is_api = scope.get("path", "").startswith("/api/")
        if site == "cross-site" and (is_api or scope.get("method") in _UNSAFE_METHODS):
            return 403, "refused: cross-site requests are not served"
        if self.token is not None and not self._has_token(scope, headers):
            return 401, "this server needs its token: open the URL it printed (…/?token=…)"
        return None

    def _host_allowed(self, host_header: str) -> bool:
        host = _hostname(host_header)
        if host is None:
            return False
        if host in self.own_names or is_loopback(host):
            return True
        if self.network:
            try:  # an address, unlike a name, cannot be rebound to this machine by a foreign DNS server
                ipaddress.ip_address(host)
                return True
            except ValueError:
                return False
        return False

    def _has_token(self, scope, headers) -> bool:
        for candidate in self._tokens_given(scope, headers):
            if hmac.compare_digest(candidate.encode("utf-8", "replace"), self.token.encode("utf-8")):
                return True
        return False

    def _tokens_given(self, scope, headers):
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        yield from query.get("token", [])
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            yield authorization[7:].strip()
        if "x-chainrule-token" in headers:
            yield headers["x-chainrule-token"]
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header carries no token
            return
        if TOKEN_COOKIE in cookie:
            yield cookie[TOKEN_COOKIE].value

    def _cookie_to_set(self, scope, headers) -> bytes | None:
        """After a page load with ``?token=``, the page's own requests carry the token as a same-site cookie."""
        if self.token is None or scope.get("method") != "GET" or scope.get("path", "").startswith("/api/"):
            return None
        if "token" not in parse_qs(scope.get("query_string", b"").decode("latin-1")):
            return None
        return f"{TOKEN_COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode("latin-1")


def _hostname(host_header: str) -> str | None:
    """The name in a Host header, lower-cased, without its port; None when the header is malformed."""
    host = host_header.strip().lower()
    if not host or any(c in host for c in "/@?#\\ "):
        return None
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return None
    return name or None


def _same_origin(origin: str, host_header: str, scheme: str) -> bool:
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = {"http": "80", "https": "443"}

    def normal(netloc: str, netloc_scheme: str) -> str:
        netloc = netloc.lower()
        if netloc.endswith(f":{default[netloc_scheme]}"):
            netloc = netloc.rsplit(":", 1)[0]
        return netloc

    return parts.scheme == scheme and normal(parts.netloc, parts.scheme) == normal(host_header, scheme)


async def _respond(send, status: int, message: str) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})
