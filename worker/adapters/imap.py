"""Mailbox adapter for an IMAP folder (imap-tools over imaplib).

Messages are read with BODY.PEEK so the server never marks them seen, a batch at a time: one UID
SEARCH of the folder, one FETCH of the candidates' sizes so a batch stays under `max_bytes`, one
bulk FETCH of their bodies. Once the caller has committed a batch to the database it calls
`mark_processed_many`, which moves it to the processed folder with one UID MOVE of a compact UID
set (or COPY + STORE \\Deleted + UID EXPUNGE where MOVE is missing). Moving UIDs that have
already gone is a no-op, so a retried move is harmless.

`wait_for_mail` blocks in IMAP IDLE (RFC 2177) on the same connection until the server reports
new mail, or polls with NOOP where the server has no IDLE.

URL: ``imap://user:password@host[:port][/FOLDER][?starttls=1]`` or ``imaps://...`` (implicit TLS).
User and password are percent-decoded, so ``%40`` stands for ``@`` in a user name.
"""

from __future__ import annotations

import imaplib
import io
import logging
import os
import re
import selectors
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError
from imap_tools.utils import encode_folder

from worker.adapters.attachment_store import SPOOL_OVER, SpooledInbound, spooled
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
from worker.domain.errors import ConfigurationError, TransientError
from worker.ports import RawInbound

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BATCH_BYTES = 32 * 1024 * 1024
# A spooled message is fetched this much at a time (BODY.PEEK[]<offset.length>).
SPOOL_PIECE = 1024 * 1024
_UID_RE = re.compile(rb"\bUID (\d+)")
_SIZE_RE = re.compile(rb"\bRFC822\.SIZE (\d+)")
# Clients should keep command lines under 8192 octets (RFC 7162 section 4); long UID sets are
# split to stay below that with room for the tag, the command and the folder name.
_MAX_COMMAND_CHARS = 8000
# RFC 2177: re-issue IDLE at least every 29 minutes or the server may log us off.
_MAX_IDLE_SECONDS = 25 * 60
_NOOP_INTERVAL = 1.0
# While waiting for mail, how long a reply (to IDLE, DONE or NOOP) may take before the server is
# treated as dead: wait_for_mail never blocks much longer than its own timeout.
_REPLY_TIMEOUT = 5.0
# Untagged responses imaplib must keep seeing; everything else is dropped once read, or a
# long-lived connection would hoard one EXPUNGE line per message ever moved.
_KEEP_UNTAGGED = frozenset({"BYE", "READ-ONLY"})

# imaplib (before Python 3.14) does not know IDLE; imap-tools registers it the same way.
imaplib.Commands.setdefault("IDLE", ("AUTH", "SELECTED"))

# Errors that mean "the connection is unusable": reconnect and, failing that, retry later.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    imaplib.IMAP4.abort,
    OSError,  # includes socket.timeout, ConnectionRefusedError, ssl.SSLError
    EOFError,
)
_CONNECT_ERRORS: tuple[type[BaseException], ...] = (*_CONNECTION_ERRORS, imaplib.IMAP4.error)
_SELECT_ERRORS: tuple[type[BaseException], ...] = (
    *_CONNECTION_ERRORS,
    imaplib.IMAP4.error,
    KeyError,
    ValueError,
)


class ImapFolderMissing(ConfigurationError):
    kind = "folder"


@dataclass(frozen=True)
class ImapSettings:
    """What `ImapMailbox.from_url` found in the URL (the password is kept out of `repr`)."""

    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    tls: bool = False  # implicit TLS (imaps://)
    starttls: bool = False
    auth: str = "password"  # or xoauth2 (then `password` is unused)
    # The address residents write to at this mailbox: letters answering its mail come from it.
    address: str = ""

    def __repr__(self) -> str:
        return (
            f"ImapSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"folder={self.folder!r}, tls={self.tls}, starttls={self.starttls}, "
            f"auth={self.auth!r}, address={self.address!r})"
        )

    @property
    def name(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url: str, auth: str = "password") -> ImapSettings:
    """Read an ``imap://`` or ``imaps://`` URL; raise ConfigurationError naming what is wrong.

    ``?auth=xoauth2`` (or `auth`) logs in with an OAuth2 token instead of the password;
    ``?address=`` is the address residents write to (default: the user, when it is one)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"IMAP URL is malformed: {exc}") from None
    if parts.scheme not in ("imap", "imaps"):
        raise ConfigurationError(
            f"IMAP URL must start with imap:// or imaps://, not {parts.scheme or '(nothing)'}://"
        )
    if not parts.hostname:
        raise ConfigurationError("IMAP URL has no host (imap://user:password@host:port/FOLDER)")
    query = parse_qs(parts.query)
    auth = query.get("auth", [auth])[-1].lower()
    if auth not in ("password", "xoauth2"):
        raise ConfigurationError(f"IMAP URL: auth={auth!r} must be password or xoauth2")
    if not parts.username:
        raise ConfigurationError("IMAP URL needs a user (imap://user:password@host)")
    if auth == "password" and parts.password is None:
        raise ConfigurationError("IMAP URL needs user and password (imap://user:password@host)")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    user = unquote(parts.username)
    address = query.get("address", [""])[-1].strip() or (user if "@" in user else "")
    if address and ("@" not in address or any(c in address for c in " \r\n<>,")):
        raise ConfigurationError(f"IMAP URL: address={address!r} is not an email address")
    starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes")
    tls = parts.scheme == "imaps"
    if tls and starttls:
        raise ConfigurationError("IMAP URL: use imaps:// or ?starttls=1, not both")
    return ImapSettings(
        host=parts.hostname,
        port=port or (993 if tls else 143),
        user=user,
        password=unquote(parts.password or ""),
        folder=folder,
        tls=tls,
        starttls=starttls,
        auth=auth,
        address=address.lower(),
    )


class ImapMailbox:
    """`worker.ports.Mailbox` over one IMAP folder. Connects lazily and reconnects when dropped."""

    def __init__(
        self,
        settings: ImapSettings,
        processed_folder: str = "Processed",
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        if processed_folder == settings.folder:
            raise ConfigurationError("IMAP processed folder must differ from the folder read")
        if settings.auth == "xoauth2" and token_source is None:
            raise ConfigurationError(
                f"IMAP {settings.name} logs in with xoauth2 but no OAuth client is configured "
                "(COMPLAINTS_OAUTH_CLIENT_ID ...)"
            )
        self.settings = settings
        self.name = settings.name
        self.address = settings.address
        self.processed_folder = processed_folder
        self.timeout = timeout
        # Always a verifying context: imaplib's own default checks neither the certificate nor
        # the host name, which would let anyone on the path read residents' mail.
        self.ssl_context = ssl_context or client_ssl_context()
        self.token_source = token_source
        self._box: BaseMailBox | None = None
        self._uidvalidity: int | None = None
        self._processed_folder_exists = False
        # Set when the connection has seen news the last SEARCH may not cover (mail reported
        # after it, or a batch that left messages behind): wait_for_mail then returns at once.
        self._wake_pending = False
        # A message bigger than this is fetched a piece at a time to a temporary file and
        # handed over as a SpooledInbound (worker/adapters/attachment_store.py).
        self.spool_over = SPOOL_OVER

    @classmethod
    def from_url(
        cls,
        url: str,
        processed_folder: str = "Processed",
        timeout: float = DEFAULT_TIMEOUT,
        *,
        auth: str = "password",
        token_source: TokenSource | None = None,
        ca_file: str = "",
    ) -> ImapMailbox:
        return cls(
            parse_imap_url(url, auth=auth),
            processed_folder=processed_folder,
            timeout=timeout,
            ssl_context=client_ssl_context(ca_file or None),
            token_source=token_source,
        )

    def __repr__(self) -> str:
        return f"ImapMailbox({self.name!r})"

    # --- the Mailbox protocol ------------------------------------------------------------------

    def fetch_new(
        self, limit: int = 100, max_bytes: int = DEFAULT_MAX_BATCH_BYTES
    ) -> list[RawInbound]:
        """Up to `limit` messages, oldest first, together at most `max_bytes` (by the server's
        RFC822.SIZE) except that the first message always comes, however large, alone."""
        return self._with_connection(lambda box: self._fetch_new(box, limit, max_bytes))

    def mark_processed(self, item: RawInbound) -> None:
        self.mark_processed_many([item])

    def mark_processed_many(self, items: Sequence[RawInbound]) -> None:
        """Move `items` to the processed folder with one UID MOVE per ~8 KB of UID set."""
        for item in items:
            if item.mailbox != self.name:
                raise ValueError(f"{item.mailbox} is not from mailbox {self.name}")
        if items:
            self._with_connection(lambda box: self._move(box, items))

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until the server reports new mail (True) or `timeout` seconds pass (False).

        Returns True at once when not connected (mail may have come meanwhile, and `fetch_new`
        reconnects) or when the last fetch left mail behind. A lost connection raises
        TransientError and is dropped; the next `fetch_new` reconnects.
        """
        box = self._box
        if box is None:
            return True
        client = box.client
        if self._wake_pending or _take_untagged(client):
            self._wake_pending = False
            return True
        deadline = time.monotonic() + max(timeout, 0.0)
        finished = False
        try:
            # A server that stops answering must not hold this thread much past `timeout`.
            client.sock.settimeout(min(self.timeout, _REPLY_TIMEOUT))
            if "IDLE" in client.capabilities:
                changed = self._idle_until(client, deadline)
            else:
                changed = self._noop_until(client, deadline)
            finished = True
            return changed
        except _CONNECTION_ERRORS as exc:
            raise TransientError(f"IMAP {self.name}: connection lost: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            raise TransientError(f"IMAP {self.name}: server refused: {exc}") from exc
        finally:
            if finished:
                client.sock.settimeout(self.timeout)
            else:
                # Whatever went wrong (even KeyboardInterrupt), the connection may be left
                # mid-IDLE, where any next command would be misread: never reuse it.
                self._drop()

    def close(self) -> None:
        box, self._box = self._box, None
        if box is None:
            return
        try:
            box.logout()
        except Exception:  # noqa: BLE001 - closing a dead connection must not fail
            try:
                box.client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> ImapMailbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals -----------------------------------------------------------------------------

    def _with_connection(self, operation: Callable[[BaseMailBox], T]) -> T:
        """Run `operation` on a live connection; after a dropped connection reconnect once."""
        for attempt in (1, 2):
            box = self._connect()
            try:
                return operation(box)
            except _CONNECTION_ERRORS as exc:
                self._drop()
                if attempt == 2:
                    raise TransientError(f"IMAP {self.name}: connection lost: {exc}") from exc
                log.info("IMAP %s: connection lost (%s); reconnecting", self.name, exc)
            except imaplib.IMAP4.error as exc:
                # A NO/BAD from the server: keep the connection but let the caller retry later.
                raise TransientError(f"IMAP {self.name}: server refused: {exc}") from exc
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        box, self._box = self._box, None
        self._processed_folder_exists = False
        self._wake_pending = False
        if box is not None:
            try:
                box.client.shutdown()
            except Exception:  # noqa: BLE001
                pass

    def _connect(self) -> BaseMailBox:
        if self._box is not None:
            return self._box
        s = self.settings
        try:
            box: BaseMailBox
            if s.tls:
                box = MailBox(s.host, s.port, timeout=self.timeout, ssl_context=self.ssl_context)
            elif s.starttls:
                box = MailBoxStartTls(
                    s.host, s.port, timeout=self.timeout, ssl_context=self.ssl_context
                )
            else:
                box = MailBoxUnencrypted(s.host, s.port, timeout=self.timeout)
        except _CONNECT_ERRORS as exc:
            problem = dns_problem(exc, s.host) or tls_problem(exc, s.host, s.port)
            if problem is None and s.starttls and isinstance(exc, imaplib.IMAP4.error):
                # Never fall back to a cleartext session: the password or token would be sent
                # in the clear.
                problem = f"TLS: {s.host}:{s.port} does not offer STARTTLS ({exc})"
            if problem is not None:
                error_type = MailDnsError if problem.startswith("DNS") else MailTlsError
                raise error_type(f"IMAP {self.name}: {problem}") from exc
            refused = refused_problem(exc, s.host, s.port)
            if refused is not None:
                raise TransientError(f"IMAP {self.name}: {refused}") from exc
            raise TransientError(f"IMAP {self.name}: cannot connect: {exc}") from exc
        try:
            self._login(box)
        except MailboxLoginError as exc:
            _shutdown(box)
            if "UNAVAILABLE" in str(exc):
                raise TransientError(f"IMAP {self.name}: login unavailable: {exc}") from exc
            if s.auth == "xoauth2":
                raise MailAuthError(
                    f"IMAP login refused for {s.user}@{s.host}: the server turned down a fresh "
                    "OAuth2 token (is the app allowed this mailbox?)"
                ) from None
            raise MailAuthError(f"IMAP login refused for {s.user}@{s.host}") from None
        except _CONNECT_ERRORS as exc:
            _shutdown(box)
            raise TransientError(f"IMAP {self.name}: cannot log in: {exc}") from exc
        except BaseException:
            _shutdown(box)  # the token endpoint failed: say so, and leave no connection behind
            raise
        try:
            # imaplib keeps the pre-login CAPABILITY list; servers announce MOVE only after login.
            typ, data = box.client.capability()
            if typ == "OK" and data and data[-1]:
                box.client.capabilities = tuple(data[-1].decode().upper().split())
            typ, data = box.client.select(_folder_arg(s.folder))
            if typ != "OK":
                _shutdown(box)
                raise ImapFolderMissing(
                    f"IMAP folder {s.folder!r} cannot be opened on {s.host}: {_text(data)}"
                )
            uidvalidity = int(box.client.untagged_responses["UIDVALIDITY"][-1])  # type: ignore[arg-type]
        except _SELECT_ERRORS as exc:
            _shutdown(box)
            raise TransientError(f"IMAP {self.name}: cannot open folder: {exc}") from exc
        if self._uidvalidity is not None and uidvalidity != self._uidvalidity:
            log.warning(
                "IMAP %s: UIDVALIDITY changed from %s to %s; UIDs start again",
                self.name,
                self._uidvalidity,
                uidvalidity,
            )
        self._uidvalidity = uidvalidity
        self._box = box
        return box

    def _login(self, box: BaseMailBox) -> None:
        s = self.settings
        if s.auth != "xoauth2":
            box.login(s.user, s.password, initial_folder=None)
            return
        assert self.token_source is not None
        token = self.token_source.token(s.user)
        if _xoauth2(box, s.user, token):
            return
        # The cached token was revoked or expired early: forget it and try once more with a
        # fresh one, so a token lapsing never costs a failed poll.
        self.token_source.invalidate(token)
        log.info("IMAP %s: OAuth2 token turned down; fetching a new one", self.name)
        if not _xoauth2(box, s.user, self.token_source.token(s.user)):
            raise MailboxLoginError(("NO", [b"XOAUTH2 token refused"]), "OK")

    def check(self) -> str:
        """Log in and open the folder now (check-connection, /healthz); raises on failure."""
        try:
            self._with_connection(lambda box: None)
        finally:
            self.close()
        return "ok"

    def _fetch_new(self, box: BaseMailBox, limit: int, max_bytes: int) -> list[RawInbound]:
        assert self._uidvalidity is not None
        client = box.client
        # On a long-lived connection the server only reports mail appended by other sessions
        # once asked to sync; without this a poller can miss new mail until it reconnects.
        typ, data = client.noop()
        _check(typ, data, "NOOP")
        # What the server reported so far is covered by the SEARCH below.
        _take_untagged(client)
        self._wake_pending = False
        # Only the folder read is searched, and processed mail leaves it: the cost of a poll
        # follows what is waiting, not the mailbox's history.
        typ, data = client.uid("SEARCH", "ALL")
        _check(typ, data, "UID SEARCH")
        waiting = sorted(int(u) for u in (data[0] or b"").split())
        chosen: list[int] = []
        found: dict[int, RawInbound] = {}
        start = 0
        # Callers stop reading on an empty batch: a window of UIDs that all went meanwhile
        # (moved by another poller) is followed by the next one, never returned empty.
        while not found and start < len(waiting) and limit > 0:
            candidates = waiting[start : start + limit]
            start += limit
            sizes = self._sizes(client, candidates)
            chosen = _within_budget(candidates, sizes, max_bytes)
            small = [uid for uid in chosen if sizes.get(uid, 0) <= self.spool_over]
            for uid, raw in self._bodies(client, small).items():
                found[uid] = RawInbound(self.name, self._uidvalidity, uid, raw)
            for uid in chosen:
                if uid not in found and sizes.get(uid, 0) > self.spool_over:
                    spool = self._spool(client, uid)
                    if spool is not None:
                        found[uid] = spool
        # Mail reported during these commands may have missed the SEARCH; and what this batch
        # leaves behind is there to fetch at once, not after the next delivery.
        self._wake_pending = _take_untagged(client) or len(found) < len(waiting)
        # A UID gone between SEARCH and FETCH (moved by another poller) is simply absent.
        return [found[uid] for uid in chosen if uid in found]

    def _spool(self, client: imaplib.IMAP4, uid: int) -> SpooledInbound | None:
        """Fetch a big message a piece at a time into a temporary file (deleted once the
        message is stored): imaplib would otherwise hold it whole, and more than once."""
        handle, name = tempfile.mkstemp(prefix="complaints-spool-", suffix=".eml")
        path = Path(name)
        try:
            with os.fdopen(handle, "wb") as out:
                offset = 0
                while True:
                    typ, data = client.uid(
                        "FETCH", str(uid), f"(UID BODY.PEEK[]<{offset}.{SPOOL_PIECE}>)"
                    )
                    _check(typ, data, "UID FETCH BODY.PEEK[]<partial>")
                    piece = next((p[1] for p in data if isinstance(p, tuple) and len(p) == 2), None)
                    del data
                    if piece is None:
                        if offset == 0:
                            path.unlink(missing_ok=True)
                            return None  # gone meanwhile
                        break
                    out.write(piece)
                    offset += len(piece)
                    if len(piece) < SPOOL_PIECE:
                        break
                    del piece
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return spooled(self.name, self._uidvalidity or 0, uid, path, owned=True)

    def _sizes(self, client: imaplib.IMAP4, uids: Sequence[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for uid_set in _uid_sets(uids, _MAX_COMMAND_CHARS):
            typ, data = client.uid("FETCH", uid_set, "(UID RFC822.SIZE)")
            _check(typ, data, "UID FETCH RFC822.SIZE")
            for part in data:
                line = part[0] if isinstance(part, tuple) else part
                if not isinstance(line, bytes):
                    continue
                uid, size = _UID_RE.search(line), _SIZE_RE.search(line)
                if uid and size:
                    sizes[int(uid.group(1))] = int(size.group(1))
        return sizes

    def _bodies(self, client: imaplib.IMAP4, uids: Sequence[int]) -> dict[int, bytes]:
        raw_by_uid: dict[int, bytes] = {}
        for uid_set in _uid_sets(uids, _MAX_COMMAND_CHARS):
            typ, data = client.uid("FETCH", uid_set, "(UID BODY.PEEK[])")
            _check(typ, data, "UID FETCH")
            for part in data:
                if isinstance(part, tuple) and len(part) == 2:
                    match = _UID_RE.search(part[0])
                    if match:
                        raw_by_uid[int(match.group(1))] = part[1]
        return raw_by_uid

    def _move(self, box: BaseMailBox, items: Sequence[RawInbound]) -> None:
        stale: dict[int, list[int]] = {}
        for item in items:
            if item.uidvalidity != self._uidvalidity:
                stale.setdefault(item.uidvalidity, []).append(item.uid)
        for uidvalidity, stale_uids in stale.items():
            # The UID now names a different message (or none): never move by a stale UID. The
            # message stays in the folder and comes back under the new UIDVALIDITY.
            log.warning(
                "IMAP %s: not moving UIDs %s: UIDVALIDITY %s is now %s",
                self.name,
                ",".join(_uid_sets(stale_uids, _MAX_COMMAND_CHARS)),
                uidvalidity,
                self._uidvalidity,
            )
        uids = [item.uid for item in items if item.uidvalidity == self._uidvalidity]
        if not uids:
            return
        self._ensure_processed_folder(box)
        client = box.client
        target = _folder_arg(self.processed_folder)
        has_move = "MOVE" in client.capabilities
        has_uidplus = "UIDPLUS" in client.capabilities
        for uid_set in _uid_sets(uids, _MAX_COMMAND_CHARS - len(target)):
            # UIDs already moved (a retry) match nothing, which the server answers with OK.
            if has_move:
                typ, data = client.uid("MOVE", uid_set, target)
                _check(typ, data, "UID MOVE")
            else:
                # No MOVE: copy, flag deleted, expunge only these UIDs where UIDPLUS allows it.
                typ, data = client.uid("COPY", uid_set, target)
                _check(typ, data, "UID COPY")
                typ, data = client.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
                _check(typ, data, "UID STORE")
                if has_uidplus:
                    typ, data = client.uid("EXPUNGE", uid_set)
                else:
                    typ, data = client.expunge()
                _check(typ, data, "EXPUNGE")
            if _take_untagged(client):
                # New mail reported alongside the move: keep that news for wait_for_mail.
                self._wake_pending = True

    def _idle_until(self, client: imaplib.IMAP4, deadline: float) -> bool:
        while True:
            remaining = deadline - time.monotonic()
            if self._idle_once(client, min(max(remaining, 0.0), _MAX_IDLE_SECONDS)):
                return True
            if deadline - time.monotonic() <= 0:
                return False

    def _idle_once(self, client: imaplib.IMAP4, seconds: float) -> bool:
        """One IDLE command: True when the server reported new mail within `seconds`."""
        # imaplib (before 3.14) has no IDLE; its private command machinery keeps tags, literals
        # and untagged responses consistent for the commands that follow.
        imap: Any = client
        tag = imap._command("IDLE")
        # Wait for "+ idling"; a server may report mail (or refuse) before it.
        while imap._get_response() is not None:
            imap._check_bye()
            if imap.tagged_commands.get(tag) is not None:
                typ, data = imap.tagged_commands.pop(tag)
                raise imaplib.IMAP4.error(f"IDLE: {typ} {_text(data)}")
        log.debug("IMAP %s: idling", self.name)
        changed = _take_untagged(client)
        ended_by_server = False
        until = time.monotonic() + seconds
        while not changed:
            remaining = until - time.monotonic()
            if remaining <= 0 or not _response_ready(client, remaining):
                break
            imap._get_response()
            imap._check_bye()
            if imap.tagged_commands.get(tag) is not None:
                ended_by_server = True  # RFC 2177 lets the server end IDLE itself
                break
            changed = _take_untagged(client)
        if not ended_by_server:
            client.send(b"DONE\r\n")
        # Reads what the server still sends up to IDLE's completion; mail reported meanwhile
        # counts too.
        typ, data = imap._command_complete("IDLE", tag)
        _check(typ, data, "IDLE")
        return _take_untagged(client) or changed

    def _noop_until(self, client: imaplib.IMAP4, deadline: float) -> bool:
        while True:
            typ, data = client.noop()
            _check(typ, data, "NOOP")
            if _take_untagged(client):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(_NOOP_INTERVAL, remaining))

    def _ensure_processed_folder(self, box: BaseMailBox) -> None:
        if self._processed_folder_exists:
            return
        if not box.folder.exists(self.processed_folder):
            typ, data = box.client.create(_folder_arg(self.processed_folder))
            # Another poller may have created it meanwhile; only a real failure matters.
            if typ != "OK" and not box.folder.exists(self.processed_folder):
                raise imaplib.IMAP4.error(f"CREATE {self.processed_folder}: {_text(data)}")
            box.client.subscribe(_folder_arg(self.processed_folder))
        self._processed_folder_exists = True


def _xoauth2(box: BaseMailBox, user: str, token: str) -> bool:
    """SASL XOAUTH2; True when the server let us in. The token is never logged or raised."""
    initial = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    answers = iter([initial])

    def respond(_challenge: bytes) -> bytes:
        # A refusal comes as a challenge holding a JSON error; the client answers it with an
        # empty line (as Google and Microsoft document), then the server says NO.
        return next(answers, b"")

    try:
        typ, _data = box.client.authenticate("XOAUTH2", respond)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error:
        return False
    return typ == "OK"


def _check(typ: str, data: Sequence[object], command: str) -> None:
    if typ != "OK":
        raise imaplib.IMAP4.error(f"{command}: {typ} {_text(data)}")


def _text(data: object) -> str:
    if isinstance(data, list):
        return " ".join(_text(d) for d in data if d is not None)
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return str(data)


def _shutdown(box: BaseMailBox) -> None:
    try:
        box.client.shutdown()
    except Exception:  # noqa: BLE001
        pass


def _folder_arg(name: str) -> str:
    """A folder name as an IMAP argument: modified UTF-7, quoted (ASCII, so str is safe)."""
    return encode_folder(name).decode("ascii")


def _take_untagged(client: imaplib.IMAP4) -> bool:
    """Forget the untagged responses read so far; True if they reported new mail (a non-zero
    EXISTS or RECENT: EXISTS 0 is only an empty folder)."""
    responses = client.untagged_responses
    counts = responses.pop("EXISTS", []) + responses.pop("RECENT", [])
    for key in [k for k in responses if k not in _KEEP_UNTAGGED]:
        del responses[key]
    return any(_count(value) != 0 for value in counts)


def _count(value: bytes | tuple[bytes, bytes]) -> int:
    text = value[0] if isinstance(value, tuple) else value
    try:
        return int(text.split()[0])
    except (IndexError, ValueError):
        return 1  # unreadable: assume news rather than miss mail


def _response_ready(client: imaplib.IMAP4, timeout: float) -> bool:
    """True once the server has sent something, False after `timeout` seconds.

    imaplib reads through a buffered file, so a response may already sit in its buffer (sent
    with the one before it) where waiting on the socket would not see it; a non-blocking peek
    finds it, and pulls in whatever the socket (or TLS layer) already holds.
    """
    sock = client.sock
    reader = client.file
    if isinstance(reader, io.BufferedReader):
        saved = sock.gettimeout()
        sock.settimeout(0)
        try:
            if reader.peek(1):
                return True
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        finally:
            sock.settimeout(saved)
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(timeout))


def _uid_sets(uids: Iterable[int], max_chars: int) -> list[str]:
    """Compact IMAP UID sets ("5:9,12"), each at most `max_chars` long.

    Only runs of consecutive UIDs become ranges: "5:9" would also name 6, 7 and 8, which must
    not be touched unless they are in `uids`.
    """
    runs: list[list[int]] = []
    for uid in sorted(set(uids)):
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    sets: list[str] = []
    parts: list[str] = []
    length = 0
    for first, last in runs:
        part = str(first) if first == last else f"{first}:{last}"
        if parts and length + 1 + len(part) > max_chars:
            sets.append(",".join(parts))
            parts, length = [], 0
        length += len(part) + (1 if parts else 0)
        parts.append(part)
    if parts:
        sets.append(",".join(parts))
    return sets


def _within_budget(uids: Sequence[int], sizes: dict[int, int], max_bytes: int) -> list[int]:
    """The longest prefix of `uids` (skipping UIDs gone meanwhile) whose sizes fit `max_bytes`,
    but never empty while one is left: a message larger than the budget still comes, alone."""
    chosen: list[int] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid)
        if size is None:
            continue
        if chosen and total + size > max_bytes:
            break
        chosen.append(uid)
        total += size
    return chosen
