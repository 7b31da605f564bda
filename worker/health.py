"""``/healthz``: can this process reach what it depends on (SPEC section 7)?

Three checks, each ``{"ok": bool, "detail": str}``: the database (a query), the broker (a Redis
PING when ``COMPLAINTS_REDIS_URL`` is set, otherwise "in-process"), and the mailbox (an IMAP login
when ``COMPLAINTS_IMAP_URL`` is set, otherwise the Maildir folder exists). Details never hold a
password.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from worker.settings import redact_url

if TYPE_CHECKING:
    from worker.bootstrap import App


def _first_line(exc: BaseException) -> str:
    message = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {message[0] if message else ''}".strip(": ")


def _timed(check: Callable[[], str]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure as text
        detail, ok = _first_line(exc), False
    return {"ok": ok, "detail": detail, "seconds": round(time.monotonic() - started, 3)}


def check_database(app: App) -> str:
    from worker.adapters.db import is_current

    with app.db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    if not is_current(app.db.engine):
        raise RuntimeError("reachable, but not migrated (run `complaints db upgrade`)")
    return f"reachable: {redact_url(app.db.url)}"


def check_broker(app: App) -> str:
    url = app.settings.redis_url.reveal()
    if not url:
        return "in-process (no COMPLAINTS_REDIS_URL)"
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    finally:
        client.close()
    return f"reachable: {redact_url(url)}"


def check_mailbox(app: App) -> str:
    settings = app.settings
    if settings.imap_url:
        from worker.bootstrap import make_mailbox

        mailbox = make_mailbox(settings)
        try:
            # Logging in is the test: ImapMailbox connects lazily, so ask it for a connection.
            connect = getattr(mailbox, "_connect", None)
            if connect is not None:
                connect()
        finally:
            mailbox.close()
        return f"IMAP login ok: {redact_url(settings.imap_url.reveal())}"
    if settings.maildir is None:
        return "no mailbox configured (COMPLAINTS_MAILDIR / COMPLAINTS_IMAP_URL unset)"
    path = Path(settings.maildir)
    missing = [sub for sub in ("cur", "new") if not (path / sub).is_dir()]
    if missing:
        raise FileNotFoundError(f"{path} is not a Maildir folder (missing {', '.join(missing)}/)")
    return f"Maildir folder exists: {path}"


def check_health(app: App) -> dict[str, Any]:
    """``{"ok": all ok, "checks": {"database": {...}, "broker": {...}, "mailbox": {...}}}``."""
    checks = {
        "database": _timed(lambda: check_database(app)),
        "broker": _timed(lambda: check_broker(app)),
        "mailbox": _timed(lambda: check_mailbox(app)),
    }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}
