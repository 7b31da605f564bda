"""The deadline watcher against a real SQLite database: events raised once per deadline and
status, written to the audit log, and nothing new on a second sweep the same day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Case, CaseAction
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.records import new_case, record_transition, resident_for, save_state, state_of
from worker.settings import load_settings
from worker.stages import watch_deadlines

MON = date(2026, 11, 2)  # received; acknowledge by Monday 9 November (6.2)


def at(day: date) -> FixedClock:
    return FixedClock(datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC))


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path}/c.db",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "out"),
        },
        cwd=tmp_path,
    )
    return bootstrap(settings, clock=at(MON))


def make_case(
    app: App,
    *,
    received: date = MON,
    pending: bool = False,
    acknowledged: date | None = None,
    email: str = "amara@example.org",
) -> str:
    with app.db.session() as session:
        resident = resident_for(session, email, "Amara Jones")
        case = new_case(
            session,
            resident,
            received,
            status="pending_triage" if pending else "stage1_open",
            subject="Heating broken",
        )
        state, event = machine.open_case(case.ref, received, app.calendar, pending_triage=pending)
        save_state(session, case, state)
        record_transition(session, case, event)
        if acknowledged is not None:
            state, event = machine.acknowledge(state, acknowledged, app.calendar)
            save_state(session, case, state)
            record_transition(session, case, event)
        return case.ref


def change(app: App, ref: str, step) -> None:  # type: ignore[no-untyped-def]
    with app.db.session() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        state, event = step(state_of(case))
        save_state(session, case, state)
        record_transition(session, case, event)


def watcher_events(app: App) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.actor == watch_deadlines.ACTOR)
                .order_by(AuditEvent.id)
            )
        )


def sweep_on(app: App, day: date) -> list[dict[str, object]]:
    app.clock = at(day)
    return watch_deadlines.run(app)


def test_on_track_case_raises_nothing(app: App) -> None:
    make_case(app)
    assert sweep_on(app, date(2026, 11, 4)) == []
    assert watcher_events(app) == []


def test_overdue_acknowledgement_is_raised_once(app: App) -> None:
    ref = make_case(app)
    [event] = sweep_on(app, date(2026, 11, 10))
    assert (event["ref"], event["kind"], event["status"]) == (ref, "acknowledge", "overdue")
    assert sweep_on(app, date(2026, 11, 10)) == []
    assert sweep_on(app, date(2026, 11, 11)) == []  # still overdue: nothing new to say
    [row] = watcher_events(app)
    assert row.action == "deadline.overdue"
    assert row.details["kind"] == "acknowledge"
    assert row.details["due"] == "2026-11-09"
    assert row.details["stage"] == 1
    assert "6.2" in row.why


def test_due_soon_then_overdue_are_two_events(app: App) -> None:
    make_case(app)
    assert [e["status"] for e in sweep_on(app, date(2026, 11, 5))] == ["due_soon"]
    assert sweep_on(app, date(2026, 11, 6)) == []
    assert [e["status"] for e in sweep_on(app, date(2026, 11, 10))] == ["overdue"]
    assert [r.action for r in watcher_events(app)] == ["deadline.due_soon", "deadline.overdue"]


def test_triage_item_waiting_for_a_person_is_watched(app: App) -> None:
    make_case(app, pending=True)
    [event] = sweep_on(app, date(2026, 11, 10))
    assert event["kind"] == "acknowledge"


def test_acknowledged_case_is_watched_against_its_response_date(app: App) -> None:
    make_case(app, acknowledged=MON)  # respond by Monday 16 November (6.3)
    assert sweep_on(app, date(2026, 11, 10)) == []
    [event] = sweep_on(app, date(2026, 11, 12))
    assert (event["kind"], event["due"], event["status"]) == ("respond", "2026-11-16", "due_soon")
    assert "last chance to extend" in str(event["text"])


def test_extension_moves_the_watched_date_and_raises_again(app: App) -> None:
    ref = make_case(app, acknowledged=MON)
    assert len(sweep_on(app, date(2026, 11, 12))) == 1
    change(
        app,
        ref,
        lambda s: machine.extend(
            s, 5, "surveyor needed", "Sam Patel", date(2026, 11, 12), app.calendar
        ),
    )
    assert sweep_on(app, date(2026, 11, 12)) == []  # 23 November is on track
    [event] = sweep_on(app, date(2026, 11, 19))
    assert event["due"] == "2026-11-23"
    assert "up to 5 more" in str(event["text"])


def test_responded_closed_and_withdrawn_cases_are_not_watched(app: App) -> None:
    responded = make_case(app, acknowledged=MON)
    change(app, responded, lambda s: machine.respond(s, MON, "Sam Patel", "upheld"))
    withdrawn = make_case(app, email="b@example.org")
    change(app, withdrawn, lambda s: machine.withdraw(s, "Sam Patel", MON, "phoned"))
    assert sweep_on(app, date(2026, 12, 1)) == []


def test_overdue_outstanding_action_is_raised_even_after_the_case_closes(app: App) -> None:
    ref = make_case(app, acknowledged=MON)
    change(app, ref, lambda s: machine.respond(s, MON, "Sam Patel", "upheld"))
    change(app, ref, lambda s: machine.close(s, "Sam Patel", MON))
    with app.db.session() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        session.add(
            CaseAction(case_id=case.id, stage=1, text="replace boiler", due=date(2026, 11, 20))
        )
        session.add(
            CaseAction(
                case_id=case.id,
                stage=1,
                text="done already",
                due=date(2026, 11, 20),
                completed_on=date(2026, 11, 19),
            )
        )
    [event] = sweep_on(app, date(2026, 11, 23))
    assert (event["kind"], event["status"]) == ("action", "overdue")
    assert "replace boiler" in str(event["text"])
    assert sweep_on(app, date(2026, 11, 23)) == []
    [row] = watcher_events(app)
    assert row.details["action_id"] == event["action_id"]


def test_completed_action_stops_being_watched(app: App) -> None:
    ref = make_case(app, acknowledged=MON)
    change(app, ref, lambda s: machine.respond(s, MON, "Sam Patel", "upheld"))
    with app.db.session() as session:
        case = session.scalars(select(Case).where(Case.ref == ref)).one()
        session.add(
            CaseAction(
                case_id=case.id,
                stage=1,
                kind="remedy",
                text="pay £50",
                due=date(2026, 11, 20),
                completed_on=date(2026, 11, 18),
            )
        )
    assert sweep_on(app, date(2026, 11, 23)) == []


def test_each_case_gets_its_own_events(app: App) -> None:
    first = make_case(app)
    second = make_case(app, email="b@example.org", received=date(2026, 11, 3))
    events = sweep_on(app, date(2026, 11, 11))
    assert sorted((e["ref"], e["status"]) for e in events) == sorted(
        [(first, "overdue"), (second, "overdue")]
    )
