"""The clock adapter: the only place that asks the system for the time. Dates are Europe/London."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes even for timezone-aware columns; we store UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def london_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LONDON).date()


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return london_date(self.now())


class FixedClock:
    """For tests and for replaying a mailbox: time stands still at the given moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return london_date(self.moment)
