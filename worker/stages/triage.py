"""Stage: triage. Label the message (complaint, service request, excluded, not resident mail),
with how sure we are and why, and extract the four things the policy asks for."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select

from classifiers.triage import TriageInput
from worker.adapters.db_models import Case, InboundMessage
from worker.bootstrap import App
from worker.domain.parsing import parse_message
from worker.records import audit


def _closed_issue_texts(session, address: str) -> list[str]:  # type: ignore[no-untyped-def]
    rows = session.scalars(
        select(Case.understanding)
        .join(Case.resident)
        .where(Case.status.in_(("closed", "stage1_responded", "stage2_responded")))
        .where(Case.resident.has(email=address))
    )
    return [text for text in rows if text]


def run(app: App, inbound_id: int) -> list[tuple[str, int]]:
    with app.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        if row is None or row.status != "parsed":
            return []
        # Headers are read again from the stored bytes rather than copied into columns: the raw
        # message is the record (5.12) and parsing is cheap.
        parsed = parse_message(row.raw)
        item = TriageInput(
            id=str(row.id),
            subject=parsed.subject,
            body=parsed.new_text() or parsed.text,
            from_addr=parsed.from_addr,
            received=row.received_on or app.clock.today(),
            channel=row.source,
            headers=dict(parsed.headers),
            content_type=parsed.content_type,
            return_path=parsed.return_path or None,
            # The rules look at quoted text too (our survey invitation under a reply); the
            # model reads only the resident's new words.
            full_text=parsed.text,
        )
        result = app.triager.triage(
            item,
            own_addresses=app.own_addresses,
            closed_issue_texts=_closed_issue_texts(session, row.from_addr),
        )
        row.label = result.label
        row.reason = result.reason
        row.confidence = float(result.confidence)
        row.needs_review = bool(result.needs_review)
        row.triage_reasons = list(result.reasons)
        row.extraction = _plain(asdict(result.extraction))
        row.flags = _plain(asdict(result.flags))
        row.status = "triaged"
        row.attempts = 0
        audit(
            session,
            "classifier",
            "inbound.triaged",
            "; ".join(result.reasons),
            inbound_id=row.id,
            label=result.label,
            reason=result.reason,
            confidence=round(float(result.confidence), 3),
            needs_review=bool(result.needs_review),
        )
    return [("route", inbound_id)]


def _plain(value: object) -> dict[str, object]:
    def conv(v: object) -> object:
        if isinstance(v, tuple | list):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        return v

    out = conv(value)
    assert isinstance(out, dict)
    return out
