"""Recomputing open deadlines when the working-day calendar changes (SPEC section 4), against a
real SQLite database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType

import pytest
from sqlalchemy import select

from worker import calendar_changes
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Case
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.domain import working_days
from worker.domain.errors import UserError
from worker.domain.working_days import Calendar
from worker.records import new_case, record_transition, resident_for, save_state, state_of
from worker.settings import load_settings

MON = date(2026, 11, 2)
WED = date(2026, 11, 4)


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "out"),
        },
        cwd=tmp_path,
    )
    return bootstrap(settings, clock=FixedClock(datetime(2026, 11, 3, 10, 0, tzinfo=UTC)))


def make_case(app: App, email: str = "amara@example.org", acknowledged: date | None = None) -> str:
    with app.db.session() as session:
        resident = resident_for(session, email)
        case = new_case(session, resident, MON, status="stage1_open")
        state, event = machine.open_case(case.ref, MON, app.calendar)
        save_state(session, case, state)
        record_transition(session, case, event)
        if acknowledged is not None:
            state, event = machine.acknowledge(state, acknowledged, app.calendar)
            save_state(session, case, state)
            record_transition(session, case, event)
        return case.ref


def stage1(app: App, ref: str) -> machine.StageRecord:
    with app.db.session() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        return state_of(case).stage1


def recompute_events(app: App) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "case.deadlines_recomputed")
                .order_by(AuditEvent.id)
            )
        )


# -- the pure description --------------------------------------------------------------------


def test_difference_names_a_new_closure_day() -> None:
    lines = calendar_changes.calendar_difference(
        Calendar(), Calendar(closures=[WED]), MON, date(2026, 11, 30)
    )
    assert lines == ["2026-11-04 is now a non-working day: closure day"]


def test_difference_of_equal_calendars_is_empty() -> None:
    assert calendar_changes.calendar_difference(Calendar(), Calendar(), MON, MON) == []


def test_difference_names_a_day_that_became_working_again() -> None:
    lines = calendar_changes.calendar_difference(Calendar(closures=[WED]), Calendar(), MON, WED)
    assert lines == ["2026-11-04 is now a working day"]


# -- recomputing ---------------------------------------------------------------------------------


def test_closure_day_moves_open_deadlines_and_is_audited(app: App) -> None:
    ref = make_case(app)
    assert stage1(app, ref).acknowledge_by == date(2026, 11, 9)
    lines = calendar_changes.add_closure_day(app, WED, by="Priya Shah")
    assert stage1(app, ref).acknowledge_by == date(2026, 11, 10)
    assert any("acknowledge_by: 2026-11-09 -> 2026-11-10" in line for line in lines)
    [event] = recompute_events(app)
    assert event.actor == "Priya Shah"
    assert event.details["changes"] == lines
    assert "landlord profile" in event.why
    assert app.calendar == Calendar(closures=[WED])


def test_closure_day_audit_says_the_profile_must_be_updated(app: App) -> None:
    make_case(app)
    calendar_changes.add_closure_day(app, WED, by="Priya Shah")
    with app.db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "calendar.closure_added")
        ).one()
    assert "closure_days" in event.why
    assert event.details["day"] == "2026-11-04"
    assert event.details["deadlines_moved"] == 3


def test_acknowledged_case_moves_only_its_response_dates(app: App) -> None:
    ref = make_case(app, acknowledged=MON)
    before = stage1(app, ref)
    calendar_changes.add_closure_day(app, WED, by="Priya Shah")
    after = stage1(app, ref)
    assert after.acknowledge_by == before.acknowledge_by  # already met: history
    assert after.respond_by == date(2026, 11, 17)
    assert after.original_respond_by == date(2026, 11, 17)


def test_closed_and_responded_cases_keep_their_dates(app: App) -> None:
    ref = make_case(app, acknowledged=MON)
    with app.db.session() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        state, event = machine.respond(state_of(case), MON, "Sam Patel", "upheld")
        save_state(session, case, state)
    before = stage1(app, ref)
    assert calendar_changes.add_closure_day(app, WED, by="Priya Shah") == []
    assert stage1(app, ref) == before
    assert recompute_events(app) == []


def test_recompute_with_the_same_calendar_changes_nothing(app: App) -> None:
    make_case(app)
    assert calendar_changes.recompute_all(app, app.calendar, by="system") == []
    assert recompute_events(app) == []


def test_startup_recompute_notices_deadlines_made_under_another_calendar(app: App) -> None:
    app.calendar = Calendar(closures=[WED])
    ref = make_case(app)
    assert stage1(app, ref).acknowledge_by == date(2026, 11, 10)
    app.calendar = Calendar()  # restarted with the closure removed from the profile
    lines = calendar_changes.recompute_all(app, app.calendar, by="system")
    assert stage1(app, ref).acknowledge_by == date(2026, 11, 9)
    assert lines
    [event] = recompute_events(app)
    assert "did not match the current calendar" in event.why


def test_newly_announced_bank_holiday_moves_open_deadlines(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = make_case(app)
    original = working_days._bank_holidays

    def with_new_holiday(subdiv: str, year: int) -> Mapping[date, str]:
        days = dict(original(subdiv, year))
        if year == 2026:
            days[date(2026, 11, 5)] = "Special bank holiday"
        return MappingProxyType(days)

    monkeypatch.setattr(working_days, "_bank_holidays", with_new_holiday)
    lines = calendar_changes.recompute_all(app, Calendar(), by="system")
    assert stage1(app, ref).acknowledge_by == date(2026, 11, 10)
    assert len(lines) == 3


def test_closure_day_on_a_non_working_day_is_refused(app: App) -> None:
    with pytest.raises(UserError, match="already a non-working day"):
        calendar_changes.add_closure_day(app, date(2026, 12, 25), by="Priya Shah")
    with pytest.raises(UserError, match="already a non-working day"):
        calendar_changes.add_closure_day(app, date(2026, 11, 7), by="Priya Shah")


def test_same_closure_day_twice_is_refused(app: App) -> None:
    calendar_changes.add_closure_day(app, WED, by="Priya Shah")
    with pytest.raises(UserError, match="already a closure day"):
        calendar_changes.add_closure_day(app, WED, by="Priya Shah")


def test_recompute_needs_a_name(app: App) -> None:
    with pytest.raises(UserError, match="name"):
        calendar_changes.recompute_all(app, app.calendar, by=" ")
