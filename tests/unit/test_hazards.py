"""Awaab's Law clocks (SI 2025/1042) across weekends, bank holidays, the 24-hour boundary and
the London day boundary. Expected dates worked out by hand from the 2026 England bank holidays
(Good Friday 3 April, Easter Monday 6 April, Christmas Day 25 December, Boxing Day substitute 28
December, New Year's Day 1 January 2027)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from worker.domain.hazards import (
    HazardRules,
    Progress,
    clock_state,
    clocks,
    needs_alternative_accommodation,
    statutory_calendar,
    working_days_after,
)
from worker.domain.working_days import Calendar

ENGLAND = Calendar("england")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("aware_at", "investigate_by", "why"),
    [
        ("2026-03-02T10:00", date(2026, 3, 16), "a Monday: ten working days later"),
        ("2026-03-06T10:00", date(2026, 3, 20), "a Friday: the weekend is skipped"),
        ("2026-03-07T10:00", date(2026, 3, 20), "a Saturday: Monday is day 1, as from Friday"),
        ("2026-03-08T22:00", date(2026, 3, 20), "a Sunday night"),
        ("2026-03-26T09:00", date(2026, 4, 13), "across Good Friday and Easter Monday"),
        ("2026-12-23T15:00", date(2027, 1, 11), "across Christmas, Boxing Day moved, New Year"),
        # 23:30 UTC on Monday 1 June is 00:30 on Tuesday in London (BST): Tuesday is the day.
        ("2026-06-01T23:30", date(2026, 6, 16), "after midnight in London, before it in UTC"),
        ("2026-06-01T22:59", date(2026, 6, 15), "just before midnight in London"),
    ],
)
def test_significant_hazard_is_investigated_within_10_working_days(
    aware_at: str, investigate_by: date, why: str
) -> None:
    c = clocks(Progress("significant", at(aware_at)), ENGLAND)
    assert c.investigate_by.due_on == investigate_by, why


@pytest.mark.parametrize(
    ("investigated", "summary", "safety", "begin", "start"),
    [
        # Monday 16 March 2026.
        (
            date(2026, 3, 16),
            date(2026, 3, 19),
            date(2026, 3, 23),
            date(2026, 3, 23),
            date(2026, 6, 8),
        ),
        # Wednesday 1 April 2026: Good Friday and Easter Monday in between.
        (
            date(2026, 4, 1),
            date(2026, 4, 8),
            date(2026, 4, 10),
            date(2026, 4, 10),
            date(2026, 6, 24),
        ),
        # Friday 18 December 2026: Christmas and the Boxing Day substitute.
        (
            date(2026, 12, 18),
            date(2026, 12, 23),
            date(2026, 12, 29),
            date(2026, 12, 29),
            date(2027, 3, 12),
        ),
    ],
)
def test_clocks_after_the_investigation_run_from_the_day_it_ended(
    investigated: date, summary: date, safety: date, begin: date, start: date
) -> None:
    ended = datetime.combine(investigated, datetime.min.time(), tzinfo=UTC) + timedelta(hours=11)
    c = clocks(Progress("significant", at("2026-03-02T10:00"), investigated_at=ended), ENGLAND)
    got = {
        k: c.get(k).due_on
        for k in ("summary", "safety_work", "preventative_begin", "preventative_start")
    }  # type: ignore[union-attr]
    assert got == {
        "summary": summary,
        "safety_work": safety,
        "preventative_begin": begin,
        "preventative_start": start,
    }
    assert not any(clock.provisional for clock in c.all())


def test_before_the_investigation_the_later_clocks_are_the_latest_they_can_be() -> None:
    c = clocks(Progress("significant", at("2026-03-02T10:00")), ENGLAND)
    assert c.get("summary").due_on == date(2026, 3, 19)  # type: ignore[union-attr]
    assert c.get("summary").provisional  # type: ignore[union-attr]


def test_no_further_work_leaves_only_the_summary_after_the_investigation() -> None:
    p = Progress(
        "significant",
        at("2026-03-02T10:00"),
        investigated_at=at("2026-03-05T10:00"),
        no_further_work=True,
    )
    assert [c.name for c in clocks(p, ENGLAND).all()] == ["investigate", "summary"]


@pytest.mark.parametrize(
    ("aware_at", "due"),
    [
        ("2026-03-06T17:45", "2026-03-07T17:45"),  # Friday evening: runs through Saturday
        ("2026-12-24T20:00", "2026-12-25T20:00"),  # Christmas Day counts: hours, not days
        ("2026-03-28T12:00", "2026-03-29T12:00"),  # across the clocks going forward: 24 real hours
    ],
)
def test_emergency_hazard_clock_is_24_hours_from_awareness(aware_at: str, due: str) -> None:
    c = clocks(Progress("emergency", at(aware_at)), ENGLAND)
    assert c.investigate_by.due_at == at(due)
    assert c.get("make_safe").due_at == at(due)  # type: ignore[union-attr]
    assert c.investigate_by.due_on is None


@pytest.mark.parametrize(
    ("after", "state"),
    [
        (timedelta(hours=1), "on_track"),
        (timedelta(hours=18, minutes=1), "due_soon"),
        (timedelta(hours=24), "due_soon"),  # the last moment is still in time
        (timedelta(hours=24, seconds=1), "overdue"),
    ],
)
def test_emergency_clock_state_at_the_24_hour_boundary(after: timedelta, state: str) -> None:
    aware = at("2026-03-06T17:45")
    assert clock_state(Progress("emergency", aware), aware + after, ENGLAND) == state


def test_clock_met_or_missed_is_judged_by_the_moment_recorded() -> None:
    aware = at("2026-03-06T17:45")
    on_time = Progress("emergency", aware, investigated_at=aware + timedelta(hours=23))
    late = Progress("emergency", aware, investigated_at=aware + timedelta(hours=25))
    assert clocks(on_time, ENGLAND).investigate_by.met is True
    assert clocks(late, ENGLAND).investigate_by.met is False


def test_significant_clock_state_moves_with_working_days() -> None:
    p = Progress("significant", at("2026-03-02T10:00"))  # investigate by Monday 16 March
    assert clock_state(p, at("2026-03-05T10:00"), ENGLAND) == "on_track"
    assert clock_state(p, at("2026-03-12T10:00"), ENGLAND) == "due_soon"
    assert clock_state(p, at("2026-03-16T23:00"), ENGLAND) == "due_soon"  # 23:00 UTC is 23:00 GMT
    assert clock_state(p, at("2026-03-17T00:01"), ENGLAND) == "overdue"


def test_dismissed_and_complete_hazards_have_no_running_clock() -> None:
    aware = at("2026-03-02T10:00")
    assert (
        clock_state(Progress("significant", aware, status="dismissed"), aware, ENGLAND)
        == "dismissed"
    )
    done = Progress("emergency", aware, investigated_at=aware, safety_work_done_at=aware)
    assert clock_state(done, aware + timedelta(days=3), ENGLAND) == "complete"


def test_alternative_accommodation_is_flagged_when_the_safety_deadline_will_be_missed() -> None:
    aware = at("2026-03-06T17:45")
    p = Progress("emergency", aware)
    assert not needs_alternative_accommodation(p, aware + timedelta(hours=2), ENGLAND)
    assert needs_alternative_accommodation(p, aware + timedelta(hours=20), ENGLAND)
    housed = Progress("emergency", aware, alternative_accommodation_at=aware + timedelta(hours=21))
    assert not needs_alternative_accommodation(housed, aware + timedelta(hours=22), ENGLAND)
    # Significant: only once the investigation has found work to do (5 working days from it).
    s = Progress("significant", at("2026-03-02T10:00"), investigated_at=at("2026-03-16T10:00"))
    assert not needs_alternative_accommodation(s, at("2026-03-17T10:00"), ENGLAND)
    assert needs_alternative_accommodation(s, at("2026-03-20T10:00"), ENGLAND)  # due Mon 23rd
    assert needs_alternative_accommodation(s, at("2026-03-24T10:00"), ENGLAND)


def test_landlord_closure_days_do_not_stop_the_statutory_clocks_unless_chosen() -> None:
    landlord = Calendar("england", [date(2026, 3, 9), date(2026, 3, 10)])
    default = statutory_calendar(landlord)
    chosen = statutory_calendar(landlord, HazardRules(rules=(), closure_days_stop_clocks=True))
    p = Progress("significant", at("2026-03-02T10:00"))
    assert clocks(p, default).investigate_by.due_on == date(2026, 3, 16)
    assert clocks(p, chosen).investigate_by.due_on == date(2026, 3, 18)


def test_working_days_after_counts_from_the_next_day() -> None:
    assert working_days_after(ENGLAND, date(2026, 4, 2), 1) == date(2026, 4, 7)
    with pytest.raises(ValueError):
        working_days_after(ENGLAND, date(2026, 4, 2), 0)
