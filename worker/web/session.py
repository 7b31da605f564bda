"""A small HMAC-signed cookie session and CSRF tokens (itsdangerous is not a dependency).

The cookie holds ``base64(json).expiry.signature``: the payload is readable by its holder but any
change breaks the HMAC-SHA256 signature made with ``COMPLAINTS_SECRET_KEY``, and it expires after
``max_age`` seconds. Starlette's ``request.session`` works as usual on top of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE_NAME = "complaints_session"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes")
        self._key = hashlib.sha256(b"complaints-session\0" + secret).digest()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def dumps(self, payload: dict[str, Any], max_age: int) -> str:
        data = _b64(json.dumps(payload, separators=(",", ":")).encode())
        body = f"{data}.{int(time.time()) + max_age}"
        return f"{body}.{self._sign(body)}"

    def loads(self, value: str) -> dict[str, Any] | None:
        body, _, signature = value.rpartition(".")
        if not body or not hmac.compare_digest(self._sign(body), signature):
            return None
        data, _, expires = body.partition(".")
        try:
            if int(expires) < time.time():
                return None
            payload = json.loads(_unb64(data))
        except (ValueError, json.JSONDecodeError):
            return None
        return payload if isinstance(payload, dict) else None


class SignedCookieSessionMiddleware:
    """Puts ``scope["session"]`` (a dict) in place and writes it back only when it changed."""

    def __init__(
        self, app: ASGIApp, secret: bytes, *, max_age: int = 8 * 3600, https_only: bool = False
    ) -> None:
        self.app = app
        self.signer = Signer(secret)
        self.max_age = max_age
        self.https_only = https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        raw = connection.cookies.get(COOKIE_NAME, "")
        loaded = self.signer.loads(raw) if raw else None
        scope["session"] = dict(loaded or {})
        original = json.dumps(loaded or {}, sort_keys=True)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                session = scope["session"]
                if json.dumps(session, sort_keys=True) != original:
                    headers = MutableHeaders(scope=message)
                    flags = "; Path=/; HttpOnly; SameSite=Lax"
                    if self.https_only:
                        flags += "; Secure"
                    if session:
                        value = self.signer.dumps(session, self.max_age)
                        cookie = f"{COOKIE_NAME}={value}; Max-Age={self.max_age}{flags}"
                    else:
                        cookie = f"{COOKIE_NAME}=; Max-Age=0{flags}"
                    headers.append("Set-Cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_wrapper)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use (also for visitors to the public form)."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, Any], submitted: object) -> bool:
    token = session.get("csrf")
    return (
        isinstance(token, str)
        and isinstance(submitted, str)
        and bool(submitted)
        and hmac.compare_digest(token.encode(), submitted.encode())
    )


# -- bearer tokens for the operations endpoints ---------------------------------------------------


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme in any case), or None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison. Both sides are hashed first so that neither the time taken nor
    an early return on a length difference tells a caller how long the real token is."""
    if not given or not expected:
        return False
    return hmac.compare_digest(
        hashlib.sha256(given.encode("utf-8", "surrogateescape")).digest(),
        hashlib.sha256(expected.encode("utf-8")).digest(),
    )


# -- same-origin check for POSTs (OWASP CSRF cheat sheet: verify the source origin) --------------

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CROSS_ORIGIN_MESSAGE = (
    "This form was sent from another website, so it was refused. "
    "Open the page on this site and send it from there."
)


def own_origin(scheme: str, host_header: str) -> str | None:
    """The origin this request was addressed to (``scheme://Host``), normalised."""
    from worker.settings import normalise_origin

    if not host_header:
        return None
    return normalise_origin(f"{scheme}://{host_header}")


def source_origin(origin: str | None, referer: str | None) -> str | None:
    """Where the browser says the request came from: ``Origin``, else ``Referer``'s origin.
    Returns ``""`` when the browser sent neither, ``"null"`` for an opaque origin (a sandboxed
    frame, a ``data:`` page, a cross-site redirect), which matches nothing."""
    from worker.settings import normalise_origin

    if origin is not None:
        origin = origin.strip()
        if origin.lower() == "null" or not origin:
            return "null"
        return normalise_origin(origin) or "null"
    if referer:
        return normalise_origin(referer) or "null"
    return ""


def origin_allowed(source: str | None, own: str | None, allowed: tuple[str, ...]) -> bool:
    """A POST is refused when the browser names an origin that is neither this console's nor in
    COMPLAINTS_WEB_ALLOWED_ORIGINS. Every current browser sends ``Origin`` on a cross-origin
    POST, so a request with neither header is not from another site's page; it is let through
    to the CSRF token check, which still applies to it (OWASP lists both choices)."""
    if source == "":
        return True
    if source is None or source == "null":
        return False
    return source == own or source in allowed


class SameOriginMiddleware:
    """403 with a plain one-line message for a POST (PUT, PATCH, DELETE) whose ``Origin`` (or,
    without one, ``Referer``) is another site's, before any form is read or anything changes."""

    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.allowed = tuple(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET").upper() not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        headers = connection.headers
        source = source_origin(headers.get("origin"), headers.get("referer"))
        own = own_origin(connection.url.scheme, headers.get("host", ""))
        if origin_allowed(source, own, self.allowed):
            await self.app(scope, receive, send)
            return
        body = (CROSS_ORIGIN_MESSAGE + "\n").encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
