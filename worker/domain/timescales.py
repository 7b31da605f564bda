"""The Code's timescales, each citing its provision, and the deadlines they give a complaint.

All periods are in working days (see ``working_days``). Pure functions of dates and a calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from worker.domain.working_days import Calendar

# 6.2: complaints must be acknowledged, defined and logged at stage 1 within five working days of
# the complaint being received.
STAGE1_ACKNOWLEDGE_DAYS: Final = 5
# 6.3: a full stage 1 response within 10 working days of the complaint being acknowledged.
STAGE1_RESPOND_DAYS: Final = 10
# 6.4: any stage 1 extension must be no more than 10 working days without good reason; 6.5: the
# resident is given the Ombudsman's details when told of it.
STAGE1_MAX_EXTENSION_DAYS: Final = 10
# 6.11: requests for stage 2 must be acknowledged, defined and logged within five working days of
# the escalation request being received.
STAGE2_ACKNOWLEDGE_DAYS: Final = 5
# 6.14: a stage 2 final response within 20 working days of the complaint being acknowledged.
STAGE2_RESPOND_DAYS: Final = 20
# 6.15: any stage 2 extension must be no more than 20 working days without good reason; 6.16: the
# resident is given the Ombudsman's details when told of it.
STAGE2_MAX_EXTENSION_DAYS: Final = 20

# SPEC section 7: the console flags a deadline "due within 2 working days".
DUE_SOON_WORKING_DAYS: Final = 2

# 5.2, 5.3: exactly two stages; a third (or a "stage 0") is not acceptable under any circumstances.
STAGES: Final = (1, 2)


@dataclass(frozen=True)
class StageTimescale:
    """One stage's periods, in working days."""

    stage: int
    acknowledge_days: int
    respond_days: int
    max_extension_days: int


_TIMESCALES: Final = {
    1: StageTimescale(1, STAGE1_ACKNOWLEDGE_DAYS, STAGE1_RESPOND_DAYS, STAGE1_MAX_EXTENSION_DAYS),
    2: StageTimescale(2, STAGE2_ACKNOWLEDGE_DAYS, STAGE2_RESPOND_DAYS, STAGE2_MAX_EXTENSION_DAYS),
}


def timescale(stage: int) -> StageTimescale:
    """The periods of ``stage``; ValueError for anything but 1 or 2 (5.2, 5.3)."""
    # bool is an int to Python; True must not quietly mean stage 1.
    if isinstance(stage, bool) or stage not in _TIMESCALES:
        raise ValueError(
            f"stage must be 1 or 2 (the Code allows exactly two stages, 5.2/5.3), got {stage!r}"
        )
    return _TIMESCALES[stage]


@dataclass(frozen=True)
class Deadlines:
    """The dates one stage must meet.

    ``extended_respond_by_limit`` is the latest date an extension within the Code's limit can
    reach (6.4, 6.15); going past it needs a recorded good reason and a manager's approval.
    """

    acknowledge_by: date
    respond_by: date
    extended_respond_by_limit: date


def stage_deadlines(
    stage: int, received: date, calendar: Calendar, acknowledged: date | None = None
) -> Deadlines:
    """The deadlines of a stage received (stage 1) or escalated (stage 2) on ``received``.

    Without ``acknowledged`` the acknowledgement is taken as made on the day received, as the
    automatic acknowledgement makes it (SPEC section 9), so the response clock starts then. The
    response period runs from the actual acknowledgement (6.3, 6.14), so a late acknowledgement
    moves the response date too; it does not move ``acknowledge_by``.
    """
    periods = timescale(stage)
    if acknowledged is not None and acknowledged < received:
        raise ValueError(
            f"acknowledged ({acknowledged.isoformat()}) is before received ({received.isoformat()})"
        )
    acknowledge_by = calendar.add_working_days(received, periods.acknowledge_days)
    clock_start = received if acknowledged is None else acknowledged
    respond_by = calendar.add_working_days(clock_start, periods.respond_days)
    limit = calendar.add_working_days(respond_by, periods.max_extension_days)
    return Deadlines(acknowledge_by, respond_by, limit)


RiskStatus = Literal["on_track", "due_soon", "overdue"]


def at_risk_status(due: date, today: date, calendar: Calendar) -> RiskStatus:
    """Where a deadline stands on ``today`` (SPEC section 7).

    ``overdue`` once ``today`` is after ``due`` (an action on the due date itself is in time);
    ``due_soon`` when ``due`` is at most two working days after ``today`` (including today itself);
    otherwise ``on_track``. ``today`` is passed in: the domain never reads the clock.
    """
    if today > due:
        return "overdue"
    if calendar.working_days_between(today, due) <= DUE_SOON_WORKING_DAYS:
        return "due_soon"
    return "on_track"


def deadlines_as_json(d: Deadlines) -> dict[str, str]:
    """The `complaints deadlines` output (SPEC section 9, a stable contract): ISO dates."""
    return {
        "acknowledge_by": d.acknowledge_by.isoformat(),
        "respond_by": d.respond_by.isoformat(),
        "extended_respond_by_limit": d.extended_respond_by_limit.isoformat(),
    }
