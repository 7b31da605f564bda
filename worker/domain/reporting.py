"""The figures of SPEC section 8: the Regulator's complaint measures CH01 and CH02, and what the
annual report (Code 8.1) and the Member Responsible for Complaints report (9.7) are built from.

Pure: facts in (dataclasses built from the database by ``worker.reports``), figures out. Nothing
here reads the clock; "today" is passed in where a report needs it.

Definitions (each one chosen here, so that every figure can be checked by hand):

* **Reporting year.** The UK financial year, 1 April to 31 March. ``ReportingYear(2026)`` is
  1 April 2026 to 31 March 2027 and is written "2026-27"; ``--year 2026`` means that year.
* **A complaint.** A stage counts as a complaint once it was accepted into the process: a case
  still waiting in the triage queue (``pending_triage``) is not yet one, and a matter refused by
  staff (``refused``: an exclusion confirmed under Code 2.1/2.4, or a refusal to escalate, 5.11)
  is not one at the stage refused. Withdrawn complaints were complaints and stay counted.
* **CH01** (tenant satisfaction measure, "complaints relative to the size of the landlord"): the
  stage 1 complaints *received* in the year, and the stage 2 complaints (escalation requests)
  received in the year, each divided by the homes owned and multiplied by 1,000, rounded to two
  decimal places. With no homes configured the rates are ``None`` and a note says why.
* **CH02** ("complaints responded to within Complaint Handling Code timescales"): of the stage 1
  (and, separately, stage 2) complaints *responded to* in the year, the share whose response was
  on or before the date the Code allowed. That date is the recorded response date, which is 10
  (stage 1, Code 6.3) or 20 (stage 2, 6.14) working days after the acknowledgement, moved by an
  extension only when the extension was proper: notified to the resident on or before the
  original response date (SPEC section 4; the state machine refuses a later notice, and accepts
  one on that date itself, so the report agrees with it), and either within the Code's limit of
  10 (6.4) / 20 (6.15) working days or carrying a recorded good reason and a manager's approval
  (6.4, 6.15 "without good reason"; SPEC section 4). An improper extension is ignored and the
  response is judged against the original date. A response with no recorded date to meet cannot
  be shown to be in time and counts as outside. The Regulator's technical requirements count the
  responses made in the year (not the complaints received in it), as done here; acknowledgement
  timeliness (6.2, 6.11) is reported separately, not folded into CH02.
* **Outcomes** are the decisions of stage responses made in the year; **refused types** are the
  exclusion reasons of refusals confirmed by staff in the year; **remedies** are the money amounts
  offered in responses made in the year (remedies without an amount are counted, not valued).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from worker.domain.timescales import RiskStatus, at_risk_status, timescale
from worker.domain.working_days import Calendar

__all__ = [
    "CATEGORIES",
    "DECISIONS",
    "AcknowledgementTimeliness",
    "CH01",
    "CH02",
    "MonthVolume",
    "OpenCase",
    "Refusal",
    "Remedy",
    "ReportingYear",
    "StageFacts",
    "Timeliness",
    "acknowledgement_timeliness",
    "categorise",
    "ch01",
    "ch02",
    "count_by",
    "format_pounds",
    "is_complaint",
    "open_case_counts",
    "open_cases",
    "outcomes",
    "refused_types",
    "remedies_total_pence",
    "response_timeliness",
    "volumes_by_month",
]

DECISIONS: Final = ("upheld", "partly_upheld", "not_upheld")
_OPEN_STATUSES: Final = frozenset(
    {
        "pending_triage",
        "stage1_open",
        "stage1_acknowledged",
        "stage2_requested",
        "stage2_acknowledged",
    }
)
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


# ---------------------------------------------------------------------------------------------
# The reporting year


@dataclass(frozen=True, order=True)
class ReportingYear:
    """A UK financial year: 1 April of ``start_year`` to 31 March of the next year."""

    start_year: int

    @property
    def start(self) -> date:
        return date(self.start_year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.start_year + 1, 3, 31)

    @property
    def label(self) -> str:
        """ "2026-27", as the Regulator and most annual reports write it."""
        return f"{self.start_year}-{(self.start_year + 1) % 100:02d}"

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end

    def months(self) -> list[tuple[int, int]]:
        """(year, month) for April to March, in order."""
        return [(self.start_year + (1 if m < 4 else 0), m) for m in (*range(4, 13), *range(1, 4))]

    @classmethod
    def containing(cls, day: date) -> ReportingYear:
        return cls(day.year if day.month >= 4 else day.year - 1)


# ---------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class StageFacts:
    """One stage of one case, as recorded (``CaseStage``), with what the case is about.

    ``case_status`` is the case's status (``worker.domain.cases.Status`` values); ``category`` is
    what the complaint is about (see ``categorise``); ``label`` is how triage first labelled the
    message that opened the case; ``definition`` is our understanding of the complaint.
    """

    case_ref: str
    stage: int
    received: date
    acknowledged: date | None = None
    acknowledge_by: date | None = None
    respond_by: date | None = None
    original_respond_by: date | None = None
    extension_days: int = 0
    extension_notified: date | None = None
    good_reason: str = ""
    approved_by: str = ""
    responded: date | None = None
    decision: str = ""
    case_status: str = "stage1_open"
    has_stage2: bool = False
    category: str = "other"
    label: str = "complaint"
    definition: str = ""


@dataclass(frozen=True)
class Refusal:
    """A matter staff confirmed as outside the complaints process (2.1, 2.4) or not escalated."""

    case_ref: str
    stage: int
    reason: str
    decided_on: date


@dataclass(frozen=True)
class Remedy:
    """A remedy offered in a stage response (7.1); ``amount_pence`` None when not money."""

    case_ref: str
    stage: int
    offered_on: date | None
    amount_pence: int | None
    completed_on: date | None = None


def is_complaint(stage: StageFacts) -> bool:
    """Whether this stage was accepted as a complaint (see the module docstring).

    Stage 1 is not one while the case waits in triage, or when it was refused before any
    escalation; stage 2 is not one when the escalation was refused (5.11).
    """
    if stage.case_status == "pending_triage":
        return False
    if stage.case_status == "refused":
        # A refused case with a stage 2 was refused at stage 2: its stage 1 stands.
        return stage.stage == 1 and stage.has_stage2
    return True


# ---------------------------------------------------------------------------------------------
# CH01


@dataclass(frozen=True)
class CH01:
    year: str
    homes: int
    stage1_count: int
    stage2_count: int
    stage1_per_1000: float | None
    stage2_per_1000: float | None
    note: str = ""


def _per_1000(count: int, homes: int) -> float | None:
    if homes <= 0:
        return None
    return round(count * 1000 / homes, 2)


def ch01(stages: Iterable[StageFacts], year: ReportingYear, homes: int) -> CH01:
    """Stage 1 and stage 2 complaints received in ``year`` per 1,000 homes owned."""
    counts = Counter(s.stage for s in stages if is_complaint(s) and year.contains(s.received))
    note = ""
    if homes <= 0:
        note = (
            "homes_owned is not set in the landlord profile, so complaints per 1,000 homes "
            "cannot be worked out"
        )
    return CH01(
        year=year.label,
        homes=homes,
        stage1_count=counts[1],
        stage2_count=counts[2],
        stage1_per_1000=_per_1000(counts[1], homes),
        stage2_per_1000=_per_1000(counts[2], homes),
        note=note,
    )


# ---------------------------------------------------------------------------------------------
# CH02


@dataclass(frozen=True)
class Timeliness:
    """Whether one responded stage met the Code's timescale, and why."""

    within: bool
    deadline: date | None
    extension_counted: bool
    why: str


def _extension_is_proper(stage: StageFacts) -> tuple[bool, str]:
    if stage.original_respond_by is None:
        return False, "no original response date recorded"
    if stage.extension_notified is None:
        return False, "the extension was never notified to the resident"
    if stage.extension_notified >= stage.original_respond_by:
        # SPEC section 4: the notice must come before the original response date.
        return False, (
            f"the extension was notified on {stage.extension_notified.isoformat()}, not before "
            f"the original response date {stage.original_respond_by.isoformat()}"
        )
    limit = timescale(stage.stage).max_extension_days
    if stage.extension_days > limit and not (
        stage.good_reason.strip() and stage.approved_by.strip()
    ):
        return False, (
            f"{stage.extension_days} working days exceeds the Code's limit of {limit} without a "
            "recorded good reason and a manager's approval"
        )
    return True, "extension within the Code's rules"


def response_timeliness(stage: StageFacts) -> Timeliness:
    """The CH02 test for one stage (see the module docstring for the definition)."""
    if stage.responded is None:
        return Timeliness(False, None, False, "not responded to")
    deadline = stage.respond_by
    counted = False
    why = "no extension"
    if stage.extension_days > 0:
        counted, why = _extension_is_proper(stage)
        if not counted:
            deadline = stage.original_respond_by
    elif stage.original_respond_by is not None and stage.respond_by is None:
        deadline = stage.original_respond_by
    if deadline is None:
        return Timeliness(False, None, counted, "no response date was recorded to meet")
    within = stage.responded <= deadline
    verdict = "on time" if within else "late"
    return Timeliness(
        within,
        deadline,
        counted,
        f"responded {stage.responded.isoformat()}, due {deadline.isoformat()}: {verdict} ({why})",
    )


@dataclass(frozen=True)
class CH02:
    year: str
    stage1_responded: int
    stage1_within: int
    stage2_responded: int
    stage2_within: int

    @property
    def stage1_share(self) -> float | None:
        return _share(self.stage1_within, self.stage1_responded)

    @property
    def stage2_share(self) -> float | None:
        return _share(self.stage2_within, self.stage2_responded)


def _share(part: int, whole: int) -> float | None:
    """A fraction from 0 to 1, to four decimal places; None when there is nothing to divide."""
    return None if whole == 0 else round(part / whole, 4)


def ch02(stages: Iterable[StageFacts], year: ReportingYear) -> CH02:
    """Stage 1 and stage 2 complaints responded to in ``year``, and how many within timescale."""
    responded: Counter[int] = Counter()
    within: Counter[int] = Counter()
    for s in stages:
        if not is_complaint(s) or not year.contains(s.responded):
            continue
        responded[s.stage] += 1
        if response_timeliness(s).within:
            within[s.stage] += 1
    return CH02(year.label, responded[1], within[1], responded[2], within[2])


# ---------------------------------------------------------------------------------------------
# Volumes, categories, outcomes


@dataclass(frozen=True)
class MonthVolume:
    label: str  # "Apr 2026"
    stage1: int
    stage2: int


def volumes_by_month(stages: Iterable[StageFacts], year: ReportingYear) -> list[MonthVolume]:
    """Complaints received in each month of ``year`` (all twelve months, zeros included)."""
    counts: Counter[tuple[int, int, int]] = Counter(
        (s.received.year, s.received.month, s.stage)
        for s in stages
        if is_complaint(s) and year.contains(s.received)
    )
    return [
        MonthVolume(f"{_MONTHS[m - 1]} {y}", counts[(y, m, 1)], counts[(y, m, 2)])
        for y, m in year.months()
    ]


def count_by(values: Iterable[str]) -> list[tuple[str, int]]:
    """Counts, largest first, ties in alphabetical order."""
    return sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))


def outcomes(stages: Iterable[StageFacts], year: ReportingYear, stage: int) -> dict[str, int]:
    """Decisions of the ``stage`` responses made in ``year``, every decision listed."""
    found = Counter(
        s.decision
        for s in stages
        if s.stage == stage and is_complaint(s) and year.contains(s.responded)
    )
    result = {d: found.pop(d, 0) for d in DECISIONS}
    for other, n in sorted(found.items()):
        result[other or "not recorded"] = n
    return result


def refused_types(refusals: Iterable[Refusal], year: ReportingYear) -> list[tuple[str, int]]:
    """The exclusion reasons of refusals decided in ``year`` (8.1b), largest first."""
    return count_by(r.reason or "not recorded" for r in refusals if year.contains(r.decided_on))


@dataclass(frozen=True)
class AcknowledgementTimeliness:
    """Stages received in the year: acknowledged by the 5-working-day date (6.2, 6.11) or not."""

    on_time: int
    late: int
    not_yet: int

    @property
    def share_on_time(self) -> float | None:
        return _share(self.on_time, self.on_time + self.late)


def acknowledgement_timeliness(
    stages: Iterable[StageFacts], year: ReportingYear, stage: int | None = None
) -> AcknowledgementTimeliness:
    on_time = late = not_yet = 0
    for s in stages:
        if stage is not None and s.stage != stage:
            continue
        if not is_complaint(s) or not year.contains(s.received):
            continue
        if s.acknowledged is None:
            not_yet += 1
        elif s.acknowledge_by is None or s.acknowledged <= s.acknowledge_by:
            on_time += 1
        else:
            late += 1
    return AcknowledgementTimeliness(on_time, late, not_yet)


def remedies_total_pence(remedies: Iterable[Remedy], year: ReportingYear) -> tuple[int, int, int]:
    """(total pence, remedies with an amount, remedies without one) offered in ``year``."""
    total = valued = unvalued = 0
    for r in remedies:
        if not year.contains(r.offered_on):
            continue
        if r.amount_pence is None:
            unvalued += 1
        else:
            valued += 1
            total += r.amount_pence
    return total, valued, unvalued


def format_pounds(pence: int) -> str:
    """1234567 -> "£12,345.67"."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), 100)
    return f"{sign}£{pounds:,}.{rest:02d}"


# ---------------------------------------------------------------------------------------------
# Open cases


@dataclass(frozen=True)
class OpenCase:
    case_ref: str
    stage: int
    due: str  # "acknowledge" | "respond"
    deadline: date
    status: RiskStatus


def open_cases(stages: Iterable[StageFacts], today: date, calendar: Calendar) -> list[OpenCase]:
    """Each open case's next deadline and where it stands on ``today`` (SPEC section 7).

    The case's latest stage is its current one: the acknowledgement date until acknowledged, then
    the (possibly extended) response date. Cases that are responded to, closed, withdrawn or
    refused have nothing due from us and are left out. Ordered by deadline.
    """
    latest: dict[str, StageFacts] = {}
    for s in stages:
        if s.case_ref not in latest or s.stage > latest[s.case_ref].stage:
            latest[s.case_ref] = s
    result: list[OpenCase] = []
    for s in latest.values():
        if s.case_status not in _OPEN_STATUSES or s.responded is not None:
            continue
        if s.acknowledged is None:
            due, deadline = "acknowledge", s.acknowledge_by
        else:
            due, deadline = "respond", s.respond_by
        if deadline is None:
            continue
        result.append(
            OpenCase(s.case_ref, s.stage, due, deadline, at_risk_status(deadline, today, calendar))
        )
    return sorted(result, key=lambda c: (c.deadline, c.case_ref))


def open_case_counts(cases: Sequence[OpenCase]) -> dict[str, int]:
    counts = Counter(c.status for c in cases)
    return {k: counts[k] for k in ("on_track", "due_soon", "overdue")}


# ---------------------------------------------------------------------------------------------
# Categories

# What a complaint is about, for 8.1 and 9.7a ("volume, categories and outcomes"). The product
# records no category field yet, so a plain keyword match on the complaint's definition gives a
# first, explainable grouping; staff can set ``category`` in a case's extraction to override it.
# Order matters: the first category whose words appear wins (damp before repairs, because damp
# complaints usually mention repairs too).
CATEGORIES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("Building safety", ("fire", "cladding", "smoke alarm", "gas leak", "carbon monoxide")),
    ("Damp and mould", ("damp", "mould", "mold", "condensation")),
    ("Repairs", ("repair", "leak", "boiler", "heating", "broken", "contractor", "window", "roof")),
    ("Anti-social behaviour handling", ("anti-social", "antisocial", "asb", "neighbour")),
    ("Rent, service charges and money", ("rent", "service charge", "arrears", "charge", "refund")),
    ("Staff conduct and communication", ("rude", "staff", "call back", "no reply", "ignored")),
    ("Estate and grounds", ("estate", "grounds", "communal", "bins", "rubbish", "parking")),
)
OTHER_CATEGORY: Final = "Other"


def categorise(text: str) -> str:
    """The first category with a keyword starting a word of ``text`` (case-insensitive), else
    "Other". Words match at their start only, so "rent" finds "rental" but not "parent"."""
    for name, pattern in _CATEGORY_PATTERNS:
        if pattern.search(text):
            return name
    return OTHER_CATEGORY


_CATEGORY_PATTERNS: Final = tuple(
    (name, re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + ")", re.IGNORECASE))
    for name, words in CATEGORIES
)
