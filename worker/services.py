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
from worker.adapters.db_models import Case, CaseAction, InboundMessage, Letter, ReviewItem
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.domain import letters
from worker.domain.errors import TransitionRefused, UserError
from worker.pipeline import run_stage
from worker.records import audit, record_transition, save_state, state_of
from worker.stages.compose import LetterRefused, queue_letter


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
    ) -> dict[str, Any]:
        """A person decides a triage item: accept it as a complaint (2.1), or refuse it with
        written reasons and the refusal letter (2.4). Never done automatically (2.5)."""
        if not reason.strip():
            raise UserError("a triage decision needs a written reason")
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
                raise UserError(f"decision must be accept or refuse, got {decision!r}")
            letter = self._letter(session, case, kind, context, key=f"{ref}:{kind}", actor=by)
            for item in session.scalars(
                select(ReviewItem).where(ReviewItem.case_id == case.id, ReviewItem.status == "open")
            ):
                item.status = "decided"
                item.decision = decision
                item.decision_reason = reason
                item.decided_by = by
                item.decided_at = self.app.clock.now()
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
