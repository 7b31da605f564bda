"""Working-day arithmetic for the Code's timescales (SPEC section 4).

A working day is Monday to Friday, not a bank holiday of the landlord's UK nation and not a closure
day the landlord configured. Pure: dates in, dates out; nothing here knows what day it is today.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

import holidays

# The landlord profile names its nation in words; the holidays package keys the UK's bank holidays
# by ISO 3166-2 subdivision. Bank holidays differ by nation (e.g. Scotland has 2 January and St
# Andrew's Day but no Easter Monday; Northern Ireland has St Patrick's Day and 12 July), so the
# nation decides which days the Code's "working days" skip.
NATIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "england": "ENG",
        "wales": "WLS",
        "scotland": "SCT",
        "northern_ireland": "NIR",
    }
)

_SATURDAY: Final = 5
_ONE_DAY: Final = timedelta(days=1)


# Bounded: 4 nations x the years in use is small, but callers choose the years.
@lru_cache(maxsize=256)
def _bank_holidays(subdiv: str, year: int) -> Mapping[date, str]:
    """The bank holidays of one nation in one calendar year, built once per process.

    Built from the neighbouring years too and then filtered, so that a substitute day the library
    files under an adjacent year can never be missed. The library includes the one-off days
    (2020-05-08 VE Day move, 2022-06-03 Platinum Jubilee, 2022-09-19 State Funeral, 2023-05-08
    Coronation) and the substitute days for holidays falling at a weekend.
    """
    table = holidays.country_holidays("GB", subdiv=subdiv, years=range(year - 1, year + 2))
    return MappingProxyType({d: name for d, name in sorted(table.items()) if d.year == year})


def _as_date(value: date) -> date:
    # A datetime is a date to the type checker but never equals one, so a datetime slipping in
    # would silently miss every holiday and closure; reduce it to its calendar day.
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value


class Calendar:
    """The working-day calendar of one landlord: its nation's bank holidays plus closure days.

    Immutable and hashable, so it can key caches and be shared between threads. Build a new one
    (``with_closures``) when the landlord adds a closure day, then recompute open deadlines.
    """

    __slots__ = ("_nation", "_closures")

    _nation: str
    _closures: frozenset[date]

    def __init__(self, nation: str = "england", closures: Iterable[date] = ()) -> None:
        key = nation.strip().lower().replace("-", "_").replace(" ", "_")
        if key not in NATIONS:
            valid = ", ".join(NATIONS)
            raise ValueError(f"unknown nation {nation!r}: expected one of {valid}")
        object.__setattr__(self, "_nation", key)
        object.__setattr__(self, "_closures", frozenset(_as_date(d) for d in closures))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Calendar is immutable; build a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Calendar is immutable; build a new one")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Calendar):
            return NotImplemented
        return (self._nation, self._closures) == (other._nation, other._closures)

    def __hash__(self) -> int:
        return hash((self._nation, self._closures))

    def __repr__(self) -> str:
        closures = ", ".join(d.isoformat() for d in sorted(self._closures))
        return f"Calendar(nation={self._nation!r}, closures=[{closures}])"

    @property
    def nation(self) -> str:
        return self._nation

    @property
    def subdivision(self) -> str:
        """The holidays package's code for the nation (ENG, WLS, SCT, NIR)."""
        return NATIONS[self._nation]

    @property
    def closures(self) -> frozenset[date]:
        return self._closures

    def with_closures(self, extra: Iterable[date]) -> Calendar:
        """A calendar with more closure days; the original is unchanged."""
        return Calendar(self._nation, self._closures | {_as_date(d) for d in extra})

    def holiday_name(self, d: date) -> str | None:
        """The bank holiday's name on ``d`` for this nation, or None. Closures are not named."""
        day = _as_date(d)
        return _bank_holidays(self.subdivision, day.year).get(day)

    def is_working_day(self, d: date) -> bool:
        day = _as_date(d)
        if day.weekday() >= _SATURDAY:
            return False
        if day in self._closures:
            return False
        return day not in _bank_holidays(self.subdivision, day.year)

    def roll_forward(self, d: date) -> date:
        """``d`` if it is a working day, else the next working day.

        SPEC section 4: an item received on a non-working day counts as received on the next one.
        """
        day = _as_date(d)
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day

    def add_working_days(self, start: date, n: int) -> date:
        """The Nth working day after ``start``, where ``start`` (rolled forward) is day 0.

        This is the Code's "within N working days of X" (6.2, 6.3, 6.11, 6.14) as SPEC section 4
        reads it: X itself is day 0, and an X falling on a non-working day is first moved to the
        next working day. So n=0 gives the rolled-forward start.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        day = self.roll_forward(start)
        remaining = n
        while remaining:
            day += _ONE_DAY
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """The number of working days after ``start`` up to and including ``end``.

        This is the `complaints working-days` contract (SPEC section 9) and is literal: ``start``
        is not rolled forward, so a Saturday-to-Monday span counts the Monday (1). 0 when the two
        are equal; when ``end`` is before ``start`` the count is negated symmetrically
        (``between(a, b) == -between(b, a)``), so a negative number reads as "that many working
        days late". For a working-day ``start``, ``between(start, add_working_days(start, n))``
        is ``n``.
        """
        first, last = _as_date(start), _as_date(end)
        if last < first:
            return -self.working_days_between(last, first)
        return sum(1 for day in _days_after(first, last) if self.is_working_day(day))

    def working_days(self, start: date, end: date) -> Iterator[date]:
        """The working days after ``start`` up to and including ``end``, in order."""
        first, last = _as_date(start), _as_date(end)
        return (day for day in _days_after(first, last) if self.is_working_day(day))


def _days_after(first: date, last: date) -> Iterator[date]:
    day = first + _ONE_DAY
    while day <= last:
        yield day
        day += _ONE_DAY
