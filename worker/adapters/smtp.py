"""MailSender adapter for an SMTP server: a pool of persistent aiosmtplib connections, driven by
one private event loop thread, usable from any number of synchronous threads.

URL: ``smtp://[user:password@]host[:port][?starttls=1|0][&verify=0][&pool=N]`` or ``smtps://...``
(implicit TLS, port 465 by default). For ``smtp://`` STARTTLS is used when the server offers it,
required with ``starttls=1`` and never tried with ``starttls=0``. ``verify=0`` skips certificate
checks (test relays only). ``pool=N`` is how many connections the sender keeps open at most
(default 8; a ``pool_size`` given to the constructor wins). User and password are
percent-decoded.

Connections are opened when first needed, kept between calls, checked with NOOP when they have
sat unused for a minute, and replaced once, silently, when the server turns out to have dropped
them before MAIL FROM. ``close()`` quits them and stops the loop thread.

Errors are sorted for the outbox's retry logic: connection failures, timeouts, SMTP 4xx and refused
logins are TransientError (the letter is fine, the server or the configuration must be fixed);
SMTP 5xx and refused recipients are PermanentError; a connection lost or timed out once DATA has
begun is DeliveryUncertain (the server may have taken the letter, so it is never resent
automatically). A letter goes to DATA only when every one of its recipients was accepted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.generator
import email.message
import email.policy
import email.utils
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from worker.adapters import smtp_data
from worker.adapters.oauth import (
    MailAuthError,
    MailDnsError,
    MailTlsError,
    TokenSource,
    client_ssl_context,
    dns_problem,
    refused_problem,
    tls_problem,
)
from worker.domain.errors import (
    ComplaintsError,
    ConfigurationError,
    DeliveryUncertain,
    PermanentError,
    TransientError,
)
from worker.ports import SendResult

log = logging.getLogger(__name__)

# Letters leave wire_bytes with CRLF line ends: aiosmtplib need not rewrite them before DATA.
smtp_data.install()

T = TypeVar("T")
DEFAULT_TIMEOUT = 30.0
# Also the most letters a crash can leave "uncertain" (handed over, answer not yet recorded),
# each for a person to check: 8 connections already send far faster than the pipeline makes
# letters, so a larger pool would only widen that window.
DEFAULT_POOL_SIZE = 8
MAX_POOL_SIZE = 500
# Servers drop idle sessions (RFC 5321 suggests 5 minutes; some relays far sooner), and a dropped
# connection is not always noticed at once (NAT, half-open TCP): prove an old one alive first.
IDLE_CHECK_AFTER = 60.0
# Generous enough for a slow server, short enough not to hold up close() or an aborted group.
_QUICK_TIMEOUT = 5.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    tls: bool = False  # implicit TLS (smtps://)
    starttls: bool | None = None  # None: when offered
    verify: bool = True
    pool_size: int | None = None  # None: the sender's default
    auth: str = "password"  # or xoauth2 (then `password` is unused)
    ca_file: str = ""  # a PEM CA bundle to verify the server with; empty: the system store

    def __repr__(self) -> str:  # never show the password
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"tls={self.tls}, starttls={self.starttls}, verify={self.verify}, "
            f"pool_size={self.pool_size}, auth={self.auth!r})"
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


def _pool_size(query: dict[str, list[str]]) -> int | None:
    if "pool" not in query:
        return None
    value = query["pool"][-1]
    if not value.isdigit() or not 1 <= int(value) <= MAX_POOL_SIZE:
        raise ConfigurationError(
            f"SMTP URL: pool={value!r} must be a whole number from 1 to {MAX_POOL_SIZE}"
        )
    return int(value)


def parse_smtp_url(url: str, auth: str = "password", ca_file: str = "") -> SmtpSettings:
    """Read an ``smtp://`` or ``smtps://`` URL; raise ConfigurationError naming what is wrong.

    ``?auth=xoauth2`` (or `auth`) logs in as the URL's user with an OAuth2 token. Over
    ``smtp://`` a login requires STARTTLS unless ``starttls=0`` says otherwise: credentials are
    never sent in the clear because a server (or someone in the path) left STARTTLS out."""
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
    query = parse_qs(parts.query)
    auth = query.get("auth", [auth])[-1].lower()
    if auth not in ("password", "xoauth2"):
        raise ConfigurationError(f"SMTP URL: auth={auth!r} must be password or xoauth2")
    if auth == "xoauth2" and not parts.username:
        raise ConfigurationError("SMTP URL needs the mailbox user for xoauth2 (smtp://user@host)")
    if auth == "password" and parts.username and parts.password is None:
        raise ConfigurationError("SMTP URL has a user but no password (smtp://user:password@host)")
    tls = parts.scheme == "smtps"
    starttls = _flag(query, "starttls")
    if tls and starttls:
        raise ConfigurationError("SMTP URL: use smtps:// or ?starttls=1, not both")
    if not tls and starttls is None and parts.username:
        starttls = True
    return SmtpSettings(
        host=parts.hostname,
        port=port or (465 if tls else 25),
        user=unquote(parts.username) if parts.username else None,
        password=(
            unquote(parts.password) if parts.password is not None and auth == "password" else None
        ),
        tls=tls,
        starttls=False if tls else starttls,
        verify=_flag(query, "verify") is not False,
        pool_size=_pool_size(query),
        auth=auth,
        ca_file=ca_file,
    )


class SmtpSender:
    """`worker.ports.MailSender` over SMTP with a pool of persistent connections.

    ``send_batch`` works in groups of ``pool_size`` letters, one connection each: MAIL and RCPT
    for the whole group at once, one ``before_data`` call for the letters all of whose
    recipients were accepted, then their DATA at once. The next group is written out (MIME to
    bytes) while this one's DATA is on the wire, but opened only once it is done.

    Safe to call from any number of threads at once: every call runs its SMTP conversations on
    the sender's own event loop thread and waits for them. Never call it from that thread (that
    is, from ``before_data``)."""

    def __init__(
        self,
        settings: SmtpSettings,
        timeout: float = DEFAULT_TIMEOUT,
        pool_size: int | None = None,
        idle_check_after: float = IDLE_CHECK_AFTER,
        token_source: TokenSource | None = None,
    ) -> None:
        size = pool_size or settings.pool_size or DEFAULT_POOL_SIZE
        if not 1 <= size <= MAX_POOL_SIZE:
            raise ConfigurationError(f"SMTP pool size {size} must be from 1 to {MAX_POOL_SIZE}")
        if settings.auth == "xoauth2" and token_source is None:
            raise ConfigurationError(
                "SMTP logs in with xoauth2 but no OAuth client is configured "
                "(COMPLAINTS_OAUTH_CLIENT_ID ...)"
            )
        self.token_source = token_source
        self.settings = settings
        self.timeout = timeout
        self.pool_size = size
        self.idle_check_after = idle_check_after
        self._lock = threading.Lock()
        self._runtime: _Runtime | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        timeout: float = DEFAULT_TIMEOUT,
        pool_size: int | None = None,
        idle_check_after: float = IDLE_CHECK_AFTER,
        *,
        auth: str = "password",
        token_source: TokenSource | None = None,
        ca_file: str = "",
    ) -> SmtpSender:
        return cls(
            parse_smtp_url(url, auth=auth, ca_file=ca_file),
            timeout,
            pool_size,
            idle_check_after,
            token_source=token_source,
        )

    def check(self) -> str:
        """Connect, (STARTTLS,) log in and QUIT on a connection of its own (check-connection,
        /healthz); raises TransientError or ConfigurationError saying what failed."""
        s = self.settings
        where = f"SMTP {s.host}:{s.port}"

        async def attempt() -> None:
            tokens = _Tokens(self.token_source, s.user or "")
            client = _make_client(s, min(self.timeout, 15.0), tokens)
            try:
                try:
                    await client.connect()
                except aiosmtplib.SMTPAuthenticationError:
                    if not tokens.turned_down():
                        raise
                    await client.connect()
                await client.noop()
            finally:
                if client.is_connected:
                    try:
                        await client.quit()
                    except (aiosmtplib.SMTPException, OSError):
                        client.close()

        try:
            asyncio.run(attempt())
        except ComplaintsError:
            raise
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise MailAuthError(
                f"{where}: login refused for {s.user} ({exc.code} {exc.message})"
            ) from None
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line
            raise _connect_problem(exc, s) from exc
        return "ok"

    def __repr__(self) -> str:
        return f"SmtpSender({self.settings.host}:{self.settings.port}, pool={self.pool_size})"

    def send(
        self,
        message: email.message.EmailMessage,
        before_data: Callable[[], None] | None = None,
    ) -> str:
        def before_this_one(_indices: Sequence[int]) -> None:
            if before_data is not None:
                before_data()

        (result,) = self.send_batch([message], before_this_one)
        if result.error is not None:
            raise result.error
        return result.message_id

    def send_batch(
        self,
        messages: Sequence[email.message.EmailMessage],
        before_data: Callable[[Sequence[int]], None],
        after_data: Callable[[Sequence[SendResult]], None] | None = None,
    ) -> list[SendResult]:
        results: list[SendResult] = []

        def answered(group_results: list[SendResult]) -> None:
            # Told at once, so the caller records each group before the next is handed over:
            # a crash leaves at most the group on the wire in doubt, never the whole batch.
            results.extend(group_results)
            if after_data is not None:
                after_data(group_results)

        runtime: _Runtime | None = None
        unreachable: TransientError | None = None
        # The previous group's DATA, on the wire while this thread writes out the next group.
        on_the_wire: concurrent.futures.Future[list[SendResult]] | None = None
        for start in range(0, len(messages), self.pool_size):
            letters = _prepare_many(messages, start, self.pool_size, results)
            if on_the_wire is not None:
                answered(on_the_wire.result())
                on_the_wire = None
            if not letters:
                continue
            if unreachable is not None:
                # The last group could not even connect: trying again now would only make each
                # remaining group wait for its own timeouts before failing the same way.
                results.extend(
                    SendResult(letter.index, letter.message_id, unreachable) for letter in letters
                )
                continue
            runtime = runtime or self._started()
            group = _Group(letters)
            refused, on_the_wire = self._open(runtime, group, before_data)
            results.extend(refused)
            if group.unreached == len(group.letters):
                unreachable = TransientError(f"not tried: {group.unreachable}")
        if on_the_wire is not None:
            answered(on_the_wire.result())
        return results

    def _open(
        self,
        runtime: _Runtime,
        group: _Group,
        before_data: Callable[[Sequence[int]], None],
    ) -> tuple[list[SendResult], concurrent.futures.Future[list[SendResult]] | None]:
        """MAIL and RCPT for the group, ``before_data``, then DATA started: the letters refused,
        and the future of the others' results."""
        pool = runtime.pool
        try:
            refused = runtime.call(pool.open_group(group))
            ready = [letter.index for letter in group.ready_letters()]
            if not ready:
                return refused, None
            # Run here, in the caller's thread: it writes to the database, and the loop thread
            # must stay free for the other groups and callers.
            before_data(ready)
            return refused, runtime.submit(pool.transmit(group))
        except BaseException:
            # before_data failed, or this thread was interrupted (e.g. a dramatiq time limit)
            # while the group was open: nothing of it may be handed over, and its connections
            # must go back to the pool. A no-op once DATA has started.
            try:
                runtime.call(pool.abort(group))
            except Exception:  # noqa: BLE001 - the original error is the one to report
                log.exception("%s: could not abort an SMTP group", pool.where)
            raise

    def _started(self) -> _Runtime:
        with self._lock:
            runtime = self._runtime
            # After a fork the loop thread is gone (only the forking thread survives): start anew.
            if runtime is None or runtime.pid != os.getpid():
                runtime = _Runtime.start(self)
                self._runtime = runtime
            return runtime

    def close(self) -> None:
        """Quit every connection and stop the loop thread. The sender may be used again
        afterwards (it then starts afresh)."""
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None and runtime.pid == os.getpid():
            runtime.stop()


# --- what runs in the caller's thread ------------------------------------------------------------


@dataclass(frozen=True)
class _Letter:
    index: int
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes


def _prepare_many(
    messages: Sequence[email.message.EmailMessage],
    start: int,
    count: int,
    failed: list[SendResult],
) -> list[_Letter]:
    """`_prepare` for ``messages[start:start + count]``; the letters that cannot be sent at all
    are added to `failed`."""
    letters: list[_Letter] = []
    for index in range(start, min(start + count, len(messages))):
        message = messages[index]
        try:
            letters.append(_prepare(index, message))
        except Exception as exc:  # noqa: BLE001 - one bad letter must not stop the batch
            if isinstance(exc, PermanentError):
                error = exc
            else:
                error = PermanentError(f"cannot write the letter: {exc}")
                error.__cause__ = exc
            failed.append(SendResult(index, str(message.get("Message-ID", "")), error))
    return letters


def _prepare(index: int, message: email.message.EmailMessage) -> _Letter:
    """Envelope and wire bytes of one letter, made in the caller's thread (CPU work the loop
    thread should not do while it has conversations to keep going)."""
    if not message.get("Message-ID"):
        message["Message-ID"] = email.utils.make_msgid(domain=_sender_domain(message))
    message_id = str(message["Message-ID"])
    _name, sender = email.utils.parseaddr(str(message.get("From", "")))
    recipients = tuple(
        address
        for _name, address in email.utils.getaddresses(
            [str(v) for key in ("To", "Cc", "Bcc") for v in message.get_all(key, [])]
        )
        if address
    )
    if not recipients:
        raise PermanentError("the letter has no recipient address")
    del message["Bcc"]
    return _Letter(index, message_id, sender, recipients, wire_bytes(message))


def wire_bytes(message: email.message.Message) -> bytes:
    """``message.as_bytes()`` with CRLF line ends (``_wire_policy``), by ``_WireGenerator``."""
    out = io.BytesIO()
    _WireGenerator(out, mangle_from_=False, policy=_wire_policy(message)).flatten(message)
    return out.getvalue()


class _WireGenerator(email.generator.BytesGenerator):
    """The standard generator, writing a part's text in one go: it writes each line and each
    line break separately (two writes and two encodings a line, about 40% of the time it took
    to turn a letter into bytes). The same bytes: a test compares the two on letters and on
    the test corpus of received mail."""

    def _write_lines(self, lines: str) -> None:
        # As the standard one: every line break becomes the policy's; the text's last line
        # gets one only if it had one.
        if not lines:
            return
        if "\r" in lines:
            self.write(self._NL.join(email.generator.NLCRE.split(lines)))  # type: ignore[attr-defined]
        else:  # LF only, as our letters' parts are: the same without the regex
            self.write(lines.replace("\n", self._NL))


def _wire_policy(message: email.message.Message) -> email.policy.Policy:
    """CRLF line ends, in the message's own policy: a classic (compat32) message written with
    the modern SMTP policy would have every header parsed again only to be written back."""
    if isinstance(message.policy, email.policy.Compat32):
        return message.policy.clone(linesep="\r\n")
    return email.policy.SMTP


def _sender_domain(message: email.message.EmailMessage) -> str | None:
    _name, address = email.utils.parseaddr(str(message.get("From", "")))
    return address.rpartition("@")[2] or None


class _Runtime:
    """The loop thread of one SmtpSender, and the pool that lives on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.loop = loop
        self.thread = thread
        self.pid = os.getpid()
        self.pool: _Pool
        self._lock = threading.Lock()
        self._stopped = False
        self._waiting: set[concurrent.futures.Future[Any]] = set()

    @classmethod
    def start(cls, sender: SmtpSender) -> _Runtime:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=f"{sender!r}", daemon=True)
        thread.start()
        runtime = cls(loop, thread)

        async def make_pool() -> _Pool:
            # Built on the loop so that its queue and lock belong to it.
            return _Pool(
                sender.settings,
                sender.timeout,
                sender.pool_size,
                sender.idle_check_after,
                sender.token_source,
            )

        runtime.pool = runtime.call(make_pool())
        return runtime

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Start `coro` on the loop thread."""
        with self._lock:
            if self._stopped:
                coro.close()
                raise TransientError(f"{self.pool.where}: the sender was closed")
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)
            self._waiting.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._waiting.discard(future)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop thread and wait for it."""
        return self.submit(coro).result()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        try:
            asyncio.run_coroutine_threadsafe(self.pool.shutdown(), self.loop).result()
        except Exception:  # noqa: BLE001 - closing anyway
            log.exception("%s: error while closing SMTP connections", self.pool.where)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
        with self._lock:
            # Anything submitted as the loop stopped would never finish: release its waiter.
            waiting = list(self._waiting)
        for future in waiting:
            future.cancel()


# --- what runs on the loop thread ----------------------------------------------------------------


class _Slot:
    """One place in the pool: a client that is connected when needed and reconnected when the
    server dropped it (the same client object, so its local host name is looked up once)."""

    def __init__(self, client: aiosmtplib.SMTP) -> None:
        self.client = client
        self.last_used = time.monotonic()


_Phase = Literal["new", "opening", "open", "transmitting", "done"]


class _Group:
    """Letters that go through MAIL/RCPT, before_data and DATA together, one connection each.
    Its state is changed only on the loop thread."""

    def __init__(self, letters: list[_Letter]) -> None:
        self.letters = letters
        self.phase: _Phase = "new"
        self.opening: asyncio.Task[Any] | None = None
        # Letters whose recipients were all accepted, each holding its connection mid-transaction.
        self.ready: list[tuple[_Letter, _Slot]] = []
        # How many letters failed before the server took part (connect, TLS, login), and why.
        self.unreached = 0
        self.unreachable: Exception | None = None

    def ready_letters(self) -> list[_Letter]:
        return [letter for letter, _slot in self.ready]


class _Pool:
    def __init__(
        self,
        settings: SmtpSettings,
        timeout: float,
        size: int,
        idle_check_after: float,
        token_source: TokenSource | None = None,
    ) -> None:
        self.tokens = _Tokens(token_source, settings.user or "", for_letters=True)
        self.settings = settings
        self.timeout = timeout
        self.idle_check_after = idle_check_after
        self.where = f"SMTP {settings.host}:{settings.port}"
        self._slots = [_Slot(self._client()) for _ in range(size)]
        # Last in, first out: the warm connections are reused and the cold ones never opened.
        self._free: asyncio.LifoQueue[_Slot] = asyncio.LifoQueue()
        for slot in self._slots:
            self._free.put_nowait(slot)
        # A group takes all its connections at once, one group at a time: two groups each
        # holding half the pool while waiting for the other half would wait for ever.
        self._taking = asyncio.Lock()

    def _client(self) -> aiosmtplib.SMTP:
        return _make_client(self.settings, self.timeout, self.tokens)

    async def _take(self, count: int) -> list[_Slot]:
        taken: list[_Slot] = []
        try:
            async with self._taking:
                for _ in range(count):
                    taken.append(await self._free.get())
        except BaseException:
            for slot in taken:
                self._give_back(slot, keep=True)
            raise
        return taken

    def _give_back(self, slot: _Slot, keep: bool) -> None:
        if not keep:
            slot.client.close()
        slot.last_used = time.monotonic()
        self._free.put_nowait(slot)

    # MAIL and RCPT

    async def open_group(self, group: _Group) -> list[SendResult]:
        """MAIL and RCPT for every letter of the group, concurrently; the results of those
        refused (their connections already back in the pool). The others stay in group.ready."""
        group.opening = asyncio.current_task()
        group.phase = "opening"
        slots = await self._take(len(group.letters))
        outcomes = await asyncio.gather(
            *(
                self._open_one(group, letter, slot)
                for letter, slot in zip(group.letters, slots, strict=True)
            )
        )
        group.ready.sort(key=lambda pair: pair[0].index)
        if group.phase == "opening":
            group.phase = "open"
        return [result for result in outcomes if result is not None]

    async def _open_one(self, group: _Group, letter: _Letter, slot: _Slot) -> SendResult | None:
        client = slot.client
        reached = False
        try:
            reused = await self._ready_connection(slot)
            reached = True
            try:
                await client.mail(letter.sender)
            except (ConnectionError, aiosmtplib.SMTPResponseException) as exc:
                gone = not isinstance(exc, aiosmtplib.SMTPResponseException) or exc.code == 421
                if not (reused and gone):
                    raise
                # The server dropped a kept connection (restart, idle limit) before this letter
                # began: nothing was sent, so a new connection is as good.
                log.debug("%s: kept connection dropped (%s); reconnecting", self.where, exc)
                client.close()
                reached = False
                await client.connect()
                reached = True
                await client.mail(letter.sender)
            refused: list[aiosmtplib.SMTPRecipientRefused] = []
            for recipient in letter.recipients:
                try:
                    await client.rcpt(recipient)
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused.append(exc)
            if refused:
                # Handing it to the others only would leave the refused ones without it for good
                # and a retry could not add them without doubling it for the rest: none get it.
                raise aiosmtplib.SMTPRecipientsRefused(refused)
        except asyncio.CancelledError:
            self._give_back(slot, keep=False)  # mid-command: the conversation is out of step
            raise
        except Exception as exc:
            if not reached:
                group.unreached += 1
                group.unreachable = exc
            # After an answer the conversation is in step and RSET makes the connection as good
            # as new; after a timeout a late answer could be taken for the next command's.
            answered = isinstance(
                exc, (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused)
            )
            keep = False
            try:
                keep = answered and await self._reset(client)
            finally:  # even when cancelled during RSET: a lost slot would shrink the pool for good
                self._give_back(slot, keep=keep)
            return SendResult(letter.index, letter.message_id, _classify(exc, self.where, False))
        group.ready.append((letter, slot))
        return None

    async def _ready_connection(self, slot: _Slot) -> bool:
        """Connect `slot` if it is not; True when it was already connected (and still is)."""
        client = slot.client
        if client.is_connected and time.monotonic() - slot.last_used >= self.idle_check_after:
            try:
                await client.noop(timeout=min(self.timeout, _QUICK_TIMEOUT))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                log.debug("%s: idle connection failed NOOP (%s); reconnecting", self.where, exc)
                client.close()
        if client.is_connected:
            return True
        client.close()  # forget any half state of the lost connection
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError:
            # A cached OAuth2 token revoked or expired early: forget it and log in once more
            # with a fresh one, so a token lapsing never fails a letter.
            if not self.tokens.turned_down():
                raise
            await client.connect()
        return False

    async def _reset(self, client: aiosmtplib.SMTP) -> bool:
        """RSET the transaction on `client`; True when the connection can be used again."""
        if not client.is_connected:
            return False
        try:
            await client.rset(timeout=min(self.timeout, _QUICK_TIMEOUT))
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            return False
        return True

    # DATA

    async def transmit(self, group: _Group) -> list[SendResult]:
        """DATA for every ready letter of the group, concurrently."""
        if group.phase != "open":
            raise RuntimeError(f"SMTP group is {group.phase}, not open")
        group.phase = "transmitting"
        results = await asyncio.gather(
            *(self._transmit_one(letter, slot) for letter, slot in group.ready)
        )
        group.phase = "done"
        return list(results)

    async def _transmit_one(self, letter: _Letter, slot: _Slot) -> SendResult:
        try:
            await slot.client.data(letter.data)
        except asyncio.CancelledError:
            self._give_back(slot, keep=False)
            raise
        except Exception as exc:
            # An answer (4xx/5xx) leaves the conversation in step; anything else does not.
            answered = isinstance(exc, aiosmtplib.SMTPResponseException)
            self._give_back(slot, keep=answered and slot.client.is_connected)
            return SendResult(
                letter.index, letter.message_id, _classify(exc, self.where, handed_over=True)
            )
        self._give_back(slot, keep=True)
        return SendResult(letter.index, letter.message_id)

    async def abort(self, group: _Group) -> None:
        """Give up a group that has not begun DATA: stop its MAIL/RCPT, RSET what is open."""
        if group.phase in ("transmitting", "done"):
            return
        group.phase = "done"
        task = group.opening
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        ready, group.ready = group.ready, []
        keep: list[bool] = [False] * len(ready)
        try:
            keep = await asyncio.gather(*(self._reset(slot.client) for _letter, slot in ready))
        finally:
            for (_letter, slot), reusable in zip(ready, keep, strict=True):
                self._give_back(slot, keep=reusable)

    async def shutdown(self) -> None:
        """Stop whatever is still running on the loop and QUIT every connection."""
        me = asyncio.current_task()
        others = [task for task in asyncio.all_tasks() if task is not me]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others)
        await asyncio.gather(*(self._quit(slot.client) for slot in self._slots))

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected:
            try:
                await client.quit(timeout=min(self.timeout, _QUICK_TIMEOUT))
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                pass
        client.close()


class _Tokens:
    """The OAuth2 tokens an SMTP connection logs in with (XOAUTH2), for aiosmtplib."""

    def __init__(self, source: TokenSource | None, user: str, for_letters: bool = False) -> None:
        self.source = source
        self.user = user
        self.for_letters = for_letters
        self.last = ""

    async def __call__(self) -> str:
        assert self.source is not None
        try:
            # The token endpoint is plain blocking HTTP: keep it off the loop the pool runs on.
            self.last = await asyncio.to_thread(self.source.token, self.user)
        except ConfigurationError as exc:
            if not self.for_letters:
                raise
            # Refused client credentials are for an administrator to fix; the letters wait in
            # the outbox meanwhile, as in any outage, rather than being given up on.
            raise TransientError(str(exc)) from exc
        return self.last

    def turned_down(self) -> bool:
        """The server refused the last token: True when a fresh one is worth trying."""
        if self.source is None or not self.last:
            return False
        self.source.invalidate(self.last)
        self.last = ""
        log.info("SMTP: OAuth2 token turned down; fetching a new one")
        return True


def _make_client(settings: SmtpSettings, timeout: float, tokens: _Tokens) -> aiosmtplib.SMTP:
    s = settings
    xoauth2 = s.auth == "xoauth2"
    return aiosmtplib.SMTP(
        hostname=s.host,
        port=s.port,
        username=s.user,
        password=None if xoauth2 else s.password,
        oauth_token_generator=tokens if xoauth2 else None,
        use_tls=s.tls,
        start_tls=s.starttls,
        validate_certs=s.verify,
        # Verified against the named CA bundle, or the system store (aiosmtplib's default).
        tls_context=client_ssl_context(s.ca_file) if s.verify and s.ca_file else None,
        timeout=timeout,
    )


def _connect_problem(exc: BaseException, s: SmtpSettings) -> ComplaintsError:
    """One line for a failure to connect to, secure or log in to the SMTP server."""
    where = f"SMTP {s.host}:{s.port}"
    problem = dns_problem(exc, s.host)
    if problem is not None:
        return MailDnsError(f"{where}: {problem}")
    problem = tls_problem(exc, s.host, s.port)
    if problem is None and "starttls" in str(exc).lower():
        problem = f"TLS: {s.host}:{s.port} does not offer STARTTLS ({_one_line(exc)})"
    if problem is not None:
        return MailTlsError(f"{where}: {problem}")
    problem = refused_problem(exc, s.host, s.port)
    if problem is not None:
        return TransientError(f"{where}: {problem}")
    return TransientError(f"{where}: cannot connect: {type(exc).__name__}: {_one_line(exc)}")


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


def _classify(exc: BaseException, where: str, handed_over: bool) -> Exception:
    """The product's error for what went wrong with one letter, its cause attached."""
    error: Exception
    if isinstance(exc, ComplaintsError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= c < 500 for c in codes):
            error = TransientError(f"{where}: recipients deferred: {detail}")
        else:
            error = PermanentError(f"{where}: recipients refused: {detail}")
    elif isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        error = TransientError(
            f"{where}: login refused ({exc.code} {exc.message}); check the SMTP URL"
        )
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        # An answer from the server, even during DATA: it says whether it took the letter.
        text = f"{where}: {exc.code} {exc.message}"
        error = PermanentError(text) if 500 <= exc.code < 600 else TransientError(text)
    elif handed_over:
        # The message was (perhaps wholly) sent but no answer came: the server may have accepted
        # it, so a retry could deliver it twice.
        error = DeliveryUncertain(
            f"{where}: {type(exc).__name__} during DATA: {exc}; it may have been delivered. "
            "Check before resending."
        )
    elif isinstance(exc, (TimeoutError, aiosmtplib.SMTPException, OSError)):
        # Connection refused or dropped, timeouts, TLS failures, STARTTLS not offered.
        error = TransientError(f"{where}: {type(exc).__name__}: {exc}")
    else:
        # Nothing was sent (e.g. an address that cannot be written in ASCII): retrying the same
        # letter would fail the same way, so a person must look at it.
        log.exception("%s: unexpected error before DATA", where, exc_info=exc)
        error = PermanentError(f"{where}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error
