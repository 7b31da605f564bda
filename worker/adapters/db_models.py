"""The database schema (SQLAlchemy 2 typed models). Migrations in worker/migrations follow it.

One schema for both modes: SQLite in the embedded default, PostgreSQL as a service. Unique keys
carry the idempotency rules of SPEC section 2: a second delivery, a retried job or a restarted
worker finds the row it would have written and does nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class InboundMessage(Base):
    """Every message that reached us, with its raw bytes (Code 5.12: keep the original)."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_inbound_mailbox_uid"),
        Index("ix_inbound_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))  # email | webform | staff
    mailbox: Mapped[str] = mapped_column(String(300))
    # The address the resident wrote to (that mailbox's): letters answering it come from there.
    # Empty for the web form, staff entries and mail read before several mailboxes existed.
    mailbox_address: Mapped[str] = mapped_column(String(320), default="", server_default="")
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(500), default="")
    dedupe_key: Mapped[str] = mapped_column(String(600))
    # Deferred: loaded only where read (parse, a quarantine, a bounce), not with every batch of
    # rows that triage, route and the sweep load.
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # stored -> parsed -> done | duplicate | quarantined
    status: Mapped[str] = mapped_column(String(20), default="stored")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str] = mapped_column(String(500), default="")
    references: Mapped[list[Any]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str] = mapped_column(String(30), default="")
    reason: Mapped[str] = mapped_column(String(40), default="")
    confidence: Mapped[float] = mapped_column(default=0.0)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    triage_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    safety_rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    extraction: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(40), default="")  # what became of it
    # Plain ids, not foreign keys: cases point back at their origin message, and a cycle of
    # foreign keys would make table creation order ambiguous.
    case_id: Mapped[int | None] = mapped_column(Integer)
    service_request_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text, default="")
    # Kept by the parse stage so triage and route never parse the raw bytes again. None on rows
    # parsed before these columns existed: readers fall back to parsing the raw message.
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(200), nullable=True)
    return_path: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    new_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # When a stage last moved it on (or the recovery sweep last queued it): the sweep re-queues
    # only items nothing has happened to for a while, so a long backlog is not queued twice.
    touched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The trusted-recipient decision (worker/domain/recipient.py), made when the message is
    # parsed: "trusted" | "unconfirmed" | "confirmed" (a person confirmed the address) |
    # "do_not_write" (a person chose to reach the resident another way). None: parsed before
    # the decision existed (route makes it from the raw message). The address is where automatic
    # letters go (trusted, confirmed) or the candidate shown to a person; reasons are
    # "code: detail" strings.
    recipient_trust: Mapped[str | None] = mapped_column(String(20), nullable=True)
    recipient_address: Mapped[str | None] = mapped_column(String(320), nullable=True)
    recipient_reasons: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    # Set when retention or an erasure removed its content; the row stays for the counts.
    anonymised_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class MessageKey(Base):
    """One row per distinct message (Message-ID, or a hash of the bytes): a redelivery under a
    new UID finds its key taken and is recorded as a duplicate instead of a second case."""

    __tablename__ = "message_keys"
    dedupe_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"))


class StoredBody(Base):
    """An attachment body too big to keep inside its message's raw bytes
    (worker/adapters/attachment_store.py): the message row holds a placeholder where it was,
    and the two together give back the exact bytes received. Deleted with its message."""

    __tablename__ = "stored_bodies"
    __table_args__ = (UniqueConstraint("inbound_id", "seq", name="uq_stored_body_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)  # order in the message
    skeleton_offset: Mapped[int] = mapped_column(BigInteger)  # its placeholder in the raw row
    placeholder_len: Mapped[int] = mapped_column(Integer)
    length: Mapped[int] = mapped_column(BigInteger)  # bytes as received (transfer-encoded)
    decoded_size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(500), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")  # of the bytes as received


class StoredBodyChunk(Base):
    """A piece (1 MiB) of a stored body: written and read one row at a time, so neither the
    worker nor the database driver holds a whole attachment."""

    __tablename__ = "stored_body_chunks"
    body_id: Mapped[int] = mapped_column(
        ForeignKey("stored_bodies.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    other_emails: Mapped[list[Any]] = mapped_column(JSON, default=list)
    large_print: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_channel: Mapped[str] = mapped_column(String(20), default="email")
    adjustments: Mapped[str] = mapped_column(Text, default="")  # reasonable adjustments (5.10)
    disclosed_disability: Mapped[str] = mapped_column(Text, default="")
    adjustments_review_on: Mapped[date | None] = mapped_column(Date)
    representative_name: Mapped[str] = mapped_column(String(300), default="")
    representative_email: Mapped[str] = mapped_column(String(320), default="")
    representative_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Restriction(Base):
    """Restrictions for unacceptable behaviour (5.14, 5.15): set by a person, never the system."""

    __tablename__ = "restrictions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    description: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)
    review_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_on: Mapped[date | None] = mapped_column(Date)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_resident", "resident_id"), Index("ix_cases_status", "status"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(30))
    stage: Mapped[int] = mapped_column(Integer, default=1)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    # The inbound message that opened it: unique, so a retried job never opens a second case.
    origin_inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), unique=True
    )
    channel: Mapped[str] = mapped_column(String(20), default="email")
    subject: Mapped[str] = mapped_column(Text, default="")
    understanding: Mapped[str] = mapped_column(Text, default="")
    outcome_sought: Mapped[str] = mapped_column(Text, default="")
    extraction: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    proposed_label: Mapped[str] = mapped_column(String(30), default="")
    proposed_reason: Mapped[str] = mapped_column(String(40), default="")
    priority: Mapped[bool] = mapped_column(Boolean, default=False)  # vulnerability / risk (6.1)
    building_safety: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # Set when retention or an erasure removed its personal data (SPEC section 10); the dates,
    # stages and outcome stay for CH01/CH02 and the annual report.
    anonymised_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    stages: Mapped[list[CaseStage]] = relationship(
        back_populates="case", order_by="CaseStage.stage", lazy="selectin"
    )
    resident: Mapped[Resident] = relationship(lazy="joined")


class CaseStage(Base):
    """One row per stage; the columns are worker.domain.cases.StageRecord's fields."""

    __tablename__ = "case_stages"
    __table_args__ = (
        UniqueConstraint("case_id", "stage", name="uq_case_stage"),  # indexes case_id
        # The deadline watcher reads stages still waiting, by date (migration 0003). Partial, so
        # answered stages, nearly all of the history, are not in them.
        Index(
            "ix_case_stages_acknowledge_due",
            "acknowledge_by",
            sqlite_where=text("acknowledged IS NULL AND responded IS NULL"),
            postgresql_where=text("acknowledged IS NULL AND responded IS NULL"),
        ),
        Index(
            "ix_case_stages_respond_due",
            "respond_by",
            sqlite_where=text("acknowledged IS NOT NULL AND responded IS NULL"),
            postgresql_where=text("acknowledged IS NOT NULL AND responded IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage: Mapped[int] = mapped_column(Integer)
    received: Mapped[date] = mapped_column(Date)
    acknowledged: Mapped[date | None] = mapped_column(Date)
    acknowledge_by: Mapped[date | None] = mapped_column(Date)
    respond_by: Mapped[date | None] = mapped_column(Date)
    original_respond_by: Mapped[date | None] = mapped_column(Date)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    extension_notified: Mapped[date | None] = mapped_column(Date)
    good_reason: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    responded: Mapped[date | None] = mapped_column(Date)
    handler: Mapped[str] = mapped_column(String(200), default="")
    decision: Mapped[str] = mapped_column(String(30), default="")
    reasons: Mapped[str] = mapped_column(Text, default="")
    remedy: Mapped[str] = mapped_column(Text, default="")
    case: Mapped[Case] = relationship(back_populates="stages")


class CaseAction(Base):
    """Outstanding actions (6.6, 7.3) and remedies (7.1), tracked to completion."""

    __tablename__ = "case_actions"
    __table_args__ = (
        # The deadline watcher reads outstanding actions by due date (migration 0003).
        Index(
            "ix_case_actions_outstanding_due",
            "due",
            sqlite_where=text("completed_on IS NULL"),
            postgresql_where=text("completed_on IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    stage: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="action")  # action | remedy
    text: Mapped[str] = mapped_column(Text)
    due: Mapped[date | None] = mapped_column(Date)
    amount_pence: Mapped[int | None] = mapped_column(Integer)
    completed_on: Mapped[date | None] = mapped_column(Date)
    completed_by: Mapped[str] = mapped_column(String(200), default="")


class ServiceRequest(Base):
    __tablename__ = "service_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    origin_inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), unique=True
    )
    subject: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    received: Mapped[date] = mapped_column(Date)
    due_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    anonymised_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Correspondence(Base):
    """Every message in and out of a case, in order (5.12)."""

    __tablename__ = "correspondence"
    __table_args__ = (Index("ix_correspondence_case", "case_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    direction: Mapped[str] = mapped_column(String(5))  # in | out
    kind: Mapped[str] = mapped_column(String(40), default="")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Letter(Base):
    """A rendered letter and its outbox state, written in the same transaction as the case change
    that caused it. ``dedupe_key`` makes "the stage 1 acknowledgement of case X" exist once."""

    __tablename__ = "letters"
    __table_args__ = (
        Index("ix_letters_status", "status"),
        # Threading looks letters up by Message-ID; the sender cap counts by recipient and day.
        Index("ix_letters_message_id", "message_id"),
        Index("ix_letters_recipient_created", "recipient", "created_at"),
        Index("ix_letters_case", "case_id"),
        Index("ix_letters_cause", "cause_inbound_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    service_request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"))
    # The inbound message this letter answers, if any (for the record and the demo summary).
    cause_inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    ref: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    recipient: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(300), default="")
    in_reply_to: Mapped[str] = mapped_column(String(500), default="")
    subject: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300))
    # pending -> sending -> transmitting -> sent | failed; uncertain (the worker died while the
    # server was receiving it: a person checks); suppressed (mail safety kept it back);
    # no_address (nowhere to email it: staff send it another way); by_post / by_phone (the
    # resident asked for that as a reasonable adjustment, 5.10)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str] = mapped_column(String(64), default="")  # worker instance id
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bounced: Mapped[bool] = mapped_column(Boolean, default=False)


class ReviewItem(Base):
    """The staff triage queue: unsure items, every proposed exclusion, suspicious automatic mail."""

    __tablename__ = "review_items"
    __table_args__ = (Index("ix_review_items_status", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    proposed_label: Mapped[str] = mapped_column(String(30))
    proposed_reason: Mapped[str] = mapped_column(String(40), default="")
    confidence: Mapped[float] = mapped_column(default=0.0)
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | decided
    decision: Mapped[str] = mapped_column(String(40), default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Quarantine(Base):
    """Dead letters and quarantined items, with their reason and raw bytes, visible to staff."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    kind: Mapped[str] = mapped_column(String(30))  # unparsable | poison | smtp_permanent | spam
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[str] = mapped_column(String(200), default="")


class AuditEvent(Base):
    """Who did what, when and why: every staff action and every automatic decision."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_case", "case_id"),
        Index("ix_audit_resident", "resident_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    why: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The resident an entry is about (a view, an export, an erasure: SPEC section 10). A plain id,
    # not a foreign key: the entry outlives the resident's erasure, and then names no one.
    resident_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class LegalHold(Base):
    """A legal hold on a case (litigation, an Ombudsman investigation, a regulator's inquiry):
    while one is in force, retention and erasure leave the case and its resident alone."""

    __tablename__ = "legal_holds"
    __table_args__ = (Index("ix_legal_holds_case", "case_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    released_by: Mapped[str] = mapped_column(String(200), default="")
    release_reason: Mapped[str] = mapped_column(Text, default="")


class PollState(Base):
    """Per-mailbox poll progress, for poll lag and UIDVALIDITY tracking."""

    __tablename__ = "poll_state"
    mailbox: Mapped[str] = mapped_column(String(300), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")


class StaffAccount(Base):
    """A person who signs in to the console (SPEC section 7): an argon2 hash, a role, and the
    counters that lock the account after repeated wrong passwords. Never deleted, only disabled,
    so the audit log's names keep meaning someone."""

    __tablename__ = "staff_accounts"
    __table_args__ = (UniqueConstraint("username", name="uq_staff_accounts_username"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    # A password someone else chose (printed by `complaints staff add`, or a reset): it signs in
    # once, to a page that asks for the person's own password, and to nothing else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # How many times in a row the account has been locked: each lock lasts twice the last.
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Hazard(Base):
    """A potential hazard reported in one message (Awaab's Law, SI 2025/1042), with its clocks
    from the moment of awareness and what staff recorded to stop them. One row per message and
    kind, so a re-run of the route stage finds it and writes nothing more."""

    __tablename__ = "hazards"
    __table_args__ = (
        UniqueConstraint("inbound_id", "kind", name="uq_hazard_inbound_kind"),
        Index("ix_hazards_status", "status"),
        Index("ix_hazards_case", "case_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Plain ids, as on inbound_messages: the route stage writes a batch's rows together.
    inbound_id: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer)
    service_request_id: Mapped[int | None] = mapped_column(Integer)
    ref: Mapped[str] = mapped_column(String(40), default="")  # the case or request reference
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(20))  # emergency | significant
    title: Mapped[str] = mapped_column(String(200), default="")
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    words: Mapped[str] = mapped_column(Text, default="")  # the resident's own words
    aware_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    investigate_by_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    investigate_by: Mapped[date | None] = mapped_column(Date)
    # open -> confirmed -> closed, or dismissed (by a person, with the reason)
    status: Mapped[str] = mapped_column(String(20), default="open")
    decided_by: Mapped[str] = mapped_column(String(200), default="")
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    investigated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    safety_work_done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    preventative_begun_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    preventative_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    no_further_work: Mapped[bool] = mapped_column(Boolean, default=False)
    alternative_accommodation_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Each event staff recorded: {"event", "at", "by", "reason", "recorded_at"}.
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    notified_letter_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
