"""Stage: watch deadlines. A periodic sweep that raises an audit event when a case deadline, or an
outstanding action or remedy, becomes due within 2 working days or overdue (SPEC sections 4, 7).

Each (case, deadline, date, status) is raised once: the sweep reads the events it wrote before, so
running it every loop, or in a restarted worker, writes nothing new until something changes. A
deadline that moves (an extension, a recomputed calendar) is a new deadline and is watched again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import select

from worker.adapters.db_models import AuditEvent, Case, CaseAction
from worker.bootstrap import App
from worker.domain.cases import TERMINAL, CaseState, Status, current_stage
from worker.domain.timescales import RiskStatus, at_risk_status, timescale
from worker.domain.working_days import Calendar
from worker.records import audit, state_of

ACTOR: Final = "deadline-watcher"
RAISED: Final = ("due_soon", "overdue")
_ENDED: Final = tuple(s.value for s in TERMINAL)
# Cases whose stage is answered: nothing is due from the stage, but actions may be.
_ANSWERED: Final = (Status.STAGE1_RESPONDED, Status.STAGE2_RESPONDED)


@dataclass(frozen=True)
class Deadline:
    """One date a case is working towards. ``kind`` is acknowledge, respond or action (an
    outstanding action or remedy, 6.6, 7.3, with its ``action_id``)."""

    kind: str
    due: date
    stage: int
    action_id: int | None = None
    text: str = ""
    extension_days: int = 0
    # For actions: "action" or "remedy" (CaseAction.kind).
    label: str = "action"


# -- pure helpers -------------------------------------------------------------------------------


def stage_deadline(state: CaseState) -> Deadline | None:
    """The stage deadline the case is working towards, or None when nothing is due from us.

    The acknowledgement while the current stage is unacknowledged, including while a person
    decides a triage item (the 5-day clock runs meanwhile, SPEC section 3); then the (possibly
    extended) response date.
    """
    if state.status in TERMINAL or state.status in _ANSWERED:
        return None
    record = current_stage(state)
    if record.responded is not None:
        return None
    if record.acknowledged is None:
        if record.acknowledge_by is None:
            return None
        return Deadline("acknowledge", record.acknowledge_by, record.stage)
    if record.respond_by is None:
        return None
    return Deadline(
        "respond", record.respond_by, record.stage, extension_days=record.extension_days
    )


def event_key(case_id: int, deadline: Deadline, status: str) -> tuple[Any, ...]:
    """What makes a raised event unique: the same deadline on the same date in the same status."""
    return (case_id, deadline.kind, deadline.action_id, deadline.due.isoformat(), status)


def key_of_event(case_id: int | None, action: str, details: dict[str, Any]) -> tuple[Any, ...]:
    """``event_key`` rebuilt from a stored audit row."""
    return (
        case_id,
        details.get("kind"),
        details.get("action_id"),
        details.get("due"),
        action.removeprefix("deadline."),
    )


def describe(ref: str, deadline: Deadline, status: RiskStatus) -> str:
    """The event text staff read: what is due, when, under which provision, and what to do."""
    due = deadline.due.isoformat()
    when = f"overdue since {due}" if status == "overdue" else f"due {due}"
    if deadline.kind == "acknowledge":
        provision = "6.2" if deadline.stage == 1 else "6.11"
        return (
            f"case {ref}: stage {deadline.stage} acknowledgement {when} ({provision}: "
            f"acknowledged, defined and logged within 5 working days)"
        )
    if deadline.kind == "respond":
        periods = timescale(deadline.stage)
        provision = "6.4" if deadline.stage == 1 else "6.15"
        text = f"case {ref}: stage {deadline.stage} response {when}"
        room = periods.max_extension_days - deadline.extension_days
        if status == "due_soon":
            if deadline.extension_days == 0:
                text += (
                    f"; last chance to extend: an extension (up to {periods.max_extension_days} "
                    f"working days, with reasons and the Ombudsman's details) must be notified "
                    f"to the resident before the response date ({provision})"
                )
            elif room > 0:
                text += (
                    f"; already extended by {deadline.extension_days} working days; up to {room} "
                    f"more can be notified before this date ({provision})"
                )
            else:
                text += (
                    f"; the extension limit of {periods.max_extension_days} working days is used: "
                    f"more needs a recorded good reason and a manager's approval ({provision})"
                )
        else:
            text += "; too late to extend: respond now (a late response is still recorded)"
        return text
    return (
        f"case {ref}: outstanding {deadline.label} {deadline.action_id} {when}: "
        f"{deadline.text[:200]} "
        f"(7.3: tracked to completion, with updates to the resident)"
    )


def to_raise(
    case_id: int,
    ref: str,
    deadlines: Iterable[Deadline],
    today: date,
    calendar: Calendar,
    already: set[tuple[Any, ...]],
) -> list[dict[str, Any]]:
    """The events to raise for one case's deadlines, leaving out those raised before."""
    events: list[dict[str, Any]] = []
    for deadline in deadlines:
        status = at_risk_status(deadline.due, today, calendar)
        if status not in RAISED:
            continue
        key = event_key(case_id, deadline, status)
        if key in already:
            continue
        already.add(key)
        event: dict[str, Any] = {
            "case_id": case_id,
            "ref": ref,
            "action": f"deadline.{status}",
            "status": status,
            "kind": deadline.kind,
            "due": deadline.due.isoformat(),
            "stage": deadline.stage,
            "text": describe(ref, deadline, status),
        }
        if deadline.action_id is not None:
            event["action_id"] = deadline.action_id
        events.append(event)
    return events


# -- the stage ----------------------------------------------------------------------------------


def run(app: App) -> list[dict[str, Any]]:
    """Sweep every case once; returns the events raised (each also written to the audit log)."""
    today = app.clock.today()
    raised: list[dict[str, Any]] = []
    with app.db.session() as session:
        already = {
            key_of_event(case_id, action, details or {})
            for case_id, action, details in session.execute(
                select(AuditEvent.case_id, AuditEvent.action, AuditEvent.details).where(
                    AuditEvent.actor == ACTOR,
                    AuditEvent.action.in_([f"deadline.{s}" for s in RAISED]),
                )
            )
        }
        deadlines: dict[int, list[Deadline]] = {}
        refs: dict[int, str] = {}
        for case in session.scalars(
            select(Case).where(Case.status.not_in(_ENDED)).order_by(Case.id)
        ):
            refs[case.id] = case.ref
            found = stage_deadline(state_of(case))
            if found is not None:
                deadlines.setdefault(case.id, []).append(found)
        # Outstanding actions and remedies are watched whatever the case's status: a response is
        # given when the answer is known (6.6), so most actions outlive the stage, and closing a
        # case does not end the duty to follow them through (7.3). Withdrawn and refused cases
        # have no actions to follow through.
        actions = session.execute(
            select(CaseAction, Case.ref)
            .join(Case, Case.id == CaseAction.case_id)
            .where(
                CaseAction.completed_on.is_(None),
                CaseAction.due.is_not(None),
                Case.status.not_in((Status.WITHDRAWN.value, Status.REFUSED.value)),
            )
            .order_by(CaseAction.id)
        ).all()
        for action, ref in actions:
            assert action.due is not None
            refs[action.case_id] = ref
            deadlines.setdefault(action.case_id, []).append(
                Deadline(
                    "action", action.due, action.stage, action.id, action.text, label=action.kind
                )
            )
        for case_id in sorted(deadlines):
            events = to_raise(
                case_id, refs[case_id], deadlines[case_id], today, app.calendar, already
            )
            for event in events:
                details: dict[str, Any] = {
                    k: event[k]
                    for k in ("kind", "due", "stage", "status", "ref", "action_id")
                    if k in event
                }
                details["raised_on"] = today
                audit(session, ACTOR, event["action"], event["text"], case_id=case_id, **details)
            raised.extend(events)
    return raised
