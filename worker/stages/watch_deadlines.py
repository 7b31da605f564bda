"""Stage: watch deadlines. A periodic sweep that raises an audit event when a case deadline, or an
outstanding action or remedy, becomes due within 2 working days or overdue (SPEC sections 4, 7).

Each (case, deadline, date, status) is raised once: the sweep reads the events it wrote before, so
running it every loop, or in a restarted worker, writes nothing new until something changes. A
deadline that moves (an extension, a recomputed calendar) is a new deadline and is watched again.

A round costs what is due, not the caseload: the database hands over only the stages and actions
whose date is on or before the due-soon cutoff (partial indexes of migration 0003 hold just the
stages still waiting and the actions not done), then those cases by primary key, then only their
earlier events. The pure rules below decide on them exactly as they would in a full sweep.

Awaab's Law hazard clocks (SPEC section 11) are watched by ``run_hazards`` in the same way: each
(hazard, clock, due, status) raised once, and once per safety deadline the flag that suitable
alternative accommodation is needed. ``run_all`` is one round of both, as the worker runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.orm import Session, raiseload

from worker.adapters.db_models import AuditEvent, Case, CaseAction, CaseStage, Hazard
from worker.bootstrap import App
from worker.domain import hazards as hazard_rules
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


# -- hazard clocks (Awaab's Law, SPEC section 11) ------------------------------------------------

HAZARD_ACTIONS: Final = (
    "hazard.due_soon",
    "hazard.overdue",
    "hazard.alternative_accommodation_needed",
)
# What each clock asks for, and the event staff record to stop it (``complaints hazard record``).
_CLOCK_TEXT: Final = {
    "investigate": ("investigation", "investigated"),
    "make_safe": ("making the home safe", "safety_work_done"),
    "summary": ("written summary to the resident", "summary_sent"),
    "safety_work": ("relevant safety work", "safety_work_done"),
    "preventative_begin": ("beginning the preventative work", "preventative_begun"),
    "preventative_start": ("starting the preventative work", "preventative_started"),
}


def _due_text(clock: hazard_rules.Clock) -> str:
    """A day for the working-day clocks; a London time for the 24-hour ones."""
    if clock.due_on is not None:
        return clock.due_on.isoformat()
    return clock.due_at.astimezone(hazard_rules.LONDON).strftime("%Y-%m-%d %H:%M")


def _due_key(clock: hazard_rules.Clock) -> str:
    return clock.due_on.isoformat() if clock.due_on is not None else clock.due_at.isoformat()


def _cite(regulation: str) -> str:
    return regulation if regulation.startswith("SI ") else f"SI 2025/1042, {regulation}"


def describe_hazard(h: Hazard, clock: hazard_rules.Clock, status: str) -> str:
    """The event text staff read: which hazard, which clock, when, and what to record."""
    what, event = _CLOCK_TEXT[clock.name]
    due = _due_text(clock)
    when = f"overdue since {due}" if status == "overdue" else f"due {due}"
    return (
        f"hazard {h.id} ({h.ref}, {h.severity}: {h.title}): {what} {when} "
        f"({_cite(clock.regulation)}); when done, record it: "
        f"complaints hazard record {h.id} --event {event}"
    )


def hazard_events(
    h: Hazard, now: datetime, calendar: Calendar, already: set[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """What to raise for one hazard now, leaving out what was raised before (``already``)."""
    from worker.service.hazards import progress_of

    progress = progress_of(h)
    found: list[tuple[str, str, hazard_rules.Clock, str]] = [
        (f"hazard.{status}", status, clock, describe_hazard(h, clock, status))
        for clock, status in hazard_rules.watched(progress, now, calendar)
    ]
    safety = hazard_rules.safety_clock(progress, calendar)
    if safety is not None and hazard_rules.needs_alternative_accommodation(progress, now, calendar):
        found.append(
            (
                "hazard.alternative_accommodation_needed",
                "alternative_accommodation_needed",
                safety,
                f"hazard {h.id} ({h.ref}, {h.severity}: {h.title}): the home "
                f"{'was not' if now > safety.due_at else 'may not be'} made safe by "
                f"{_due_text(safety)}: secure suitable alternative accommodation for the "
                f"household and record it: complaints hazard record {h.id} "
                "--event alternative_accommodation",
            )
        )
    events: list[dict[str, Any]] = []
    for action, status, clock, text in found:
        key = (h.id, clock.name, _due_key(clock), status)
        if key in already:
            continue
        already.add(key)
        events.append(
            {
                "hazard_id": h.id,
                "case_id": h.case_id,
                "ref": h.ref,
                "action": action,
                "status": status,
                "kind": f"hazard_{clock.name}",
                "clock": clock.name,
                "severity": h.severity,
                "due": _due_key(clock),
                "text": text,
            }
        )
    return events


def hazards_raised_before(session: Session, hazards: Sequence[Hazard]) -> set[tuple[Any, ...]]:
    """The keys of the hazard events this watcher raised before for ``hazards``.

    Found through the case (indexed) for hazards on a case, through the message for those on a
    service request; each key names its hazard, so other hazards' rows never match."""
    on_case = sorted({h.case_id for h in hazards if h.case_id is not None})
    others = sorted({h.inbound_id for h in hazards if h.case_id is None})
    already: set[tuple[Any, ...]] = set()
    for column, ids in ((AuditEvent.case_id, on_case), (AuditEvent.inbound_id, others)):
        for chunk in _chunks(ids):
            rows = session.scalars(
                select(AuditEvent.details).where(
                    column.in_(chunk),
                    AuditEvent.action.in_(HAZARD_ACTIONS),
                    AuditEvent.actor == ACTOR,
                )
            )
            for details in rows:
                d = details or {}
                already.add((d.get("hazard_id"), d.get("clock"), d.get("due"), d.get("status")))
    return already


def run_hazards(app: App) -> list[dict[str, Any]]:
    """Raise the hazard clocks that are due soon or missed, and the alternative accommodation a
    missed safety deadline calls for; each once (see ``run``). Reads the hazards not yet closed:
    with a 12-week clock among them they are few beside the caseload."""
    from worker.service.hazards import statutory_calendar

    now = app.clock.now()
    today = app.clock.today()
    calendar = statutory_calendar(app)
    raised: list[dict[str, Any]] = []
    with app.db.session() as session:
        hazards = list(
            session.scalars(
                select(Hazard).where(Hazard.status.in_(("open", "confirmed"))).order_by(Hazard.id)
            )
        )
        # Only hazards with something to raise need their earlier events read.
        due = [h for h in hazards if hazard_events(h, now, calendar, set())]
        if not due:
            return []
        already = hazards_raised_before(session, due)
        for h in due:
            for event in hazard_events(h, now, calendar, already):
                details = {
                    k: event[k]
                    for k in ("hazard_id", "ref", "kind", "clock", "severity", "due", "status")
                }
                details["raised_on"] = today
                audit(
                    session,
                    ACTOR,
                    event["action"],
                    event["text"],
                    case_id=h.case_id,
                    inbound_id=h.inbound_id,
                    **details,
                )
                raised.append(event)
    return raised


def run_all(app: App) -> list[dict[str, Any]]:
    """One round of the watcher: case deadlines, then hazard clocks."""
    return [*run(app), *run_hazards(app)]
