"""MailSender adapter for an SMTP server (aiosmtplib, driven from synchronous code).

URL: ``smtp://[user:password@]host[:port][?starttls=1|0][&verify=0]`` or ``smtps://...`` (implicit
TLS, port 465 by default). For ``smtp://`` STARTTLS is used when the server offers it, required with
``starttls=1`` and never tried with ``starttls=0``. ``verify=0`` skips certificate checks (test
relays only). User and password are percent-decoded.

Errors are sorted for the outbox's retry logic: connection failures, timeouts, SMTP 4xx and refused
logins raise TransientError (the letter is fine, the server or the configuration must be fixed);
SMTP 5xx and every recipient refused raise PermanentError.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.message
import email.policy
import email.utils
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from worker.domain.errors import (
    ConfigurationError,
    DeliveryUncertain,
    PermanentError,
    TransientError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    tls: bool = False  # implicit TLS (smtps://)
    starttls: bool | None = None  # None: when offered
    verify: bool = True

    def __repr__(self) -> str:  # never show the password
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"tls={self.tls}, starttls={self.starttls}, verify={self.verify})"
        )


def _flag(query: dict[str, list[str]], key: str) -> bool | None:
    if key not in query:
        return None
    value = query[key][-1].lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"SMTP URL: {key}={value!r} must be 1 or 0")


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read an ``smtp://`` or ``smtps://`` URL; raise ConfigurationError naming what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"SMTP URL is malformed: {exc}") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ConfigurationError(
            f"SMTP URL must start with smtp:// or smtps://, not {parts.scheme or '(nothing)'}://"
        )
    if not parts.hostname:
        raise ConfigurationError("SMTP URL has no host (smtp://[user:password@]host:port)")
    if parts.username and parts.password is None:
        raise ConfigurationError("SMTP URL has a user but no password (smtp://user:password@host)")
    query = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    starttls = _flag(query, "starttls")
    if tls and starttls:
        raise ConfigurationError("SMTP URL: use smtps:// or ?starttls=1, not both")
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
        tls=tls,
        starttls=False if tls else starttls,
        verify=_flag(query, "verify") is not False,
    )


class SmtpSender:
    """`worker.ports.MailSender` over SMTP. One connection per letter; safe from any thread."""

    def __init__(self, settings: SmtpSettings, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.settings = settings
        self.timeout = timeout

    @classmethod
    def from_url(cls, url: str, timeout: float = DEFAULT_TIMEOUT) -> SmtpSender:
        return cls(parse_smtp_url(url), timeout=timeout)

    def __repr__(self) -> str:
        return f"SmtpSender({self.settings.host}:{self.settings.port})"

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        if not message.get("Message-ID"):
            message["Message-ID"] = email.utils.make_msgid(domain=_sender_domain(message))
        message_id = str(message["Message-ID"])
        s = self.settings
        where = f"SMTP {s.host}:{s.port}"
        handed_over = False

        def start_data() -> None:
            nonlocal handed_over
            if before_data is not None:
                before_data()
            handed_over = True

        try:
            errors = _run(self._deliver(message, start_data))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            if codes and all(400 <= c < 500 for c in codes):
                raise TransientError(f"{where}: recipients deferred: {detail}") from exc
            raise PermanentError(f"{where}: recipients refused: {detail}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TransientError(
                f"{where}: login refused ({exc.code} {exc.message}); check the SMTP URL"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            text = f"{where}: {exc.code} {exc.message}"
            if 500 <= exc.code < 600:
                raise PermanentError(text) from exc
            raise TransientError(text) from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            if handed_over:
                # The message was (perhaps wholly) sent but no answer came: the server may have
                # accepted it, so a retry could deliver it twice.
                raise DeliveryUncertain(
                    f"{where}: {type(exc).__name__} during DATA: {exc}; it may have been "
                    "delivered. Check before resending."
                ) from exc
            # Connection refused or dropped, timeouts, TLS failures, STARTTLS not offered.
            raise TransientError(f"{where}: {type(exc).__name__}: {exc}") from exc
        if errors:
            # Some recipients took it; sending again would duplicate the letter for them.
            log.warning("%s: %s accepted with refusals: %s", where, message_id, errors)
        return message_id

    async def _deliver(
        self, message: email.message.EmailMessage, before_data: Callable[[], None] | None
    ) -> dict[str, aiosmtplib.SMTPResponse]:
        """MAIL, RCPT, then ``before_data``, then DATA: the caller learns the last moment at
        which a crash certainly means "not delivered" (everything before DATA)."""
        s = self.settings
        _name, sender = email.utils.parseaddr(str(message.get("From", "")))
        recipients = [
            address
            for _name, address in email.utils.getaddresses(
                [str(v) for key in ("To", "Cc", "Bcc") for v in message.get_all(key, [])]
            )
            if address
        ]
        if not recipients:
            raise PermanentError("the letter has no recipient address")
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            username=s.user,
            password=s.password,
            use_tls=s.tls,
            start_tls=s.starttls,
            validate_certs=s.verify,
            timeout=self.timeout,
        )
        async with client:
            await client.mail(sender)
            errors: dict[str, aiosmtplib.SMTPResponse] = {}
            refused: list[aiosmtplib.SMTPRecipientRefused] = []
            for recipient in recipients:
                try:
                    await client.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused.append(exc)
                    errors[recipient] = aiosmtplib.SMTPResponse(exc.code, exc.message)
            if len(refused) == len(recipients):
                raise aiosmtplib.SMTPRecipientsRefused(refused)
            if before_data is not None:
                before_data()
            del message["Bcc"]
            await client.data(message.as_bytes(policy=email.policy.SMTP))
        return errors


def _sender_domain(message: email.message.EmailMessage) -> str | None:
    _name, address = email.utils.parseaddr(str(message.get("From", "")))
    return address.rpartition("@")[2] or None


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from a thread that already runs a loop: use a private loop in another thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
