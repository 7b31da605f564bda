"""Stage: route. Act on the triage label, in one transaction with the letters it causes:

- a reply to one of our letters threads onto its case (more information, or a stage 2 request);
- a complaint opens a stage 1 case with its deadlines and the automatic acknowledgement;
- a service request gets its record and acknowledgement;
- an excluded matter, or anything the classifier is unsure of, waits for a person in the triage
  queue (never refused automatically, Code 2.1/2.5) with a neutral receipt meanwhile;
- mail that is not from a resident is recorded (bounces flag their case; spam is quarantined).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from worker import letter_facts
from worker.adapters.db_models import (
    Case,
    InboundMessage,
    Letter,
    Quarantine,
    Resident,
    ReviewItem,
    ServiceRequest,
)
from worker.bootstrap import App
from worker.domain import cases as machine
from worker.domain import letters
from worker.domain.errors import TransitionRefused
from worker.domain.mail_safety import assess
from worker.domain.parsing import bounced_message_ids, find_case_refs
from worker.domain.recipient import explain
from worker.domain.relatedness import seems_related
from worker.records import (
    Residents,
    audit,
    correspondence,
    ids_for,
    new_case,
    new_service_request,
    record_transition,
    save_state,
    state_of,
)
from worker.service import hazards as hazard_records
from worker.stages.batch import Next, Plan, note_inbound_error, run_plan
from worker.stages.compose import LetterRefused, SentCounts, queue_letter
from worker.stages.parse import ensure_decision, inbound_at, parsed_view, reply_address

# Service requests are answered under the landlord's service standards, not the Code's complaint
# timescales; this is the date the acknowledgement promises the next contact by.
SERVICE_REQUEST_DAYS = 10
ESCALATION_STATUSES = {machine.Status.STAGE1_RESPONDED.value}
BEFORE_RESPONSE = {
    machine.Status.PENDING_TRIAGE.value,
    machine.Status.STAGE1_OPEN.value,
    machine.Status.STAGE1_ACKNOWLEDGED.value,
}
# A stage is being worked on: a reply is more information for it (5.12, 6.8).
STAGE_OPEN = BEFORE_RESPONSE | {
    machine.Status.STAGE2_REQUESTED.value,
    machine.Status.STAGE2_ACKNOWLEDGED.value,
}


def plan(app: App, ids: list[int]) -> Plan[InboundMessage]:
    """Route a batch in one transaction; the letters it causes go on to be sent, as one batch."""
    letters: list[Letter] = []
    hazard_letters: list[tuple[int, Letter]] = []  # the teams told of hazards (SPEC 11)

    def work(session: Session, rows: Sequence[InboundMessage]) -> Callable[[InboundMessage], bool]:
        now = app.clock.now()
        letters.clear()  # a second, isolated run starts again
        hazard_letters.clear()
        batch = _Batch(session, app, rows)

        def one(row: InboundMessage) -> bool:
            router = _Router(app, session, row, batch)
            router.route()
            row.status = "done"
            row.attempts = 0
            row.touched_at = now
            letters.extend(router.letters)
            hazard_letters.extend((row.id, letter) for letter in router.hazard_letters)
            return True

        return one

    def finish(routed: list[int]) -> Next:
        done = set(routed)
        to_send = [
            letter.id
            for letter in letters
            if letter.status == "pending" and letter.cause_inbound_id in done
        ] + [letter.id for row_id, letter in hazard_letters if row_id in done]
        return [("send", to_send)]

    return Plan(
        "route",
        # In arrival order, so cases are numbered in the order residents wrote.
        lambda session: inbound_at(session, ids, "triaged"),
        work,
        lambda row: row.id,
        finish,
        note_inbound_error("route"),
    )


def run(app: App, ids: list[int]) -> Next:
    return run_plan(app, plan(app, ids))


class _Batch:
    """What the messages of one batch share, each looked up once for the whole batch."""

    def __init__(self, session: Session, app: App, rows: Sequence[InboundMessage]) -> None:
        self.ids = ids_for(app.db, session)
        for row in rows:
            ensure_decision(app, row)
        self.residents = Residents(session, [resident_address(r) for r in rows], self.ids)
        self.sent_counts = SentCounts()
        self.sent_counts.prefetch(session, app, rows)
        # Cases and requests opened in this transaction: no letter can exist for them yet.
        self.fresh_refs: set[str] = set()
        # Messages never routed before (no hazard record of theirs can exist yet).
        self.first_routed: set[int] = {r.id for r in rows if not r.outcome}
        # Worked out from the settings (every mailbox's URL parsed): once, not per message.
        self.own_addresses = app.own_addresses


class _Router:
    def __init__(
        self, app: App, session: Session, row: InboundMessage, batch: _Batch | None = None
    ) -> None:
        self.app = app
        self.session = session
        self.row = row
        self.batch = batch or _Batch(session, app, [row])
        self._reviewed = False
        self.letters: list[Letter] = []
        self.hazards: list[dict[str, Any]] = []
        self.hazard_letters: list[Letter] = []
        # Automatic letters not written because the sender's address is not trusted (SPEC
        # section 6): a person confirms the address, then ``write_held`` writes them.
        self.held: list[str] = []
        self.received: date = row.received_on or app.clock.today()
        # Kept by the parse stage: the message is never parsed twice.
        self.parsed = parsed_view(row)

    # -- decisions -------------------------------------------------------------------------

    def route(self) -> None:
        self.hazards = hazard_records.detections(self.app, self.row)  # Awaab's Law, SPEC 11
        self._route()
        # Whatever became of the message, each potential hazard gets its record and its team is
        # told at once (after the case or request exists, so the record links to it).
        self.hazard_letters = hazard_records.record(
            self.app,
            self.session,
            self.row,
            self.hazards,
            ids=self.batch.ids,
            fresh=self.row.id in self.batch.first_routed,
        )

    def _route(self) -> None:
        row = self.row
        parsed = self.parsed
        # A reply quoting one of our references threads to its case whatever the model thought
        # of its few words, unless the mail-safety rules say it is automatic (a bounce of our
        # letter carries our reference too, and must never be answered).
        automatic = assess(
            parsed.headers,
            row.from_addr,
            content_type=parsed.content_type,
            return_path=parsed.return_path or None,
            own_addresses=self.batch.own_addresses,
        ).automatic
        case = None if automatic else self.thread_case()
        service_request = (
            None
            if automatic or case is not None or row.label == "complaint"
            else self.thread_service_request()
        )
        if case is not None:
            self.reply_to_case(case)
        elif service_request is not None:
            self.reply_to_service_request(service_request)
        elif row.label == "not_resident_mail":
            self.not_resident_mail()
        elif row.label == "complaint" and not row.needs_review:
            self.open_complaint()
        elif row.label == "service_request" and not row.needs_review:
            self.open_service_request()
        else:
            self.hold_for_person()

    def thread_case(self) -> Case | None:
        """The case this message replies to: by In-Reply-To/References against the Message-IDs
        of our letters first (exact), then by a case reference in the subject or text."""
        # Not flushing first: an autoflush here wrote the batch's rows one message at a time.
        # What it looks for (letters already sent, refs a resident has been told) was committed
        # before this batch began.
        with self.session.no_autoflush:
            return self._thread_case()

    def _thread_case(self) -> Case | None:
        ids = [i for i in [self.row.in_reply_to, *self.row.references] if i]
        if ids:
            wanted = {f"<{i.strip('<>')}>" for i in ids}
            letter = self.session.scalar(
                select(Letter).where(Letter.message_id.in_(wanted), Letter.case_id.is_not(None))
            )
            if letter is not None:
                return self.session.get(Case, letter.case_id)
        for ref in find_case_refs(f"{self.row.subject}\n{self.row.text}"):
            case = self.session.scalar(select(Case).where(Case.ref == ref))
            if case is not None:
                return case
        return None

    def thread_service_request(self) -> ServiceRequest | None:
        """The service request a reply belongs to. Only for replies that are not complaints: a
        complaint about how a request is handled is a new case while the request goes on (1.5)."""
        with self.session.no_autoflush:  # as thread_case
            return self._thread_service_request()

    def _thread_service_request(self) -> ServiceRequest | None:
        ids = [i for i in [self.row.in_reply_to, *self.row.references] if i]
        if ids:
            wanted = {f"<{i.strip('<>')}>" for i in ids}
            letter = self.session.scalar(
                select(Letter).where(
                    Letter.message_id.in_(wanted), Letter.service_request_id.is_not(None)
                )
            )
            if letter is not None:
                return self.session.get(ServiceRequest, letter.service_request_id)
        for ref in find_case_refs(self.row.subject):
            found = self.session.scalar(select(ServiceRequest).where(ServiceRequest.ref == ref))
            if found is not None:
                return found
        return None

    def reply_to_service_request(self, service_request: ServiceRequest) -> None:
        self.row.service_request_id = service_request.id
        self.row.outcome = "threaded"
        correspondence(
            self.session,
            "in",
            self.app.clock.now(),
            "reply",
            service_request_id=service_request.id,
            inbound_id=self.row.id,
        )
        audit(
            self.session,
            "system",
            "service_request.correspondence",
            f"reply added to service request {service_request.ref}",
            inbound_id=self.row.id,
        )

    def open_complaint(self) -> None:
        resident = self.resident()
        case = self.create_case(resident, pending=False)
        if self.must_hold("stage1_acknowledgement", case):
            # Not acknowledged until the letter can go: the 5-day clock keeps running (6.2).
            return
        self.acknowledge_complaint(case)

    def acknowledge_complaint(self, case: Case) -> None:
        state = state_of(case)
        ack_on = self.acknowledge_on()
        state, event = machine.acknowledge(state, ack_on, self.app.calendar, machine.SYSTEM_ACTOR)
        save_state(self.session, case, state)
        record_transition(self.session, case, event)
        self.letter(
            "stage1_acknowledgement",
            letters.stage1_acknowledgement(
                self.app.landlord, self.recipient(case.resident), self.facts(case, state.stage1)
            ),
            case,
        )

    def open_service_request(self) -> None:
        resident = self.resident()
        extraction = self.row.extraction or {}
        due = self.app.calendar.add_working_days(self.received, SERVICE_REQUEST_DAYS)
        summary = _summary(extraction.get("issue", ""), self.row.subject, self.row.text)
        sr = new_service_request(
            self.session,
            resident,
            self.received,
            ids=self.batch.ids,
            origin_inbound_id=self.row.id,
            subject=self.row.subject,
            summary=summary,
            due_by=due,
        )
        self.batch.fresh_refs.add(sr.ref)
        self.row.service_request_id = sr.id
        self.row.outcome = "service_request"
        correspondence(
            self.session,
            "in",
            self.app.clock.now(),
            service_request_id=sr.id,
            inbound_id=self.row.id,
        )
        audit(
            self.session,
            "system",
            "service_request.opened",
            f"logged as a service request (1.4): {summary[:200]}",
            inbound_id=self.row.id,
            ref=sr.ref,
        )
        if self.must_hold("service_request_acknowledgement", None, sr):
            return
        self.acknowledge_service_request(sr, resident)

    def acknowledge_service_request(self, sr: ServiceRequest, resident: Resident) -> None:
        context = letters.service_request_acknowledgement(
            self.app.landlord,
            self.recipient(resident),
            ref=sr.ref,
            received=sr.received,
            summary=sr.summary,
            next_steps=(
                "The right team will look at your request and contact you to arrange what is "
                "needed."
            ),
            due_by=sr.due_by,
        )
        self.letter("service_request_acknowledgement", context, None, service_request=sr)

    def hold_for_person(self) -> None:
        """Excluded or unsure: a person decides. The 5-day clock is watched meanwhile."""
        resident = self.resident()
        case = self.create_case(resident, pending=True)
        case.proposed_label = self.row.label
        case.proposed_reason = self.row.reason
        # An untrusted address takes the message's one review item first; once a person has
        # dealt with the address, the item becomes this triage decision (worker/services.py).
        if self.must_hold("receipt", case):
            return
        self.review(case, self.row.label, self.row.reason)
        self.send_receipt(case)

    def send_receipt(self, case: Case) -> None:
        stage1 = state_of(case).stage1
        hear_by = stage1.acknowledge_by or stage1.received
        self.letter(
            "receipt",
            letters.receipt(
                self.app.landlord,
                self.recipient(case.resident),
                ref=case.ref,
                received=stage1.received,
                hear_by=hear_by,
            ),
            case,
        )

    def reply_to_case(self, case: Case) -> None:
        row = self.row
        row.case_id = case.id
        row.outcome = "threaded"
        correspondence(
            self.session, "in", self.app.clock.now(), "reply", case_id=case.id, inbound_id=row.id
        )
        known = {case.resident.email, *[e.lower() for e in case.resident.other_emails]}
        if case.resident.representative_email:
            known.add(case.resident.representative_email.lower())
        # The modern parser's reading of the sender (trusted, or the candidate a person would
        # confirm); the lenient reading only where it found nothing deliverable.
        sender = (row.recipient_address or row.from_addr).lower()
        if sender and sender not in known:
            # A different address quoting the reference: keep it on the case, but a person
            # confirms it is the resident before we write to that address.
            audit(
                self.session,
                "system",
                "case.reply_from_new_address",
                f"reply from {sender}, not the address on file",
                case_id=case.id,
                inbound_id=row.id,
            )
            self.review(case, "reply_from_new_address", "")
            return
        flags = row.flags or {}
        dissatisfied = row.label == "complaint" or bool(flags.get("escalation_request"))
        # A case closed after its stage 1 response can still be escalated (5.11, 6.10).
        after_stage1 = case.status in ESCALATION_STATUSES or (
            case.status == machine.Status.CLOSED.value and case.stage == 1
        )
        if after_stage1 and dissatisfied:
            self.escalate(case)
            return
        why = (
            "more information on the open complaint (6.8: related points join the open case)"
            if case.status in STAGE_OPEN
            else "correspondence on the case"
        )
        if (
            case.status in STAGE_OPEN
            and row.label == "complaint"
            and not seems_related(self.parsed.new_text, f"{case.subject}\n{case.understanding}")
        ):
            # 6.8: an unrelated issue is a new complaint. A person decides; it stays here until.
            why = "joined the open case, but it shares nothing with it: a person decides (6.8)"
            self.review(case, "possibly_new_issue", "")
        audit(
            self.session, "system", "case.correspondence", why, case_id=case.id, inbound_id=row.id
        )
        if case.status not in STAGE_OPEN and not after_stage1:
            # After a final response, a refusal or a withdrawal nothing automatic fits: a person
            # reads it.
            self.review(case, "reply_after_final", "")

    def escalate(self, case: Case) -> None:
        state = state_of(case)
        try:
            state, event = machine.request_escalation(
                state, self.received, self.app.calendar, machine.SYSTEM_ACTOR
            )
        except TransitionRefused as exc:
            audit(self.session, "system", "case.escalation_refused", str(exc), case_id=case.id)
            self.review(case, "escalation", "")
            return
        save_state(self.session, case, state)
        record_transition(self.session, case, event)
        if self.must_hold("stage2_acknowledgement", case):
            return  # the stage 2 request is recorded; acknowledged once the letter can go (6.11)
        self.acknowledge_escalation(case)

    def acknowledge_escalation(self, case: Case) -> None:
        state = state_of(case)
        ack_on = self.acknowledge_on()
        state, event = machine.acknowledge(state, ack_on, self.app.calendar, machine.SYSTEM_ACTOR)
        save_state(self.session, case, state)
        record_transition(self.session, case, event)
        stage2 = state.stage2
        assert stage2 is not None
        self.letter(
            "stage2_acknowledgement",
            letters.stage2_acknowledgement(
                self.app.landlord,
                self.recipient(case.resident),
                self.facts(case, stage2, escalated=stage2.received),
            ),
            case,
        )

    def not_resident_mail(self) -> None:
        row = self.row
        row.outcome = "recorded"
        if row.reason == "bounce":
            self.flag_bounced_letter()
        if row.reason == "spam":
            row.outcome = "quarantined"
            self.session.add(
                Quarantine(
                    inbound_id=row.id, kind="spam", reason="spam, kept for sampling", raw=row.raw
                )
            )
        if row.needs_review:
            # Looks automatic but may hold a resident's words: a person reads it; no letter.
            self.review(None, row.label, row.reason)
        audit(
            self.session,
            "system",
            "inbound.not_answered",
            f"not resident mail ({row.reason}); no automatic reply (RFC 3834, SPEC section 6)",
            inbound_id=row.id,
            rules=row.triage_reasons,
        )

    def flag_bounced_letter(self) -> None:
        ids = {f"<{i.strip('<>')}>" for i in bounced_message_ids(self.row.raw)}
        refs = find_case_refs(self.row.text)
        query = select(Letter)
        conditions = []
        if ids:
            conditions.append(Letter.message_id.in_(ids))
        if refs:
            conditions.append(Letter.ref.in_(refs))
        if not conditions:
            return
        for letter in self.session.scalars(query.where(or_(*conditions))):
            letter.bounced = True
            if letter.case_id:
                case = self.session.get(Case, letter.case_id)
                if case is not None:
                    case.flags = {**(case.flags or {}), "letter_bounced": letter.kind}
                    self.row.case_id = case.id
                audit(
                    self.session,
                    "system",
                    "letter.bounced",
                    f"{letter.kind} to {letter.recipient} bounced: reach the resident another way",
                    case_id=letter.case_id,
                    letter_id=letter.id,
                    inbound_id=self.row.id,
                )

    # -- building blocks -----------------------------------------------------------------------

    def resident(self) -> Resident:
        self.recipient_trusted()  # the decision exists before the record is chosen
        return self.batch.residents.get(resident_address(self.row), self.row.from_name)

    def create_case(self, resident: Resident, pending: bool) -> Case:
        row = self.row
        extraction = row.extraction or {}
        flags = row.flags or {}
        case = new_case(
            self.session,
            resident,
            self.received,
            ids=self.batch.ids,
            status="pending_triage" if pending else "stage1_open",
            origin_inbound_id=row.id,
            channel=row.source,
            subject=row.subject,
            understanding=_summary(extraction.get("issue", ""), row.subject, row.text),
            outcome_sought=str(extraction.get("outcome_sought", "") or ""),
            extraction=extraction,
            flags=flags,
            priority=bool(flags.get("vulnerability")),
            building_safety=bool(flags.get("building_safety")),
        )
        self.batch.fresh_refs.add(case.ref)
        state, event = machine.open_case(
            case.ref, self.received, self.app.calendar, pending_triage=pending
        )
        state.stage1.handler = self.default_handler(case)
        save_state(self.session, case, state)
        record_transition(self.session, case, event)
        row.case_id = case.id
        row.outcome = "case"
        correspondence(self.session, "in", self.app.clock.now(), case_id=case.id, inbound_id=row.id)
        if case.building_safety:
            audit(
                self.session,
                "system",
                "case.routed_building_safety",
                "complaint about safety in a building: allocated to the building safety lead "
                "(policy page)",
                case_id=case.id,
            )
        if case.priority:
            audit(
                self.session,
                "system",
                "case.prioritised",
                "vulnerability or risk mentioned: prioritised (6.1)",
                case_id=case.id,
            )
        return case

    def default_handler(self, case: Case) -> str:
        # Only a named role is set here; the stage 1 handler is otherwise whoever takes it on,
        # so that 6.13 (a different person at stage 2) is checked against a real person.
        landlord = self.app.landlord
        if case.building_safety and landlord.building_safety_lead_name:
            return landlord.building_safety_lead_name
        return ""

    def acknowledge_on(self) -> date:
        if self.app.replay:
            return self.app.calendar.roll_forward(self.received)
        return max(self.app.calendar.roll_forward(self.received), self.app.clock.today())

    def recipient(self, resident: Resident) -> letters.Recipient:
        return letter_facts.recipient(resident)

    def facts(
        self, case: Case, stage: machine.StageRecord, escalated: date | None = None
    ) -> letters.CaseFacts:
        return letter_facts.case_facts(self.app, case, stage, escalated)

    def review(
        self, case: Case | None, label: str, reason: str, evidence: list[str] | None = None
    ) -> None:
        # One item per message: one this router wrote is remembered, one written earlier (a
        # staff action routing the message again) is looked up, without flushing the batch.
        if self._reviewed:
            return
        self._reviewed = True
        with self.session.no_autoflush:
            existing = self.session.scalar(
                select(ReviewItem.id).where(ReviewItem.inbound_id == self.row.id)
            )
        if existing is not None:
            return
        self.session.add(
            ReviewItem(
                inbound_id=self.row.id,
                case_id=case.id if case else None,
                proposed_label=label,
                proposed_reason=reason,
                confidence=self.row.confidence,
                evidence=list(self.row.triage_reasons or []) if evidence is None else evidence,
            )
        )

    def letter(self, kind: str, context: dict[str, Any], case: Case | None, **kw: Any) -> None:
        if self.must_hold(kind, case, kw.get("service_request")):
            return
        if "@" not in self.row_reply_address():
            # Nowhere to write to: a person must reach the resident another way.
            self.review(case, "no_reply_address", kind)
            audit(
                self.session,
                "system",
                "letter.not_possible",
                f"{kind} not sent: the message has no address to reply to",
                case_id=case.id if case else None,
                inbound_id=self.row.id,
            )
            return
        ref = case.ref if case else kw["service_request"].ref
        if self.hazards and kind in hazard_records.ACKNOWLEDGEMENTS:
            # Awaab's Law: the resident is told it is treated as a potential hazard, and by when.
            notice = hazard_records.notice(self.app, self.hazards, self.row)
            context = {**context, "hazard_notice": notice}
        try:
            letter = queue_letter(
                self.session,
                self.app,
                kind=kind,
                context=context,
                dedupe_key=f"{ref}:{kind}"
                + (f":stage{case.stage}" if case and kind.startswith("stage2") else ""),
                recipient=self.row_reply_address(),
                recipient_name=self.row.from_name,
                case=case,
                in_reply_to=f"<{self.row.message_id}>" if self.row.message_id else "",
                cause_inbound_id=self.row.id,
                sent_counts=self.batch.sent_counts,
                ids=self.batch.ids,
                fresh=ref in self.batch.fresh_refs,
                **kw,
            )
        except LetterRefused:
            # The case stands; a person writes the letter the automatic one could not be.
            self.review(case, "letter_refused", kind)
            return
        if letter.status == "suppressed":
            # The per-sender cap held it back (a possible mail loop): a person makes sure the
            # resident hears from us some other way.
            self.review(case, "letter_suppressed", kind)
        self.letters.append(letter)

    def row_reply_address(self) -> str:
        # Letters go to the sender, never to a Reply-To nobody has confirmed as the resident's:
        # an acknowledgement repeats the complaint, which is personal information. The address
        # is the one the trusted-recipient decision read with the modern header parser (or a
        # person confirmed); an untrusted sender has none until a person confirms one.
        self.recipient_trusted()
        return reply_address(self.row)

    # -- trusted recipient (SPEC section 6, issue 7) --------------------------------------------

    def recipient_trusted(self) -> bool:
        ensure_decision(self.app, self.row)  # parsed before the decision existed
        return self.row.recipient_trust in ("trusted", "confirmed")

    def must_hold(
        self, kind: str, case: Case | None, service_request: ServiceRequest | None = None
    ) -> bool:
        """True (and the letter held, with a confirm_address item for a person) when ``kind``
        may not go automatically to this sender. A message with simply no address is left to
        ``letter`` (no_reply_address), as before."""
        if self.recipient_trusted():
            return False
        reasons = [str(r) for r in self.row.recipient_reasons or []]
        if "@" not in self.row.from_addr and all(r == "no_address" for r in reasons):
            return False
        if kind not in self.held:
            self.held.append(kind)
        shown = [explain(*r.split(": ", 1)) if ": " in r else explain(r) for r in reasons]
        self.review(case, "confirm_address", kind, evidence=shown)
        audit(
            self.session,
            "system",
            "letter.held",
            f"{kind} not sent: the sender's address is not trusted; a person confirms it first "
            f"(SPEC section 6): {'; '.join(reasons)}"[:2000],
            case_id=case.id if case else None,
            inbound_id=self.row.id,
            kind=kind,
            service_request=service_request.ref if service_request else None,
            reasons=reasons,
        )
        return True

    def write_held(self, kind: str) -> bool:
        """Write a letter held for an unconfirmed address, once a person has confirmed it: the
        same code as the automatic path, so the letter is the one it would have been, dated
        now. The outbox's dedupe key keeps it to one letter however often this runs. Returns
        whether the letter was still due (False: the case has moved on, e.g. a person already
        decided it)."""
        row = self.row
        case = self.session.get(Case, row.case_id) if row.case_id else None
        status = case.status if case is not None else ""
        if kind == "stage1_acknowledgement" and status == machine.Status.STAGE1_OPEN.value:
            assert case is not None
            self.acknowledge_complaint(case)
            return True
        if kind == "stage2_acknowledgement" and status == machine.Status.STAGE2_REQUESTED.value:
            assert case is not None
            self.acknowledge_escalation(case)
            return True
        if kind == "receipt" and status == machine.Status.PENDING_TRIAGE.value:
            assert case is not None
            self.send_receipt(case)
            return True
        if kind == "service_request_acknowledgement" and row.service_request_id:
            sr = self.session.get(ServiceRequest, row.service_request_id)
            resident = self.session.get(Resident, sr.resident_id) if sr else None
            if sr is not None and resident is not None:
                self.acknowledge_service_request(sr, resident)
                return True
        return False


def resident_address(row: InboundMessage) -> str:
    """The address the sender's resident record is kept under: the trusted (or confirmed)
    address, else a placeholder of this message's own. A doubtful From never joins, or creates,
    a record under an address nobody has confirmed; a person's confirmation gives the record its
    address (worker/services.py). Unrelated anonymous messages are never merged."""
    return reply_address(row) or f"unknown-sender-{row.id}"


def _summary(issue: object, subject: str, text: str) -> str:
    issue_text = str(issue or "").strip()
    if issue_text:
        return issue_text
    body = " ".join(text.split())
    if len(body) > 600:
        body = body[:600].rsplit(" ", 1)[0] + " ..."
    return f"{subject.strip()}: {body}" if subject.strip() else body
