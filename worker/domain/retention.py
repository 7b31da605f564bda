"""The retention schedule (UK GDPR storage limitation, SPEC section 10): how long each kind of
record is kept after it ended, and which records have expired on a given day.

Pure: no I/O, no clock. ``worker.service.data_protection`` gathers the facts about each record
(when it ended, whether a legal hold covers it), asks ``decide`` and does what the verdict says.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date, timedelta
from enum import StrEnum
from typing import Final


class RecordKind(StrEnum):
    """The record kinds of the landlord's schedule (config ``[retention]`` keys)."""

    CLOSED_CASES = "closed_cases"
    SERVICE_REQUESTS = "service_requests"
    NON_RESIDENT_MAIL = "non_resident_mail"
    QUARANTINE = "quarantine"
    SPAM = "spam"
    AUDIT_LOG = "audit_log"


UNITS: Final = ("days", "months", "years")
_PERIOD = re.compile(r"^\s*(\d{1,5})\s*(day|days|month|months|year|years)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A retention period such as "6 years": calendar months and years, so "6 years after
    31 March 2020" is 31 March 2026 whatever the leap years in between."""

    amount: int
    unit: str  # days | months | years

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {self.unit!r}")
        if self.amount < 0:
            raise ValueError("a retention period cannot be negative")

    def after(self, day: date) -> date:
        """The day ``day`` plus this period (a 29 February start ends on 28 February)."""
        if self.unit == "days":
            return day + timedelta(days=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1)
        index = day.year * 12 + (day.month - 1) + months
        year, month = divmod(index, 12)
        month += 1
        return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        unit = self.unit[:-1] if self.amount == 1 else self.unit
        return f"{self.amount} {unit}"


def parse_period(text: object) -> Period:
    """``"6 years"``, ``"90 days"``, ``"3 months"`` -> Period; anything else is a ValueError whose
    message fits on one line."""
    if not isinstance(text, str):
        raise ValueError(f'must be text such as "6 years" or "90 days", got {text!r}')
    match = _PERIOD.match(text)
    if match is None:
        raise ValueError(f'must look like "6 years", "18 months" or "90 days", got {text!r}')
    amount = int(match.group(1))
    unit = match.group(2).lower()
    return Period(amount, unit if unit.endswith("s") else unit + "s")


@dataclass(frozen=True)
class RetentionSchedule:
    """How long each kind of record is kept after it ended. The defaults follow common practice
    for complaint records (six years after closure, the limitation period for a claim in
    contract) and keep mail that was never a resident's business only briefly."""

    closed_cases: Period = Period(6, "years")
    service_requests: Period = Period(6, "years")
    non_resident_mail: Period = Period(3, "months")
    quarantine: Period = Period(1, "years")
    spam: Period = Period(30, "days")
    audit_log: Period = Period(6, "years")

    def period(self, kind: RecordKind) -> Period:
        period: Period = getattr(self, kind.value)
        return period

    @classmethod
    def from_mapping(cls, table: Mapping[str, object]) -> RetentionSchedule:
        """The ``[retention]`` table of the landlord profile; kinds left out keep the default.
        An unknown kind or a bad period is a ValueError naming the key."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Period] = {}
        for key, raw in table.items():
            if key not in known:
                raise ValueError(
                    f"retention.{key} is not a record kind (one of {', '.join(sorted(known))})"
                )
            try:
                values[key] = parse_period(raw)
            except ValueError as exc:
                raise ValueError(f"retention.{key} {exc}") from None
        return cls(**values)

    def as_dict(self) -> dict[str, str]:
        return {kind.value: str(self.period(kind)) for kind in RecordKind}


@dataclass(frozen=True)
class Candidate:
    """One record as retention sees it. ``ended_on`` is the day its retention clock started (a
    case's closure, a message's receipt); None while the record is still live (an open case)."""

    kind: RecordKind
    key: int
    ended_on: date | None
    on_hold: bool = False


@dataclass(frozen=True)
class Verdict:
    candidate: Candidate
    expired: bool
    keep_until: date | None  # the last day it is kept; None while live or on hold
    why: str


def decide(candidate: Candidate, schedule: RetentionSchedule, today: date) -> Verdict:
    """Whether ``candidate`` has expired on ``today``. A record is kept through the last day of
    its period and expires the day after; a legal hold keeps it whatever the dates say."""
    period = schedule.period(candidate.kind)
    if candidate.on_hold:
        return Verdict(candidate, False, None, "on legal hold")
    if candidate.ended_on is None:
        return Verdict(candidate, False, None, "still open")
    keep_until = period.after(candidate.ended_on)
    if today > keep_until:
        return Verdict(
            candidate,
            True,
            keep_until,
            f"{candidate.kind.value.replace('_', ' ')}: ended {candidate.ended_on.isoformat()}, "
            f"kept {period} (until {keep_until.isoformat()})",
        )
    return Verdict(candidate, False, keep_until, f"kept until {keep_until.isoformat()}")


def expired(
    candidates: Iterable[Candidate], schedule: RetentionSchedule, today: date
) -> list[Candidate]:
    """The candidates that have expired on ``today``, in the order given."""
    return [c for c in candidates if decide(c, schedule, today).expired]


# Case statuses after which nothing more happens in the complaints process. A case answered at
# stage 1 and never escalated counts as ended on the day of its response: the resident's chance
# to escalate does not last the years a retention period runs.
ENDED_STATUSES: Final = frozenset(
    {"closed", "withdrawn", "refused", "stage1_responded", "stage2_responded"}
)


def case_ended_on(
    status: str,
    closed_on: date | None,
    last_responded: date | None,
    last_received: date | None,
) -> date | None:
    """The day a case's retention clock starts, or None while it is live: its closure date, else
    its last response, else (a case refused or withdrawn before any response) its last receipt."""
    if status not in ENDED_STATUSES:
        return None
    for day in (closed_on, last_responded, last_received):
        if day is not None:
            return day
    return None
