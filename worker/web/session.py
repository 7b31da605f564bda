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
