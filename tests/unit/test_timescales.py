"""The Code's timescales (6.2-6.5, 6.11-6.16) and the deadlines they give a stage."""

from __future__ import annotations

from datetime import date

import pytest

from worker.domain import timescales as ts
from worker.domain.timescales import (
    Deadlines,
    at_risk_status,
    deadlines_as_json,
    stage_deadlines,
    timescale,
)
from worker.domain.working_days import Calendar

D = date


@pytest.mark.parametrize(
    ("constant", "days"),
    [
        ("STAGE1_ACKNOWLEDGE_DAYS", 5),  # 6.2
        ("STAGE1_RESPOND_DAYS", 10),  # 6.3
        ("STAGE1_MAX_EXTENSION_DAYS", 10),  # 6.4
        ("STAGE2_ACKNOWLEDGE_DAYS", 5),  # 6.11
        ("STAGE2_RESPOND_DAYS", 20),  # 6.14
        ("STAGE2_MAX_EXTENSION_DAYS", 20),  # 6.15
        ("DUE_SOON_WORKING_DAYS", 2),  # SPEC section 7
    ],
)
def test_timescales_are_the_codes_numbers(constant: str, days: int) -> None:
    assert getattr(ts, constant) == days


@pytest.mark.parametrize(
    ("stage", "acknowledge", "respond", "extension"),
    [(1, 5, 10, 10), (2, 5, 20, 20)],
)
def test_timescale_of_each_stage(
    stage: int, acknowledge: int, respond: int, extension: int
) -> None:
    periods = timescale(stage)
    assert (periods.acknowledge_days, periods.respond_days, periods.max_extension_days) == (
        acknowledge,
        respond,
        extension,
    )


@pytest.mark.parametrize(
    ("stage", "nation", "received", "acknowledged", "expected"),
    [
        # Christmas 2026 in England: 25 and 28 December are off, then 1 January
        (
            1,
            "england",
            D(2026, 12, 18),
            None,
            (D(2026, 12, 29), D(2027, 1, 6), D(2027, 1, 20)),
        ),
        # Scotland also has Monday 4 January 2027 off (2 January substitute)
        (
            1,
            "scotland",
            D(2026, 12, 18),
            None,
            (D(2026, 12, 29), D(2027, 1, 7), D(2027, 1, 21)),
        ),
        # A later acknowledgement moves the response date, not the acknowledgement date (6.3)
        (
            1,
            "england",
            D(2026, 12, 18),
            D(2026, 12, 22),
            (D(2026, 12, 29), D(2027, 1, 8), D(2027, 1, 22)),
        ),
        # Received on Saturday before the spring bank holiday: counts from Tuesday 26 May
        (
            1,
            "england",
            D(2026, 5, 23),
            None,
            (D(2026, 6, 2), D(2026, 6, 9), D(2026, 6, 23)),
        ),
        # The 2022 Jubilee weekend
        (
            1,
            "england",
            D(2022, 6, 1),
            None,
            (D(2022, 6, 10), D(2022, 6, 17), D(2022, 7, 1)),
        ),
        # Stage 2 escalated the Monday before Easter 2026; 20 days, then 20 more over May's
        # two bank holidays
        (
            2,
            "england",
            D(2026, 3, 30),
            None,
            (D(2026, 4, 8), D(2026, 4, 29), D(2026, 5, 29)),
        ),
    ],
)
def test_stage_deadlines(
    stage: int,
    nation: str,
    received: date,
    acknowledged: date | None,
    expected: tuple[date, date, date],
) -> None:
    deadlines = stage_deadlines(stage, received, Calendar(nation), acknowledged)
    assert deadlines == Deadlines(*expected)


def test_acknowledgement_on_receipt_gives_the_same_dates_as_no_acknowledgement() -> None:
    calendar = Calendar()
    assert stage_deadlines(1, D(2026, 12, 18), calendar) == stage_deadlines(
        1, D(2026, 12, 18), calendar, acknowledged=D(2026, 12, 18)
    )


def test_closure_days_move_the_deadlines() -> None:
    plain = stage_deadlines(1, D(2026, 12, 18), Calendar())
    closed = stage_deadlines(1, D(2026, 12, 18), Calendar(closures=[D(2026, 12, 22)]))
    assert closed.acknowledge_by == D(2026, 12, 30)
    assert closed.respond_by > plain.respond_by


@pytest.mark.parametrize("stage", [0, 3, -1, True])
def test_only_two_stages_exist(stage: int) -> None:
    with pytest.raises(ValueError, match="5.2/5.3"):
        stage_deadlines(stage, D(2026, 12, 18), Calendar())


def test_acknowledgement_before_receipt_is_refused() -> None:
    with pytest.raises(ValueError, match="before received"):
        stage_deadlines(1, D(2026, 12, 18), Calendar(), acknowledged=D(2026, 12, 17))


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 12, 30), "overdue"),
        (D(2027, 1, 4), "overdue"),
        (D(2026, 12, 29), "due_soon"),  # due today
        (D(2026, 12, 28), "due_soon"),  # bank holiday; 1 working day left
        (D(2026, 12, 24), "due_soon"),  # only the 29th left after Christmas
        (D(2026, 12, 23), "due_soon"),  # 24th and 29th: two working days
        (D(2026, 12, 22), "on_track"),  # 23rd, 24th and 29th: three
        (D(2026, 12, 1), "on_track"),
    ],
)
def test_at_risk_status_uses_working_days(today: date, expected: str) -> None:
    assert at_risk_status(D(2026, 12, 29), today, Calendar()) == expected


def test_deadlines_as_json_is_the_cli_contract() -> None:
    deadlines = Deadlines(D(2026, 12, 29), D(2027, 1, 6), D(2027, 1, 20))
    assert deadlines_as_json(deadlines) == {
        "acknowledge_by": "2026-12-29",
        "respond_by": "2027-01-06",
        "extended_respond_by_limit": "2027-01-20",
    }
