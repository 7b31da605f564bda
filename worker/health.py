"""``/healthz``: can this process reach what it depends on (SPEC section 7)?

Four checks, each ``{"ok": bool, "detail": str}``: the database (a query), the broker (a Redis
PING when ``COMPLAINTS_REDIS_URL`` is set, otherwise "in-process"), the mailbox (an IMAP login
when ``COMPLAINTS_IMAP_URL`` is set, otherwise the Maildir folder exists) and the outbox (an SMTP
greeting and NOOP when ``COMPLAINTS_SMTP_URL`` is set, otherwise the outbox folder is writable).
Details never hold a password, but they do name hosts, folders and errors, so anyone who is not
holding the health token sees only :func:`public_view`: ok or not ok per check.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from functools import partial
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
        return _check_imap_mailboxes(app)
    if settings.maildir is None:
        return "no mailbox configured (COMPLAINTS_MAILDIR / COMPLAINTS_IMAP_URL unset)"
    path = Path(settings.maildir)
    missing = [sub for sub in ("cur", "new") if not (path / sub).is_dir()]
    if missing:
        raise FileNotFoundError(f"{path} is not a Maildir folder (missing {', '.join(missing)}/)")
    return f"Maildir folder exists: {path}"


def _check_imap_mailboxes(app: App) -> str:
    """Log in to every configured mailbox (several mailboxes, issue 8); each one's result and
    poll lag in one line, raised as the error when any of them fails."""
    from worker.adapters.oauth import failure_kind
    from worker.bootstrap import make_mailboxes
    from worker.metrics import poll_lags

    lags = poll_lags(app)
    parts: list[str] = []
    failed = False
    for mailbox in make_mailboxes(app.settings):
        lag = lags.get(mailbox.name)
        lag_text = "never polled" if lag is None else f"lag {int(lag)}s"
        try:
            # Logging in is the test: ImapMailbox connects lazily, so ask it for a connection.
            check = getattr(mailbox, "check", None)
            if check is not None:
                check()
            parts.append(f"{mailbox.name}: ok ({lag_text})")
        except Exception as exc:  # noqa: BLE001 - reported as text, per mailbox
            failed = True
            text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            text = text.removeprefix(f"IMAP {mailbox.name}: ")
            kind = failure_kind(exc)
            # DNS and TLS messages already start with their kind: not twice.
            text = text if text.startswith(f"{kind}: ") else f"{kind}: {text}"
            parts.append(f"{mailbox.name}: {text} ({lag_text})")
        finally:
            mailbox.close()
    if failed:
        raise RuntimeError("; ".join(parts))
    return "IMAP login ok: " + "; ".join(parts)


def check_outbox(app: App) -> str:
    settings = app.settings
    if settings.smtp_url and settings.smtp_auth == "xoauth2":
        # smtplib cannot log in with an OAuth2 token; the sender's own check does it as letters
        # would be sent (fresh token, STARTTLS, the CA bundle).
        from worker.adapters.smtp import SmtpSender
        from worker.bootstrap import make_token_source

        SmtpSender.from_url(
            settings.smtp_url.reveal(),
            auth=settings.smtp_auth,
            token_source=make_token_source(settings),
            ca_file=settings.tls_ca_file,
        ).check()
        return f"SMTP server answers: {redact_url(settings.smtp_url.reveal())}"
    if settings.smtp_url:
        return _smtp_greets(settings.smtp_url.reveal())
    path = Path(settings.outbox_dir)
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(f"the outbox folder {path} is not writable")
        return f"outbox folder writable: {path}"
    # The file outbox creates its folder on the first letter: the nearest parent must allow it.
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is None or not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"the outbox folder {path} cannot be created")
    return f"outbox folder will be created: {path}"


def _smtp_greets(url: str) -> str:
    """Connect, EHLO, STARTTLS and log in as the sender would, then NOOP and QUIT: no letter."""
    import smtplib
    import ssl

    from worker.adapters.smtp import parse_smtp_url

    smtp = parse_smtp_url(url)
    context = ssl.create_default_context()
    if not smtp.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    client: smtplib.SMTP
    if smtp.tls:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=5, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=5)
    try:
        client.ehlo()
        if smtp.starttls or (smtp.starttls is None and client.has_extn("starttls")):
            client.starttls(context=context)
            client.ehlo()
        if smtp.user and smtp.password is not None:
            client.login(smtp.user, smtp.password)
        code, _ = client.noop()
        if code != 250:
            raise RuntimeError(f"the SMTP server answered NOOP with {code}")
    finally:
        try:
            client.quit()
        except smtplib.SMTPException:
            client.close()
    return f"SMTP server answers: {redact_url(url)}"


CHECKS: dict[str, Callable[[App], str]] = {
    "database": check_database,
    "broker": check_broker,
    "mailbox": check_mailbox,
    "outbox": check_outbox,
}


def check_health(app: App) -> dict[str, Any]:
    """``{"ok": all ok, "checks": {"database": {...}, "broker": {...}, ...}}`` with details."""
    checks = {name: _timed(partial(check, app)) for name, check in CHECKS.items()}
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


def public_view(result: Mapping[str, Any]) -> dict[str, Any]:
    """What anyone may see: ok or not ok per check. Details name hosts, folders, versions and
    error text, which help an attacker map the system, so they need the health token."""
    checks = result.get("checks", {})
    return {
        "ok": bool(result.get("ok")),
        "checks": {name: {"ok": bool(check.get("ok"))} for name, check in checks.items()},
    }
