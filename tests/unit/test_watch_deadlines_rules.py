"""The deadline watcher's pure parts: which deadline a case is working towards, which events are
due, and what they say. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from worker.domain import cases as machine
from worker.domain.timescales import at_risk_status
from worker.domain.working_days import Calendar
from worker.stages.watch_deadlines import (
    Deadline,
    describe,
    due_soon_cutoff,
    event_key,
    key_of_event,
    stage_deadline,
    to_raise,
)

CAL = Calendar()
MON = date(2026, 11, 2)  # a Monday with no bank holiday near it
ACK_BY = date(2026, 11, 9)  # 5 working days later


def opened(pending: bool = False) -> machine.CaseState:
    state, _ = machine.open_case("CMP-2026-00001", MON, CAL, pending_triage=pending)
    return state


def test_unacknowledged_case_works_towards_the_acknowledgement() -> None:
    assert stage_deadline(opened()) == Deadline("acknowledge", ACK_BY, 1)


def test_triage_item_is_watched_against_the_five_day_clock() -> None:
    assert stage_deadline(opened(pending=True)) == Deadline("acknowledge", ACK_BY, 1)


def test_acknowledged_case_works_towards_the_response_date() -> None:
    state, _ = machine.acknowledge(opened(), MON, CAL)
    deadline = stage_deadline(state)
    assert deadline is not None
    assert (deadline.kind, deadline.due, deadline.stage) == ("respond", date(2026, 11, 16), 1)


def test_extended_stage_carries_its_extension_days() -> None:
    state, _ = machine.acknowledge(opened(), MON, CAL)
    state, _ = machine.extend(state, 5, "survey needed", "Sam", MON, CAL)
    deadline = stage_deadline(state)
    assert deadline is not None
    assert deadline.extension_days == 5
    assert deadline.due == date(2026, 11, 23)


def test_answered_and_ended_cases_have_no_stage_deadline() -> None:
    state, _ = machine.acknowledge(opened(), MON, CAL)
    state, _ = machine.respond(state, MON, "Sam", "upheld")
    assert stage_deadline(state) is None
    assert stage_deadline(replace(state, status=machine.Status.CLOSED)) is None
    withdrawn, _ = machine.withdraw(opened(), "Sam", MON, "phoned to withdraw")
    assert stage_deadline(withdrawn) is None


def test_stage2_request_works_towards_its_acknowledgement() -> None:
    state, _ = machine.acknowledge(opened(), MON, CAL)
    state, _ = machine.respond(state, MON, "Sam", "upheld")
    state, _ = machine.request_escalation(state, date(2026, 11, 3), CAL, "system")
    deadline = stage_deadline(state)
    assert deadline == Deadline("acknowledge", date(2026, 11, 10), 2)


def test_on_track_deadline_raises_nothing() -> None:
    deadline = Deadline("acknowledge", ACK_BY, 1)
    assert to_raise(1, "CMP-1", [deadline], date(2026, 11, 4), CAL, set()) == []


def test_deadline_two_working_days_away_is_due_soon() -> None:
    deadline = Deadline("acknowledge", ACK_BY, 1)
    [event] = to_raise(1, "CMP-1", [deadline], date(2026, 11, 5), CAL, set())
    assert event["status"] == "due_soon"
    assert event["action"] == "deadline.due_soon"
    assert event["due"] == "2026-11-09"


def test_deadline_day_itself_is_still_due_soon_and_the_next_day_overdue() -> None:
    deadline = Deadline("acknowledge", ACK_BY, 1)
    [on_day] = to_raise(1, "CMP-1", [deadline], ACK_BY, CAL, set())
    [day_after] = to_raise(1, "CMP-1", [deadline], date(2026, 11, 10), CAL, set())
    assert (on_day["status"], day_after["status"]) == ("due_soon", "overdue")


def test_an_event_already_raised_is_not_raised_again() -> None:
    deadline = Deadline("acknowledge", ACK_BY, 1)
    already: set[tuple[object, ...]] = set()
    assert len(to_raise(1, "CMP-1", [deadline], ACK_BY, CAL, already)) == 1
    assert to_raise(1, "CMP-1", [deadline], ACK_BY, CAL, already) == []


def test_moved_deadline_is_a_new_event() -> None:
    already = {event_key(1, Deadline("respond", date(2026, 11, 16), 1), "due_soon")}
    moved = Deadline("respond", date(2026, 11, 23), 1, extension_days=5)
    assert len(to_raise(1, "CMP-1", [moved], date(2026, 11, 20), CAL, already)) == 1


def test_stored_event_details_rebuild_the_same_key() -> None:
    deadline = Deadline("action", date(2026, 11, 20), 1, action_id=7, text="fix boiler")
    [event] = to_raise(3, "CMP-3", [deadline], date(2026, 11, 25), CAL, set())
    details = {k: event[k] for k in ("kind", "due", "stage", "status", "action_id")}
    assert key_of_event(3, event["action"], details) == event_key(3, deadline, "overdue")


def test_due_soon_unextended_response_says_it_is_the_last_chance_to_extend() -> None:
    text = describe("CMP-1", Deadline("respond", date(2026, 11, 16), 1), "due_soon")
    assert "last chance to extend" in text
    assert "before the response date" in text
    assert "6.4" in text


def test_due_soon_stage2_response_cites_the_stage2_extension_rule() -> None:
    text = describe("CMP-1", Deadline("respond", date(2026, 11, 16), 2), "due_soon")
    assert "up to 20 working days" in text
    assert "6.15" in text


def test_partly_extended_response_says_how_much_more_is_possible() -> None:
    deadline = Deadline("respond", date(2026, 11, 16), 1, extension_days=4)
    assert "up to 6 more" in describe("CMP-1", deadline, "due_soon")


def test_fully_extended_response_needs_good_reason_and_approval() -> None:
    deadline = Deadline("respond", date(2026, 11, 16), 1, extension_days=10)
    text = describe("CMP-1", deadline, "due_soon")
    assert "good reason" in text and "manager's approval" in text


def test_overdue_response_says_it_is_too_late_to_extend() -> None:
    text = describe("CMP-1", Deadline("respond", date(2026, 11, 16), 1), "overdue")
    assert "too late to extend" in text
    assert "overdue since 2026-11-16" in text


def test_acknowledgement_event_cites_its_provision() -> None:
    assert "6.2" in describe("CMP-1", Deadline("acknowledge", ACK_BY, 1), "overdue")
    assert "6.11" in describe("CMP-1", Deadline("acknowledge", ACK_BY, 2), "due_soon")


def test_remedy_event_names_it_as_a_remedy() -> None:
    deadline = Deadline("action", ACK_BY, 1, action_id=4, text="pay £50", label="remedy")
    text = describe("CMP-1", deadline, "overdue")
    assert "outstanding remedy 4" in text and "pay £50" in text and "7.3" in text


# The database is asked only for dates on or before ``due_soon_cutoff``, so it must be exactly the
# last date ``at_risk_status`` raises anything for: one day short and a due-soon deadline would be
# missed, one day long and nothing breaks but the query reads more.


def test_due_soon_cutoff_from_a_friday_is_the_tuesday() -> None:
    # Monday and Tuesday are the two working days; Wednesday, the third, is on track.
    assert due_soon_cutoff(date(2026, 11, 6), CAL) == date(2026, 11, 10)


def test_due_soon_cutoff_from_a_saturday_counts_monday_as_the_first_working_day() -> None:
    assert due_soon_cutoff(date(2026, 11, 7), CAL) == date(2026, 11, 10)


def test_due_soon_cutoff_steps_over_the_christmas_bank_holidays() -> None:
    # Christmas Eve 2026: 25 and 28 December are bank holidays, 26 and 27 the weekend; 29 and 30
    # December are the two working days.
    assert due_soon_cutoff(date(2026, 12, 24), CAL) == date(2026, 12, 30)


def test_due_soon_cutoff_steps_over_closure_days() -> None:
    closed = CAL.with_closures([date(2026, 11, 9), date(2026, 11, 10)])
    assert due_soon_cutoff(date(2026, 11, 6), closed) == date(2026, 11, 12)


@pytest.mark.parametrize(
    "calendar",
    [CAL, Calendar("scotland"), CAL.with_closures([date(2026, 12, 31), date(2027, 1, 4)])],
    ids=["england", "scotland", "closures"],
)
def test_due_soon_cutoff_is_the_last_date_the_status_rule_raises_anything_for(
    calendar: Calendar,
) -> None:
    # Every day from late November to after Easter 2027, weekends and holidays included.
    today = date(2026, 11, 20)
    while today < date(2027, 4, 10):
        cutoff = due_soon_cutoff(today, calendar)
        for offset in range(-5, 25):
            due = today + timedelta(days=offset)
            raised = at_risk_status(due, today, calendar) != "on_track"
            assert raised == (due <= cutoff), (today, due, cutoff)
        today += timedelta(days=1)
