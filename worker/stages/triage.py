"""Stage: triage. Label the message (complaint, service request, excluded, not resident mail),
with how sure we are and why, and extract the four things the policy asks for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifiers.triage import TriageInput, TriageResult
from worker.adapters.db_models import Case, InboundMessage, Resident
from worker.bootstrap import App
from worker.records import audit
from worker.stages.batch import Next, Plan, note_inbound_error, run_plan
from worker.stages.parse import inbound_at, parsed_view


def _closed_issue_texts(session: Session, addresses: set[str]) -> dict[str, list[str]]:
    """What each sender complained of before (for the repeat-issue flag), for a whole batch in
    one query."""
    found: dict[str, list[str]] = {a: [] for a in addresses}
    if not addresses:
        return found
    rows = session.execute(
        select(Resident.email, Case.understanding)
        .join(Case.resident)
        .where(Case.status.in_(("closed", "stage1_responded", "stage2_responded")))
        .where(Resident.email.in_(addresses))
    )
    for address, text in rows:
        if text:
            found.setdefault(address, []).append(text)
    return found


def _triage_input(app: App, row: InboundMessage) -> TriageInput:
    view = parsed_view(row)
    return TriageInput(
        id=str(row.id),
        subject=row.subject,
        body=view.new_text or row.text,
        from_addr=row.from_addr,
        received=row.received_on or app.clock.today(),
        channel=row.source,
        headers=view.headers,
        content_type=view.content_type,
        return_path=view.return_path or None,
        # The rules look at quoted text too (our survey invitation under a reply); the model
        # reads only the resident's new words.
        full_text=row.text,
    )


def plan(app: App, ids: list[int]) -> Plan[InboundMessage]:
    now = app.clock.now()

    def work(session: Session, rows: Sequence[InboundMessage]) -> Callable[[InboundMessage], bool]:
        results = _triage_batch(app, session, rows) if rows else {}

        def one(row: InboundMessage) -> bool:
            result = results.get(row.id)
            if isinstance(result, Exception):
                raise result
            if result is None:
                raise RuntimeError("no triage result")
            _record(session, row, result, now)
            _hazards(app, session, row)
            return True

        return one

    return Plan(
        "triage",
        lambda session: inbound_at(session, ids, "parsed"),
        work,
        lambda row: row.id,
        lambda done: [("route", done)],
        note_inbound_error("triage"),
    )


def run(app: App, ids: list[int]) -> Next:
    return run_plan(app, plan(app, ids))


def _triage_batch(
    app: App, session: Session, rows: Sequence[InboundMessage]
) -> dict[int, TriageResult | Exception]:
    """One model call for the batch; should the batch call fail, each message is tried alone so
    that one bad message fails alone."""
    closed = _closed_issue_texts(session, {row.from_addr for row in rows})
    inputs: dict[int, TriageInput | Exception] = {}
    for row in rows:
        try:
            inputs[row.id] = _triage_input(app, row)
        except Exception as exc:  # noqa: BLE001 - this message fails, the batch goes on
            inputs[row.id] = exc
    good = [(row, item) for row in rows if isinstance(item := inputs[row.id], TriageInput)]
    out: dict[int, TriageResult | Exception] = {
        i: v for i, v in inputs.items() if isinstance(v, Exception)
    }
    try:
        results = app.triager.triage_many(
            [item for _row, item in good],
            own_addresses=app.own_addresses,
            closed_issue_texts=[closed.get(row.from_addr, []) for row, _item in good],
        )
        out.update({row.id: result for (row, _item), result in zip(good, results, strict=True)})
    except Exception:  # noqa: BLE001 - fall back to one at a time to find the bad one
        for row, item in good:
            try:
                out[row.id] = app.triager.triage(
                    item,
                    own_addresses=app.own_addresses,
                    closed_issue_texts=closed.get(row.from_addr, []),
                )
            except Exception as exc:  # noqa: BLE001
                out[row.id] = exc
    return out


def _record(session: Session, row: InboundMessage, result: TriageResult, now: datetime) -> None:
    row.label = result.label
    row.reason = result.reason
    row.confidence = float(result.confidence)
    row.needs_review = bool(result.needs_review)
    row.triage_reasons = list(result.reasons)
    row.extraction = _plain(asdict(result.extraction))
    row.flags = _plain(asdict(result.flags))
    row.status = "triaged"
    row.attempts = 0
    row.touched_at = now
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


def _hazards(app: App, session: Session, row: InboundMessage) -> None:
    """Awaab's Law (SPEC section 11): every item, whatever its label, is checked for potential
    hazards; what is found is kept on the row, with the reasons, for the route stage."""
    from worker.service import hazards

    found = hazards.detect_row(app, row, parsed_view(row).new_text or row.text)
    # Kept even when empty: the key says the message was checked, so routing does not look again.
    row.flags = {**(row.flags or {}), "hazards": found}
    if not found:
        return
    audit(
        session,
        "classifier",
        "inbound.hazard_suspected",
        "; ".join(f"{d['severity']}: {d['title']}" for d in found),
        inbound_id=row.id,
        kinds=[d["kind"] for d in found],
    )


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
