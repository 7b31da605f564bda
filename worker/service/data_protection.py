"""Personal data as UK GDPR requires (SPEC section 10): the retention schedule applied, legal
holds, a resident's subject access export, erasure, and the log of who looked at what.

What has expired is decided by ``worker.domain.retention`` (pure); this module gathers the facts
and changes the database. Records are anonymised rather than deleted where the reports count them
(a case keeps its reference, status, stage dates, decision, category and triage label, so CH01,
CH02 and the annual report for past years come out the same); what only held personal data goes.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from worker.adapters.attachment_store import full_raw
from worker.adapters.clock import london_date
from worker.adapters.db_models import (
    AuditEvent,
    Case,
    CaseAction,
    CaseStage,
    Correspondence,
    Hazard,
    InboundMessage,
    LegalHold,
    Letter,
    MessageKey,
    Quarantine,
    Resident,
    Restriction,
    ReviewItem,
    ServiceRequest,
    StoredBody,
    StoredBodyChunk,
)
from worker.domain import reporting
from worker.domain.errors import UserError
from worker.domain.retention import (
    Candidate,
    RecordKind,
    RetentionSchedule,
    case_ended_on,
    decide,
)
from worker.residents import resident_record

if TYPE_CHECKING:
    from worker.bootstrap import App

# Free text the reports need to be non-empty (an extension's good reason counts towards CH02)
# is replaced by this, never by nothing.
REMOVED: Final = "[removed: data protection]"
# The one resident row that anonymised cases and service requests point at (a case must have a
# resident). ".invalid" is reserved (RFC 2606): no mail can come from it.
PLACEHOLDER_EMAIL: Final = "anonymised@anonymised.invalid"
# Audit details that say nothing about a person and that reports read (a refusal's exclusion
# reason and date, a transition's before and after).
_KEPT_DETAILS: Final = frozenset({"exclusion", "on", "before", "after", "stage", "decision"})
# Messages still on their way through the pipeline are never touched.
_IN_FLIGHT: Final = frozenset({"stored", "parsed"})
_TERMINAL: Final = frozenset({"closed", "withdrawn", "refused"})
RUN_ACTION: Final = "retention.applied"
ACCESS_ACTIONS: Final = ("access.case_viewed", "resident.exported", "resident.erased")


def _today(app: App) -> date:
    return app.clock.today()


def _audit(
    session: Session,
    actor: str,
    action: str,
    why: str = "",
    *,
    case_id: int | None = None,
    resident_id: int | None = None,
    at: datetime | None = None,
    **details: Any,
) -> None:
    session.add(
        AuditEvent(
            at=at or datetime.now(UTC),
            actor=actor,
            action=action,
            why=why,
            case_id=case_id,
            resident_id=resident_id,
            details=details,
        )
    )


def _person(by: str, what: str) -> str:
    actor = " ".join(by.split())
    if not actor:
        raise UserError(f"{what} needs the name of who did it (--by NAME)")
    return actor


def _case(session: Session, ref: str) -> Case:
    case = session.scalar(select(Case).where(Case.ref == ref.strip().upper()))
    if case is None:
        raise UserError(f"no case {ref.strip()!r}")
    return case


def _held_case_ids(session: Session) -> set[int]:
    return set(session.scalars(select(LegalHold.case_id).where(LegalHold.released_at.is_(None))))


# -- legal holds ---------------------------------------------------------------------------------


def place_hold(app: App, ref: str, *, reason: str, by: str) -> dict[str, Any]:
    """Put a case on legal hold: retention and erasure leave it (and its resident) alone."""
    actor = _person(by, "a legal hold")
    if not reason.strip():
        raise UserError("a legal hold needs its reason (--reason TEXT)")
    with app.db.session() as session:
        case = _case(session, ref)
        if case.anonymised_on is not None:
            raise UserError(f"{case.ref} was anonymised on {case.anonymised_on.isoformat()}")
        if case.id in _held_case_ids(session):
            raise UserError(f"{case.ref} is already on legal hold")
        session.add(LegalHold(case_id=case.id, reason=reason.strip(), placed_by=actor))
        _audit(session, actor, "case.legal_hold_placed", reason.strip(), case_id=case.id)
        return {"ref": case.ref, "legal_hold": True, "reason": reason.strip(), "by": actor}


def release_hold(app: App, ref: str, *, reason: str, by: str) -> dict[str, Any]:
    actor = _person(by, "releasing a legal hold")
    if not reason.strip():
        raise UserError("releasing a legal hold needs its reason (--reason TEXT)")
    with app.db.session() as session:
        case = _case(session, ref)
        holds = list(
            session.scalars(
                select(LegalHold).where(
                    LegalHold.case_id == case.id, LegalHold.released_at.is_(None)
                )
            )
        )
        if not holds:
            raise UserError(f"{case.ref} is not on legal hold")
        for hold in holds:
            hold.released_at = app.clock.now()
            hold.released_by = actor
            hold.release_reason = reason.strip()
        _audit(session, actor, "case.legal_hold_released", reason.strip(), case_id=case.id)
        return {"ref": case.ref, "legal_hold": False, "reason": reason.strip(), "by": actor}


# -- retention -----------------------------------------------------------------------------------


@dataclass
class Plan:
    """What a retention run removes, by kind; ``labels`` name each record for the report."""

    today: date
    schedule: RetentionSchedule
    expired: dict[RecordKind, list[int]] = field(default_factory=dict)
    labels: dict[RecordKind, list[str]] = field(default_factory=dict)
    on_hold: list[str] = field(default_factory=list)

    def add(self, kind: RecordKind, key: int, label: str) -> None:
        self.expired.setdefault(kind, []).append(key)
        self.labels.setdefault(kind, []).append(label)

    def counts(self) -> dict[str, int]:
        return {kind.value: len(self.expired.get(kind, [])) for kind in RecordKind}


def _case_candidates(session: Session, held: set[int]) -> Iterable[tuple[Case, Candidate]]:
    for case in session.scalars(
        select(Case).where(Case.anonymised_on.is_(None), Case.resident_id.is_not(None))
    ):
        responded = [s.responded for s in case.stages if s.responded is not None]
        received = [s.received for s in case.stages]
        ended = case_ended_on(
            case.status,
            case.closed_on,
            max(responded) if responded else None,
            max(received) if received else None,
        )
        yield case, Candidate(RecordKind.CLOSED_CASES, case.id, ended, case.id in held)


def _sr_candidates(session: Session) -> Iterable[tuple[ServiceRequest, Candidate]]:
    """A service request has no closure in this product: its clock starts on the later of the
    date it was due and its last message in or out."""
    requests = list(
        session.scalars(select(ServiceRequest).where(ServiceRequest.anonymised_on.is_(None)))
    )
    if not requests:
        return
    ids = [sr.id for sr in requests]
    last_in = dict(
        session.execute(
            select(InboundMessage.service_request_id, func.max(InboundMessage.received_on))
            .where(InboundMessage.service_request_id.in_(ids))
            .group_by(InboundMessage.service_request_id)
        ).all()
    )
    last_out = dict(
        session.execute(
            select(Letter.service_request_id, func.max(Letter.created_at))
            .where(Letter.service_request_id.in_(ids))
            .group_by(Letter.service_request_id)
        ).all()
    )
    for sr in requests:
        days = [sr.due_by, sr.received]
        if last_in.get(sr.id):
            days.append(last_in[sr.id])
        if last_out.get(sr.id):
            days.append(london_date(last_out[sr.id]))
        yield sr, Candidate(RecordKind.SERVICE_REQUESTS, sr.id, max(days))


def _message_kind(message: InboundMessage) -> RecordKind:
    if message.label == "not_resident_mail" and message.reason == "spam":
        return RecordKind.SPAM
    if message.status == "quarantined":
        return RecordKind.QUARANTINE
    return RecordKind.NON_RESIDENT_MAIL


def _loose_messages(session: Session) -> Iterable[InboundMessage]:
    """Messages that belong to no case and no service request: mail that was never a resident's
    business (auto-replies, bounces, bulk, spam), unreadable mail and duplicates."""
    linked = (
        select(Correspondence.inbound_id).where(Correspondence.inbound_id.is_not(None))
    ).union(
        select(Case.origin_inbound_id).where(Case.origin_inbound_id.is_not(None)),
        select(ServiceRequest.origin_inbound_id).where(
            ServiceRequest.origin_inbound_id.is_not(None)
        ),
        select(ReviewItem.inbound_id).where(ReviewItem.case_id.is_not(None)),
    )
    return session.scalars(
        select(InboundMessage)
        .where(
            InboundMessage.anonymised_on.is_(None),
            InboundMessage.case_id.is_(None),
            InboundMessage.service_request_id.is_(None),
            InboundMessage.status.not_in(_IN_FLIGHT),
            InboundMessage.id.not_in(linked),
        )
        .order_by(InboundMessage.id)
    )


def plan_retention(app: App, session: Session, today: date | None = None) -> Plan:
    """Every record that has expired on ``today`` under the landlord's schedule."""
    schedule = app.landlord.retention
    plan = Plan(today or _today(app), schedule)
    held = _held_case_ids(session)
    for case, candidate in _case_candidates(session, held):
        verdict = decide(candidate, schedule, plan.today)
        if (
            candidate.on_hold
            and decide(replace(candidate, on_hold=False), schedule, plan.today).expired
        ):
            plan.on_hold.append(case.ref)  # would have gone but for the hold
        if verdict.expired:
            plan.add(RecordKind.CLOSED_CASES, case.id, case.ref)
    for sr, candidate in _sr_candidates(session):
        if decide(candidate, schedule, plan.today).expired:
            plan.add(RecordKind.SERVICE_REQUESTS, sr.id, sr.ref)
    for message in _loose_messages(session):
        day = message.received_on or london_date(message.stored_at)
        candidate = Candidate(_message_kind(message), message.id, day)
        if decide(candidate, schedule, plan.today).expired:
            plan.add(candidate.kind, message.id, f"message {message.id}")
    held_inbound, held_letters = _held_items(session, held)
    for row in session.execute(
        select(Quarantine.id, Quarantine.kind, Quarantine.created_at, Quarantine.resolved_at,
               Quarantine.inbound_id, Quarantine.letter_id)
    ):  # fmt: skip
        q_id, kind, created, resolved, inbound_id, letter_id = row
        hold = inbound_id in held_inbound or letter_id in held_letters
        q_kind = RecordKind.SPAM if kind == "spam" else RecordKind.QUARANTINE
        candidate = Candidate(q_kind, q_id, london_date(resolved or created), hold)
        if decide(candidate, schedule, plan.today).expired:
            # Counted apart from messages: a quarantine entry is its own copy of the bytes.
            plan.add(RecordKind.QUARANTINE if q_kind is RecordKind.QUARANTINE else RecordKind.SPAM,
                     -q_id, f"quarantine entry {q_id}")  # fmt: skip
    for event_id, at in session.execute(
        select(AuditEvent.id, AuditEvent.at).where(AuditEvent.case_id.is_(None))
    ):
        candidate = Candidate(RecordKind.AUDIT_LOG, event_id, london_date(at))
        if decide(candidate, schedule, plan.today).expired:
            plan.add(RecordKind.AUDIT_LOG, event_id, f"audit entry {event_id}")
    return plan


def _held_items(session: Session, held: set[int]) -> tuple[set[int], set[int]]:
    if not held:
        return set(), set()
    inbound = set(
        session.scalars(select(InboundMessage.id).where(InboundMessage.case_id.in_(held)))
    ) | set(
        session.scalars(
            select(Correspondence.inbound_id).where(
                Correspondence.case_id.in_(held), Correspondence.inbound_id.is_not(None)
            )
        )
    )
    letters = set(session.scalars(select(Letter.id).where(Letter.case_id.in_(held))))
    return {i for i in inbound if i is not None}, letters


def apply_retention(
    app: App, *, dry_run: bool = False, by: str = "retention", today: date | None = None
) -> dict[str, Any]:
    """Apply the schedule (or, with ``dry_run``, only say what it would do); every run that
    changes something, and every dry run, is audited with its counts."""
    with app.db.session() as session:
        plan = plan_retention(app, session, today)
        counts = plan.counts()
        removed = Counter[str]()
        if not dry_run:
            today_ = plan.today
            touched_residents: set[int] = set()
            for case_id in plan.expired.get(RecordKind.CLOSED_CASES, []):
                case = session.get(Case, case_id)
                assert case is not None
                touched_residents.add(case.resident_id)
                removed += _anonymise_case(session, case, today_)
            for sr_id in plan.expired.get(RecordKind.SERVICE_REQUESTS, []):
                sr = session.get(ServiceRequest, sr_id)
                assert sr is not None
                touched_residents.add(sr.resident_id)
                removed += _anonymise_service_request(session, sr, today_)
            for kind in (RecordKind.NON_RESIDENT_MAIL, RecordKind.SPAM, RecordKind.QUARANTINE):
                for key in plan.expired.get(kind, []):
                    if key < 0:
                        session.execute(delete(Quarantine).where(Quarantine.id == -key))
                        removed["quarantine_entries_deleted"] += 1
                    else:
                        message = session.get(InboundMessage, key)
                        assert message is not None
                        removed += _anonymise_messages(session, [message], today_)
            audit_ids = plan.expired.get(RecordKind.AUDIT_LOG, [])
            for start in range(0, len(audit_ids), 500):
                session.execute(
                    delete(AuditEvent).where(AuditEvent.id.in_(audit_ids[start : start + 500]))
                )
            removed["audit_entries_deleted"] = len(audit_ids)
            removed["residents_removed"] = _remove_orphans(session, touched_residents)
        result = {
            "dry_run": dry_run,
            "today": plan.today.isoformat(),
            "schedule": plan.schedule.as_dict(),
            "expired": counts,
            "records": {kind.value: labels for kind, labels in plan.labels.items()},
            "kept_on_legal_hold": sorted(plan.on_hold),
            "removed": dict(sorted(removed.items())),
        }
        if dry_run or any(counts.values()):
            _audit(
                session,
                by,
                RUN_ACTION if not dry_run else "retention.dry_run",
                "retention schedule applied" if not dry_run else "retention schedule dry run",
                expired=counts,
                removed=dict(removed),
                kept_on_legal_hold=len(plan.on_hold),
                on=plan.today.isoformat(),
                # The app's clock, which the daily run compares with (a test's fixed clock).
                at=app.clock.now(),
            )
        return result


def last_run(app: App) -> datetime | None:
    with app.db.session() as session:
        at = session.scalar(
            select(func.max(AuditEvent.at)).where(
                AuditEvent.action.in_((RUN_ACTION, "retention.checked"))
            )
        )
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at


def daily_retention(app: App, every_hours: float = 24.0) -> dict[str, Any] | None:
    """The worker's daily run: does nothing when a run finished less than a day ago (two workers
    that both get here one after the other run it once; the caller holds a lock meanwhile)."""
    previous = last_run(app)
    now = app.clock.now()
    if previous is not None and (now - previous).total_seconds() < every_hours * 3600:
        return None
    result = apply_retention(app, by="retention (daily)")
    if not any(result["expired"].values()):
        # Nothing expired, so no run entry was written; this one marks the day as done.
        with app.db.session() as session:
            _audit(
                session,
                "retention (daily)",
                "retention.checked",
                "nothing had expired",
                at=app.clock.now(),
            )
    return result


# -- anonymising ----------------------------------------------------------------------------------


def _placeholder(session: Session) -> Resident:
    resident = session.scalar(select(Resident).where(Resident.email == PLACEHOLDER_EMAIL))
    if resident is None:
        resident = Resident(email=PLACEHOLDER_EMAIL, name="", preferred_channel="email")
        session.add(resident)
        session.flush()
    return resident


_CODE = re.compile(r"^[a-z0-9_.:-]{0,40}$")


def _scrub_details(details: dict[str, Any] | None) -> dict[str, Any]:
    # Only codes survive (a status, a date, an exclusion reason): "before" and "after" also hold
    # a resident's adjustments or representative in some entries, and those must go.
    kept = {
        k: v
        for k, v in (details or {}).items()
        if k in _KEPT_DETAILS
        and (v is None or isinstance(v, (int, float)) or (isinstance(v, str) and _CODE.match(v)))
    }
    kept["anonymised"] = True
    return kept


def _case_messages(session: Session, case: Case) -> list[InboundMessage]:
    conditions = [InboundMessage.case_id == case.id]
    linked = select(Correspondence.inbound_id).where(
        Correspondence.case_id == case.id, Correspondence.inbound_id.is_not(None)
    )
    conditions.append(InboundMessage.id.in_(linked))
    conditions.append(
        InboundMessage.id.in_(select(ReviewItem.inbound_id).where(ReviewItem.case_id == case.id))
    )
    if case.origin_inbound_id:
        conditions.append(InboundMessage.id == case.origin_inbound_id)
    return list(session.scalars(select(InboundMessage).where(or_(*conditions))))


def _category(case: Case) -> str:
    # As worker.reports works it out, so the annual report's categories stay the same.
    extraction = case.extraction or {}
    text = case.understanding or str(extraction.get("issue") or "") or case.subject
    return str(extraction.get("category") or "") or reporting.categorise(text)


def _anonymise_case(session: Session, case: Case, today: date) -> Counter[str]:
    done = Counter[str]({"cases_anonymised": 1})
    case.extraction = {"category": _category(case)}
    case.subject = ""
    case.understanding = ""
    case.outcome_sought = ""
    case.flags = {}
    case.anonymised_on = today
    case.resident_id = _placeholder(session).id
    for stage in session.scalars(select(CaseStage).where(CaseStage.case_id == case.id)):
        for name in ("extension_reason", "good_reason", "reasons", "remedy"):
            if getattr(stage, name):
                setattr(stage, name, REMOVED)
    for action in session.scalars(select(CaseAction).where(CaseAction.case_id == case.id)):
        action.text = REMOVED
    letters = list(session.scalars(select(Letter).where(Letter.case_id == case.id)))
    done += _anonymise_letters(letters)
    done += _anonymise_messages(session, _case_messages(session, case), today)
    for item in session.scalars(select(ReviewItem).where(ReviewItem.case_id == case.id)):
        item.evidence = []
        item.decision_reason = REMOVED if item.decision_reason else ""
    for event in session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id)):
        if event.action.startswith("access.") or event.action.startswith("retention."):
            continue
        event.why = ""
        event.details = _scrub_details(event.details)
    for hold in session.scalars(select(LegalHold).where(LegalHold.case_id == case.id)):
        hold.reason = REMOVED
        hold.release_reason = REMOVED if hold.release_reason else ""
    letter_ids = [letter.id for letter in letters]
    if letter_ids:
        result = session.execute(delete(Quarantine).where(Quarantine.letter_id.in_(letter_ids)))
        done["quarantine_entries_deleted"] += result.rowcount or 0  # type: ignore[attr-defined]
    return done


def _anonymise_service_request(session: Session, sr: ServiceRequest, today: date) -> Counter[str]:
    done = Counter[str]({"service_requests_anonymised": 1})
    sr.subject = ""
    sr.summary = ""
    sr.anonymised_on = today
    sr.resident_id = _placeholder(session).id
    done += _anonymise_letters(
        session.scalars(select(Letter).where(Letter.service_request_id == sr.id))
    )
    messages = session.scalars(
        select(InboundMessage).where(
            or_(
                InboundMessage.service_request_id == sr.id,
                InboundMessage.id == sr.origin_inbound_id,
                InboundMessage.id.in_(
                    select(Correspondence.inbound_id).where(
                        Correspondence.service_request_id == sr.id
                    )
                ),
            )
        )
    )
    done += _anonymise_messages(session, list(messages), today)
    return done


def _anonymise_letters(letters: Iterable[Letter]) -> Counter[str]:
    done = Counter[str]()
    for letter in letters:
        letter.recipient = ""
        letter.recipient_name = ""
        letter.subject = ""
        letter.text = ""
        letter.html = ""
        letter.in_reply_to = ""
        letter.last_error = ""
        done["letters_anonymised"] += 1
    return done


def _anonymise_messages(
    session: Session, messages: list[InboundMessage], today: date
) -> Counter[str]:
    """Empty each message of everything but what reports count (when, which label, what became
    of it); its raw bytes, and so its attachments, go."""
    done = Counter[str]()
    for message in messages:
        if message.anonymised_on is not None:
            continue
        key = f"anonymised:{message.id}"
        session.execute(
            update(MessageKey).where(MessageKey.inbound_id == message.id).values(dedupe_key=key)
        )
        message.dedupe_key = key
        message.raw = b""
        message.message_id = ""
        for name in ("from_addr", "from_name", "subject", "in_reply_to", "text", "html", "error"):
            setattr(message, name, "")
        message.references = []
        message.triage_reasons = []
        message.safety_rules = []
        message.extraction = {}
        message.flags = {}
        message.headers = None
        message.return_path = None
        message.new_text = None
        message.anonymised_on = today
        done["messages_anonymised"] += 1
        done["raw_bytes_removed"] += message.size or 0
        # Attachments too big to keep inside the raw bytes live apart (attachment_store).
        bodies = list(
            session.scalars(select(StoredBody.id).where(StoredBody.inbound_id == message.id))
        )
        if bodies:
            session.execute(delete(StoredBodyChunk).where(StoredBodyChunk.body_id.in_(bodies)))
            session.execute(delete(StoredBody).where(StoredBody.id.in_(bodies)))
            done["stored_attachments_deleted"] += len(bodies)
        # A hazard record keeps its kind and clocks (Awaab's Law figures), not the words.
        for hazard in session.scalars(select(Hazard).where(Hazard.inbound_id == message.id)):
            hazard.words = ""
            hazard.reasons = []
            hazard.decision_reason = REMOVED if hazard.decision_reason else ""
            hazard.events = [
                {k: v for k, v in event.items() if k != "reason"}
                for event in (hazard.events or [])
                if isinstance(event, dict)
            ]
            done["hazards_anonymised"] += 1
        for item in session.scalars(select(ReviewItem).where(ReviewItem.inbound_id == message.id)):
            item.evidence = []
            item.decision_reason = REMOVED if item.decision_reason else ""
        result = session.execute(delete(Quarantine).where(Quarantine.inbound_id == message.id))
        done["quarantine_entries_deleted"] += result.rowcount or 0  # type: ignore[attr-defined]
        for event in session.scalars(
            select(AuditEvent).where(
                AuditEvent.inbound_id == message.id, AuditEvent.case_id.is_(None)
            )
        ):
            event.why = ""
            event.details = _scrub_details(event.details)
    return done


def _remove_orphans(session: Session, resident_ids: Iterable[int]) -> int:
    """Residents left with no case or service request lose their own record too (restrictions
    in force keep it: a person decided those)."""
    removed = 0
    session.flush()
    for resident_id in resident_ids:
        resident = session.get(Resident, resident_id)
        if resident is None or resident.email == PLACEHOLDER_EMAIL:
            continue
        if session.scalar(
            select(func.count()).select_from(Case).where(Case.resident_id == resident_id)
        ):
            continue
        if session.scalar(
            select(func.count())
            .select_from(ServiceRequest)
            .where(ServiceRequest.resident_id == resident_id)
        ):
            continue
        if session.scalar(
            select(func.count())
            .select_from(Restriction)
            .where(Restriction.resident_id == resident_id, Restriction.ended_on.is_(None))
        ):
            continue
        _forget_resident(session, resident)
        removed += 1
    return removed


def _identifiers(resident: Resident) -> list[str]:
    """Strings that identify the resident in free text: addresses always, the name when it is
    long enough not to match ordinary words."""
    found = [resident.email, *[str(e) for e in (resident.other_emails or [])]]
    if resident.representative_email:
        found.append(resident.representative_email)
    for name in (resident.name, resident.representative_name):
        if name and (len(name.strip()) >= 5 or " " in name.strip()):
            found.append(name.strip())
    return [f for f in found if f]


def _forget_resident(session: Session, resident: Resident) -> None:
    """Delete the resident's own record and wipe their identifiers from audit entries, which
    outlive them (an entry keeps the resident's number only, which then names no one)."""
    identifiers = _identifiers(resident)
    session.execute(delete(Restriction).where(Restriction.resident_id == resident.id))
    for event in _mentioning(session, AuditEvent, identifiers):
        event.why = ""
        event.details = _scrub_details(event.details)
    session.delete(resident)
    session.flush()


def _mentioning(session: Session, model: Any, identifiers: list[str]) -> list[Any]:
    if not identifiers:
        return []
    conditions = []
    for ident in identifiers:
        pattern = f"%{_like_escape(ident.lower())}%"
        conditions.append(func.lower(model.why).like(pattern, escape="\\"))
        conditions.append(func.lower(cast(model.details, String)).like(pattern, escape="\\"))
    return list(session.scalars(select(model).where(or_(*conditions))))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- finding a resident ----------------------------------------------------------------------


def find_resident(session: Session, email_or_id: str) -> Resident:
    value = email_or_id.strip()
    resident: Resident | None = None
    if value.isdigit() and len(value) < 18:
        resident = session.get(Resident, int(value))
    elif "@" in value:
        address = value.lower()
        resident = session.scalar(select(Resident).where(Resident.email == address))
        if resident is None:
            with_others = cast(Resident.other_emails, String) != "[]"
            for candidate in session.scalars(select(Resident).where(with_others)):
                if address in [str(e).lower() for e in candidate.other_emails or []]:
                    resident = candidate
                    break
    else:
        raise UserError(f"{value!r} is neither an email address nor a resident number")
    if resident is None or resident.email == PLACEHOLDER_EMAIL:
        raise UserError(f"no resident {value!r}")
    return resident


# -- subject access export --------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _safe_name(name: str, fallback: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", Path(name or "").name).strip(" .")
    return cleaned[:120] or fallback


def _attachments(raw: bytes) -> list[tuple[str, str, bytes]]:
    """(file name, content type, bytes) of each attachment of a raw message."""
    if not raw:
        return []
    message = message_from_bytes(raw, policy=policy.default)
    found = []
    if not isinstance(message, EmailMessage):
        return found
    for n, part in enumerate(message.iter_attachments(), start=1):
        try:
            payload = part.get_payload(decode=True)
        except Exception:  # noqa: BLE001 - a broken part is listed with no bytes
            payload = b""
        if not isinstance(payload, bytes):
            continue
        name = part.get_filename() or f"attachment-{n}"
        found.append((name, part.get_content_type(), payload))
    return found


def _resident_dict(resident: Resident, restrictions: list[Restriction]) -> dict[str, Any]:
    return {
        "id": resident.id,
        **resident_record(resident),
        "created_at": _iso(resident.created_at),
        "restrictions": [
            {
                "description": r.description,
                "reasons": r.reasons,
                "review_on": _iso(r.review_on),
                "decided_by": r.decided_by,
                "recorded_at": _iso(r.created_at),
                "ended_on": _iso(r.ended_on),
            }
            for r in restrictions
        ],
    }


def _message_dict(message: InboundMessage, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": message.id,
        "received": _iso(message.received_on),
        "stored_at": _iso(message.stored_at),
        "channel": message.source,
        "from": message.from_addr,
        "from_name": message.from_name,
        "subject": message.subject,
        "text": message.text,
        "triage": {
            "label": message.label,
            "reason": message.reason,
            "confidence": message.confidence,
            "needs_review": message.needs_review,
            "reasons": message.triage_reasons,
            "what_we_understood": message.extraction,
            "flags": message.flags,
            "outcome": message.outcome,
        },
        "attachments": files,
    }


def _letter_dict(letter: Letter) -> dict[str, Any]:
    return {
        "kind": letter.kind,
        "to": letter.recipient,
        "to_name": letter.recipient_name,
        "subject": letter.subject,
        "text": letter.text,
        "status": letter.status,
        "created_at": _iso(letter.created_at),
        "sent_at": _iso(letter.sent_at),
    }


def _event_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "by": event.actor,
        "action": event.action,
        "why": event.why,
        "details": event.details,
    }


def collect(session: Session, resident: Resident, folder: Path | None) -> dict[str, Any]:
    """Everything held about ``resident`` as plain data; attachments are written under
    ``folder/attachments`` (when given) and listed by their path there."""
    restrictions = list(
        session.scalars(
            select(Restriction)
            .where(Restriction.resident_id == resident.id)
            .order_by(Restriction.id)
        )
    )
    cases = list(
        session.scalars(select(Case).where(Case.resident_id == resident.id).order_by(Case.id))
    )
    srs = list(
        session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.resident_id == resident.id)
            .order_by(ServiceRequest.id)
        )
    )
    seen_messages: set[int] = set()

    def messages(rows: Iterable[InboundMessage]) -> list[dict[str, Any]]:
        out = []
        for message in sorted(rows, key=lambda m: m.id):
            if message.id in seen_messages:
                continue
            seen_messages.add(message.id)
            files = []
            raw = full_raw(session, message) if message.raw else b""
            for n, (name, ctype, payload) in enumerate(_attachments(raw), start=1):
                safe = _safe_name(name, f"attachment-{n}")
                relative = f"attachments/message-{message.id}/{n}-{safe}"
                if folder is not None:
                    target = folder / relative
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(payload)
                files.append(
                    {
                        "file_name": name,
                        "content_type": ctype,
                        "size": len(payload),
                        "sha256": hashlib.sha256(payload).hexdigest(),
                        "saved_as": relative,
                    }
                )
            out.append(_message_dict(message, files))
        return out

    case_ids = [c.id for c in cases]
    case_out = []
    for case in cases:
        case_out.append(
            {
                "ref": case.ref,
                "status": case.status,
                "stage": case.stage,
                "channel": case.channel,
                "subject": case.subject,
                "our_understanding": case.understanding,
                "outcome_sought": case.outcome_sought,
                "flags": case.flags,
                "opened_at": _iso(case.created_at),
                "closed_on": _iso(case.closed_on),
                "stages": [
                    {
                        "stage": s.stage,
                        "received": _iso(s.received),
                        "acknowledged": _iso(s.acknowledged),
                        "respond_by": _iso(s.respond_by),
                        "extension_days": s.extension_days,
                        "extension_reason": s.extension_reason,
                        "responded": _iso(s.responded),
                        "handler": s.handler,
                        "decision": s.decision,
                        "reasons": s.reasons,
                        "remedy": s.remedy,
                    }
                    for s in sorted(case.stages, key=lambda s: s.stage)
                ],
                "actions_and_remedies": [
                    {
                        "kind": a.kind,
                        "text": a.text,
                        "due": _iso(a.due),
                        "amount_pence": a.amount_pence,
                        "completed_on": _iso(a.completed_on),
                    }
                    for a in session.scalars(
                        select(CaseAction)
                        .where(CaseAction.case_id == case.id)
                        .order_by(CaseAction.id)
                    )
                ],
                "messages": messages(_case_messages(session, case)),
                "hazards": [
                    {
                        "kind": hz.kind,
                        "severity": hz.severity,
                        "your_words": hz.words,
                        "aware_at": _iso(hz.aware_at),
                        "status": hz.status,
                        "decision_reason": hz.decision_reason,
                    }
                    for hz in session.scalars(
                        select(Hazard).where(Hazard.case_id == case.id).order_by(Hazard.id)
                    )
                ],
                "letters": [
                    _letter_dict(letter)
                    for letter in session.scalars(
                        select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)
                    )
                ],
                "triage_decisions": [
                    {
                        "proposed_label": item.proposed_label,
                        "proposed_reason": item.proposed_reason,
                        "confidence": item.confidence,
                        "evidence": item.evidence,
                        "decision": item.decision,
                        "decision_reason": item.decision_reason,
                        "decided_by": item.decided_by,
                        "decided_at": _iso(item.decided_at),
                    }
                    for item in session.scalars(
                        select(ReviewItem)
                        .where(ReviewItem.case_id == case.id)
                        .order_by(ReviewItem.id)
                    )
                ],
            }
        )
    sr_out = []
    for sr in srs:
        sr_messages = session.scalars(
            select(InboundMessage).where(
                or_(
                    InboundMessage.service_request_id == sr.id,
                    InboundMessage.id == sr.origin_inbound_id,
                )
            )
        )
        sr_out.append(
            {
                "ref": sr.ref,
                "subject": sr.subject,
                "summary": sr.summary,
                "received": _iso(sr.received),
                "due_by": _iso(sr.due_by),
                "status": sr.status,
                "messages": messages(sr_messages),
                "letters": [
                    _letter_dict(letter)
                    for letter in session.scalars(
                        select(Letter).where(Letter.service_request_id == sr.id).order_by(Letter.id)
                    )
                ],
            }
        )
    addresses = [resident.email, *[str(e).lower() for e in resident.other_emails or []]]
    other_mail = session.scalars(
        select(InboundMessage).where(
            func.lower(InboundMessage.from_addr).in_(addresses),
            InboundMessage.case_id.is_(None),
            InboundMessage.service_request_id.is_(None),
        )
    )
    other_out = messages(m for m in other_mail if m.id not in seen_messages)
    about = [AuditEvent.resident_id == resident.id]
    if case_ids:
        about.append(AuditEvent.case_id.in_(case_ids))
    events = list(session.scalars(select(AuditEvent).where(or_(*about)).order_by(AuditEvent.id)))
    known = {e.id for e in events}
    # Entries about the resident themself (adjustments, representative, addresses) name them by
    # address in their details; entries about other people are never included.
    for event in session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("resident.%")).order_by(AuditEvent.id)
    ):
        if event.id not in known and (event.details or {}).get("resident") == resident.email:
            events.append(event)
    events.sort(key=lambda e: e.id)
    return {
        "about": "Everything the complaints system holds about one person (UK GDPR Article 15).",
        "resident": _resident_dict(resident, restrictions),
        "cases": case_out,
        "service_requests": sr_out,
        "other_messages": other_out,
        "audit_entries": [_event_dict(e) for e in events],
    }


def export_resident(app: App, email_or_id: str, out: Path, *, by: str) -> dict[str, Any]:
    """Write the subject access export (``export.json`` and a readable ``export.html``, with the
    attachments beside them) to a new folder under ``out``; audited."""
    actor = _person(by, "an export")
    stamp = _today(app).isoformat()
    with app.db.session() as session:
        resident = find_resident(session, email_or_id)
        folder = out / f"subject-access-{resident.id}-{stamp}"
        if folder.exists():
            raise UserError(f"{folder} already exists; choose another --out folder")
        try:
            folder.mkdir(parents=True)
        except OSError as exc:
            raise UserError(f"cannot create {folder}: {exc.strerror or exc}") from None
        data = collect(session, resident, folder)
        data["exported_at"] = app.clock.now().isoformat()
        data["exported_by"] = actor
        (folder / "export.json").write_text(
            json.dumps(data, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
        )
        (folder / "export.html").write_text(render_html(data, app.landlord.name), encoding="utf-8")
        _audit(
            session,
            actor,
            "resident.exported",
            "subject access export",
            resident_id=resident.id,
            cases=len(data["cases"]),
        )
        return {
            "folder": str(folder),
            "cases": len(data["cases"]),
            "service_requests": len(data["service_requests"]),
            "messages": sum(len(c["messages"]) for c in data["cases"])
            + sum(len(s["messages"]) for s in data["service_requests"])
            + len(data["other_messages"]),
            "attachments": sum(1 for _ in (folder / "attachments").rglob("*") if _.is_file())
            if (folder / "attachments").exists()
            else 0,
        }


_PAGE_CSS = """
body { font-family: Arial, Helvetica, sans-serif; font-size: 1rem; line-height: 1.5;
  color: #0b0c0c; background: #fff; margin: 0; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
dt { font-weight: bold; } dd { margin: 0 0 0.5rem 0; white-space: pre-wrap; }
section { border-top: 2px solid #b1b4b6; margin-top: 1.5rem; }
pre { white-space: pre-wrap; background: #f3f2f1; padding: 0.5rem; }
"""


def render_html(data: dict[str, Any], landlord: str) -> str:
    """The export as one accessible page a resident can read: headings, definition lists, the
    words of every message and letter."""
    esc = html.escape

    def value(v: Any) -> str:
        if v is None or v == "" or v == [] or v == {}:
            return "None recorded"
        if isinstance(v, bool):
            return "Yes" if v else "No"
        if isinstance(v, (dict, list)):
            return json.dumps(v, indent=1, ensure_ascii=False, default=str)
        return str(v)

    def dl(items: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
        rows = "".join(
            f"<dt>{esc(k.replace('_', ' ').capitalize())}</dt><dd>{esc(value(v))}</dd>"
            for k, v in items.items()
            if k not in skip
        )
        return f"<dl>{rows}</dl>"

    def messages(items: list[dict[str, Any]], level: int) -> str:
        out = []
        for m in items:
            out.append(f"<h{level}>Message received {esc(value(m['received']))}</h{level}>")
            out.append(dl(m, skip=("text", "attachments", "triage")))
            out.append(f"<pre>{esc(m['text'] or '')}</pre>")
            out.append(f"<p>How we sorted it:</p>{dl(m['triage'])}")
            if m["attachments"]:
                links = "".join(
                    f'<li><a href="{esc(a["saved_as"])}">{esc(a["file_name"])}</a> '
                    f"({a['size']:,} bytes)</li>"
                    for a in m["attachments"]
                )
                out.append(f"<p>Attachments:</p><ul>{links}</ul>")
        return "".join(out)

    def letters(items: list[dict[str, Any]], level: int) -> str:
        out = []
        for letter in items:
            title = letter["kind"].replace("_", " ")
            out.append(f"<h{level}>Letter: {esc(title)}</h{level}>")
            out.append(dl(letter, skip=("text",)))
            out.append(f"<pre>{esc(letter['text'] or '')}</pre>")
        return "".join(out)

    resident = data["resident"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Your information held by {esc(landlord)}</title>",
        f"<style>{_PAGE_CSS}</style></head><body><main>",
        f"<h1>Your information held by {esc(landlord)}</h1>",
        "<p>This is everything our complaints system holds about you: your details, your "
        "complaints and service requests, the messages you sent us and the letters we sent "
        "you, how we sorted each message, and our record of what staff did. The same "
        "information is in <code>export.json</code> for computers.</p>",
        "<section><h2>Your details</h2>",
        dl(resident, skip=("restrictions",)),
    ]
    for r in resident["restrictions"]:
        parts.append("<h3>Restriction on contact</h3>" + dl(r))
    parts.append("</section>")
    for case in data["cases"]:
        parts.append(f"<section><h2>Complaint {esc(case['ref'])}</h2>")
        parts.append(dl(case, skip=("stages", "messages", "letters", "actions_and_remedies",
                                    "triage_decisions", "hazards")))  # fmt: skip
        for hazard in case["hazards"]:
            parts.append("<h3>Possible hazard in your home</h3>" + dl(hazard))
        for stage in case["stages"]:
            parts.append(f"<h3>Stage {stage['stage']}</h3>" + dl(stage))
        for action in case["actions_and_remedies"]:
            parts.append(f"<h3>{esc(action['kind'].capitalize())}</h3>" + dl(action))
        for item in case["triage_decisions"]:
            parts.append("<h3>Decision on how to handle it</h3>" + dl(item))
        parts.append(messages(case["messages"], 3))
        parts.append(letters(case["letters"], 3))
        parts.append("</section>")
    for sr in data["service_requests"]:
        parts.append(f"<section><h2>Service request {esc(sr['ref'])}</h2>")
        parts.append(dl(sr, skip=("messages", "letters")))
        parts.append(messages(sr["messages"], 3))
        parts.append(letters(sr["letters"], 3))
        parts.append("</section>")
    if data["other_messages"]:
        parts.append("<section><h2>Other messages from you</h2>")
        parts.append(messages(data["other_messages"], 3))
        parts.append("</section>")
    parts.append("<section><h2>Our record of what was done</h2>")
    if data["audit_entries"]:
        rows = "".join(
            f"<tr><td>{esc(value(e['at']))}</td><td>{esc(e['by'])}</td>"
            f"<td>{esc(e['action'])}</td><td>{esc(e['why'] or '')}</td></tr>"
            for e in data["audit_entries"]
        )
        parts.append(
            "<table><caption>Audit log entries about you</caption><thead><tr>"
            '<th scope="col">When</th><th scope="col">Who</th><th scope="col">What</th>'
            f'<th scope="col">Why</th></tr></thead><tbody>{rows}</tbody></table>'
        )
    else:
        parts.append("<p>None.</p>")
    parts.append("</section></main></body></html>")
    return "\n".join(parts) + "\n"


# -- erasure ------------------------------------------------------------------------------------


def erase_resident(app: App, email_or_id: str, *, reason: str, by: str) -> dict[str, Any]:
    """Erase one person's personal data where the law allows (UK GDPR Article 17): refused while
    any case of theirs is open or on legal hold. Their cases and service requests stay as
    anonymous records, so the statistics do not change."""
    actor = _person(by, "an erasure")
    if not reason.strip():
        raise UserError("an erasure needs its reason (--reason TEXT)")
    today = _today(app)
    with app.db.session() as session:
        resident = find_resident(session, email_or_id)
        cases = list(session.scalars(select(Case).where(Case.resident_id == resident.id)))
        open_refs = sorted(c.ref for c in cases if c.status not in _TERMINAL)
        if open_refs:
            raise UserError(
                f"cannot erase: case {', '.join(open_refs)} is still open; close it first"
            )
        held = _held_case_ids(session)
        held_refs = sorted(c.ref for c in cases if c.id in held)
        if held_refs:
            raise UserError(f"cannot erase: case {', '.join(held_refs)} is on legal hold")
        srs = list(
            session.scalars(select(ServiceRequest).where(ServiceRequest.resident_id == resident.id))
        )
        live = sorted(sr.ref for sr in srs if sr.status == "open" and sr.due_by >= today)
        if live:
            raise UserError(f"cannot erase: service request {', '.join(live)} is still being done")
        identifiers = _identifiers(resident)
        done = Counter[str]()
        for case in cases:
            done += _anonymise_case(session, case, today)
        for sr in srs:
            done += _anonymise_service_request(session, sr, today)
        addresses = [i.lower() for i in identifiers if "@" in i]
        loose = list(
            session.scalars(
                select(InboundMessage).where(
                    func.lower(InboundMessage.from_addr).in_(addresses),
                    InboundMessage.anonymised_on.is_(None),
                )
            )
        )
        done += _anonymise_messages(session, loose, today)
        done += _anonymise_letters(
            session.scalars(select(Letter).where(func.lower(Letter.recipient).in_(addresses)))
        )
        resident_id = resident.id
        _forget_resident(session, resident)
        why = reason.strip()
        for ident in identifiers:
            why = re.sub(re.escape(ident), "[the resident]", why, flags=re.IGNORECASE)
        _audit(
            session,
            actor,
            "resident.erased",
            why,
            resident_id=resident_id,
            cases=len(cases),
            service_requests=len(srs),
            **{k: v for k, v in done.items()},
        )
        return {
            "erased": resident_id,
            "cases_anonymised": len(cases),
            "service_requests_anonymised": len(srs),
            "messages_anonymised": done["messages_anonymised"],
            "letters_anonymised": done["letters_anonymised"],
        }


# -- access log ---------------------------------------------------------------------------------


def record_case_view(app: App, ref: str, *, by: str) -> None:
    """A staff view of a case (and so of its resident), for the access log."""
    with app.db.session() as session:
        case = session.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        if case is None:
            return
        _audit(session, by, "access.case_viewed", case_id=case.id, resident_id=case.resident_id)


def access_log(app: App, ref_or_email: str) -> dict[str, Any]:
    """Who viewed, exported or erased a case or a resident's records, and when, newest first."""
    with app.db.session() as session:
        value = ref_or_email.strip()
        if "@" in value or value.isdigit():
            resident = find_resident(session, value)
            case_ids = list(session.scalars(select(Case.id).where(Case.resident_id == resident.id)))
            about = [AuditEvent.resident_id == resident.id]
            if case_ids:
                about.append(AuditEvent.case_id.in_(case_ids))
            subject = {"resident": resident.email}
        else:
            case = _case(session, value)
            # The case's views, and exports or erasures of its resident's whole record.
            about = [
                AuditEvent.case_id == case.id,
                (AuditEvent.resident_id == case.resident_id)
                & AuditEvent.action.in_(ACCESS_ACTIONS[1:]),
            ]
            subject = {"case": case.ref}
        rows = session.scalars(
            select(AuditEvent)
            .where(or_(*about), AuditEvent.action.in_(ACCESS_ACTIONS))
            .order_by(AuditEvent.id.desc())
        )
        case_refs = dict(session.execute(select(Case.id, Case.ref)).all())
        return {
            **subject,
            "accesses": [
                {
                    "at": _iso(e.at),
                    "by": e.actor,
                    "action": e.action,
                    "case": case_refs.get(e.case_id) if e.case_id else None,
                }
                for e in rows
            ],
        }
