"""Working days: weekends, each nation's bank holidays (incl. one-offs and substitutes), closures.

Expected dates are real calendar facts, worked out by hand from the gov.uk bank holiday lists.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from worker.domain.working_days import NATIONS, Calendar

D = date


@pytest.mark.parametrize(
    ("nation", "day", "working"),
    [
        # Weekends and an ordinary Friday
        ("england", D(2026, 12, 18), True),
        ("england", D(2026, 12, 19), False),
        ("england", D(2026, 12, 20), False),
        # 2020: the early May bank holiday moved to Friday 8 May for VE Day
        ("england", D(2020, 5, 8), False),
        ("england", D(2020, 5, 4), True),
        # 2022: spring bank holiday moved to 2 June, plus the Platinum Jubilee on 3 June
        ("england", D(2022, 6, 2), False),
        ("england", D(2022, 6, 3), False),
        ("england", D(2022, 5, 30), True),
        ("scotland", D(2022, 6, 3), False),
        ("northern_ireland", D(2022, 6, 3), False),
        # One-off: the State Funeral of Queen Elizabeth II and the Coronation of Charles III
        ("england", D(2022, 9, 19), False),
        ("wales", D(2022, 9, 19), False),
        ("england", D(2023, 5, 8), False),
        ("scotland", D(2023, 5, 8), False),
        # Christmas and Boxing Day at a weekend: substitutes on the Monday and Tuesday
        ("england", D(2021, 12, 27), False),
        ("england", D(2021, 12, 28), False),
        ("england", D(2021, 12, 29), True),
        ("england", D(2022, 12, 26), False),
        ("england", D(2022, 12, 27), False),
        ("england", D(2026, 12, 28), False),
        ("england", D(2026, 12, 29), True),
        ("england", D(2027, 12, 27), False),
        ("england", D(2027, 12, 28), False),
        # Year ends: 31 December is a working day; New Year's Day substitute on 2 January 2023
        ("england", D(2027, 12, 31), True),
        ("england", D(2023, 1, 2), False),
        ("england", D(2023, 1, 3), True),
        # Easter Monday is a bank holiday in England, Wales and NI, not in Scotland
        ("england", D(2026, 4, 6), False),
        ("wales", D(2026, 4, 6), False),
        ("northern_ireland", D(2026, 4, 6), False),
        ("scotland", D(2026, 4, 6), True),
        ("scotland", D(2026, 4, 3), False),
        # Scotland: 2 January, and its substitutes
        ("scotland", D(2026, 1, 2), False),
        ("england", D(2026, 1, 2), True),
        ("scotland", D(2022, 1, 4), False),
        ("england", D(2022, 1, 4), True),
        ("scotland", D(2023, 1, 3), False),
        # Scotland: St Andrew's Day and its substitute Monday
        ("scotland", D(2026, 11, 30), False),
        ("england", D(2026, 11, 30), True),
        ("scotland", D(2024, 12, 2), False),
        ("scotland", D(2025, 12, 1), False),
        ("england", D(2025, 12, 1), True),
        # Summer bank holiday: first Monday of August in Scotland, last Monday elsewhere
        ("scotland", D(2026, 8, 3), False),
        ("england", D(2026, 8, 3), True),
        ("england", D(2026, 8, 31), False),
        ("scotland", D(2026, 8, 31), True),
        # Northern Ireland: St Patrick's Day and 12 July, with substitutes
        ("northern_ireland", D(2026, 3, 17), False),
        ("england", D(2026, 3, 17), True),
        ("northern_ireland", D(2024, 3, 18), False),
        ("northern_ireland", D(2026, 7, 13), False),
        ("northern_ireland", D(2025, 7, 14), False),
        ("england", D(2026, 7, 13), True),
        ("northern_ireland", D(2024, 7, 12), False),
    ],
)
def test_working_day_follows_the_nations_bank_holidays(
    nation: str, day: date, working: bool
) -> None:
    assert Calendar(nation).is_working_day(day) is working


@pytest.mark.parametrize(
    ("nation", "day", "name_part"),
    [
        ("england", D(2022, 6, 3), "Jubilee"),
        ("england", D(2022, 9, 19), "Funeral"),
        ("england", D(2023, 5, 8), "Coronation"),
        ("england", D(2020, 5, 8), "May"),
        ("england", D(2026, 12, 28), "Boxing Day"),
        ("scotland", D(2024, 12, 2), "Andrew"),
        ("northern_ireland", D(2026, 3, 17), "Patrick"),
    ],
)
def test_holiday_name_names_the_bank_holiday(nation: str, day: date, name_part: str) -> None:
    name = Calendar(nation).holiday_name(day)
    assert name is not None and name_part in name


@pytest.mark.parametrize(
    ("nation", "day"),
    [
        ("england", D(2026, 12, 18)),
        ("scotland", D(2026, 4, 6)),
        ("england", D(2026, 12, 19)),  # a weekend is not a holiday
    ],
)
def test_holiday_name_is_none_on_other_days(nation: str, day: date) -> None:
    assert Calendar(nation).holiday_name(day) is None


def test_closure_days_are_not_working_days_but_have_no_holiday_name() -> None:
    calendar = Calendar("england", closures=[D(2026, 12, 29), D(2026, 12, 30)])
    assert not calendar.is_working_day(D(2026, 12, 29))
    assert not calendar.is_working_day(D(2026, 12, 30))
    assert calendar.is_working_day(D(2026, 12, 31))
    assert calendar.holiday_name(D(2026, 12, 29)) is None


@pytest.mark.parametrize(
    ("nation", "day", "expected"),
    [
        ("england", D(2026, 12, 18), D(2026, 12, 18)),  # working day: unchanged
        ("england", D(2026, 12, 19), D(2026, 12, 21)),  # Saturday -> Monday
        ("england", D(2026, 12, 25), D(2026, 12, 29)),  # Christmas + Boxing Day substitute
        ("england", D(2021, 12, 25), D(2021, 12, 29)),  # both substitutes in 2021
        ("england", D(2022, 12, 24), D(2022, 12, 28)),
        ("england", D(2027, 1, 1), D(2027, 1, 4)),
        ("scotland", D(2027, 1, 1), D(2027, 1, 5)),  # 2 January falls Saturday -> Mon 4th off
        ("england", D(2022, 6, 2), D(2022, 6, 6)),  # Jubilee weekend
    ],
)
def test_roll_forward_moves_a_non_working_day_to_the_next_working_day(
    nation: str, day: date, expected: date
) -> None:
    assert Calendar(nation).roll_forward(day) == expected


@pytest.mark.parametrize(
    ("nation", "start", "n", "expected"),
    [
        # Received Fri 18 Dec 2026: 21, 22, 23, 24, (25 and 28 off), 29
        ("england", D(2026, 12, 18), 5, D(2026, 12, 29)),
        # ... then 30, 31, (1 Jan off), 4, 5, 6
        ("england", D(2026, 12, 18), 10, D(2027, 1, 6)),
        # Scotland also has 2 January (Sat 2027 -> Mon 4th off)
        ("scotland", D(2026, 12, 18), 10, D(2027, 1, 7)),
        # Received on a Saturday counts as received on the Monday (day 0)
        ("england", D(2026, 12, 19), 0, D(2026, 12, 21)),
        ("england", D(2026, 12, 19), 5, D(2026, 12, 30)),
        ("england", D(2026, 12, 18), 0, D(2026, 12, 18)),
        # Easter: Good Friday and Easter Monday in England; only Good Friday in Scotland
        ("england", D(2026, 4, 2), 5, D(2026, 4, 13)),
        ("scotland", D(2026, 4, 2), 5, D(2026, 4, 10)),
        # One-offs
        ("england", D(2020, 5, 7), 1, D(2020, 5, 11)),
        ("england", D(2022, 6, 1), 5, D(2022, 6, 10)),
        ("england", D(2022, 9, 16), 1, D(2022, 9, 20)),
        ("england", D(2023, 5, 5), 1, D(2023, 5, 9)),
        # Christmas 2021 with both substitute days
        ("england", D(2021, 12, 24), 1, D(2021, 12, 29)),
        # 12 July 2026 is a Sunday: Northern Ireland has Monday 13th off
        ("northern_ireland", D(2026, 7, 10), 1, D(2026, 7, 14)),
        ("england", D(2026, 7, 10), 1, D(2026, 7, 13)),
        # Over a year end
        ("england", D(2026, 12, 31), 1, D(2027, 1, 4)),
    ],
)
def test_add_working_days_counts_from_day_zero(
    nation: str, start: date, n: int, expected: date
) -> None:
    assert Calendar(nation).add_working_days(start, n) == expected


def test_add_working_days_skips_closure_days() -> None:
    calendar = Calendar("england", closures=[D(2026, 12, 29), D(2026, 12, 30), D(2026, 12, 31)])
    # 21, 22, 23, 24, then 25-31 are holidays or closures, 1 Jan is a holiday: Mon 4 Jan
    assert calendar.add_working_days(D(2026, 12, 18), 5) == D(2027, 1, 4)


def test_add_working_days_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        Calendar().add_working_days(D(2026, 12, 18), -1)


@pytest.mark.parametrize(
    ("nation", "start", "end", "expected"),
    [
        ("england", D(2026, 12, 18), D(2026, 12, 18), 0),
        ("england", D(2026, 12, 18), D(2026, 12, 29), 5),
        ("england", D(2026, 12, 29), D(2026, 12, 18), -5),
        # Start is not rolled forward: Saturday to Monday is one working day
        ("england", D(2026, 12, 19), D(2026, 12, 21), 1),
        ("england", D(2026, 12, 19), D(2026, 12, 20), 0),
        # Year end: 1 Jan off everywhere, 4 Jan 2027 is also off in Scotland (2 Jan substitute)
        ("england", D(2026, 12, 31), D(2027, 1, 4), 1),
        ("scotland", D(2026, 12, 31), D(2027, 1, 4), 0),
        # All of 2026 in England: 261 weekdays less 8 weekday bank holidays
        ("england", D(2025, 12, 31), D(2026, 12, 31), 253),
    ],
)
def test_working_days_between_counts_days_after_start_up_to_end(
    nation: str, start: date, end: date, expected: int
) -> None:
    assert Calendar(nation).working_days_between(start, end) == expected


@pytest.mark.parametrize(
    ("start", "n"),
    [(D(2026, 12, 18), 5), (D(2026, 12, 18), 30), (D(2022, 6, 1), 20), (D(2023, 4, 6), 7)],
)
def test_working_days_between_inverts_add_working_days_from_a_working_day(
    start: date, n: int
) -> None:
    calendar = Calendar()
    assert calendar.working_days_between(start, calendar.add_working_days(start, n)) == n


def test_working_days_lists_the_days_counted() -> None:
    days = list(Calendar().working_days(D(2026, 12, 23), D(2026, 12, 29)))
    assert days == [D(2026, 12, 24), D(2026, 12, 29)]


def test_nations_map_to_the_uk_subdivisions() -> None:
    assert dict(NATIONS) == {
        "england": "ENG",
        "wales": "WLS",
        "scotland": "SCT",
        "northern_ireland": "NIR",
    }


def test_unknown_nation_is_refused_with_the_valid_ones_named() -> None:
    with pytest.raises(ValueError) as info:
        Calendar("cornwall")
    message = str(info.value)
    assert "cornwall" in message and "\n" not in message
    for nation in NATIONS:
        assert nation in message


@pytest.mark.parametrize("spelling", ["Northern Ireland", "northern-ireland", " SCOTLAND "])
def test_nation_spelling_is_forgiving(spelling: str) -> None:
    assert Calendar(spelling).nation in NATIONS


def test_calendar_defaults_to_england_with_no_closures() -> None:
    calendar = Calendar()
    assert calendar.nation == "england"
    assert calendar.subdivision == "ENG"
    assert calendar.closures == frozenset()


def test_calendars_with_the_same_days_are_equal_and_hash_alike() -> None:
    a = Calendar("england", [D(2026, 12, 29), D(2026, 12, 30)])
    b = Calendar("england", (d for d in [D(2026, 12, 30), D(2026, 12, 29)]))
    assert a == b and hash(a) == hash(b)
    assert a != Calendar("wales", [D(2026, 12, 29), D(2026, 12, 30)])
    assert a != Calendar("england")
    assert len({a, b}) == 1


def test_calendar_is_immutable() -> None:
    calendar = Calendar()
    with pytest.raises(AttributeError):
        calendar._nation = "scotland"


def test_with_closures_returns_a_new_calendar() -> None:
    calendar = Calendar("england")
    closed = calendar.with_closures([D(2026, 12, 29)])
    assert calendar.is_working_day(D(2026, 12, 29))
    assert not closed.is_working_day(D(2026, 12, 29))
    assert closed.nation == "england"


def test_a_datetime_is_treated_as_its_calendar_day() -> None:
    calendar = Calendar("england", closures=[datetime(2026, 12, 29, 9, 30)])
    assert not calendar.is_working_day(datetime(2026, 12, 29, 14, 0))
    assert not calendar.is_working_day(datetime(2026, 12, 25, 8, 0))
    assert calendar.add_working_days(datetime(2026, 12, 24, 17, 0), 0) == D(2026, 12, 24)
