"""Mailbox adapter for an IMAP folder (imap-tools over imaplib).

Messages are read with BODY.PEEK so the server never marks them seen; once the caller has
committed a message to the database it calls `mark_processed`, which moves it to the processed
folder (UID MOVE, or COPY + STORE \\Deleted + UID EXPUNGE where MOVE is missing). A move of a
UID that has already gone is a no-op, so a retried `mark_processed` is harmless.

URL: ``imap://user:password@host[:port][/FOLDER][?starttls=1]`` or ``imaps://...`` (implicit TLS).
User and password are percent-decoded, so ``%40`` stands for ``@`` in a user name.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError
from imap_tools.utils import encode_folder

from worker.domain.errors import ConfigurationError, TransientError
from worker.ports import RawInbound

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
_UID_RE = re.compile(rb"\bUID (\d+)")
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

    def __repr__(self) -> str:
        return (
            f"ImapSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"folder={self.folder!r}, tls={self.tls}, starttls={self.starttls})"
        )

    @property
    def name(self) -> str:
        scheme = "imaps" if self.tls else "imap"
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_imap_url(url: str) -> ImapSettings:
    """Read an ``imap://`` or ``imaps://`` URL; raise ConfigurationError naming what is wrong."""
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
    if not parts.username or parts.password is None:
        raise ConfigurationError("IMAP URL needs user and password (imap://user:password@host)")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes")
    tls = parts.scheme == "imaps"
    if tls and starttls:
        raise ConfigurationError("IMAP URL: use imaps:// or ?starttls=1, not both")
    return ImapSettings(
        host=parts.hostname,
        port=port or (993 if tls else 143),
        user=unquote(parts.username),
        password=unquote(parts.password),
        folder=folder,
        tls=tls,
        starttls=starttls,
    )


class ImapMailbox:
    """`worker.ports.Mailbox` over one IMAP folder. Connects lazily and reconnects when dropped."""

    def __init__(
        self,
        settings: ImapSettings,
        processed_folder: str = "Processed",
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if processed_folder == settings.folder:
            raise ConfigurationError("IMAP processed folder must differ from the folder read")
        self.settings = settings
        self.name = settings.name
        self.processed_folder = processed_folder
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._box: BaseMailBox | None = None
        self._uidvalidity: int | None = None
        self._processed_folder_exists = False

    @classmethod
    def from_url(
        cls, url: str, processed_folder: str = "Processed", timeout: float = DEFAULT_TIMEOUT
    ) -> ImapMailbox:
        return cls(parse_imap_url(url), processed_folder=processed_folder, timeout=timeout)

    def __repr__(self) -> str:
        return f"ImapMailbox({self.name!r})"

    # --- the Mailbox protocol ------------------------------------------------------------------

    def fetch_new(self, limit: int = 100) -> list[RawInbound]:
        return self._with_connection(lambda box: self._fetch_new(box, limit))

    def mark_processed(self, item: RawInbound) -> None:
        if item.mailbox != self.name:
            raise ValueError(f"{item.mailbox} is not from mailbox {self.name}")
        self._with_connection(lambda box: self._move(box, item))

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
            raise TransientError(f"IMAP {self.name}: cannot connect: {exc}") from exc
        try:
            box.login(s.user, s.password, initial_folder=None)
        except MailboxLoginError as exc:
            _shutdown(box)
            if "UNAVAILABLE" in str(exc):
                raise TransientError(f"IMAP {self.name}: login unavailable: {exc}") from exc
            raise ConfigurationError(f"IMAP login refused for {s.user}@{s.host}") from None
        except _CONNECT_ERRORS as exc:
            _shutdown(box)
            raise TransientError(f"IMAP {self.name}: cannot log in: {exc}") from exc
        try:
            # imaplib keeps the pre-login CAPABILITY list; servers announce MOVE only after login.
            typ, data = box.client.capability()
            if typ == "OK" and data and data[-1]:
                box.client.capabilities = tuple(data[-1].decode().upper().split())
            typ, data = box.client.select(_folder_arg(s.folder))
            if typ != "OK":
                _shutdown(box)
                raise ConfigurationError(
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

    def _fetch_new(self, box: BaseMailBox, limit: int) -> list[RawInbound]:
        assert self._uidvalidity is not None
        # On a long-lived connection the server only reports mail appended by other sessions
        # once asked to sync; without this a poller can miss new mail until it reconnects.
        typ, data = box.client.noop()
        _check(typ, data, "NOOP")
        typ, data = box.client.uid("SEARCH", "ALL")
        _check(typ, data, "UID SEARCH")
        uids = sorted(int(u) for u in (data[0] or b"").split())[: max(limit, 0)]
        if not uids:
            return []
        typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
        _check(typ, data, "UID FETCH")
        raw_by_uid: dict[int, bytes] = {}
        for part in data:
            if isinstance(part, tuple) and len(part) == 2:
                match = _UID_RE.search(part[0])
                if match:
                    raw_by_uid[int(match.group(1))] = part[1]
        # A UID gone between SEARCH and FETCH (moved by another poller) is simply absent.
        return [
            RawInbound(self.name, self._uidvalidity, uid, raw_by_uid[uid])
            for uid in uids
            if uid in raw_by_uid
        ]

    def _move(self, box: BaseMailBox, item: RawInbound) -> None:
        if item.uidvalidity != self._uidvalidity:
            # The UID now names a different message (or none): never move by a stale UID. The
            # message stays in the folder and comes back under the new UIDVALIDITY.
            log.warning(
                "IMAP %s: not moving UID %s: UIDVALIDITY %s is now %s",
                self.name,
                item.uid,
                item.uidvalidity,
                self._uidvalidity,
            )
            return
        self._ensure_processed_folder(box)
        client = box.client
        target = _folder_arg(self.processed_folder)
        uid = str(item.uid)
        if "MOVE" in client.capabilities:
            typ, data = client.uid("MOVE", uid, target)
            _check(typ, data, "UID MOVE")
            return
        # No MOVE: copy, flag deleted, expunge only that UID where UIDPLUS allows it.
        typ, data = client.uid("COPY", uid, target)
        _check(typ, data, "UID COPY")
        typ, data = client.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
        _check(typ, data, "UID STORE")
        if "UIDPLUS" in client.capabilities:
            typ, data = client.uid("EXPUNGE", uid)
        else:
            typ, data = client.expunge()
        _check(typ, data, "EXPUNGE")

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


def _check(typ: str, data: list[object], command: str) -> None:
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
