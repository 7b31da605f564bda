"""The deadline watcher against a real database: events raised once per deadline and status,
written to the audit log, and nothing new on a second sweep the same day; the same events as the
full scan it replaced, at a cost that follows what is due rather than the open caseload."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sql_events
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import AuditEvent, Case, CaseAction, CaseStage
from worker.bootstrap import App, bootstrap
from worker.domain import cases as machine
from worker.domain.errors import TransitionRefused
from worker.domain.working_days import Calendar
from worker.records import (
    audit,
    new_case,
    record_transition,
    resident_for,
    save_state,
    state_of,
)
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


# -- the indexed round against the full scan it replaced -----------------------------------------
#
# Until migration 0003 a round loaded every open case and read every event the watcher had ever
# written. ``full_scan`` keeps that logic, verbatim apart from taking a session (so a test can roll
# its writes back), as the reference the indexed round must agree with, event for event.

_ENDED_REFERENCE = tuple(s.value for s in machine.TERMINAL)


def full_scan(session: Session, today: date, calendar: Calendar) -> list[dict[str, Any]]:
    """The watcher's round before migration 0003: a full scan of the open caseload."""
    raised: list[dict[str, Any]] = []
    already = {
        watch_deadlines.key_of_event(case_id, action, details or {})
        for case_id, action, details in session.execute(
            select(AuditEvent.case_id, AuditEvent.action, AuditEvent.details).where(
                AuditEvent.actor == watch_deadlines.ACTOR,
                AuditEvent.action.in_([f"deadline.{s}" for s in watch_deadlines.RAISED]),
            )
        )
    }
    deadlines: dict[int, list[watch_deadlines.Deadline]] = {}
    refs: dict[int, str] = {}
    for case in session.scalars(
        select(Case).where(Case.status.not_in(_ENDED_REFERENCE)).order_by(Case.id)
    ):
        refs[case.id] = case.ref
        found = watch_deadlines.stage_deadline(state_of(case))
        if found is not None:
            deadlines.setdefault(case.id, []).append(found)
    actions = session.execute(
        select(CaseAction, Case.ref)
        .join(Case, Case.id == CaseAction.case_id)
        .where(
            CaseAction.completed_on.is_(None),
            CaseAction.due.is_not(None),
            Case.status.not_in((machine.Status.WITHDRAWN.value, machine.Status.REFUSED.value)),
        )
        .order_by(CaseAction.id)
    ).all()
    for action, ref in actions:
        assert action.due is not None
        refs[action.case_id] = ref
        deadlines.setdefault(action.case_id, []).append(
            watch_deadlines.Deadline(
                "action", action.due, action.stage, action.id, action.text, label=action.kind
            )
        )
    for case_id in sorted(deadlines):
        events = watch_deadlines.to_raise(
            case_id, refs[case_id], deadlines[case_id], today, calendar, already
        )
        for event in events:
            details: dict[str, Any] = {
                k: event[k]
                for k in ("kind", "due", "stage", "status", "ref", "action_id")
                if k in event
            }
            details["raised_on"] = today
            audit(
                session,
                watch_deadlines.ACTOR,
                event["action"],
                event["text"],
                case_id=case_id,
                **details,
            )
        raised.extend(events)
    return raised


def full_scan_would_raise(app: App, today: date) -> list[dict[str, Any]]:
    """What the full scan raises on ``today``, leaving the database as it was."""
    with Session(app.db.engine) as session:
        try:
            return full_scan(session, today, app.calendar)
        finally:
            session.rollback()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    """The app on an embedded SQLite file, then on a fresh PostgreSQL database."""
    url = (
        f"sqlite:///{tmp_path}/c.db"
        if request.param == "sqlite"
        else str(request.getfixturevalue("pg_url"))
    )
    settings = load_settings(
        {"COMPLAINTS_DATABASE_URL": url, "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "out")},
        cwd=tmp_path,
    )
    app = bootstrap(settings, clock=at(MON))
    yield app
    app.db.dispose()  # PostgreSQL drops the database only once no connection is left


# A simulated stretch of casework across Christmas and New Year 2026 (bank holidays on 25 and 28
# December and 1 January), through the real state machine: new complaints and triage items,
# acknowledgements on time and late, extensions within and beyond the limit, responses with actions
# and remedies, escalations, stage 2, closures, withdrawals, refusals and completed actions.
SIM_START = date(2026, 11, 23)
SIM_DAYS = 49


def _apply(session: Session, case: Case, step: Any) -> None:
    try:
        state, event = step(state_of(case))
    except TransitionRefused:
        return  # an out-of-order move the Code forbids: the caseload just stays as it was
    save_state(session, case, state)
    record_transition(session, case, event)


def simulate_day(app: App, day: date, rng: random.Random) -> None:
    """One day's casework, decided by ``rng``, through the real transitions."""
    cal = app.calendar
    with app.db.session() as session:
        cases = list(
            session.scalars(select(Case).where(Case.subject != SCRIPTED).order_by(Case.id))
        )
        for case in cases:
            status = machine.Status(case.status)
            roll = rng.random()
            # One case in four has a slow handler at each stage (a different quarter at stage 2),
            # so acknowledgements and responses run late at both stages.
            slow = (case.id + case.stage) % 4 == 0
            if status is machine.Status.PENDING_TRIAGE:
                if roll < 0.25:
                    _apply(session, case, lambda s: machine.accept_from_triage(s, "Sam", day))
                elif roll < 0.32:
                    _apply(session, case, lambda s: machine.refuse(s, "Sam", day, "excluded"))
            elif status in (machine.Status.STAGE1_OPEN, machine.Status.STAGE2_REQUESTED):
                if roll < (0.05 if slow else 0.3):
                    _apply(session, case, lambda s: machine.acknowledge(s, day, cal))
                elif roll < 0.34 and status is machine.Status.STAGE2_REQUESTED:
                    _apply(session, case, lambda s: machine.refuse(s, "Jo", day, "5.11 reasons"))
            elif status in (
                machine.Status.STAGE1_ACKNOWLEDGED,
                machine.Status.STAGE2_ACKNOWLEDGED,
            ):
                if roll < 0.12:
                    days = rng.choice((2, 5, 10, 20))
                    _apply(
                        session,
                        case,
                        lambda s, n=days: machine.extend(
                            s, n, "survey", "Sam", day, cal, "contractor delay", "Manager"
                        ),
                    )
                elif roll < (0.14 if slow else 0.3):
                    by = "Sam" if status is machine.Status.STAGE1_ACKNOWLEDGED else "Jo"
                    _apply(session, case, lambda s, b=by: machine.respond(s, day, b, "upheld"))
                    if case.status.endswith("_responded"):
                        for kind in rng.sample(("action", "remedy", "action"), rng.randint(0, 2)):
                            session.add(
                                CaseAction(
                                    case_id=case.id,
                                    stage=case.stage,
                                    kind=kind,
                                    text=f"{kind} for {case.ref}",
                                    # Now and then no date was agreed: never watched.
                                    due=None
                                    if rng.random() < 0.1
                                    else day + timedelta(days=rng.randint(-2, 15)),
                                )
                            )
            elif status in (machine.Status.STAGE1_RESPONDED, machine.Status.STAGE2_RESPONDED):
                if roll < 0.1 and status is machine.Status.STAGE1_RESPONDED:
                    _apply(
                        session, case, lambda s: machine.request_escalation(s, day, cal, "system")
                    )
                elif roll < 0.25:
                    _apply(session, case, lambda s: machine.close(s, "Sam", day))
            elif status is machine.Status.CLOSED and roll < 0.03:
                _apply(session, case, lambda s: machine.request_escalation(s, day, cal, "system"))
            if case.status not in _ENDED_REFERENCE and rng.random() < 0.02:
                _apply(session, case, lambda s: machine.withdraw(s, "Sam", day, "phoned"))
        for action in session.scalars(
            select(CaseAction).where(CaseAction.completed_on.is_(None)).order_by(CaseAction.id)
        ):
            if rng.random() < 0.1:
                action.completed_on = day
                action.completed_by = "Sam"
        if cal.is_working_day(day):
            for n in range(rng.randint(2, 6)):
                resident = resident_for(session, f"r{day.toordinal()}-{n}@example.org")
                pending = rng.random() < 0.2
                case = new_case(
                    session,
                    resident,
                    day,
                    status="pending_triage" if pending else "stage1_open",
                    subject="Damp",
                )
                state, event = machine.open_case(case.ref, day, cal, pending_triage=pending)
                save_state(session, case, state)
                record_transition(session, case, event)


# Besides the random casework, cases on a fixed script (which the random casework leaves alone), so
# that every kind of event is met whatever the dice do: (day of the simulation, case, step).
SCRIPTED = "scripted"
SCRIPT: list[tuple[int, str, Any]] = [
    *(
        (0, name, "open")
        for name in (
            "never acknowledged",
            "never answered",
            "extended",
            "stage 2 never acknowledged",
            "stage 2 never answered",
            "with actions",
            "withdrawn",
        )
    ),
    (0, "refused in triage", "open pending"),
    *(
        (0, name, lambda s, d, c: machine.acknowledge(s, d, c))
        for name in (
            "never answered",
            "extended",
            "stage 2 never acknowledged",
            "stage 2 never answered",
            "with actions",
        )
    ),
    *(
        (1, name, lambda s, d, c: machine.respond(s, d, "Sam", "partly_upheld"))
        for name in ("stage 2 never acknowledged", "stage 2 never answered", "with actions")
    ),
    (1, "with actions", "add actions"),
    (2, "withdrawn", lambda s, d, c: machine.withdraw(s, "Sam", d, "phoned")),
    (2, "refused in triage", lambda s, d, c: machine.refuse(s, "Sam", d, "insurance claim")),
    *(
        (2, name, lambda s, d, c: machine.request_escalation(s, d, c, "system"))
        for name in ("stage 2 never acknowledged", "stage 2 never answered")
    ),
    (3, "stage 2 never answered", lambda s, d, c: machine.acknowledge(s, d, c)),
    (3, "extended", lambda s, d, c: machine.extend(s, 5, "survey", "Sam", d, c)),
    (3, "with actions", lambda s, d, c: machine.close(s, "Sam", d)),
]


def follow_script(app: App, offset: int) -> None:
    day = SIM_START + timedelta(days=offset)
    with app.db.session() as session:
        for when, name, step in SCRIPT:
            if when != offset:
                continue
            if step in ("open", "open pending"):
                resident = resident_for(session, f"{name.replace(' ', '.')}@example.org")
                case = new_case(session, resident, day, status="stage1_open", subject=SCRIPTED)
                case.understanding = name
                state, event = machine.open_case(
                    case.ref, day, app.calendar, pending_triage=step == "open pending"
                )
                save_state(session, case, state)
                record_transition(session, case, event)
                continue
            case = session.scalars(select(Case).where(Case.understanding == name)).one()
            if step == "add actions":
                for kind, days in (("action", 5), ("remedy", 10), ("action", 40)):
                    session.add(
                        CaseAction(
                            case_id=case.id,
                            stage=1,
                            kind=kind,
                            text=f"{kind} agreed",
                            due=day + timedelta(days=days),
                        )
                    )
                continue
            state, event = step(state_of(case), day, app.calendar)
            save_state(session, case, state)
            record_transition(session, case, event)


@pytest.mark.slow
def test_indexed_round_raises_exactly_what_the_full_scan_raised(any_app: App) -> None:
    rng = random.Random(20261123)
    seen: set[tuple[str, str, int]] = set()
    texts: list[str] = []
    for offset in range(SIM_DAYS):
        day = SIM_START + timedelta(days=offset)
        follow_script(any_app, offset)
        simulate_day(any_app, day, rng)
        expected = full_scan_would_raise(any_app, day)
        assert sweep_on(any_app, day) == expected, day
        # The day's events are written, so the next full scan knows them as raised before.
        assert full_scan_would_raise(any_app, day) == []
        seen.update((e["kind"], e["status"], e["stage"]) for e in expected)
        texts.extend(str(e["text"]) for e in expected)
    # The caseload really was varied: every kind of deadline, in both statuses, at both stages.
    for kind in ("acknowledge", "respond"):
        for status in watch_deadlines.RAISED:
            assert {(kind, status, 1), (kind, status, 2)} <= seen, (kind, status)
    assert {("action", "due_soon", 1), ("action", "overdue", 1)} <= seen
    assert any("outstanding remedy" in t for t in texts)
    assert any("already extended" in t for t in texts)


# -- cost follows what is due, not the caseload ------------------------------------------------


def seed_caseload(
    app: App,
    *,
    open_cases: int,
    due: int,
    today: date,
    history: int = 0,
) -> list[int]:
    """Bulk-insert a caseload (no pipeline, no state machine): ``open_cases`` open cases whose
    deadlines are weeks away except the first ``due`` of them (an overdue acknowledgement, a
    response due today or an overdue action, in turn), and ``history`` ended cases (closed after a
    response, or withdrawn) with the events the watcher raised while they were open. Each case has
    the audit rows of its opening. Returns the ids of the due cases."""
    far = today + timedelta(days=30)  # well past any due-soon cutoff, holidays or not
    with app.db.session() as session:
        resident = resident_for(session, "bulk@example.org", "Bulk Resident")
        total = open_cases + history
        # References stay unique when a test seeds more cases on top.
        first = session.scalar(select(func.count(Case.id))) or 0
        ids = list(
            session.scalars(
                insert(Case).returning(Case.id, sort_by_parameter_order=True),
                [
                    {
                        "ref": f"BLK-{first + n:07d}",
                        "status": "stage1_acknowledged"
                        if n < open_cases
                        else ("withdrawn" if n % 10 == 0 else "closed"),
                        "stage": 1,
                        "resident_id": resident.id,
                        "subject": "Repairs",
                    }
                    for n in range(total)
                ],
            )
        )
        stages: list[dict[str, Any]] = []
        actions: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for n, case_id in enumerate(ids):
            stage: dict[str, Any] = {
                "case_id": case_id,
                "stage": 1,
                "received": today - timedelta(days=10),
                "acknowledged": today - timedelta(days=9),
                "acknowledge_by": today - timedelta(days=3),
                "respond_by": far,
                "original_respond_by": far,
                "responded": None,
            }
            if n < due:
                if n % 3 == 0:  # never acknowledged, and now late
                    stage["acknowledged"] = None
                elif n % 3 == 1:  # the response is due today
                    stage["respond_by"] = today
                else:  # on track, but an agreed action is overdue
                    actions.append(
                        {
                            "case_id": case_id,
                            "stage": 1,
                            "text": "fix the gutter",
                            "due": today - timedelta(days=1),
                        }
                    )
            elif n >= open_cases:  # ended long ago
                stage["received"] = today - timedelta(days=400 + n % 300)
                stage["acknowledged"] = stage["received"]
                stage["acknowledge_by"] = stage["received"] + timedelta(days=7)
                stage["respond_by"] = stage["received"] + timedelta(days=14)
                stage["original_respond_by"] = stage["respond_by"]
                if n % 10 != 0:  # closed after its response; withdrawn ones were not answered
                    stage["responded"] = stage["respond_by"]
                    actions.append(
                        {
                            "case_id": case_id,
                            "stage": 1,
                            "text": "done",
                            "due": stage["respond_by"],
                            "completed_on": stage["respond_by"],
                        }
                    )
                for status in watch_deadlines.RAISED:
                    events.append(
                        {
                            "actor": watch_deadlines.ACTOR,
                            "action": f"deadline.{status}",
                            "case_id": case_id,
                            "details": {
                                "kind": "respond",
                                "due": stage["respond_by"].isoformat(),
                                "stage": 1,
                                "status": status,
                            },
                        }
                    )
            stages.append(stage)
            for action in ("case.open", "case.acknowledge"):
                events.append(
                    {"actor": "system", "action": action, "case_id": case_id, "details": {}}
                )
        session.execute(insert(CaseStage), stages)
        if actions:
            session.execute(insert(CaseAction), actions)
        session.execute(insert(AuditEvent), events)
    return ids[:due]


@contextmanager
def statements(app: App) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements, with their parameters, the app sends to the database meanwhile."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        seen.append((statement, params))

    sql_events.listen(app.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sql_events.remove(app.db.engine, "before_cursor_execute", record)


def test_round_over_thousands_of_open_cases_none_due_raises_nothing_in_a_few_statements(
    app: App,
) -> None:
    today = date(2026, 11, 10)
    seed_caseload(app, open_cases=50, due=0, today=today, history=1000)
    app.clock = at(today)
    history = len(watcher_events(app))
    with statements(app) as small:
        assert watch_deadlines.run(app) == []
    seed_caseload(app, open_cases=4950, due=0, today=today)
    with statements(app) as large:
        assert watch_deadlines.run(app) == []
    assert len(large) <= 5
    # A hundred times the open caseload, not one statement more.
    assert len(large) == len(small)
    assert len(watcher_events(app)) == history


def test_due_cases_among_thousands_are_raised_once_reading_only_their_events(app: App) -> None:
    today = date(2026, 11, 10)
    due_ids = seed_caseload(app, open_cases=5000, due=50, today=today, history=2000)
    app.clock = at(today)
    with statements(app) as first:
        raised = watch_deadlines.run(app)
    assert sorted(e["case_id"] for e in raised) == due_ids
    assert {(e["kind"], e["status"]) for e in raised} == {
        ("acknowledge", "overdue"),
        ("respond", "due_soon"),
        ("action", "overdue"),
    }
    with statements(app) as second:
        assert watch_deadlines.run(app) == []
    for round_ in (first, second):
        selects = [s for s, _ in round_ if s.lstrip().upper().startswith("SELECT")]
        # due stages, due actions, their cases, the cases' stages, earlier events: not one per case.
        assert len(selects) <= 5, selects
    # Earlier events are read for the 50 due cases only, not for the 2,000 ended cases whose
    # events the watcher wrote while they were open.
    [(_, params)] = [(s, p) for s, p in second if "FROM audit_log" in s]
    assert sorted(p for p in params if isinstance(p, int)) == due_ids


@pytest.mark.slow
def test_more_due_cases_than_one_look_up_by_id_takes_agree_with_the_full_scan(
    any_app: App,
) -> None:
    today = date(2026, 11, 10)
    seed_caseload(any_app, open_cases=1500, due=1100, today=today, history=200)
    expected = full_scan_would_raise(any_app, today)
    assert len(expected) == 1100
    assert sweep_on(any_app, today) == expected
    assert sweep_on(any_app, today) == []


def _plans(app: App, sql: list[tuple[str, Any]]) -> str:
    """The query plans of ``sql`` (statements with their parameters), as one text."""
    lines: list[str] = []
    raw = app.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        sqlite = app.db.engine.dialect.name == "sqlite"
        for statement, params in sql:
            cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, params)
            lines.extend(" ".join(str(c) for c in row) for row in cursor.fetchall())
    finally:
        raw.close()
    return "\n".join(lines)


@pytest.mark.slow
def test_round_finds_due_stages_actions_and_events_through_the_deadline_indexes(
    any_app: App,
) -> None:
    today = date(2026, 11, 10)
    seed_caseload(any_app, open_cases=5000, due=50, today=today, history=2000)
    with any_app.db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # statistics, as a live database has them
    any_app.clock = at(today)
    with statements(any_app) as sent:
        assert len(watch_deadlines.run(any_app)) == 50
    plans = _plans(any_app, [(s, p) for s, p in sent if s.lstrip().upper().startswith("SELECT")])
    for index in (
        "ix_case_stages_acknowledge_due",
        "ix_case_stages_respond_due",
        "ix_case_actions_outstanding_due",
        "ix_audit_case",  # earlier events: the due cases' rows only
    ):
        assert index in plans, plans
    # Nothing read table by table: cases come by primary key, the rest by the indexes above.
    assert "Seq Scan" not in plans, plans
    for table in ("cases", "case_stages", "case_actions", "audit_log"):
        assert f"SCAN {table}" not in plans, plans


# -- hazard clocks (Awaab's Law, SPEC section 11) -----------------------------------------------


def make_hazard(
    app: App, severity: str, aware_at: datetime, *, on_case: bool = True, n: int = 1
) -> int:
    """A hazard reported in a stored message, on a case (or, ``on_case=False``, on no case, as a
    service request's hazard is), with its investigate-by clock as the route stage sets it."""
    from worker.adapters.db_models import Hazard, InboundMessage
    from worker.domain import hazards as rules
    from worker.service.hazards import statutory_calendar

    case_id = None
    if on_case:
        ref = make_case(app, email=f"hazard{n}@example.org")
        with app.db.session() as session:
            case_id = session.scalar(select(Case.id).where(Case.ref == ref))
    with app.db.session() as session:
        row = InboundMessage(
            source="email",
            mailbox="test",
            uidvalidity=1,
            uid=1000 + n,
            message_id=f"hazard-{n}@example.org",
            dedupe_key=f"mid:hazard-{n}@example.org",
            raw=b"Subject: mould\n\nmould",
            status="done",
            from_addr=f"hazard{n}@example.org",
            subject="Mould",
            text="mould",
            case_id=case_id,
        )
        session.add(row)
        session.flush()
        clock = rules.clocks(
            rules.Progress(severity, aware_at),  # type: ignore[arg-type]
            statutory_calendar(app),
        ).investigate_by
        hazard = Hazard(
            inbound_id=row.id,
            case_id=case_id,
            ref=f"SR-{n}" if case_id is None else "",
            kind="damp_mould" if severity == "significant" else "gas_smell",
            severity=severity,
            title="Damp and mould" if severity == "significant" else "Smell of gas",
            aware_at=aware_at,
            investigate_by_at=clock.due_at,
            investigate_by=clock.due_on,
            status="open",
            events=[],
        )
        session.add(hazard)
        session.flush()
        return hazard.id


def hazard_sweep(app: App, moment: datetime) -> list[tuple[int, str, str]]:
    app.clock = FixedClock(moment)
    return [(e["hazard_id"], e["clock"], e["status"]) for e in watch_deadlines.run_hazards(app)]


AWARE = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # Monday: investigate by Monday 16 November


def test_hazard_investigation_due_soon_then_missed_is_raised_once_each(app: App) -> None:
    hazard = make_hazard(app, "significant", AWARE)
    assert hazard_sweep(app, datetime(2026, 11, 11, 10, 0, tzinfo=UTC)) == []  # on track
    thursday = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    assert hazard_sweep(app, thursday) == [(hazard, "investigate", "due_soon")]
    assert hazard_sweep(app, thursday) == []
    assert hazard_sweep(app, datetime(2026, 11, 16, 23, 0, tzinfo=UTC)) == []  # still in time
    tuesday = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    assert hazard_sweep(app, tuesday) == [(hazard, "investigate", "overdue")]
    assert hazard_sweep(app, tuesday) == []
    with app.db.session() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "hazard.overdue")
        ).all()
    assert event.actor == watch_deadlines.ACTOR and event.case_id is not None
    assert "investigation overdue since 2026-11-16" in event.why
    assert f"complaints hazard record {hazard} --event investigated" in event.why


def test_clocks_that_run_from_the_investigation_wait_for_it(app: App) -> None:
    from worker.service.hazards import HazardService

    hazard = make_hazard(app, "significant", AWARE)
    # Long after every provisional date, only the investigation is late.
    late = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
    assert hazard_sweep(app, late) == [(hazard, "investigate", "overdue")]
    app.clock = FixedClock(late)
    HazardService(app).record(hazard, "investigated", by="Jo Surveyor")
    # Summary by Thursday 4 March (3 working days), safety and preventative work by Monday 8.
    assert hazard_sweep(app, datetime(2027, 3, 2, 10, 0, tzinfo=UTC)) == [
        (hazard, "summary", "due_soon")
    ]
    raised = hazard_sweep(app, datetime(2027, 3, 9, 10, 0, tzinfo=UTC))
    assert sorted(raised) == [
        (hazard, "preventative_begin", "overdue"),
        # The home was not made safe in time: somewhere safe to stay is needed.
        (hazard, "safety_work", "alternative_accommodation_needed"),
        (hazard, "safety_work", "overdue"),
        (hazard, "summary", "overdue"),
    ]
    assert hazard_sweep(app, datetime(2027, 3, 9, 11, 0, tzinfo=UTC)) == []


def test_emergency_missed_is_raised_with_alternative_accommodation_once(app: App) -> None:
    from worker.service.hazards import HazardService

    hazard = make_hazard(app, "emergency", AWARE, on_case=False)
    assert hazard_sweep(app, datetime(2026, 11, 2, 15, 0, tzinfo=UTC)) == []
    # Six hours before the 24 hours are up: due soon, and the home may not be safe in time.
    soon = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)
    assert sorted(hazard_sweep(app, soon)) == [
        (hazard, "investigate", "due_soon"),
        (hazard, "make_safe", "alternative_accommodation_needed"),
        (hazard, "make_safe", "due_soon"),
    ]
    late = datetime(2026, 11, 3, 10, 1, tzinfo=UTC)
    assert sorted(hazard_sweep(app, late)) == [
        (hazard, "investigate", "overdue"),
        (hazard, "make_safe", "overdue"),
    ]
    assert hazard_sweep(app, late) == []
    with app.db.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("hazard.%")).order_by(AuditEvent.id)
        ).all()
    # A service request's hazard has no case: its events are found through the message.
    assert {e.case_id for e in events} == {None} and all(e.inbound_id for e in events)
    assert any("due 2026-11-03 10:00" in e.why for e in events)  # London time, to the minute
    app.clock = FixedClock(late)
    HazardService(app).record(hazard, "alternative_accommodation", by="Housing officer")
    HazardService(app).record(hazard, "investigated", by="Gas engineer")
    HazardService(app).record(hazard, "safety_work_done", by="Gas engineer")
    assert hazard_sweep(app, datetime(2026, 11, 4, 10, 0, tzinfo=UTC)) == []


def test_dismissed_hazards_are_not_watched(app: App) -> None:
    from worker.service.hazards import HazardService

    hazard = make_hazard(app, "significant", AWARE)
    HazardService(app).record(
        hazard, "dismissed", by="Sam Patel", reason="the resident asked for advice only"
    )
    assert hazard_sweep(app, datetime(2026, 11, 20, 10, 0, tzinfo=UTC)) == []


def test_a_round_of_the_watcher_raises_case_deadlines_and_hazard_clocks(app: App) -> None:
    hazard = make_hazard(app, "significant", AWARE)
    app.clock = at(date(2026, 11, 17))
    raised = watch_deadlines.run_all(app)
    # The hazard's case was never acknowledged (due Monday 9 November), and its hazard is late.
    assert {(e.get("hazard_id"), e["kind"], e["status"]) for e in raised} == {
        (None, "acknowledge", "overdue"),
        (hazard, "hazard_investigate", "overdue"),
    }
    assert watch_deadlines.run_all(app) == []
