"""The one place that chooses embedded or service adapters from settings and wires them together.

Embedded default (no configuration): a Maildir folder as the mailbox, SQLite, jobs in-process,
letters written as .eml files. With IMAP, SMTP, Redis and PostgreSQL URLs: the same code as a
distributed service.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from worker.adapters.clock import SystemClock
from worker.adapters.db import Database
from worker.domain.errors import ConfigurationError, TransientError, UserError
from worker.domain.landlord import Landlord
from worker.domain.working_days import Calendar
from worker.jobs import InProcessJobs, Jobs
from worker.ports import Mailbox, MailSender
from worker.settings import Settings, load_landlord, load_settings

if TYPE_CHECKING:
    from datetime import date, datetime

    from classifiers.triage import Triager
    from worker.adapters.oauth import TokenSource

SAMPLE_MAILBOX = Path(__file__).resolve().parent / "sample_mailbox"


class Heartbeats(Protocol):
    def beat(self, instance_id: str) -> None: ...
    def alive(self, instance_id: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
    def today(self) -> date: ...


@dataclass
class App:
    settings: Settings
    landlord: Landlord
    calendar: Calendar
    db: Database
    jobs: Jobs
    sender: MailSender
    clock: Clock = field(default_factory=SystemClock)
    # Replaying a mailbox (the demo): each message is handled as on the day it arrived, as a
    # worker that was running then would have handled it.
    replay: bool = False
    # Identifies this process when it claims a letter; a claim by a process whose heartbeat has
    # stopped (see worker/run_worker.py) is taken back by the recovery sweep.
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    heartbeats: Heartbeats | None = None

    @cached_property
    def triager(self) -> Triager:
        return _shared_triager()

    @property
    def from_address(self) -> str:
        return self.settings.from_address or self.landlord.complaints_email

    @property
    def own_addresses(self) -> tuple[str, ...]:
        # Every mailbox's address is ours too: mail from one of them is a loop, never a resident.
        return tuple(
            {self.from_address.lower(), self.landlord.complaints_email.lower()}
            | set(mailbox_addresses(self.settings))
        )

    def run_job(self, stage: str, ids: list[int]) -> None:
        from worker.pipeline import run_stage

        run_stage(self, stage, ids)


_triager_lock = threading.Lock()
_triager: Triager | None = None


def _shared_triager() -> Triager:
    """One loaded model per process: it is read-only once loaded, so threads share it."""
    global _triager
    with _triager_lock:
        if _triager is None:
            from classifiers.triage import Triager

            _triager = Triager.load()
        return _triager


@contextmanager
def existing_database(settings: Settings | None = None) -> Iterator[App]:
    """For commands that only read (status, reports): the configured database must already be
    set up, and is never created or migrated as a side effect."""
    from sqlalchemy.exc import SQLAlchemyError

    from worker.adapters.db import is_current
    from worker.settings import redact_url

    app = bootstrap(settings, upgrade=False)
    url = redact_url(app.db.url)
    try:
        if not is_current(app.db.engine):
            raise UserError(f"the database at {url} is not set up; run `complaints db upgrade`")
        yield app
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise TransientError(
            f"cannot read the database at {url}: {first[0] if first else type(exc).__name__}"
        ) from None
    finally:
        app.db.dispose()


def calendar_for(landlord: Landlord) -> Calendar:
    from datetime import date

    return Calendar(landlord.nation, [date.fromisoformat(d) for d in landlord.closure_days])


_token_sources: dict[object, TokenSource] = {}
_token_sources_lock = threading.Lock()


def make_token_source(settings: Settings) -> TokenSource | None:
    """One token cache per OAuth client per process, shared by the mailboxes and the sender."""
    if settings.oauth is None:
        return None
    from worker.adapters.oauth import TokenSource

    with _token_sources_lock:
        source = _token_sources.get(settings.oauth)
        if source is None:
            source = _token_sources[settings.oauth] = TokenSource(settings.oauth)
        return source


def mailbox_addresses(settings: Settings) -> list[str]:
    """The addresses residents write to at the configured IMAP mailboxes (lower case)."""
    from worker.adapters.imap import parse_imap_url

    addresses = []
    for url in settings.imap_urls or ((settings.imap_url,) if settings.imap_url else ()):
        address = parse_imap_url(url.reveal(), auth=settings.imap_auth).address
        if address:
            addresses.append(address)
    return addresses


def make_sender(settings: Settings) -> MailSender:
    sender: MailSender
    if settings.smtp_url:
        from worker.adapters.smtp import SmtpSender

        sender = SmtpSender.from_url(
            settings.smtp_url.reveal(),
            auth=settings.smtp_auth,
            token_source=make_token_source(settings),
            ca_file=settings.tls_ca_file,
        )
    else:
        from worker.adapters.file_outbox import FileSender

        sender = FileSender(settings.outbox_dir)
    if settings.dev_recipient_override:
        from worker.adapters.recipient_override import RecipientOverride

        sender = RecipientOverride(sender, settings.dev_recipient_override)
    return sender


def make_mailboxes(settings: Settings, maildir: Path | None = None) -> list[Mailbox]:
    """Every configured mailbox: each URL of COMPLAINTS_IMAP_URL (own folder, credentials,
    poll lease and UIDVALIDITY state, all keyed by its name), else the one Maildir."""
    if maildir is None and settings.imap_url:
        from worker.adapters.imap import ImapMailbox

        urls = settings.imap_urls or (settings.imap_url,)
        mailboxes: list[Mailbox] = [
            ImapMailbox.from_url(
                url.reveal(),
                processed_folder=settings.imap_processed_folder,
                auth=settings.imap_auth,
                token_source=make_token_source(settings),
                ca_file=settings.tls_ca_file,
            )
            for url in urls
        ]
        names = [m.name for m in mailboxes]
        for name in names:
            if names.count(name) > 1:
                raise ConfigurationError(f"COMPLAINTS_IMAP_URL lists the mailbox {name} twice")
        return mailboxes
    return [make_mailbox(settings, maildir)]


def make_mailbox(settings: Settings, maildir: Path | None = None) -> Mailbox:
    if maildir is None and settings.imap_url:
        return make_mailboxes(settings)[0]
    from worker.adapters.maildir import MaildirMailbox

    folder = maildir or settings.maildir
    if folder is None:
        # The bundled sample is part of the source tree: read it, never move its files.
        return MaildirMailbox(SAMPLE_MAILBOX, read_only=True)
    return MaildirMailbox(folder)


def bootstrap(
    settings: Settings | None = None,
    *,
    jobs: Jobs | None = None,
    sender: MailSender | None = None,
    clock: Clock | None = None,
    replay: bool = False,
    upgrade: bool = True,
) -> App:
    settings = settings or load_settings()
    landlord = load_landlord(settings.landlord_file)
    from worker.service.hazards import check_configuration

    check_configuration(settings)  # the hazard list (Awaab's Law): one line, at start
    db = Database(settings.database_url)
    if upgrade:
        db.upgrade()
    app = App(
        settings=settings,
        landlord=landlord,
        calendar=calendar_for(landlord),
        db=db,
        jobs=jobs if jobs is not None else InProcessJobs(),
        sender=sender if sender is not None else make_sender(settings),
        clock=clock or SystemClock(),
        replay=replay,
    )
    if isinstance(app.jobs, InProcessJobs):
        app.jobs.runner = app.run_job
    return app
