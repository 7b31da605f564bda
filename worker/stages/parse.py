"""Stage: parse. Raw bytes -> the facts later stages need; unparsable mail -> the dead-letter store
with its raw bytes, visible to staff, because the 5-day clock may already be running on it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from worker.adapters.clock import aware, london_date
from worker.adapters.db_models import InboundMessage, Quarantine
from worker.bootstrap import App
from worker.domain import recipient
from worker.domain.parsing import ParsedMessage, UnparsableMessage, parse_message
from worker.records import audit
from worker.stages.batch import Next, Plan, note_inbound_error, run_plan

# A message larger than this is loaded alone while it is parsed and forgotten straight after, and
# the database connection that carried it is closed when given back: libpq keeps its buffers at
# the largest message a connection ever carried (twice its size as bytea hex text).
BIG_MESSAGE = 1024 * 1024

# A Date header within this window of arrival is trusted as the day the resident wrote; outside it
# (a wrong clock, a forged date) the day it reached our mailbox counts.
_DATE_TRUST_BEFORE = timedelta(days=30)
_DATE_TRUST_AFTER = timedelta(days=1)
_REPLAY_TRUST_BEFORE = timedelta(days=5 * 366)


def received_on(app: App, row: InboundMessage, parsed: ParsedMessage) -> object:
    arrived = aware(row.stored_at)
    staff_dated = parsed.date is not None and parsed.date <= arrived + _DATE_TRUST_AFTER
    if row.source == "staff" and staff_dated and parsed.date is not None:
        # Logged by staff (worker/service/staff_entry.py): the date is the one they entered as
        # received, checked there, and the clock starts then however late it is logged (1.3).
        return london_date(parsed.date)
    # Replaying an old mailbox (the demo) trusts dates back a few years, never into the future.
    earliest = arrived - (_REPLAY_TRUST_BEFORE if app.replay else _DATE_TRUST_BEFORE)
    if parsed.date is not None and earliest <= parsed.date <= arrived + _DATE_TRUST_AFTER:
        return london_date(parsed.date)
    return london_date(arrived)


def plan(app: App, ids: list[int]) -> Plan[InboundMessage]:
    """Parse a batch; every message is parsed exactly once and the fields later stages need are
    kept on its row. Unparsable mail goes no further."""
    now = app.clock.now()

    def work(session: Session, _rows: Sequence[InboundMessage]) -> Callable[[InboundMessage], bool]:
        return lambda row: _parse_one(app, session, row, now)

    return Plan(
        "parse",
        lambda session: _stored_with_raw(session, ids),
        work,
        lambda row: row.id,
        lambda parsed_ids: [("triage", parsed_ids)],
        note_inbound_error("parse"),
    )


def run(app: App, ids: list[int]) -> Next:
    return run_plan(app, plan(app, ids))


def inbound_at(session: Session, ids: list[int], status: str) -> Sequence[InboundMessage]:
    """The batch's messages still at this step (one already past it is skipped: a redelivered
    job is a no-op), in arrival order, locked for this transaction.

    A message another job is handling right now (a repeated job, one the recovery sweep queued
    again) is skipped, not waited for: that job moves it on. Without the lock the slower of two
    jobs would write its stale step over the faster one's, and the message would go round
    again and meet its own case (PostgreSQL; SQLite has one writer at a time anyway)."""
    return session.scalars(
        select(InboundMessage)
        .where(InboundMessage.id.in_(ids), InboundMessage.status == status)
        .order_by(InboundMessage.id)
        .with_for_update(skip_locked=True, of=InboundMessage)
    ).all()


def _stored_with_raw(session: Session, ids: list[int]) -> Sequence[InboundMessage]:
    """``inbound_at(..., "stored")`` with the raw bytes of the messages up to BIG_MESSAGE loaded
    in one query; a big one is loaded when it is parsed."""
    rows = inbound_at(session, ids, "stored")
    small = {row.id: row for row in rows if (row.size or 0) <= BIG_MESSAGE}
    if small:
        # Only the column: loading the whole rows again to undefer it cost as much again.
        found = session.execute(
            select(InboundMessage.id, InboundMessage.raw).where(InboundMessage.id.in_(small))
        )
        for row_id, raw in found:
            set_committed_value(small[row_id], "raw", raw)
    return rows


def _parse_one(app: App, session: Session, row: InboundMessage, now: datetime) -> bool:
    passed = _parse_raw(app, session, row, now)
    if (row.size or 0) > BIG_MESSAGE:
        session.expire(row, ["raw"])
        close_connection_later(session)
    return passed


def close_connection_later(session: Session) -> None:
    """The session's connection is closed when given back (PostgreSQL: libpq's buffers)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().connection.invalidate(soft=True)


def _parse_raw(app: App, session: Session, row: InboundMessage, now: datetime) -> bool:
    try:
        parsed = parse_message(row.raw)
    except UnparsableMessage as exc:
        row.status = "quarantined"
        row.outcome = "quarantined"
        row.error = str(exc)
        session.add(Quarantine(inbound_id=row.id, kind="unparsable", reason=str(exc), raw=row.raw))
        audit(session, "system", "inbound.quarantined", str(exc), inbound_id=row.id)
        return False
    keep_parsed_fields(row, parsed)
    keep_recipient_decision(app, session, row, parsed)
    row.received_on = received_on(app, row, parsed)  # type: ignore[assignment]
    if parsed.defects:
        row.error = "; ".join(parsed.defects)[:2000]
    row.status = "parsed"
    row.attempts = 0
    row.touched_at = now
    return True


def keep_parsed_fields(row: InboundMessage, parsed: ParsedMessage) -> None:
    row.message_id = row.message_id or parsed.message_id
    # What the From header appears to say, read leniently: shown to staff and searched, never
    # written to (``reply_address`` is). Replaced by the modern parser's address when trusted.
    row.from_addr = parsed.from_addr.lower()[:320]
    row.from_name = parsed.from_name
    row.subject = parsed.subject
    row.in_reply_to = parsed.in_reply_to
    row.references = list(parsed.references)
    row.text = parsed.text
    row.html = parsed.html
    row.headers = dict(parsed.headers)
    row.content_type = parsed.content_type[:200]
    row.return_path = parsed.return_path[:1000]
    row.new_text = parsed.new_text()


def recipient_decision(
    app: App, parsed: ParsedMessage, new_text: str | None = None
) -> recipient.RecipientDecision:
    """``new_text``: the message's new words when already worked out (not stripped again)."""
    return recipient.decide(
        recipient.facts_of(parsed, new_text),
        trusted_authserv_ids=app.settings.trusted_authserv_ids,
    )


def keep_recipient_decision(
    app: App, session: Session, row: InboundMessage, parsed: ParsedMessage
) -> None:
    """Decide now, while the raw headers are at hand, whether automatic letters may go to the
    sender (SPEC section 6, "Trusted recipient"); route reads the decision from the row."""
    decision = recipient_decision(app, parsed, row.new_text)
    keep_decision(row, decision)
    if not decision.trusted:
        audit(
            session,
            "system",
            "inbound.recipient_unconfirmed",
            "no automatic letter until a person confirms the address: "
            + " ".join(decision.explanations()),
            inbound_id=row.id,
            reasons=decision.records(),
            candidate=decision.address[:320],
        )


def keep_decision(row: InboundMessage, decision: recipient.RecipientDecision) -> None:
    row.recipient_trust = "trusted" if decision.trusted else "unconfirmed"
    row.recipient_address = decision.address[:320]
    row.recipient_reasons = decision.records()
    if decision.trusted:
        # The sender's address as the product stores it (resident record, search, export) is
        # the one the modern parser read, not the lenient reading kept for display.
        row.from_addr = decision.address


def ensure_decision(app: App, row: InboundMessage) -> None:
    """Make the decision for a row parsed before it existed, from its raw message."""
    if row.recipient_trust is None:
        keep_decision(row, recipient_decision(app, parse_message(row.raw)))


def reply_address(row: InboundMessage) -> str:
    """The address the product stores for the sender and writes to: the trusted-recipient
    decision's address once it is trusted or a person confirmed it, otherwise "" (nobody may
    write to the sender yet, or ever: ``do_not_write``)."""
    if row.recipient_trust in ("trusted", "confirmed"):
        return (row.recipient_address or "").lower()
    return ""


@dataclass(frozen=True)
class ParsedView:
    """What triage and route read of a parsed message, from its row: never parsed twice."""

    headers: dict[str, str]
    content_type: str
    return_path: str
    new_text: str


def parsed_view(row: InboundMessage) -> ParsedView:
    if row.headers is None or row.new_text is None:
        # Parsed by a version that did not keep these fields: read them from the raw record.
        parsed = parse_message(row.raw)
        return ParsedView(
            dict(parsed.headers), parsed.content_type, parsed.return_path, parsed.new_text()
        )
    return ParsedView(
        {str(k): str(v) for k, v in row.headers.items()},
        row.content_type or "",
        row.return_path or "",
        row.new_text,
    )
