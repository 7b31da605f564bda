"""The staff-facing service layer: every action a complaint handler or manager takes on a case.

The ``complaints case ...`` commands and the web console both call this, so the Code's rules
(checked by the pure state machine in worker/domain/cases.py) hold whichever way staff work.
Each action changes the case, writes the audit trail and queues its letter in one transaction;
the letter is then sent (or left pending for the worker if the mail server is away).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker import letter_facts
from worker.adapters.db_models import (
    Case,
    CaseAction,
    InboundMessage,
    Letter,
    Quarantine,
    Resident,
    ReviewItem,
    ServiceRequest,
)
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.domain import letters, recipient
from worker.domain.errors import TransitionRefused, UserError
from worker.pipeline import run_stage
from worker.records import (
    audit,
    correspondence,
    new_service_request,
    record_transition,
    save_state,
    state_of,
)
from worker.stages import route
from worker.stages.compose import LetterRefused, queue_letter, refuse_unconfirmed
from worker.stages.parse import ensure_decision

# What a person may decide on a case waiting in triage (Code 1.4, 2.1, 2.4, 2.5; SPEC section 3).
TRIAGE_DECISIONS = ("accept", "refuse", "service_request", "not_resident_mail")
NOT_RESIDENT_REASONS = ("auto_reply", "bounce", "bulk", "spam")

# Review items that are not a decision on a pending case, and what a person may record for each.
# ``automatic_mail`` is the route stage's "looks automatic but may hold a resident's words"
# (proposed_label not_resident_mail, no case).
REVIEW_OUTCOMES: dict[str, tuple[str, ...]] = {
    "reply_from_new_address": ("same_resident", "different_person"),
    "reply_after_final": ("done",),
    "escalation": ("done",),
    "letter_refused": ("done",),
    "letter_suppressed": ("done",),
    "no_reply_address": ("done",),
    "automatic_mail": ("open_case", "no_action"),
    # A reply before the stage 1 response that shares nothing with its case (6.8).
    "possibly_new_issue": ("same_matter", "open_case"),
    # An automatic letter held because the sender's address is not trusted (SPEC section 6,
    # "Trusted recipient"); proposed_reason is the held letter's kind.
    "confirm_address": ("address_confirmed", "do_not_write"),
}
OUTCOME_LABELS = {
    "same_resident": "It is the resident: add the address to their record",
    "different_person": "It is someone else: do not write to that address about this case",
    "done": "Dealt with: say what was done",
    "open_case": "It is a complaint: open a stage 1 case and send the acknowledgement",
    "no_action": "Nothing for us to do",
    "same_matter": "It is part of the same complaint: it stays on this case",
    "address_confirmed": "The address is the resident's: send the held letter to it",
    "do_not_write": "Do not write to this address: we will reach the resident another way",
}


def review_kind(item: ReviewItem) -> str:
    """Which of REVIEW_OUTCOMES applies to an open review item, or "" when the item is a
    decision on a pending case (``decide_triage``)."""
    if item.proposed_label in REVIEW_OUTCOMES:
        return item.proposed_label
    if item.case_id is None and item.proposed_label == "not_resident_mail":
        return "automatic_mail"
    return ""


class CaseNotFound(UserError):
    pass


class StaffService:
    def __init__(self, app: App) -> None:
        self.app = app

    @classmethod
    def from_settings(cls) -> StaffService:
        return cls(bootstrap())

    # -- reading -----------------------------------------------------------------------------

    def show(self, ref: str) -> dict[str, Any]:
        with self.app.db.session() as session:
            case = self._case(session, ref)
            state = state_of(case)
            stage = machine.current_stage(state)
            sent = session.scalars(
                select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)
            ).all()
            actions = session.scalars(
                select(CaseAction).where(CaseAction.case_id == case.id).order_by(CaseAction.id)
            ).all()
            return {
                "ref": case.ref,
                "stage": stage.stage,
                "status": state.status.value,
                "handler": stage.handler,
                "deadlines": {
                    "acknowledge_by": _iso(stage.acknowledge_by),
                    "respond_by": _iso(stage.respond_by),
                },
                "letters": [
                    {
                        "kind": letter.kind,
                        "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
                    }
                    for letter in sent
                ],
                # Extensions of the contract (SPEC section 9 allows adding, never changing).
                "received": stage.received.isoformat(),
                "acknowledged": _iso(stage.acknowledged),
                "responded": _iso(stage.responded),
                "extension_days": stage.extension_days,
                "flags": case.flags or {},
                "resident": case.resident.email,
                "actions": [
                    {
                        "id": a.id,
                        "kind": a.kind,
                        "text": a.text,
                        "due": _iso(a.due),
                        "completed_on": _iso(a.completed_on),
                    }
                    for a in actions
                ],
            }

    # -- actions -----------------------------------------------------------------------------

    def assign(
        self, ref: str, handler: str, *, by: str, stage: int | None = None
    ) -> dict[str, Any]:
        with self.app.db.session() as session:
            case = self._case(session, ref)
            state = state_of(case)
            which = stage or machine.current_stage(state).stage
            state, event = machine.assign(state, which, handler, by, self.app.clock.today())
            save_state(session, case, state)
            record_transition(session, case, event)
            return {"ref": ref, "stage": which, "handler": handler.strip()}

    def extend(
        self,
        ref: str,
        *,
        days: int,
        reason: str,
        by: str,
        good_reason: str = "",
        approved_by: str = "",
        next_contact: date | None = None,
    ) -> dict[str, Any]:
        today = self.app.clock.today()
        with self.app.db.session() as session:
            case = self._case(session, ref)
            before = state_of(case)
            old_date = machine.current_stage(before).respond_by
            state, event = machine.extend(
                before, days, reason, by, today, self.app.calendar, good_reason, approved_by
            )
            stage = machine.current_stage(state)
            assert old_date is not None and stage.respond_by is not None
            save_state(session, case, state)
            record_transition(session, case, event)
            context = letters.extension_notice(
                self.app.landlord,
                letter_facts.recipient(case.resident),
                letter_facts.case_facts(self.app, case, stage, _escalated(state)),
                original_respond_by=old_date,
                new_respond_by=stage.respond_by,
                reason=reason,
                next_contact=next_contact or stage.respond_by,
            )
            letter = self._letter(
                session,
                case,
                "extension_notice",
                context,
                key=f"{ref}:extension_notice:stage{stage.stage}:{stage.extension_days}",
                actor=by,
            )
            result = {
                "ref": ref,
                "stage": stage.stage,
                "original_respond_by": old_date.isoformat(),
                "respond_by": stage.respond_by.isoformat(),
                "extension_days": stage.extension_days,
            }
        self._send(letter)
        return result

    def respond(
        self,
        ref: str,
        *,
        decision: str,
        reasons: str,
        by: str,
        remedy: str = "",
        no_remedy_reason: str = "",
        actions: Sequence[tuple[str, date]] = (),
        points: Sequence[str] = (),
        remedy_amount: float | None = None,
    ) -> dict[str, Any]:
        today = self.app.clock.today()
        if not reasons.strip():
            raise UserError("a response needs its reasons, citing policy, law or good practice")
        with self.app.db.session() as session:
            case = self._case(session, ref)
            state, event = machine.respond(state_of(case), today, by, decision)
            stage = machine.current_stage(state)
            final = stage.stage == 2
            action_list = [letters.Action(text=text, due=due) for text, due in actions]
            point_pairs = _points(points, case.understanding, decision)
            context = letters.stage_response(
                self.app.landlord,
                letter_facts.recipient(case.resident),
                letter_facts.case_facts(self.app, case, stage, _escalated(state)),
                decision=decision,
                points=point_pairs,
                reasons=reasons,
                remedy=remedy,
                actions=action_list,
                final=final,
                no_remedy_reason=no_remedy_reason,
            )
            kind = "stage2_final_response" if final else "stage1_response"
            # Checked before anything is saved: a response missing an element is refused whole.
            letter = self._letter(session, case, kind, context, key=f"{ref}:{kind}", actor=by)
            save_state(session, case, state)
            record_transition(session, case, event)
            row = next(s for s in case.stages if s.stage == stage.stage)
            row.reasons = reasons
            row.remedy = remedy or no_remedy_reason
            for text, due in actions:
                session.add(CaseAction(case_id=case.id, stage=stage.stage, text=text, due=due))
            if remedy:
                pence = round(remedy_amount * 100) if remedy_amount is not None else None
                session.add(
                    CaseAction(
                        case_id=case.id,
                        stage=stage.stage,
                        kind="remedy",
                        text=remedy,
                        amount_pence=pence,
                    )
                )
            result = {
                "ref": ref,
                "stage": stage.stage,
                "decision": decision,
                "letter": kind,
                "responded": today.isoformat(),
            }
        self._send(letter)
        return result

    def escalate(
        self, ref: str, *, received: date | None = None, by: str = "staff"
    ) -> dict[str, Any]:
        """A stage 2 request taken by phone or in person; no reason is demanded (6.12)."""
        today = self.app.clock.today()
        when = received or today
        if when > today:
            raise UserError(f"--received {when.isoformat()} is in the future")
        with self.app.db.session() as session:
            case = self._case(session, ref)
            state, event = machine.request_escalation(state_of(case), when, self.app.calendar, by)
            save_state(session, case, state)
            record_transition(session, case, event)
            state, event = machine.acknowledge(state, today, self.app.calendar, by)
            save_state(session, case, state)
            record_transition(session, case, event)
            stage2 = state.stage2
            assert stage2 is not None
            context = letters.stage2_acknowledgement(
                self.app.landlord,
                letter_facts.recipient(case.resident),
                letter_facts.case_facts(self.app, case, stage2, stage2.received),
            )
            letter = self._letter(
                session,
                case,
                "stage2_acknowledgement",
                context,
                key=f"{ref}:stage2_acknowledgement:stage2",
                actor=by,
            )
            result = {
                "ref": ref,
                "stage": 2,
                "status": state.status.value,
                "acknowledge_by": _iso(stage2.acknowledge_by),
                "respond_by": _iso(stage2.respond_by),
            }
        self._send(letter)
        return result

    def decide_triage(
        self,
        ref: str,
        *,
        decision: str,
        reason: str,
        by: str,
        where_instead: str = "",
        exclusion: str = "",
        mail_reason: str = "",
    ) -> dict[str, Any]:
        """A person decides a triage item: accept it as a complaint (2.1), refuse it with
        written reasons and the refusal letter (2.4), relabel it as a first service request (1.4),
        or record it as mail that is not from a resident. Never done automatically (2.5)."""
        if not reason.strip():
            raise UserError("a triage decision needs a written reason")
        if decision == "service_request":
            return self._relabel_service_request(ref, reason=reason, by=by)
        if decision == "not_resident_mail":
            return self._not_resident_mail(ref, reason=reason, by=by, mail_reason=mail_reason)
        today = self.app.clock.today()
        with self.app.db.session() as session:
            case = self._case(session, ref)
            state = state_of(case)
            recipient = letter_facts.recipient(case.resident)
            if decision == "accept":
                state, event = machine.accept_from_triage(state, by, today, reason)
                save_state(session, case, state)
                record_transition(session, case, event)
                state, event = machine.acknowledge(state, today, self.app.calendar, by)
                save_state(session, case, state)
                record_transition(session, case, event)
                kind = "stage1_acknowledgement"
                context = letters.stage1_acknowledgement(
                    self.app.landlord,
                    recipient,
                    letter_facts.case_facts(self.app, case, state.stage1),
                )
            elif decision == "refuse":
                code = exclusion or case.proposed_reason
                if not code:
                    raise UserError("refusing needs the exclusion reason (--exclusion)")
                state, event = machine.refuse(state, by, today, reason)
                save_state(session, case, state)
                record_transition(session, case, event)
                kind = "refusal"
                if code == "survey_feedback":
                    # Survey feedback is not refused as a complaint: the reply tells the
                    # resident how to make one if they want to (1.6).
                    kind = "survey_reply"
                    context = letters.survey_reply(
                        self.app.landlord, recipient, ref=ref, received=state.stage1.received
                    )
                try:
                    if kind == "refusal":
                        context = letters.refusal(
                            self.app.landlord,
                            recipient,
                            ref=ref,
                            received=state.stage1.received,
                            reason_code=code,
                            reasons_text=reason,
                            where_instead=where_instead,
                        )
                except ValueError as exc:
                    raise UserError(str(exc)) from None
            else:
                raise UserError(
                    f"decision must be one of {', '.join(TRIAGE_DECISIONS)}, got {decision!r}"
                )
            letter = self._letter(session, case, kind, context, key=f"{ref}:{kind}", actor=by)
            self._decide_items(session, case, decision, reason, by)
            audit(
                session,
                by,
                f"triage.{decision}",
                reason,
                case_id=case.id,
                exclusion=exclusion or case.proposed_reason,
            )
            result = {
                "ref": ref,
                "decision": decision,
                "status": state.status.value,
                "letter": kind,
            }
        self._send(letter)
        return result

    def _relabel_service_request(self, ref: str, *, reason: str, by: str) -> dict[str, Any]:
        """The item is a first request for a service, not a complaint (1.4): log it as a service
        request, end the case (withdrawn, with the reason: the resident did not complain) and send
        the service request acknowledgement, which says how to complain if unhappy (1.3)."""
        today = self.app.clock.today()
        with self.app.db.session() as session:
            case, state = self._pending_case(session, ref, "relabelled as a service request")
            actor = " ".join(by.split())
            origin = (
                session.get(InboundMessage, case.origin_inbound_id)
                if case.origin_inbound_id
                else None
            )
            if origin is not None and origin.service_request_id is not None:
                raise UserError(f"the message of case {case.ref} is already a service request")
            due = self.app.calendar.add_working_days(
                self.app.calendar.roll_forward(today), route.SERVICE_REQUEST_DAYS
            )
            sr = new_service_request(
                session,
                case.resident,
                state.stage1.received,
                origin_inbound_id=case.origin_inbound_id,
                subject=case.subject,
                summary=case.understanding,
                due_by=due,
            )
            why = f"relabelled by a person as a service request {sr.ref} (1.4): {reason.strip()}"
            state, event = machine.withdraw(state, actor, today, why)
            save_state(session, case, state)
            record_transition(session, case, event)
            if origin is not None:
                origin.service_request_id = sr.id
                origin.outcome = "service_request"
                correspondence(
                    session,
                    "in",
                    self.app.clock.now(),
                    service_request_id=sr.id,
                    inbound_id=origin.id,
                )
            audit(
                session,
                actor,
                "service_request.opened",
                f"logged as a service request (1.4) from case {case.ref}: "
                f"{case.understanding[:200]}",
                inbound_id=origin.id if origin else None,
                ref=sr.ref,
                case_ref=case.ref,
            )
            recipient = letter_facts.recipient(case.resident)
            context = letters.service_request_acknowledgement(
                self.app.landlord,
                recipient,
                ref=sr.ref,
                received=state.stage1.received,
                summary=case.understanding or case.subject,
                next_steps=(
                    "The right team will look at your request and contact you to arrange what is "
                    "needed."
                ),
                due_by=due,
            )
            letter = self._service_request_letter(session, case, sr, context, origin, actor)
            self._decide_items(session, case, "service_request", reason, actor)
            audit(
                session,
                actor,
                "triage.service_request",
                reason.strip(),
                case_id=case.id,
                letter_id=letter.id if letter else None,
                service_request=sr.ref,
            )
            result = {
                "ref": case.ref,
                "decision": "service_request",
                "status": state.status.value,
                "letter": "service_request_acknowledgement" if letter else None,
                "service_request": sr.ref,
                "due_by": due.isoformat(),
            }
        if letter is not None:
            self._send(letter)
        return result

    def _not_resident_mail(
        self, ref: str, *, reason: str, by: str, mail_reason: str = ""
    ) -> dict[str, Any]:
        """The item is not from a resident (auto-reply, bounce, bulk mail, spam): the case ends as
        withdrawn with the reason and nothing is sent (SPEC sections 3 and 6)."""
        if mail_reason and mail_reason not in NOT_RESIDENT_REASONS:
            raise UserError(
                f"the kind of mail must be one of {', '.join(NOT_RESIDENT_REASONS)}, "
                f"got {mail_reason!r}"
            )
        today = self.app.clock.today()
        with self.app.db.session() as session:
            case, state = self._pending_case(session, ref, "recorded as not resident mail")
            actor = " ".join(by.split())
            kind = mail_reason or "not from a resident"
            why = f"not resident mail ({kind}), decided by a person; no letter: {reason.strip()}"
            state, event = machine.withdraw(state, actor, today, why)
            save_state(session, case, state)
            record_transition(session, case, event)
            origin = (
                session.get(InboundMessage, case.origin_inbound_id)
                if case.origin_inbound_id
                else None
            )
            if origin is not None and mail_reason == "spam":
                already = session.scalar(
                    select(Quarantine).where(
                        Quarantine.inbound_id == origin.id, Quarantine.kind == "spam"
                    )
                )
                if already is None:
                    # Spam is quarantined for sampling review, not deleted (SPEC section 6).
                    session.add(
                        Quarantine(
                            inbound_id=origin.id,
                            kind="spam",
                            reason=f"spam, decided by {actor}, kept for sampling",
                            raw=origin.raw,
                        )
                    )
                origin.outcome = "quarantined"
            self._decide_items(session, case, "not_resident_mail", reason, actor)
            audit(
                session,
                actor,
                "triage.not_resident_mail",
                reason.strip(),
                case_id=case.id,
                inbound_id=origin.id if origin else None,
                mail_reason=mail_reason,
            )
            return {
                "ref": case.ref,
                "decision": "not_resident_mail",
                "status": state.status.value,
                "letter": None,
            }

    def resolve_review(
        self, item_id: int, *, outcome: str, reason: str, by: str, address: str = ""
    ) -> dict[str, Any]:
        """Close a review item that is not a decision on a pending case, recording what the
        person found or did (see REVIEW_OUTCOMES). ``open_case`` runs the route stage's complaint
        path for the message, as if triage had labelled it a complaint. ``address``: on a
        confirm_address item, the corrected address a person typed instead of the candidate."""
        actor = " ".join(by.split())
        if not actor:
            raise UserError("resolving a review item needs the name of who did it (5.12)")
        if not reason.strip():
            raise UserError("resolving a review item needs a reason: what was found or done")
        typed = ""
        if address.strip():
            if outcome != "address_confirmed":
                raise UserError("an address can only be given when confirming an address")
            try:
                typed = recipient.typed_address(address)
            except recipient.UnusableAddress as exc:
                raise UserError(f"the corrected address cannot be used: {exc}") from None
        with self.app.db.session() as session:
            item, kind = self._open_review(session, item_id)
            if outcome not in REVIEW_OUTCOMES[kind]:
                raise UserError(
                    f"review item {item_id} ({kind.replace('_', ' ')}) takes outcome "
                    f"{' or '.join(REVIEW_OUTCOMES[kind])}, got {outcome!r}"
                )
            message = session.get(InboundMessage, item.inbound_id)
            assert message is not None
            case = session.get(Case, item.case_id) if item.case_id else None
            resident_email = case.resident.email if case is not None else ""
            # The modern parser's reading of the sender, never the lenient one kept for display.
            ensure_decision(self.app, message)
            new_address = message.recipient_address or ""
        if outcome == "same_resident":
            self._add_address(resident_email, new_address, actor)
        letters_out: list[Letter] = []
        with self.app.db.session() as session:
            item, kind = self._open_review(session, item_id)
            message = session.get(InboundMessage, item.inbound_id)
            assert message is not None
            ref = ""
            still_open = ""
            reopen: tuple[str, str] | None = None
            if outcome == "open_case":
                ref, letters_out, still_open = self._open_complaint(session, item, message)
            elif item.case_id is not None:
                case = session.get(Case, item.case_id)
                ref = case.ref if case is not None else ""
            if kind == "confirm_address":
                letters_out, still_open, reopen = self._confirm_address(
                    session, item, message, outcome, reason.strip(), actor, typed
                )
                if not ref and message.service_request_id:
                    sr = session.get(ServiceRequest, message.service_request_id)
                    ref = sr.ref if sr is not None else ""
            now = self.app.clock.now()
            if reopen is not None and not still_open:
                # The address is dealt with; the case still waits for a person's triage
                # decision, so the item stays in the queue as that decision.
                item.proposed_label, item.proposed_reason = reopen
                item.evidence = list(message.triage_reasons or [])
            elif still_open:
                # The case is open but its acknowledgement could not be written: the item stays
                # in the queue as that problem, so a person reaches the resident another way.
                item.proposed_label = still_open
                if kind != "confirm_address":  # its reason already names the held letter
                    item.proposed_reason = "stage1_acknowledgement"
            else:
                item.status = "decided"
                item.decision = outcome
                item.decision_reason = reason.strip()
                item.decided_by = actor
                item.decided_at = now
            audit(
                session,
                actor,
                f"review.{outcome}",
                reason.strip(),
                case_id=item.case_id,
                inbound_id=message.id,
                item=item.id,
                kind=kind,
                address=new_address
                if kind == "reply_from_new_address"
                else message.recipient_address
                if kind == "confirm_address"
                else None,
            )
            result = {
                "item": item.id,
                "kind": kind,
                "outcome": outcome,
                "ref": ref or None,
                "status": item.status,
                "letters": [letter.kind for letter in letters_out],
            }
        for letter in letters_out:
            self._send(letter)
        return result

    def _open_review(self, session: Session, item_id: int) -> tuple[ReviewItem, str]:
        item = session.get(ReviewItem, item_id)
        if item is None:
            raise UserError(f"no review item {item_id}")
        if item.status != "open":
            raise UserError(
                f"review item {item_id} was already decided ({item.decision}) by {item.decided_by}"
            )
        kind = review_kind(item)
        if not kind:
            raise UserError(
                f"review item {item_id} is a decision on a case waiting in triage: decide it "
                f"({', '.join(TRIAGE_DECISIONS)})"
            )
        return item, kind

    def _add_address(self, email: str, address: str, actor: str) -> None:
        from worker.residents import ResidentService

        if not email:
            raise UserError("this item has no case, so no resident to add the address to")
        if not address or "@" not in address:
            raise UserError("the message has no sender address to add")
        if "@" not in email:
            # The case's record has no address yet (its sender's was doubtful): this becomes it.
            from worker.residents import give_confirmed_address

            with self.app.db.session() as session:
                resident = session.scalar(select(Resident).where(Resident.email == email))
                if resident is not None:
                    give_confirmed_address(session, resident, address, by=actor)
                    return
        shown = ResidentService(self.app).show(email)
        if address.lower() in [email.lower(), *shown["other_emails"]]:
            return  # already theirs (a retry after a failure): nothing to add
        ResidentService(self.app).add_other_email(email, address, by=actor)

    def _open_complaint(
        self, session: Session, item: ReviewItem, message: InboundMessage
    ) -> tuple[str, list[Letter], str]:
        """Run the route stage's complaint path for ``message`` as if triage had said complaint:
        a stage 1 case, its deadlines and the acknowledgement (the route stage's own code)."""
        opened = session.scalar(select(Case.ref).where(Case.origin_inbound_id == message.id))
        if opened is not None or message.service_request_id is not None:
            raise UserError(f"message {message.id} already opened {opened or 'a service request'}")
        message.label = "complaint"
        message.reason = ""
        message.needs_review = False
        router = route._Router(self.app, session, message)
        router.open_complaint()
        session.flush()
        case = session.get(Case, message.case_id) if message.case_id else None
        if case is None:
            raise UserError(f"no case could be opened for message {message.id}")
        item.case_id = case.id
        audit(
            session,
            "system",
            "case.opened_from_review",
            "a person opened a stage 1 case for this message from the triage queue",
            case_id=case.id,
            inbound_id=message.id,
        )
        still_open = ""
        if router.held:
            still_open = "confirm_address"  # the address is not trusted: a person confirms it
        elif not router.letters:
            reply_to = router.row_reply_address()
            still_open = "no_reply_address" if "@" not in reply_to else "letter_refused"
        return case.ref, [x for x in router.letters if x.status == "pending"], still_open

    def _confirm_address(
        self,
        session: Session,
        item: ReviewItem,
        message: InboundMessage,
        outcome: str,
        reason: str,
        actor: str,
        typed: str = "",
    ) -> tuple[list[Letter], str, tuple[str, str] | None]:
        """A person has looked at a sender's address the trusted-recipient decision doubted.
        ``address_confirmed``: the sender's record takes the address (the candidate, or
        ``typed``: a corrected address the person gave, already checked) and the held letter is
        written now, to that address, once (the route stage's own code, with the outbox's dedupe
        key); ``do_not_write``: nothing is ever sent to it automatically. Returns the letters
        to send, the kind of problem the item stays open as ("" if none) and, for a case still
        waiting in triage, the triage proposal the item becomes."""
        letters_out: list[Letter] = []
        still_open = ""
        if outcome == "address_confirmed":
            address = typed or (message.recipient_address or "").strip()
            if "@" not in address:
                raise UserError(
                    f"review item {item.id}: the message has no address we could deliver to; "
                    "give the right one (--address), or choose do_not_write and reach the "
                    "resident another way"
                )
            candidate = (message.recipient_address or "").strip()
            message.recipient_trust = "confirmed"
            message.recipient_address = address
            from worker.residents import give_confirmed_address

            resident = self._sender_record(session, item, message)
            if resident is not None:
                give_confirmed_address(session, resident, address, by=actor, inbound_id=message.id)
                session.flush()
            router = route._Router(self.app, session, message)
            expected = router.write_held(item.proposed_reason)
            session.flush()
            letters_out = [x for x in router.letters if x.status == "pending"]
            if expected and not router.letters:
                still_open = "letter_refused"  # a person writes the letter the code could not
            why = f"address {address} confirmed by {actor}: {reason}"
            if address != candidate:
                why += f" (a corrected address; the message gave {candidate or 'none usable'})"
        else:
            message.recipient_trust = "do_not_write"
            why = f"{actor} chose not to write to the sender's address: {reason}"
        audit(
            session,
            actor,
            f"recipient.{outcome}",
            why,
            case_id=item.case_id,
            inbound_id=message.id,
            held=item.proposed_reason,
        )
        case = session.get(Case, item.case_id) if item.case_id else None
        reopen = None
        if case is not None and case.status == machine.Status.PENDING_TRIAGE.value:
            reopen = (
                case.proposed_label or message.label or "complaint",
                case.proposed_reason or message.reason or "",
            )
        return letters_out, still_open, reopen

    def _sender_record(
        self, session: Session, item: ReviewItem, message: InboundMessage
    ) -> Resident | None:
        """The resident record the message's case or service request was opened under."""
        case = session.get(Case, item.case_id or message.case_id or -1)
        if case is not None:
            return case.resident
        sr = session.get(ServiceRequest, message.service_request_id or -1)
        return session.get(Resident, sr.resident_id) if sr is not None else None

    def _decide_items(
        self, session: Session, case: Case, decision: str, reason: str, by: str
    ) -> None:
        """Mark the case's open triage items decided; items about something else (a reply from
        a new address, a letter that could not be written) stay for a person."""
        for item in session.scalars(
            select(ReviewItem).where(ReviewItem.case_id == case.id, ReviewItem.status == "open")
        ):
            if review_kind(item):
                continue
            item.status = "decided"
            item.decision = decision
            item.decision_reason = reason
            item.decided_by = by
            item.decided_at = self.app.clock.now()

    def _service_request_letter(
        self,
        session: Session,
        case: Case,
        sr: ServiceRequest,
        context: dict[str, object],
        origin: InboundMessage | None,
        actor: str,
    ) -> Letter | None:
        recipient = letter_facts.recipient(case.resident)
        if "@" not in recipient.email:
            try:
                refuse_unconfirmed(session, "service_request_acknowledgement", case, sr)
            except LetterRefused as exc:
                raise TransitionRefused(str(exc)) from None
            audit(
                session,
                actor,
                "letter.not_possible",
                "service_request_acknowledgement not sent: no address to write to; reach the "
                "resident another way",
                case_id=case.id,
                ref=sr.ref,
            )
            return None
        try:
            return queue_letter(
                session,
                self.app,
                kind="service_request_acknowledgement",
                context=context,
                dedupe_key=f"{sr.ref}:service_request_acknowledgement",
                recipient=recipient.email,
                recipient_name=recipient.name,
                service_request=sr,
                automatic=False,
                in_reply_to=f"<{origin.message_id}>" if origin and origin.message_id else "",
                actor=actor,
                cause_inbound_id=origin.id if origin else None,
            )
        except LetterRefused as exc:
            raise TransitionRefused(str(exc)) from None

    def close(self, ref: str, *, by: str, why: str = "") -> dict[str, Any]:
        """Close a case once it has been answered (6.3, 6.14). A case closed after its stage 1
        response can still be escalated if the resident asks (6.10)."""
        with self.app.db.session() as session:
            case = self._case(session, ref)
            state, event = machine.close(state_of(case), by, self.app.clock.today(), why)
            save_state(session, case, state)
            record_transition(session, case, event)
            case.closed_on = self.app.clock.today()
            return {
                "ref": case.ref,
                "status": state.status.value,
                "closed_on": _iso(case.closed_on),
            }

    def complete_action(
        self, ref: str, action_id: int, *, by: str, on: date | None = None
    ) -> dict[str, Any]:
        with self.app.db.session() as session:
            case = self._case(session, ref)
            action = session.get(CaseAction, action_id)
            if action is None or action.case_id != case.id:
                raise UserError(f"case {ref} has no action {action_id}")
            if action.completed_on is not None:
                raise UserError(
                    f"action {action_id} was completed on {action.completed_on.isoformat()}"
                )
            if not by.strip():
                raise UserError("completing an action needs the name of who did it")
            action.completed_on = on or self.app.clock.today()
            action.completed_by = by.strip()
            audit(
                session,
                by,
                f"{action.kind}.completed",
                action.text,
                case_id=case.id,
                action_id=action.id,
            )
            return {
                "ref": ref,
                "action": action_id,
                "completed_on": action.completed_on.isoformat(),
            }

    # -- helpers -----------------------------------------------------------------------------

    def _pending_case(
        self, session: Session, ref: str, what: str
    ) -> tuple[Case, machine.CaseState]:
        """The case and its state, when it is waiting in triage; refused otherwise."""
        case = self._case(session, ref)
        state = state_of(case)
        if state.status is not machine.Status.PENDING_TRIAGE:
            raise UserError(
                f"case {case.ref} is {state.status.value}: only a case waiting in triage can be "
                f"{what}"
            )
        return case, state

    def _case(self, session: Session, ref: str) -> Case:
        case = session.scalar(select(Case).where(Case.ref == ref.strip().upper()))
        if case is None:
            raise CaseNotFound(f"no case with reference {ref!r}")
        return case

    def _letter(
        self,
        session: Session,
        case: Case,
        kind: str,
        context: dict[str, object],
        *,
        key: str,
        actor: str,
    ) -> Letter:
        origin = (
            session.get(InboundMessage, case.origin_inbound_id) if case.origin_inbound_id else None
        )
        recipient = letter_facts.recipient(case.resident)
        try:
            return queue_letter(
                session,
                self.app,
                kind=kind,
                context=context,
                dedupe_key=key,
                recipient=recipient.email,
                recipient_name=recipient.name,
                case=case,
                automatic=False,
                in_reply_to=f"<{origin.message_id}>" if origin and origin.message_id else "",
                actor=actor,
            )
        except LetterRefused as exc:
            raise TransitionRefused(str(exc)) from None

    def _send(self, letter: Letter) -> None:
        """Send now; if the mail server is away the letter stays in the outbox for the worker."""
        if letter.status != "pending":
            return
        try:
            run_stage(self.app, "send", letter.id, chain=False)
        except Exception:  # noqa: BLE001 - recorded on the letter; the worker retries it
            pass


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _escalated(state: machine.CaseState) -> date | None:
    return state.stage2.received if state.stage2 is not None else None


def _points(points: Sequence[str], understanding: str, decision: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for point in points:
        text, sep, verdict = point.rpartition("=")
        if not sep or verdict.strip() not in machine.DECISIONS or not text.strip():
            raise UserError(
                f'--point {point!r} must look like "WHAT WAS COMPLAINED ABOUT=upheld" '
                f"(decision one of {', '.join(machine.DECISIONS)})"
            )
        pairs.append((text.strip(), verdict.strip()))
    return pairs or [(understanding, decision)]
