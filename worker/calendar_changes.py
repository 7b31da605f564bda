"""Recompute open deadlines when the working-day calendar changes (SPEC section 4): a bank holiday
announced (a newer ``holidays`` package) or a closure day added to the landlord profile.

Every case whose dates move gets an audit event listing each move. Recomputing with the calendar
the dates were made with changes nothing, so calling ``recompute_all(app, app.calendar, ...)`` at
worker start-up is how a newer holidays package or an edited profile is noticed.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.db_models import Case
from worker.bootstrap import App
from worker.domain.cases import TERMINAL, recompute_deadlines
from worker.domain.errors import UserError
from worker.domain.working_days import Calendar
from worker.records import audit, save_state, state_of

_ENDED: Final = tuple(s.value for s in TERMINAL)
# How far either side of today ``calendar_difference`` looks when describing a change: open
# deadlines are at most a few months away (stage 2 with its longest extension is ~50 working days).
_HORIZON: Final = timedelta(days=400)


def calendar_difference(old: Calendar, new: Calendar, start: date, end: date) -> list[str]:
    """The days from ``start`` to ``end`` (inclusive) whose working status differs, one line each.

    Pure; used to say in the audit trail why deadlines moved.
    """
    lines: list[str] = []
    day = start
    while day <= end:
        before, after = old.is_working_day(day), new.is_working_day(day)
        if before != after:
            if after:
                lines.append(f"{day.isoformat()} is now a working day")
            else:
                name = new.holiday_name(day)
                what = f"bank holiday ({name})" if name else "closure day"
                lines.append(f"{day.isoformat()} is now a non-working day: {what}")
        day += timedelta(days=1)
    return lines


def recompute_all(app: App, new_calendar: Calendar, by: str, why: str = "") -> list[str]:
    """Recompute the deadlines of every open case under ``new_calendar``; returns one line per date
    moved. Each case changed is saved and audited in one transaction, and ``app.calendar`` becomes
    ``new_calendar`` so later work in this process uses it too."""
    actor = _actor(by, "recomputing deadlines")
    with app.db.session() as session:
        lines = _recompute(session, app, new_calendar, actor, why)
    app.calendar = new_calendar
    return lines


def add_closure_day(app: App, day: date, by: str) -> list[str]:
    """Add a closure day to the running calendar and recompute open deadlines.

    This cannot write the landlord profile: unless the day is also added to ``closure_days`` there,
    a restarted worker forgets it (and the start-up recompute would move the deadlines back).
    """
    actor = _actor(by, "adding a closure day")
    if day in app.calendar.closures:
        raise UserError(f"{day.isoformat()} is already a closure day")
    if not app.calendar.is_working_day(day):
        name = app.calendar.holiday_name(day) or "a weekend"
        raise UserError(f"{day.isoformat()} is already a non-working day ({name})")
    profile = app.settings.landlord_file
    note = (
        f"closure day {day.isoformat()} added by {actor}; add it to closure_days in the landlord "
        f"profile ({profile}) too, or a restarted worker will not know it"
    )
    new_calendar = app.calendar.with_closures([day])
    with app.db.session() as session:
        lines = _recompute(session, app, new_calendar, actor, note)
        audit(
            session,
            actor,
            "calendar.closure_added",
            note,
            day=day,
            profile=str(profile),
            deadlines_moved=len(lines),
        )
    app.calendar = new_calendar
    return lines


def _recompute(
    session: Session, app: App, new_calendar: Calendar, actor: str, why: str
) -> list[str]:
    today = app.clock.today()
    difference = calendar_difference(app.calendar, new_calendar, today - _HORIZON, today + _HORIZON)
    if not why.strip():
        why = (
            "calendar changed: " + "; ".join(difference)
            if difference
            else "deadlines did not match the current calendar (a newer bank holiday list or a "
            "changed landlord profile)"
        )
    all_lines: list[str] = []
    for case in session.scalars(select(Case).where(Case.status.not_in(_ENDED)).order_by(Case.id)):
        state, lines = recompute_deadlines(state_of(case), new_calendar)
        if not lines:
            continue
        save_state(session, case, state)
        audit(
            session,
            actor,
            "case.deadlines_recomputed",
            why.strip(),
            case_id=case.id,
            changes=lines,
            calendar_changes=difference,
            on=today,
        )
        all_lines.extend(lines)
    from worker.service.hazards import recompute_for_calendar  # Awaab's Law clocks (SPEC 11)

    all_lines.extend(recompute_for_calendar(session, app, new_calendar, actor, why.strip()))
    return all_lines


def _actor(by: str, action: str) -> str:
    actor = by.strip()
    if not actor:
        raise UserError(f"{action} needs the name of who did it")
    return actor
