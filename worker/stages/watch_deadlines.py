"""Stage: watch deadlines. A periodic sweep that raises an audit event when a case deadline, or an
outstanding action or remedy, becomes due within 2 working days or overdue (SPEC sections 4, 7).

Each (case, deadline, date, status) is raised once: the sweep reads the events it wrote before, so
running it every loop, or in a restarted worker, writes nothing new until something changes. A
deadline that moves (an extension, a recomputed calendar) is a new deadline and is watched again.

A round costs what is due, not the caseload: the database hands over only the stages and actions
whose date is on or before the due-soon cutoff (partial indexes of migration 0003 hold just the
stages still waiting and the actions not done), then those cases by primary key, then only their
earlier events. The pure rules below decide on them exactly as they would in a full sweep.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.orm import Session, raiseload

from worker.adapters.db_models import AuditEvent, Case, CaseAction, CaseStage
from worker.bootstrap import App
from worker.domain.cases import TERMINAL, CaseState, Status, current_stage
from worker.domain.timescales import (
    DUE_SOON_WORKING_DAYS,
    RiskStatus,
    at_risk_status,
    timescale,
)
from worker.domain.working_days import Calendar
from worker.records import audit, state_of

ACTOR: Final = "deadline-watcher"
RAISED: Final = ("due_soon", "overdue")
# Cases whose stage is answered: nothing is due from the stage, but actions may be.
_ANSWERED: Final = (Status.STAGE1_RESPONDED, Status.STAGE2_RESPONDED)
# Neither a stage deadline nor outstanding actions are watched on these cases (see run).
_NOT_WATCHED: Final = (Status.WITHDRAWN.value, Status.REFUSED.value)
# Case ids per look-up by id: well under SQLite's and PostgreSQL's bound-parameter limits, so a
# day with thousands of due cases still works, in a handful of statements.
_ID_CHUNK: Final = 500


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


def due_soon_cutoff(today: date, calendar: Calendar) -> date:
    """The latest date a deadline can fall on and still be raised on ``today``.

    ``at_risk_status`` calls a deadline due soon while at most two working days after ``today``
    fall on or before it, so every date before the third working day after ``today`` is due soon
    (or overdue) and that third working day is on track. Counted from ``today`` as it is, not
    rolled forward, exactly as ``Calendar.working_days_between`` counts.
    """
    day = today
    counted = 0
    while True:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
            if counted > DUE_SOON_WORKING_DAYS:
                return day - timedelta(days=1)


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


def stages_due_by(cutoff: date) -> CompoundSelect[int]:
    """Ids of cases with a stage still waiting for its acknowledgement or response on or before
    ``cutoff``: a superset of the cases ``stage_deadline`` can raise anything for (it also finds
    an earlier stage, or a case that ended unanswered). Each arm repeats its partial index's
    predicate word for word, which is what lets SQLite's planner use the index."""
    waiting_acknowledgement = select(CaseStage.case_id).where(
        CaseStage.acknowledged.is_(None),
        CaseStage.responded.is_(None),
        CaseStage.acknowledge_by <= cutoff,
    )
    waiting_response = select(CaseStage.case_id).where(
        CaseStage.acknowledged.is_not(None),
        CaseStage.responded.is_(None),
        CaseStage.respond_by <= cutoff,
    )
    return union(waiting_acknowledgement, waiting_response)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), _ID_CHUNK):
        yield ids[start : start + _ID_CHUNK]


def raised_before(session: Session, case_ids: Sequence[int]) -> set[tuple[Any, ...]]:
    """The keys of the events this watcher raised before for ``case_ids``: a key names its case,
    so other cases' events could never match and are not read."""
    already: set[tuple[Any, ...]] = set()
    for chunk in _chunks(case_ids):
        rows = session.execute(
            select(AuditEvent.case_id, AuditEvent.action, AuditEvent.details).where(
                AuditEvent.case_id.in_(chunk),
                AuditEvent.action.in_([f"deadline.{s}" for s in RAISED]),
                AuditEvent.actor == ACTOR,
            )
        )
        already.update(
            key_of_event(case_id, action, details or {}) for case_id, action, details in rows
        )
    return already


def run(app: App) -> list[dict[str, Any]]:
    """Raise what is due in one sweep; returns the events raised (each also written to the audit
    log). Reads only the cases with something on or before the due-soon cutoff."""
    today = app.clock.today()
    cutoff = due_soon_cutoff(today, app.calendar)
    raised: list[dict[str, Any]] = []
    with app.db.session() as session:
        stage_ids = set(session.scalars(stages_due_by(cutoff)))
        # Outstanding actions and remedies are watched whatever the case's status: a response is
        # given when the answer is known (6.6), so most actions outlive the stage, and closing a
        # case does not end the duty to follow them through (7.3). Sorted here rather than by the
        # database: an ORDER BY id tempts a planner to walk the whole table in id order instead
        # of reading the few index entries.
        actions = sorted(
            session.scalars(
                select(CaseAction).where(
                    CaseAction.completed_on.is_(None), CaseAction.due <= cutoff
                )
            ),
            key=lambda action: action.id,
        )
        # The cases are fetched by primary key from the ids above rather than joined in: planners
        # misjudge how few rows a date range on a partial index gives (the column's statistics
        # are mostly answered history) and would scan every case to hash-join them. Withdrawn
        # and refused cases are left out here: they owe no response (their unanswered stages stay
        # in the index) and have no actions to follow through.
        cases: dict[int, Case] = {}
        for chunk in _chunks(sorted(stage_ids | {a.case_id for a in actions})):
            cases.update(
                (case.id, case)
                for case in session.scalars(
                    select(Case)
                    .where(Case.id.in_(chunk), Case.status.not_in(_NOT_WATCHED))
                    # The watcher never needs the resident the Case model joins in by default.
                    .options(raiseload(Case.resident))
                )
            )
        deadlines: dict[int, list[Deadline]] = {}
        for case_id in sorted(stage_ids & cases.keys()):
            found = stage_deadline(state_of(cases[case_id]))
            if found is not None:
                deadlines.setdefault(case_id, []).append(found)
        for action in actions:
            if action.case_id not in cases:
                continue
            assert action.due is not None
            deadlines.setdefault(action.case_id, []).append(
                Deadline(
                    "action", action.due, action.stage, action.id, action.text, label=action.kind
                )
            )
        already = raised_before(session, sorted(deadlines))
        for case_id in sorted(deadlines):
            events = to_raise(
                case_id, cases[case_id].ref, deadlines[case_id], today, app.calendar, already
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
