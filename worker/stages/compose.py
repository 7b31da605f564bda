"""Stage helper: compose a letter into the outbox, inside the caller's transaction.

The letter is rendered and its required elements checked before a row exists; the row's
``dedupe_key`` (e.g. "CMP-2026-00042:stage1_acknowledgement") makes a retried job find the letter
it already wrote instead of writing a second. Automatic letters obey the mail-safety limits: at
most one automatic acknowledgement per case (the key) and a cap per sender per day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from email.utils import make_msgid

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from worker.adapters.clock import LONDON
from worker.adapters.db_models import (
    Case,
    InboundMessage,
    Letter,
    Resident,
    ReviewItem,
    ServiceRequest,
)
from worker.adapters.templates import render_letter
from worker.bootstrap import App
from worker.domain.errors import MissingLetterElement
from worker.domain.mail_safety import within_sender_cap
from worker.domain.parsing import safe_header_value
from worker.records import Ids, audit, correspondence
from worker.stages.parse import reply_address


class LetterRefused(Exception):
    """Raised to the caller when a letter lacks a required element (it never reaches the outbox)."""

    def __init__(self, error: MissingLetterElement) -> None:
        super().__init__(str(error))
        self.error = error


class AddressNotConfirmed(LetterRefused):
    """Raised when a letter would go to a sender whose address a person has not yet confirmed
    (SPEC section 6, "Trusted recipient"): refused, never silently sent or kept."""

    def __init__(self, kind: str, why: str) -> None:
        Exception.__init__(self, why)
        self.error = MissingLetterElement(kind, "a confirmed email address")


def address_pending(
    session: Session, case: Case | None, service_request: ServiceRequest | None
) -> int | None:
    """The open confirm_address review item of a case or service request whose sender's address
    nobody has confirmed yet (the message's decision is still "unconfirmed"), or None."""
    conditions = []
    if case is not None and case.id is not None:
        conditions.append(InboundMessage.case_id == case.id)
    if service_request is not None and service_request.id is not None:
        conditions.append(InboundMessage.service_request_id == service_request.id)
    if not conditions:
        return None
    pending = session.scalars(
        select(InboundMessage.id).where(
            or_(*conditions), InboundMessage.recipient_trust == "unconfirmed"
        )
    ).all()
    if not pending:
        return None
    item = session.scalar(
        select(ReviewItem.id)
        .where(
            ReviewItem.inbound_id.in_(pending),
            ReviewItem.status == "open",
            ReviewItem.proposed_label == "confirm_address",
        )
        .order_by(ReviewItem.id)
    )
    # No open item (decided some other way): nothing is waiting for a person's confirmation.
    return item


def refuse_unconfirmed(
    session: Session, kind: str, case: Case | None, service_request: ServiceRequest | None
) -> None:
    """Raise AddressNotConfirmed when the resident has no address on file because the one their
    message came from is doubtful and a person is still to decide: writing now would guess."""
    item_id = address_pending(session, case, service_request)
    if item_id is not None:
        raise AddressNotConfirmed(
            kind,
            f"The {kind.replace('_', ' ')} cannot be written yet: nobody has confirmed the "
            f"sender's email address. Confirm it, or choose not to write to it, in the "
            f"triage queue (review item {item_id}) first.",
        )


# The letters the per-sender cap counts: automatic ones that were not themselves held back.
_COUNTED_FOR_CAP = (Letter.automatic.is_(True), Letter.status != "suppressed")


def _sent_today(
    session: Session, app: App, recipient: str, cause_inbound_id: int | None = None
) -> int:
    if app.replay and cause_inbound_id is not None:
        # Replaying a mailbox (`complaints demo`): "today" is the day the message arrived, as
        # for a worker running then; the wall clock would put a whole archive on one day.
        day = session.scalar(
            select(InboundMessage.received_on).where(InboundMessage.id == cause_inbound_id)
        )
        if day is not None:
            return (
                session.scalar(
                    select(func.count(Letter.id))
                    .join(InboundMessage, InboundMessage.id == Letter.cause_inbound_id)
                    .where(
                        Letter.recipient == recipient,
                        *_COUNTED_FOR_CAP,
                        InboundMessage.received_on == day,
                    )
                )
                or 0
            )
    start, end = _today_window(app)
    return (
        session.scalar(
            select(func.count(Letter.id)).where(
                Letter.recipient == recipient,
                *_COUNTED_FOR_CAP,
                Letter.created_at >= start,
                Letter.created_at < end,
            )
        )
        or 0
    )


class SentCounts:
    """The per-sender cap's counts for a whole batch: one grouped query for every recipient of
    the batch, then kept up to date in memory as the batch writes letters (the letters it writes
    are in the same transaction, so nobody else can see or add to them meanwhile)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, date | None], int] = {}
        self._day_of: dict[int, date | None] = {}

    def prefetch(self, session: Session, app: App, rows: Sequence[InboundMessage]) -> None:
        # Automatic letters go only to a trusted address (worker/stages/parse.py reply_address).
        recipients = {reply_address(r) for r in rows if "@" in reply_address(r)}
        if not recipients:
            return
        if app.replay:
            days = {r.received_on for r in rows if r.received_on is not None}
            for r in rows:
                self._day_of[r.id] = r.received_on
            for address in recipients:
                for day in days:
                    self._counts[(address, day)] = 0
            query = (
                select(Letter.recipient, InboundMessage.received_on, func.count(Letter.id))
                .join(InboundMessage, InboundMessage.id == Letter.cause_inbound_id)
                .where(
                    Letter.recipient.in_(recipients),
                    *_COUNTED_FOR_CAP,
                    InboundMessage.received_on.in_(days),
                )
                .group_by(Letter.recipient, InboundMessage.received_on)
            )
            for address, day, count in session.execute(query):
                self._counts[(address, day)] = count
            return
        start, end = _today_window(app)
        for address in recipients:
            self._counts[(address, None)] = 0
        query = (
            select(Letter.recipient, func.count(Letter.id))
            .where(
                Letter.recipient.in_(recipients),
                *_COUNTED_FOR_CAP,
                Letter.created_at >= start,
                Letter.created_at < end,
            )
            .group_by(Letter.recipient)
        )
        for address, count in session.execute(query):
            self._counts[(address, None)] = count

    def _key(
        self, app: App, recipient: str, cause_inbound_id: int | None
    ) -> tuple[str, date | None]:
        if app.replay and cause_inbound_id is not None and cause_inbound_id in self._day_of:
            return (recipient, self._day_of[cause_inbound_id])
        return (recipient, None)

    def count(
        self, session: Session, app: App, recipient: str, cause_inbound_id: int | None
    ) -> int:
        key = self._key(app, recipient, cause_inbound_id)
        if key not in self._counts:
            self._counts[key] = _sent_today(session, app, recipient, cause_inbound_id)
        return self._counts[key]

    def add(self, app: App, recipient: str, cause_inbound_id: int | None) -> None:
        key = self._key(app, recipient, cause_inbound_id)
        if key in self._counts:
            self._counts[key] += 1


def _resident_of(session: Session, service_request: ServiceRequest) -> Resident | None:
    # The resident may have been created in this transaction and not written yet: look in the
    # session first (session.get would not find an unwritten row).
    for obj in session.new:
        if isinstance(obj, Resident) and obj.id == service_request.resident_id:
            return obj
    return session.get(Resident, service_request.resident_id)


def _today_window(app: App) -> tuple[datetime, datetime]:
    start = datetime.combine(app.clock.today(), time.min, tzinfo=LONDON).astimezone(UTC)
    return start, start + timedelta(days=1)


def queue_letter(
    session: Session,
    app: App,
    *,
    kind: str,
    context: dict[str, object],
    dedupe_key: str,
    recipient: str,
    recipient_name: str = "",
    case: Case | None = None,
    service_request: ServiceRequest | None = None,
    automatic: bool = True,
    in_reply_to: str = "",
    actor: str = "system",
    cause_inbound_id: int | None = None,
    sent_counts: SentCounts | None = None,
    fresh: bool = False,
    ids: Ids | None = None,
) -> Letter:
    """Render, check and queue one letter; returns the (new or existing) outbox row.

    Raises LetterRefused naming the missing element; the caller decides what a person must do.
    ``fresh``: the case or request was created in this transaction, so no letter can exist for
    it yet. ``sent_counts``: the batch's per-sender counts (see SentCounts).
    """
    if not fresh:
        existing = session.scalar(select(Letter).where(Letter.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    ref = case.ref if case is not None else service_request.ref if service_request else ""
    try:
        rendered = render_letter(kind, context)
    except MissingLetterElement as exc:
        audit(
            session,
            actor,
            "letter.refused",
            str(exc),
            case_id=case.id if case else None,
            kind=kind,
            element=exc.element,
        )
        raise LetterRefused(exc) from exc
    recipient = safe_header_value(recipient).strip()
    if "@" not in recipient:
        refuse_unconfirmed(session, kind, case, service_request)
    status = "pending"
    why = ""
    resident = (
        case.resident
        if case is not None
        else _resident_of(session, service_request)
        if service_request is not None
        else None
    )
    channel = resident.preferred_channel if resident is not None else "email"
    if "@" not in recipient:
        # No email address on file: the letter is kept, and staff send it by post or phone.
        status = "no_address"
        why = "no email address for the resident: send this letter another way"
    elif channel in ("post", "phone"):
        # A reasonable adjustment (5.10): the resident asked not to be written to by email.
        status = "by_post" if channel == "post" else "by_phone"
        why = f"the resident asked for letters by {channel} (5.10): send it that way"
    elif automatic and not within_sender_cap(
        sent_counts.count(session, app, recipient, cause_inbound_id)
        if sent_counts is not None
        else _sent_today(session, app, recipient, cause_inbound_id),
        app.settings.sender_daily_cap,
    ):
        status = "suppressed"
        why = (
            f"sender cap: {recipient} already had {app.settings.sender_daily_cap} automatic "
            "letters today (SPEC section 6)"
        )
    domain = app.from_address.rsplit("@", 1)[-1]
    letter = Letter(
        dedupe_key=dedupe_key,
        case_id=case.id if case else None,
        service_request_id=service_request.id if service_request else None,
        cause_inbound_id=cause_inbound_id,
        ref=ref,
        kind=kind,
        automatic=automatic,
        recipient=recipient,
        recipient_name=safe_header_value(recipient_name),
        in_reply_to=safe_header_value(in_reply_to),
        subject=safe_header_value(rendered.subject),
        text=rendered.text,
        html=rendered.html,
        # Fixed before sending, so a resend after a crash carries the same id and threads (and
        # is deduplicated by mail systems that do so). A letter with no reference (a hazard
        # team's notice) must not end its id-left in "." (RFC 5322 dot-atom: a defect).
        message_id=make_msgid(idstring=f"{kind}.{ref}" if ref else kind, domain=domain),
        status=status,
        created_at=app.clock.now(),
        next_attempt_at=app.clock.now(),
        last_error=why,
    )
    letter_id = ids.take("letters") if ids else None
    if letter_id is not None:
        letter.id = letter_id  # written with the rest of the batch, no flush of its own
    session.add(letter)
    if letter_id is None:
        session.flush()
    if sent_counts is not None and automatic and status != "suppressed":
        sent_counts.add(app, recipient, cause_inbound_id)
    correspondence(
        session,
        "out",
        app.clock.now(),
        kind,
        case_id=letter.case_id,
        service_request_id=letter.service_request_id,
        letter_id=letter.id,
    )
    audit(
        session,
        actor,
        "letter.suppressed" if status == "suppressed" else "letter.queued",
        why or f"{kind} queued for {recipient}",
        case_id=letter.case_id,
        letter_id=letter.id,
        kind=kind,
    )
    return letter
