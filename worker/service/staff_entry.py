"""Complaints and service requests that staff log for a resident who phoned, wrote, called in or
posted on social media (Code 1.3: a complaint may be made by any channel; the clock starts when it
is received). SPEC section 7, issue 9 item 2.

What the resident said enters the same pipeline as an email: it is stored as an RFC 822 message
(``X-Complaints-Channel: phone`` and so on, source ``staff``) dated when it was received, then
parsed, triaged, routed and acknowledged exactly as mail is, so the triage proposal, the case or
service request, its deadlines (counted from the received date) and the acknowledgement all come
from the one code path. The resident is found or created first, with any adjustments and
representative, so that the letters already respect them.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from worker.adapters.db_models import Case, InboundMessage, Resident, ServiceRequest
from worker.domain.errors import UserError
from worker.ports import RawInbound

if TYPE_CHECKING:
    from worker.bootstrap import App

LONDON = ZoneInfo("Europe/London")
STAFF_MAILBOX = "staff-entry"
SOURCE = "staff"
CHANNELS: dict[str, str] = {
    "phone": "Phone call",
    "letter": "Letter",
    "in_person": "In person",
    "social_media": "Social media",
    "other": "Other",
}
LETTERS_BY: dict[str, str] = {
    "email": "Email",
    "post": "Post",
    "phone": "Phone",
}
# How long agreed adjustments run before their review (5.10) when staff give no date.
ADJUSTMENTS_REVIEW = timedelta(days=182)
_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_PHONE = re.compile(r"^[0-9+() .-]{6,40}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# (name, label, max length)
FIELDS: tuple[tuple[str, str, int], ...] = (
    ("channel", "How did they contact us?", 20),
    ("received_date", "Date received", 10),
    ("received_time", "Time received", 5),
    ("name", "Resident's full name", 200),
    ("email", "Resident's email address", 320),
    ("phone", "Resident's phone number", 40),
    ("address", "Resident's address", 1000),
    ("words", "What the resident told us, in their words", 10000),
    ("outcome", "What they want us to do to put things right", 3000),
    ("adjustments", "Reasonable adjustments they asked for", 3000),
    ("letters_by", "How they want our letters", 10),
    ("rep_name", "Representative's name", 200),
    ("rep_email", "Representative's email address", 320),
    ("rep_consent", "The resident consents to letters going to the representative", 3),
    ("entry", "", 64),
)
ONE_LINE = ("channel", "name", "email", "phone", "rep_name", "rep_email", "letters_by")


@dataclass
class Entry:
    """A validated staff entry."""

    channel: str
    received: datetime  # aware, Europe/London
    name: str
    email: str
    phone: str
    address: str
    words: str
    outcome: str
    adjustments: str
    letters_by: str
    rep_name: str
    rep_email: str
    rep_consent: bool
    token: str


@dataclass
class Logged:
    inbound_id: int
    ref: str = ""
    label: str = ""
    status: str = ""
    received: date | None = None
    acknowledge_by: date | None = None
    respond_by: date | None = None
    letters: list[dict[str, str]] = field(default_factory=list)


def new_token() -> str:
    """A one-off token carried by the form: sent twice (a double click, a resubmitted page),
    the same entry is stored once."""
    return secrets.token_urlsafe(24)


def validate(form: dict[str, str], now: datetime) -> tuple[Entry | None, dict[str, str]]:
    """The entry, or the error message for each field that needs correcting."""
    values = {name: str(form.get(name, "") or "") for name, _, _ in FIELDS}
    errors: dict[str, str] = {}
    for name, label, limit in FIELDS:
        raw = values[name]
        value = raw.strip() if name in ONE_LINE else raw.strip().replace("\r\n", "\n")
        values[name] = value
        if name in ONE_LINE and ("\r" in raw or "\n" in raw):
            # These go into mail headers: a line break could inject one (SPEC section 6).
            errors[name] = f"{label} must be on one line"
        elif len(value) > limit:
            errors[name] = f"{label} must be {limit} characters or fewer"
    if values["channel"] not in CHANNELS:
        errors.setdefault("channel", "Choose how the resident contacted us")
    received: datetime | None = None
    try:
        day = date.fromisoformat(values["received_date"])
    except ValueError:
        errors.setdefault("received_date", "Enter the date received, like 2026-03-27")
        day = None
    moment = time(9, 0)
    if values["received_time"]:
        try:
            moment = time.fromisoformat(values["received_time"])
        except ValueError:
            errors.setdefault("received_time", "Enter the time received, like 14:30")
    if day is not None:
        received = datetime.combine(day, moment, tzinfo=LONDON)
        if received > now.astimezone(LONDON) + timedelta(minutes=5):
            errors.setdefault("received_date", "The date and time received cannot be in the future")
        elif day.year < 2000:
            errors.setdefault("received_date", "Enter the date received, like 2026-03-27")
    if not values["name"]:
        errors.setdefault("name", "Enter the resident's full name")
    if not values["email"]:
        # The pipeline writes to residents by email; one without an address is not yet handled.
        errors.setdefault(
            "email",
            "Enter the resident's email address, so they get their reference and our letters",
        )
    elif not _EMAIL.match(values["email"]):
        errors.setdefault(
            "email", "Enter an email address in the correct format, like name@example.com"
        )
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors.setdefault("phone", "Enter a phone number using digits, like 0161 496 0000")
    if not values["words"]:
        errors.setdefault("words", "Enter what the resident told us")
    letters_by = values["letters_by"] or "email"
    if letters_by not in LETTERS_BY:
        errors.setdefault("letters_by", "Choose email, post or phone")
    if values["rep_email"] and not _EMAIL.match(values["rep_email"]):
        errors.setdefault(
            "rep_email", "Enter an email address in the correct format, like name@example.com"
        )
    if values["rep_email"] and not values["rep_name"]:
        errors.setdefault("rep_name", "Enter the representative's name")
    if values["rep_name"] and not values["rep_email"]:
        errors.setdefault("rep_email", "Enter the representative's email address")
    if values["rep_email"] and values["rep_email"].lower() == values["email"].lower():
        errors.setdefault("rep_email", "This is the resident's own address, not a representative's")
    if "name" not in errors and "email" not in errors:
        try:
            Address(display_name=values["name"], addr_spec=values["email"])
        except (ValueError, IndexError):
            errors["email"] = "Enter an email address in the correct format, like name@example.com"
    token = values["entry"]
    if not _TOKEN.match(token):
        errors.setdefault("form", "This form is out of date. Reload the page and enter it again.")
    if errors or received is None:
        return None, errors
    return (
        Entry(
            channel=values["channel"],
            received=received,
            name=values["name"],
            email=values["email"].lower(),
            phone=values["phone"],
            address=values["address"],
            words=values["words"],
            outcome=values["outcome"],
            adjustments=values["adjustments"],
            letters_by=letters_by,
            rep_name=values["rep_name"],
            rep_email=values["rep_email"].lower(),
            rep_consent=values["rep_consent"] == "yes",
            token=token,
        ),
        {},
    )


def build_message(entry: Entry, to_address: str, by: str) -> bytes:
    """What the resident said as an RFC 822 message from them, dated when it was received. Their
    words come first and unlabelled, as in an email, so extraction gives them back as "our
    understanding" (Code 5.6); the details staff took follow, labelled."""
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=entry.name, addr_spec=entry.email)
    message["To"] = to_address
    message["Subject"] = f"{CHANNELS[entry.channel]} logged by staff"
    message["Date"] = format_datetime(entry.received)
    domain = to_address.rsplit("@", 1)[-1] or "staff-entry.invalid"
    message["Message-ID"] = f"<staff-entry.{entry.token}@{domain}>"
    message["X-Complaints-Channel"] = entry.channel

    def block(label: str, value: str) -> str:
        return f"{label}\n{value or 'Not given'}\n"

    representative = "None"
    if entry.rep_name:
        representative = f"{entry.rep_name} <{entry.rep_email}>" + (
            ", with the resident's consent" if entry.rep_consent else ", consent not yet given"
        )
    body = "\n".join(
        [
            entry.words.strip(),
            "",
            f"Received by {CHANNELS[entry.channel].lower()} on "
            f"{entry.received.strftime('%d %B %Y at %H:%M')}, logged by {by}.",
            f"Name: {entry.name}",
            f"Email: {entry.email}",
            f"Phone: {entry.phone or 'Not given'}",
            f"Representative: {representative}",
            "",
            block("Address:", entry.address),
            block("What outcome do you want?", entry.outcome),
            block("Reasonable adjustments needed:", entry.adjustments),
        ]
    )
    message.set_content(body)
    return message.as_bytes()


def _uid(token: str) -> int:
    # The form's token names the stored item: a second submission of the same form is the same
    # (mailbox, UIDVALIDITY, UID) and store() makes it a no-op.
    return int.from_bytes(hashlib.sha256(token.encode()).digest()[:7], "big")


def _prepare_resident(app: App, entry: Entry, by: str) -> None:
    """Find the resident by email (main or other address) or create them, then record the
    adjustments, letter preference and representative staff were told about, before any letter
    is written."""
    from worker.records import audit, resident_for
    from worker.residents import ResidentService

    with app.db.session() as s:
        known = s.scalar(select(Resident.id).where(Resident.email == entry.email))
        # Their main address or one they have also written from; created when neither.
        resident = resident_for(s, entry.email, entry.name)
        if known is None and entry.email == resident.email:
            audit(
                s,
                by,
                "resident.created",
                f"resident {entry.email} added while logging a {entry.channel} contact",
                resident=entry.email,
            )
        email = resident.email
        changes_channel = resident.preferred_channel != entry.letters_by
    service = ResidentService(app)
    if entry.adjustments or changes_channel:
        service.record_adjustments(
            email,
            adjustments=entry.adjustments or "Letters by " + entry.letters_by,
            preferred_channel=entry.letters_by,
            large_print="large print" in entry.adjustments.lower() or None,
            review_on=app.clock.today() + ADJUSTMENTS_REVIEW,
            by=by,
        )
    if entry.rep_name:
        service.set_representative(
            email, name=entry.rep_name, rep_email=entry.rep_email, consent=entry.rep_consent, by=by
        )


def log_contact(app: App, entry: Entry, by: str) -> int:
    """Store the entry as an inbound item and queue it for the pipeline; returns its id. The
    same form sent twice returns the first one's id and queues nothing more."""
    from worker.records import audit
    from worker.stages.receive_mail import store

    _prepare_resident(app, entry, by)
    raw = build_message(entry, app.landlord.complaints_email, by)
    inbound_id, fresh = store(
        app,
        RawInbound(mailbox=STAFF_MAILBOX, uidvalidity=1, uid=_uid(entry.token), raw=raw),
        source=SOURCE,
    )
    if fresh:
        with app.db.session() as s:
            audit(
                s,
                by,
                "staff.contact_logged",
                f"{CHANNELS[entry.channel]} received {entry.received.isoformat()} logged for "
                f"{entry.email}",
                inbound_id=inbound_id,
                channel=entry.channel,
                received=entry.received.isoformat(),
            )
        app.jobs.enqueue("parse", inbound_id)
    return inbound_id


def outcome(app: App, inbound_id: int) -> Logged:
    """What the pipeline made of a logged contact so far (in the embedded mode, all of it)."""
    from worker.adapters.db_models import Letter

    with app.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        if row is None:
            raise UserError(f"no logged contact {inbound_id}")
        logged = Logged(inbound_id, label=row.label or "", status=row.status)
        letters: list[Any] = []
        if row.case_id:
            case = s.get(Case, row.case_id)
            if case is not None:
                logged.ref = case.ref
                if case.stages:
                    stage = min(case.stages, key=lambda st: st.stage)
                    logged.received = stage.received
                    logged.acknowledge_by = stage.acknowledge_by
                    logged.respond_by = stage.respond_by
                letters = list(s.scalars(select(Letter).where(Letter.case_id == case.id)))
        elif row.service_request_id:
            sr = s.get(ServiceRequest, row.service_request_id)
            if sr is not None:
                logged.ref = sr.ref
                letters = list(s.scalars(select(Letter).where(Letter.service_request_id == sr.id)))
        logged.letters = [{"kind": x.kind, "status": x.status} for x in letters]
        return logged


def find_residents(app: App, query: str, limit: int = 20) -> list[dict[str, Any]]:
    """Residents whose name or email holds ``query`` (for "find or create")."""
    text = " ".join(query.split())[:200].lower()
    if len(text) < 2:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with app.db.session() as s:
        rows = s.scalars(
            select(Resident)
            .where(
                or_(
                    func.lower(Resident.email).like(pattern, escape="\\"),
                    func.lower(Resident.name).like(pattern, escape="\\"),
                )
            )
            .order_by(Resident.name, Resident.email)
            .limit(limit)
        )
        return [
            {
                "id": r.id,
                "name": r.name,
                "email": r.email,
                "letters_by": r.preferred_channel,
                "adjustments": r.adjustments,
            }
            for r in rows
        ]


def resident_values(app: App, resident_id: int) -> dict[str, str]:
    """The form's resident fields filled from a resident found by ``find_residents``."""
    with app.db.session() as s:
        r = s.get(Resident, resident_id)
        if r is None:
            return {}
        return {
            "name": r.name,
            "email": r.email,
            "letters_by": r.preferred_channel,
            "adjustments": r.adjustments,
            "rep_name": r.representative_name,
            "rep_email": r.representative_email,
            "rep_consent": "yes" if r.representative_consent else "",
        }
