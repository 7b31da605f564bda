"""Stage: parse. Raw bytes -> the facts later stages need; unparsable mail -> the dead-letter store
with its raw bytes, visible to staff, because the 5-day clock may already be running on it."""

from __future__ import annotations

from datetime import timedelta

from worker.adapters.clock import aware, london_date
from worker.adapters.db_models import InboundMessage, Quarantine
from worker.bootstrap import App
from worker.domain.parsing import ParsedMessage, UnparsableMessage, parse_message
from worker.records import audit

# A Date header within this window of arrival is trusted as the day the resident wrote; outside it
# (a wrong clock, a forged date) the day it reached our mailbox counts.
_DATE_TRUST_BEFORE = timedelta(days=30)
_DATE_TRUST_AFTER = timedelta(days=1)
_REPLAY_TRUST_BEFORE = timedelta(days=5 * 366)


def received_on(app: App, row: InboundMessage, parsed: ParsedMessage) -> object:
    arrived = aware(row.stored_at)
    # Replaying an old mailbox (the demo) trusts dates back a few years, never into the future.
    earliest = arrived - (_REPLAY_TRUST_BEFORE if app.replay else _DATE_TRUST_BEFORE)
    if parsed.date is not None and earliest <= parsed.date <= arrived + _DATE_TRUST_AFTER:
        return london_date(parsed.date)
    return london_date(arrived)


def run(app: App, inbound_id: int) -> list[tuple[str, int]]:
    with app.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.status != "stored":
            return []  # already done: a redelivered job is a no-op
        try:
            parsed = parse_message(row.raw)
        except UnparsableMessage as exc:
            row.status = "quarantined"
            row.outcome = "quarantined"
            row.error = str(exc)
            session.add(
                Quarantine(inbound_id=row.id, kind="unparsable", reason=str(exc), raw=row.raw)
            )
            audit(session, "system", "inbound.quarantined", str(exc), inbound_id=row.id)
            return []
        row.message_id = row.message_id or parsed.message_id
        row.from_addr = parsed.from_addr.lower()
        row.from_name = parsed.from_name
        row.subject = parsed.subject
        row.in_reply_to = parsed.in_reply_to
        row.references = list(parsed.references)
        row.text = parsed.text
        row.html = parsed.html
        row.received_on = received_on(app, row, parsed)  # type: ignore[assignment]
        if parsed.defects:
            row.error = "; ".join(parsed.defects)[:2000]
        row.status = "parsed"
        row.attempts = 0
    return [("triage", inbound_id)]
