"""The retention schedule's pure rules (worker.domain.retention): periods, expiry, legal hold."""

from __future__ import annotations

from datetime import date

import pytest

from worker.domain.retention import (
    Candidate,
    Period,
    RecordKind,
    RetentionSchedule,
    case_ended_on,
    decide,
    expired,
    parse_period,
)

D = date
SCHEDULE = RetentionSchedule()


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("6 years", Period(6, "years")),
        ("1 year", Period(1, "years")),
        ("90 days", Period(90, "days")),
        ("  18 Months ", Period(18, "months")),
        ("0 days", Period(0, "days")),
    ],
)
def test_periods_are_read_from_plain_words(text: str, period: Period) -> None:
    assert parse_period(text) == period


@pytest.mark.parametrize(
    "text", ["six years", "6", "6 weeks", "-1 days", "", 6, None, "6 years ago"]
)
def test_a_bad_period_is_refused_with_a_one_line_message(text: object) -> None:
    with pytest.raises(ValueError) as caught:
        parse_period(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period(6, "years"), D(2020, 3, 31), D(2026, 3, 31)),
        (Period(6, "years"), D(2020, 2, 29), D(2026, 2, 28)),
        (Period(3, "months"), D(2025, 11, 30), D(2026, 2, 28)),
        (Period(30, "days"), D(2026, 1, 15), D(2026, 2, 14)),
        (Period(18, "months"), D(2024, 8, 31), D(2026, 2, 28)),
    ],
)
def test_periods_count_calendar_months_and_years(period: Period, start: date, end: date) -> None:
    assert period.after(start) == end


def test_the_defaults_keep_cases_six_years_and_spam_briefly() -> None:
    assert SCHEDULE.as_dict() == {
        "closed_cases": "6 years",
        "service_requests": "6 years",
        "non_resident_mail": "3 months",
        "quarantine": "1 year",
        "spam": "30 days",
        "audit_log": "6 years",
    }


def test_a_schedule_from_the_profile_keeps_defaults_for_kinds_left_out() -> None:
    schedule = RetentionSchedule.from_mapping({"spam": "7 days", "closed_cases": "7 years"})
    assert schedule.spam == Period(7, "days")
    assert schedule.closed_cases == Period(7, "years")
    assert schedule.audit_log == SCHEDULE.audit_log


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"cases": "6 years"}, "retention.cases is not a record kind"),
        ({"spam": "soon"}, "retention.spam must look like"),
        ({"audit_log": 6}, "retention.audit_log must be text"),
    ],
)
def test_a_bad_schedule_names_the_key(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetentionSchedule.from_mapping(table)


CLOSED = RecordKind.CLOSED_CASES


@pytest.mark.parametrize(
    ("candidate", "today", "is_expired", "why"),
    [
        # Kept through the last day of the period, gone the day after.
        (Candidate(CLOSED, 1, D(2020, 5, 1)), D(2026, 5, 1), False, "kept until 2026-05-01"),
        (Candidate(CLOSED, 1, D(2020, 5, 1)), D(2026, 5, 2), True, "kept 6 years"),
        # Still open: never expires, however old.
        (Candidate(CLOSED, 2, None), D(2040, 1, 1), False, "still open"),
        # A legal hold wins over every date.
        (Candidate(CLOSED, 3, D(2010, 1, 1), on_hold=True), D(2040, 1, 1), False, "legal hold"),
        (Candidate(RecordKind.SPAM, 4, D(2026, 1, 1)), D(2026, 1, 31), False, "kept until"),
        (Candidate(RecordKind.SPAM, 4, D(2026, 1, 1)), D(2026, 2, 1), True, "30 days"),
        (Candidate(RecordKind.NON_RESIDENT_MAIL, 5, D(2026, 1, 1)), D(2026, 4, 2), True, ""),
        (Candidate(RecordKind.QUARANTINE, 6, D(2025, 6, 1)), D(2026, 6, 1), False, ""),
        (Candidate(RecordKind.AUDIT_LOG, 7, D(2019, 1, 1)), D(2025, 1, 2), True, ""),
    ],
)
def test_decide_says_whether_a_record_has_expired_and_why(
    candidate: Candidate, today: date, is_expired: bool, why: str
) -> None:
    verdict = decide(candidate, SCHEDULE, today)
    assert verdict.expired is is_expired
    assert why in verdict.why


def test_expired_keeps_only_the_expired_in_their_order() -> None:
    candidates = [
        Candidate(CLOSED, 1, D(2018, 1, 1)),
        Candidate(CLOSED, 2, D(2025, 1, 1)),
        Candidate(CLOSED, 3, D(2018, 1, 1), on_hold=True),
        Candidate(CLOSED, 4, D(2017, 1, 1)),
    ]
    assert [c.key for c in expired(candidates, SCHEDULE, D(2026, 1, 1))] == [1, 4]


@pytest.mark.parametrize(
    ("status", "closed_on", "responded", "received", "ended"),
    [
        ("closed", D(2020, 3, 1), D(2020, 2, 1), D(2020, 1, 1), D(2020, 3, 1)),
        ("closed", None, D(2020, 2, 1), D(2020, 1, 1), D(2020, 2, 1)),
        ("refused", None, None, D(2020, 1, 1), D(2020, 1, 1)),
        ("stage1_responded", None, D(2020, 2, 1), D(2020, 1, 1), D(2020, 2, 1)),
        ("stage2_responded", None, D(2020, 6, 1), D(2020, 1, 1), D(2020, 6, 1)),
        ("stage1_acknowledged", None, None, D(2020, 1, 1), None),
        ("stage2_requested", None, D(2020, 2, 1), D(2020, 3, 1), None),
        ("pending_triage", None, None, D(2020, 1, 1), None),
    ],
)
def test_a_case_ends_at_closure_or_its_last_response_and_open_ones_never(
    status: str, closed_on: date | None, responded: date | None, received: date | None,
    ended: date | None,
) -> None:  # fmt: skip
    assert case_ended_on(status, closed_on, responded, received) == ended
