"""``complaints check-connection``: try every configured endpoint (each IMAP mailbox, SMTP, the
database, Redis) the way the worker would, and say for each one ok, or why not (DNS, TLS, auth,
folder, connection). The first thing an administrator runs; it never prints a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from worker.domain.errors import ConfigurationError
from worker.settings import Settings, redact_url

# How long each endpoint may take to answer: long enough for a slow server far away, short
# enough that an administrator is not left staring at a silent terminal.
CHECK_TIMEOUT = 15.0


@dataclass(frozen=True)
class EndpointResult:
    endpoint: str  # "IMAP imaps://complaints@host:993/INBOX", "SMTP host:587", ...
    ok: bool
    detail: str  # "ok", or "<kind>: <one line>"

    def line(self) -> str:
        return f"{self.endpoint}: {self.detail}"


class EndpointProblem(Exception):
    """A database or Redis failure sorted into a kind (the mail adapters' errors carry theirs)."""

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text


def _try(endpoint: str, attempt: Callable[[], str]) -> EndpointResult:
    from worker.adapters.oauth import failure_kind

    try:
        return EndpointResult(endpoint, True, attempt())
    except EndpointProblem as exc:
        return EndpointResult(endpoint, False, f"{exc.kind}: {exc.text}")
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        text = _first_line(exc)
        # The adapters name the endpoint too; the line already starts with it.
        text = text.removeprefix(f"{endpoint}: ")
        kind = failure_kind(exc)
        # The adapters' messages already start with the kind ("TLS: ..."): not twice.
        prefix = "" if f" {kind}: " in f" {text}" or text.startswith(f"{kind}:") else f"{kind}: "
        return EndpointResult(endpoint, False, f"{prefix}{text}")


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def check_connections(settings: Settings) -> list[EndpointResult]:
    """One result per configured endpoint, in the order IMAP (each mailbox), SMTP, database,
    Redis. A setting one endpoint cannot use is that endpoint's line: the others are still tried,
    so an administrator sees everything that is wrong in one run."""
    from worker.bootstrap import make_token_source

    results: list[EndpointResult] = []
    urls = settings.imap_urls or ((settings.imap_url,) if settings.imap_url else ())
    if urls:
        from worker.adapters.imap import ImapMailbox, parse_imap_url

        for url in urls:
            raw = url.reveal()
            try:
                name = parse_imap_url(raw, auth=settings.imap_auth).name
            except ConfigurationError as exc:
                results.append(EndpointResult(f"IMAP {redact_url(raw)}", False, f"settings: {exc}"))
                continue

            def imap_attempt(raw: str = raw) -> str:
                mailbox = ImapMailbox.from_url(
                    raw,
                    processed_folder=settings.imap_processed_folder,
                    auth=settings.imap_auth,
                    token_source=make_token_source(settings),
                    ca_file=settings.tls_ca_file,
                    timeout=CHECK_TIMEOUT,
                )
                return mailbox.check()

            results.append(_try(f"IMAP {name}", imap_attempt))
    else:
        folder = settings.maildir
        results.append(
            EndpointResult(
                "IMAP", True, f"not configured (reading the Maildir folder {folder or 'sample'})"
            )
        )
    if settings.smtp_url:
        from worker.adapters.smtp import SmtpSender, parse_smtp_url

        raw_smtp = settings.smtp_url.reveal()
        try:
            s = parse_smtp_url(raw_smtp, auth=settings.smtp_auth, ca_file=settings.tls_ca_file)
        except ConfigurationError as exc:
            results.append(
                EndpointResult(f"SMTP {redact_url(raw_smtp)}", False, f"settings: {exc}")
            )
        else:

            def smtp_attempt() -> str:
                sender = SmtpSender(
                    s, timeout=CHECK_TIMEOUT, token_source=make_token_source(settings)
                )
                return sender.check()

            results.append(_try(f"SMTP {s.host}:{s.port}", smtp_attempt))
    else:
        results.append(
            EndpointResult("SMTP", True, f"not configured (letters go to {settings.outbox_dir})")
        )
    results.append(_try(f"database {redact_url(settings.database_url)}", lambda: _db(settings)))
    if settings.redis_url:
        redis_url = settings.redis_url.reveal()
        results.append(_try(f"Redis {redact_url(redis_url)}", lambda: _redis(redis_url)))
    else:
        results.append(EndpointResult("Redis", True, "not configured (jobs run in-process)"))
    return results


def _db(settings: Settings) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from worker.adapters.db import is_current

    url = make_url(settings.database_url)
    connect_args = {} if url.get_backend_name() == "sqlite" else {"connect_timeout": 10}
    engine = create_engine(url, pool_pre_ping=False, connect_args=connect_args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        if not is_current(engine):
            return "ok (reachable, but not migrated: run `complaints db upgrade`)"
    except DBAPIError as exc:
        if url.get_backend_name() == "sqlite":
            raise
        raise _db_problem(exc, url.host or "localhost", url.port or 5432) from exc
    finally:
        engine.dispose()
    return "ok"


def _db_problem(exc: BaseException, host: str, port: int) -> Exception:
    """libpq's message sorted into a kind. psycopg keeps no socket error to look at, so this
    reads libpq's (English, stable) wording; anything else stays a "connection" line."""
    from worker.adapters.oauth import refused_text

    whole = str(getattr(exc, "orig", None) or exc)
    lowered = whole.lower()
    if "resolve host" in lowered or "translate host name" in lowered:
        reason = re.sub(r"^\[Errno -?\d+\]\s*", "", whole.rsplit(":", 1)[-1].strip())
        return EndpointProblem("DNS", f"cannot resolve {host} ({reason or 'unknown host'})")
    if "connection refused" in lowered:
        return EndpointProblem("connection", refused_text(host, port))
    fatal = _libpq_fatal(whole)
    if any(
        marker in lowered
        for marker in (
            "authentication failed",
            "no password supplied",
            "no pg_hba.conf entry",
            'role "',
            "permission denied for database",
        )
    ):
        return EndpointProblem("auth", f"{host}:{port} refused the login: {fatal}")
    if 'database "' in lowered and "does not exist" in lowered:
        return EndpointProblem(
            "database missing", f"{fatal} (create it, then run `complaints db upgrade`)"
        )
    if "ssl" in lowered or "certificate" in lowered:
        return EndpointProblem("TLS", f"{host}:{port}: {fatal}")
    if "timeout" in lowered or "timed out" in lowered:
        return EndpointProblem("connection", f"{host}:{port} did not answer in time")
    return EndpointProblem("connection", fatal)


def _libpq_fatal(message: str) -> str:
    """The server's own sentence out of libpq's "connection to server at ... failed: FATAL:
    ..." (which may run over several lines), on one line."""
    text = " ".join(part.strip() for part in message.strip().splitlines() if part.strip())
    if "FATAL:" in text:
        text = text.split("FATAL:", 1)[1]
    elif "failed:" in text:
        text = text.rsplit("failed:", 1)[1]
    return " ".join(text.split()) or "connection failed"


def _redis(url: str) -> str:
    import redis
    from redis.exceptions import AuthenticationError, ConnectionError, ResponseError

    from worker.adapters.oauth import dns_problem, refused_problem, tls_problem

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    kwargs = client.connection_pool.connection_kwargs
    host, port = str(kwargs.get("host", "localhost")), int(kwargs.get("port", 6379))
    try:
        client.ping()
    except AuthenticationError as exc:
        raise EndpointProblem(
            "auth", f"{host}:{port} refused the login: {_first_line(exc)}"
        ) from exc
    except ResponseError as exc:
        text = _first_line(exc)
        if text.upper().startswith(("WRONGPASS", "NOAUTH", "NOPERM")) or "AUTH" in text.upper():
            raise EndpointProblem("auth", f"{host}:{port} refused the login: {text}") from exc
        raise
    except ConnectionError as exc:
        problem = dns_problem(exc, host) or tls_problem(exc, host, port)
        if problem is not None:
            kind, _, text = problem.partition(": ")
            raise EndpointProblem(kind, text) from exc
        refused = refused_problem(exc, host, port)
        if refused is not None or "connection refused" in str(exc).lower():
            from worker.adapters.oauth import refused_text

            raise EndpointProblem("connection", refused_text(host, port)) from exc
        raise
    finally:
        client.close()
    return "ok"
