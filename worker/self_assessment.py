"""`complaints report self-assessment`: a draft of the Complaint Handling Code's Appendix A
self-assessment (SPEC section 8), filled with the evidence the system holds.

For every provision (1.2 to 9.8) the draft gives the Code's requirement (shipped in
``worker/data/code_provisions.json``, extracted by ``scripts/extract_code_provisions.py``), a
suggested answer to "Comply?" and the evidence, each piece naming where it comes from: the
database (counted for the reporting year), or the product's own guarantees (the required elements
of each letter kind, ``worker.domain.letters.SPECS``; the timescales, ``worker.domain.timescales``).

The suggestion is only a suggestion. "yes" means the records for the year show nothing against
the provision; "partly" that some records meet it and some do not; "no" that none do; "for the
landlord to decide" that the system cannot show it (policy, governance, publication) or has no
records to judge by. The complaints officer completes the draft and the governing body approves it.

The calculations are small pure functions over plain facts; ``load_assessment_facts`` reads them
from the database, and ``main_self_assessment`` lays the draft out as Markdown or accessible HTML.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.adapters.clock import london_date
from worker.domain import letters
from worker.domain import reporting as rp
from worker.domain.timescales import STAGES, timescale
from worker.reports import (
    REFUSAL_NAMES,
    Block,
    Bullets,
    Context,
    Document,
    Facts,
    Heading,
    Para,
    Table,
    load_facts,
    render_for,
    report_context,
    report_options,
    write_report,
)

YES: Final = "yes"
NO: Final = "no"
PARTLY: Final = "partly"
LANDLORD: Final = "for the landlord to decide"

# Actors that are the system, not a person (audit trail).
AUTOMATIC_ACTORS: Final = frozenset(
    {"", "system", "deadline-watcher", "worker", "automatic", "sender"}
)

SOURCE_DB: Final = "complaints database"
SOURCE_LETTERS: Final = "the product: required elements of each letter kind (letters.SPECS)"
SOURCE_TIMESCALES: Final = "the product: the Code's timescales (domain/timescales.py)"
SOURCE_PRODUCT: Final = "the product's rules"


# ---------------------------------------------------------------------------------------------
# The Code's provisions


@dataclass(frozen=True)
class Provision:
    number: str
    section: str
    section_heading: str
    requirement: str

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.number.split(".")
        return int(major), int(minor)


def load_provisions() -> list[Provision]:
    """The provisions shipped with the product, in Code order."""
    text = resources.files("worker").joinpath("data/code_provisions.json").read_text("utf-8")
    data = json.loads(text)
    provisions = [
        Provision(p["provision"], p["section"], p["section_heading"], p["requirement"])
        for p in data["provisions"]
    ]
    return sorted(provisions, key=lambda p: p.key)


# ---------------------------------------------------------------------------------------------
# Facts


@dataclass(frozen=True)
class Message:
    """An inbound message: the day received, its triage label, and its words."""

    received: date
    label: str
    text: str
    source: str = "email"


@dataclass(frozen=True)
class Event:
    """An audit event: when, who, what."""

    on: date
    actor: str
    action: str
    why: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentLetter:
    on: date
    kind: str
    status: str
    text: str = ""


@dataclass(frozen=True)
class StageHandlers:
    case_ref: str
    stage1: str
    stage2: str


@dataclass(frozen=True)
class ActionFact:
    kind: str  # action | remedy
    stage: int
    due: date | None
    completed_on: date | None
    offered_on: date | None


@dataclass(frozen=True)
class RestrictionFact:
    decided_by: str
    decided_on: date
    reasons: str
    review_on: date | None
    ended_on: date | None


@dataclass(frozen=True)
class ResidentFact:
    adjustments: str
    review_on: date | None
    representative: bool


@dataclass
class AssessmentFacts:
    base: Facts = field(default_factory=Facts)
    messages: list[Message] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    letters: list[SentLetter] = field(default_factory=list)
    handlers: list[StageHandlers] = field(default_factory=list)
    actions: list[ActionFact] = field(default_factory=list)
    restrictions: list[RestrictionFact] = field(default_factory=list)
    residents: list[ResidentFact] = field(default_factory=list)
    channels: list[tuple[date, str]] = field(default_factory=list)  # (received, case channel)
    priority_cases: int = 0


def load_assessment_facts(session: Session) -> AssessmentFacts:
    from worker.adapters.db_models import (
        AuditEvent,
        Case,
        CaseAction,
        InboundMessage,
        Letter,
        Resident,
        Restriction,
    )

    facts = AssessmentFacts(base=load_facts(session))
    for received_on, stored_at, label, subject, text, source in session.execute(
        select(
            InboundMessage.received_on,
            InboundMessage.stored_at,
            InboundMessage.label,
            InboundMessage.subject,
            InboundMessage.text,
            InboundMessage.source,
        )
    ):
        facts.messages.append(
            Message(
                received_on or london_date(stored_at),
                label or "",
                f"{subject or ''}\n{text or ''}",
                source or "",
            )
        )
    for event in session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        facts.events.append(
            Event(
                london_date(event.at),
                event.actor or "",
                event.action,
                event.why or "",
                dict(event.details or {}),
            )
        )
    for created_at, kind, status, text in session.execute(
        select(Letter.created_at, Letter.kind, Letter.status, Letter.text)
    ):
        facts.letters.append(SentLetter(london_date(created_at), kind, status, text or ""))
    stage_days: dict[tuple[int, int], date | None] = {}
    for case in session.scalars(select(Case).order_by(Case.id)):
        by_stage = {s.stage: s for s in case.stages}
        for s in case.stages:
            stage_days[(case.id, s.stage)] = s.responded
        if 2 in by_stage:
            facts.handlers.append(
                StageHandlers(
                    case.ref,
                    (by_stage[1].handler or "") if 1 in by_stage else "",
                    by_stage[2].handler or "",
                )
            )
        if case.stages:
            facts.channels.append((min(s.received for s in case.stages), case.channel or ""))
        facts.priority_cases += 1 if case.priority else 0
    for action in session.scalars(select(CaseAction)):
        facts.actions.append(
            ActionFact(
                action.kind,
                action.stage,
                action.due,
                action.completed_on,
                stage_days.get((action.case_id, action.stage)),
            )
        )
    for row in session.scalars(select(Restriction)):
        facts.restrictions.append(
            RestrictionFact(
                row.decided_by or "",
                london_date(row.created_at),
                row.reasons or "",
                row.review_on,
                row.ended_on,
            )
        )
    for resident in session.scalars(select(Resident)):
        facts.residents.append(
            ResidentFact(
                resident.adjustments or "",
                resident.adjustments_review_on,
                bool(resident.representative_name.strip()),
            )
        )
    return facts


# ---------------------------------------------------------------------------------------------
# Pure calculations


def is_automatic(actor: str) -> bool:
    return " ".join(actor.split()).casefold() in AUTOMATIC_ACTORS


def judge(good: int, bad: int) -> str | None:
    """The suggestion from records that meet (``good``) and fail (``bad``) a provision; None when
    there is nothing to judge by."""
    if good == 0 and bad == 0:
        return None
    if bad == 0:
        return YES
    return PARTLY if good else NO


_COMPLAINT_WORD = re.compile(r"\bcomplain", re.IGNORECASE)


def complaints_without_the_word(messages: Iterable[Message]) -> tuple[int, int]:
    """(messages labelled complaint, of which never use "complain..." in subject or body): 1.3."""
    complaints = [m for m in messages if m.label == "complaint"]
    return len(complaints), sum(1 for m in complaints if not _COMPLAINT_WORD.search(m.text))


def refusal_deciders(events: Iterable[Event]) -> tuple[int, int, int]:
    """Refusal decisions (``triage.refuse`` audit events; each also writes a ``case.refuse``
    transition, not counted twice) as (by a named person, by the system, with no written reason):
    2.1, 2.5."""
    people = system = unexplained = 0
    for e in events:
        if e.action != "triage.refuse":
            continue
        if is_automatic(e.actor):
            system += 1
        else:
            people += 1
        if not e.why.strip():
            unexplained += 1
    return people, system, unexplained


@dataclass(frozen=True)
class Extensions:
    within_limit: int
    beyond_approved: int
    beyond_unapproved: int
    notified_in_time: int
    notified_late: int


def extension_summary(stages: Iterable[rp.StageFacts], stage: int) -> Extensions:
    """Extensions of ``stage``: within the Code's limit, beyond it with a good reason and a
    manager's approval, beyond it without; told to the resident by the original date or not
    (6.4, 6.15)."""
    limit = timescale(stage).max_extension_days
    within = approved = unapproved = in_time = late = 0
    for s in stages:
        if s.stage != stage or s.extension_days <= 0:
            continue
        if s.extension_days <= limit:
            within += 1
        elif s.good_reason.strip() and s.approved_by.strip():
            approved += 1
        else:
            unapproved += 1
        if (
            s.extension_notified is not None
            and s.original_respond_by is not None
            and s.extension_notified < s.original_respond_by
        ):
            in_time += 1
        else:
            late += 1
    return Extensions(within, approved, unapproved, in_time, late)


def stage2_handlers(cases: Iterable[StageHandlers]) -> tuple[int, int, int]:
    """Cases with a stage 2: (handled by a different person, by the same person, not yet known)."""
    different = same = unknown = 0
    for c in cases:
        one, two = " ".join(c.stage1.split()).casefold(), " ".join(c.stage2.split()).casefold()
        if not one or not two:
            unknown += 1
        elif one == two:
            same += 1
        else:
            different += 1
    return different, same, unknown


def letters_needing(element: str) -> list[str]:
    """Letter kinds that cannot be sent without ``element`` (the product's guarantee)."""
    return [kind for kind, spec in letters.SPECS.items() if element in spec.required]


def asking_phrases() -> list[str]:
    """The questions an acknowledgement asks for missing details (5.6), as they appear in text."""
    return [q.split("{")[0].strip() for q in letters.DETAIL_QUESTIONS.values()]


def acknowledgements_asking(sent: Iterable[SentLetter]) -> tuple[int, int]:
    """(acknowledgements, of which asked the resident for details they had not given): 5.6."""
    phrases = [p for p in asking_phrases() if p]
    acks = [x for x in sent if x.kind in ("stage1_acknowledgement", "stage2_acknowledgement")]
    return len(acks), sum(1 for x in acks if any(p in x.text for p in phrases))


@dataclass(frozen=True)
class ActionSummary:
    total: int
    completed: int
    overdue: int
    no_date: int


def action_summary(actions: Iterable[ActionFact], kind: str, today: date) -> ActionSummary:
    """Actions or remedies: how many, completed, past their date and not completed, undated."""
    rows = [a for a in actions if a.kind == kind]
    return ActionSummary(
        len(rows),
        sum(1 for a in rows if a.completed_on is not None),
        sum(1 for a in rows if a.completed_on is None and a.due is not None and a.due < today),
        sum(1 for a in rows if a.due is None),
    )


@dataclass(frozen=True)
class RestrictionSummary:
    total: int
    in_force: int
    automatic: int
    no_reasons: int
    review_overdue: int


def restriction_summary(rows: Iterable[RestrictionFact], today: date) -> RestrictionSummary:
    rows = list(rows)
    in_force = [r for r in rows if r.ended_on is None]
    return RestrictionSummary(
        len(rows),
        len(in_force),
        sum(1 for r in rows if is_automatic(r.decided_by)),
        sum(1 for r in rows if not r.reasons.strip()),
        sum(1 for r in in_force if r.review_on is None or r.review_on < today),
    )


def adjustment_summary(rows: Iterable[ResidentFact], today: date) -> tuple[int, int, int]:
    """(residents with adjustments recorded, of which a review is set, reviews overdue): 5.10."""
    with_adj = [r for r in rows if r.adjustments.strip()]
    return (
        len(with_adj),
        sum(1 for r in with_adj if r.review_on is not None),
        sum(1 for r in with_adj if r.review_on is not None and r.review_on < today),
    )


# ---------------------------------------------------------------------------------------------
# Assessing each provision


@dataclass(frozen=True)
class Evidence:
    text: str
    source: str


@dataclass
class Assessment:
    provision: Provision
    comply: str
    evidence: list[Evidence] = field(default_factory=list)
    attach: str = ""


@dataclass(frozen=True)
class Inputs:
    facts: AssessmentFacts
    year: rp.ReportingYear
    today: date
    annual_command: str

    @property
    def events(self) -> list[Event]:
        return [e for e in self.facts.events if self.year.contains(e.on)]

    @property
    def letters(self) -> list[SentLetter]:
        return [x for x in self.facts.letters if self.year.contains(x.on)]


Finding = tuple[str | None, list[Evidence]]
Assessor = Callable[[Inputs], Finding]


def _db(text: str) -> Evidence:
    return Evidence(text, SOURCE_DB)


def _kinds(kinds: Sequence[str]) -> str:
    return ", ".join(k.replace("_", " ") for k in kinds)


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _a_1_2(i: Inputs) -> Finding:
    labels = Counter(
        m.label or "not yet labelled" for m in i.facts.messages if i.year.contains(m.received)
    )
    text = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(labels.items()))
    return None, [
        _db(f"Messages received in the year, by how triage sorted them: {text or 'none'}."),
        Evidence(
            "Triage treats any expression of dissatisfaction as a possible complaint; anything "
            "unsure, and every proposed exclusion, goes to a person to decide.",
            SOURCE_PRODUCT,
        ),
    ]


def _a_1_3(i: Inputs) -> Finding:
    total, without = complaints_without_the_word(
        m for m in i.facts.messages if i.year.contains(m.received)
    )
    reps = sum(1 for r in i.facts.residents if r.representative)
    ev = [
        _db(
            f"{_n(total, 'message')} triaged as complaints in the year; {without} of them never "
            "use the word 'complaint' (or 'complain') and were still treated as complaints."
        ),
        _db(
            f"{_n(reps, 'resident')} with a representative recorded (complaints via a third party)."
        ),
    ]
    return (YES if without else None), ev


def _a_1_4(i: Inputs) -> Finding:
    srs = sum(1 for d in i.facts.base.service_requests if i.year.contains(d))
    return (YES if srs else None), [
        _db(f"{_n(srs, 'service request')} logged in the year, each with a date it is due by."),
        Evidence(
            "The service request acknowledgement cannot be sent without what happens next, the "
            "date and how to complain.",
            SOURCE_LETTERS,
        ),
    ]


def _a_1_6(i: Inputs) -> Finding:
    replies = sum(1 for x in i.letters if x.kind == "survey_reply")
    return YES, [
        _db(
            f"{_n(replies, 'reply', 'replies')} to survey feedback telling the resident how "
            "to complain."
        ),
        Evidence("A survey reply cannot be sent without how to complain.", SOURCE_LETTERS),
    ]


def _refusals(i: Inputs) -> tuple[int, int, int]:
    return refusal_deciders(i.events)


def _a_2_1(i: Inputs) -> Finding:
    people, system, unexplained = _refusals(i)
    return judge(people - unexplained, system + unexplained), [
        _db(
            f"{_n(people + system, 'matter')} not accepted as complaints in the year: "
            f"{people} decided by a named person, {system} by the system; "
            f"{unexplained} without a written reason."
        )
    ]


def _a_2_2(i: Inputs) -> Finding:
    types = rp.refused_types(i.facts.base.refusals, i.year)
    text = "; ".join(f"{REFUSAL_NAMES.get(r, r)}: {n}" for r, n in types)
    return None, [_db(f"Refusals in the year, by reason: {text or 'none'}.")]


def _a_2_3(i: Inputs) -> Finding:
    old = sum(
        1
        for r in i.facts.base.refusals
        if r.reason == "over_12_months" and i.year.contains(r.decided_on)
    )
    return None, [
        _db(
            f"{_n(old, 'matter')} refused as more than 12 months old, each decided by a person "
            "who could use discretion."
        )
    ]


def _a_2_4(i: Inputs) -> Finding:
    refusals = sum(1 for e in i.events if e.action == "triage.refuse")
    surveys = sum(
        1
        for e in i.events
        if e.action == "triage.refuse" and e.details.get("exclusion") == "survey_feedback"
    )
    sent = sum(1 for x in i.letters if x.kind == "refusal")
    needed = max(refusals - surveys, 0)
    return judge(min(sent, needed), max(needed - sent, 0)) or YES, [
        _db(f"{_n(sent, 'refusal letter')} for {_n(needed, 'refusal')} in the year."),
        Evidence(
            "A refusal letter cannot be sent without "
            + _kinds(letters.SPECS["refusal"].required)
            + ", so every one gives the reasons and the right to go to the Ombudsman.",
            SOURCE_LETTERS,
        ),
    ]


def _a_2_5(i: Inputs) -> Finding:
    people, system, _ = _refusals(i)
    return judge(people, system) or YES, [
        _db(f"{people} refusals decided by a named person; {system} by the system."),
        Evidence(
            "The system never refuses a complaint itself: every proposed exclusion waits for a "
            "person, who must give written reasons.",
            SOURCE_PRODUCT,
        ),
    ]


def _a_3_1(i: Inputs) -> Finding:
    channels = Counter(c or "email" for d, c in i.facts.channels if i.year.contains(d))
    text = "; ".join(f"{k}: {v}" for k, v in sorted(channels.items()))
    return None, [
        _db(f"Complaints by how they reached us: {text or 'none'}."),
        _db(
            f"{_n(sum(1 for r in i.facts.residents if r.adjustments.strip()), 'resident')} with "
            "reasonable adjustments recorded."
        ),
    ]


def _a_3_3(i: Inputs) -> Finding:
    c1 = rp.ch01(i.facts.base.stages, i.year, 0)
    return None, [
        _db(
            f"{c1.stage1_count} stage 1 and {c1.stage2_count} stage 2 complaints received in the "
            "year (CH01 in `complaints report tsm`)."
        )
    ]


def _a_3_6(i: Inputs) -> Finding:
    reps = sum(1 for r in i.facts.residents if r.representative)
    return YES, [
        _db(f"{_n(reps, 'resident')} with a representative recorded."),
        Evidence(
            "Acknowledgements cannot be sent without the right to a representative: "
            + _kinds(letters_needing("representative_right"))
            + ".",
            SOURCE_LETTERS,
        ),
    ]


def _a_3_7(i: Inputs) -> Finding:
    kinds = letters_needing("ombudsman")
    sent = sum(1 for x in i.letters if x.kind in kinds)
    return YES, [
        Evidence(
            f"These letter kinds cannot be sent without the Ombudsman's details: {_kinds(kinds)}.",
            SOURCE_LETTERS,
        ),
        _db(f"{_n(sent, 'letter')} of those kinds written in the year."),
    ]


def _a_5_2(i: Inputs) -> Finding:
    return (YES if tuple(STAGES) == (1, 2) else NO), [
        Evidence(
            f"The system has exactly {len(STAGES)} stages ({', '.join(map(str, STAGES))}); a "
            "third stage or a 'stage 0' cannot be recorded.",
            SOURCE_TIMESCALES,
        )
    ]


def _a_5_6(i: Inputs) -> Finding:
    acks, asking = acknowledgements_asking(i.letters)
    return (YES if acks else None), [
        _db(
            f"{_n(acks, 'acknowledgement')} written in the year, each setting out our "
            f"understanding of the complaint; {asking} asked the resident for details or the "
            "outcome they had not given."
        ),
        Evidence(
            "An acknowledgement cannot be sent without our understanding of the complaint and "
            "the outcome sought or a request for it.",
            SOURCE_LETTERS,
        ),
    ]


def _a_5_7(i: Inputs) -> Finding:
    return YES, [
        Evidence(
            "Acknowledgements cannot be sent without saying what we are and are not responsible "
            "for: " + _kinds(letters_needing("responsibility")) + ".",
            SOURCE_LETTERS,
        )
    ]


def _a_5_9(i: Inputs) -> Finding:
    ext = [
        s
        for s in i.facts.base.stages
        if s.extension_days > 0 and i.year.contains(s.extension_notified or s.original_respond_by)
    ]
    notices = sum(1 for x in i.letters if x.kind == "extension_notice")
    return (YES if ext else None), [
        _db(f"{_n(len(ext), 'extension')} in the year; {_n(notices, 'extension notice')} written."),
        Evidence(
            "An extension notice cannot be sent without the reason, the new date and when we "
            "will next be in touch.",
            SOURCE_LETTERS,
        ),
    ]


def _a_5_10(i: Inputs) -> Finding:
    recorded, with_review, overdue = adjustment_summary(i.facts.residents, i.today)
    return (PARTLY if overdue else YES if recorded else None), [
        _db(
            f"{_n(recorded, 'resident')} with reasonable adjustments recorded; {with_review} "
            f"with a review date; {overdue} reviews overdue on {i.today:%-d %B %Y}."
        ),
        Evidence(
            "Acknowledgements cannot be sent without the offer of reasonable adjustments.",
            SOURCE_LETTERS,
        ),
    ]


def _a_5_11(i: Inputs) -> Finding:
    refused = [
        r
        for r in i.facts.base.refusals
        if r.reason == "stage2_not_escalated" and i.year.contains(r.decided_on)
    ]
    return (YES if not refused else None), [
        _db(f"{_n(len(refused), 'request')} to escalate to stage 2 refused in the year."),
        Evidence(
            "A refusal is a person's decision and the refusal letter gives the reasons and the "
            "Ombudsman's details.",
            SOURCE_LETTERS,
        ),
    ]


def _a_5_12(i: Inputs) -> Finding:
    people = sum(1 for e in i.events if not is_automatic(e.actor))
    return YES, [
        _db(
            f"{_n(len(i.events), 'audit event')} recorded in the year ({people} by named staff), "
            "with every message received kept in its original form and every letter sent."
        )
    ]


def _a_5_14(i: Inputs) -> Finding:
    rs = restriction_summary(i.facts.restrictions, i.today)
    bad = rs.automatic + rs.no_reasons + rs.review_overdue
    return judge(rs.total - min(bad, rs.total), bad), [
        _db(
            f"{_n(rs.total, 'restriction')} recorded ({rs.in_force} in force): {rs.automatic} set "
            f"by the system, {rs.no_reasons} without reasons, {rs.review_overdue} past their "
            "review date."
        ),
        Evidence(
            "A restriction cannot be recorded without a named person, reasons and a review date.",
            SOURCE_PRODUCT,
        ),
    ]


def _ack(stage: int) -> Assessor:
    def assess(i: Inputs) -> Finding:
        a = rp.acknowledgement_timeliness(i.facts.base.stages, i.year, stage)
        days = timescale(stage).acknowledge_days
        share = "" if a.share_on_time is None else f" ({a.share_on_time * 100:.1f}%)"
        return judge(a.on_time, a.late), [
            _db(
                f"Stage {stage} complaints received in the year: {a.on_time} acknowledged within "
                f"{days} working days{share}, {a.late} late, {a.not_yet} not yet acknowledged."
            )
        ]

    return assess


def _respond(stage: int) -> Assessor:
    def assess(i: Inputs) -> Finding:
        c2 = rp.ch02(i.facts.base.stages, i.year)
        done, within = (
            (c2.stage1_responded, c2.stage1_within)
            if stage == 1
            else (c2.stage2_responded, c2.stage2_within)
        )
        days = timescale(stage).respond_days
        share = "" if not done else f" ({within * 100 / done:.1f}%, CH02)"
        return judge(within, done - within), [
            _db(
                f"{done} stage {stage} responses sent in the year, {within} within {days} working "
                f"days of the acknowledgement or a proper extension{share}."
            )
        ]

    return assess


def _extend(stage: int) -> Assessor:
    def assess(i: Inputs) -> Finding:
        stages = [
            s
            for s in i.facts.base.stages
            if rp.is_complaint(s) and i.year.contains(s.extension_notified or s.original_respond_by)
        ]
        e = extension_summary(stages, stage)
        limit = timescale(stage).max_extension_days
        good = e.within_limit + e.beyond_approved
        bad = e.beyond_unapproved + e.notified_late
        return judge(good, bad) or YES, [
            _db(
                f"Stage {stage} extensions in the year: {e.within_limit} within {limit} working "
                f"days, {e.beyond_approved} beyond it with a good reason and a manager's approval, "
                f"{e.beyond_unapproved} beyond it without; {e.notified_in_time} told to the "
                f"resident before the original date, {e.notified_late} not."
            ),
            Evidence(
                f"The system refuses an extension beyond {limit} working days without a good "
                "reason and a manager's approval.",
                SOURCE_PRODUCT,
            ),
        ]

    return assess


def _extension_ombudsman(i: Inputs) -> Finding:
    notices = sum(1 for x in i.letters if x.kind == "extension_notice")
    ok = "ombudsman" in letters.SPECS["extension_notice"].required
    return (YES if ok else NO), [
        Evidence(
            "An extension notice cannot be sent without the Ombudsman's contact details.",
            SOURCE_LETTERS,
        ),
        _db(f"{_n(notices, 'extension notice')} written in the year."),
    ]


def _actions(i: Inputs) -> Finding:
    a = action_summary(i.facts.actions, "action", i.today)
    return (PARTLY if a.overdue else YES if a.total else None), [
        _db(
            f"{_n(a.total, 'outstanding action')} recorded with responses: {a.completed} "
            f"completed, {a.overdue} past their date and not completed."
        ),
        Evidence(
            "The deadline watcher flags actions due within 2 working days or overdue.",
            SOURCE_PRODUCT,
        ),
    ]


def _response_letter(kind: str) -> Assessor:
    def assess(i: Inputs) -> Finding:
        sent = sum(1 for x in i.letters if x.kind == kind)
        return YES, [
            Evidence(
                f"A {kind.replace('_', ' ')} cannot be sent without: "
                f"{_kinds(letters.SPECS[kind].required)}.",
                SOURCE_LETTERS,
            ),
            _db(f"{_n(sent, 'letter')} of this kind written in the year."),
        ]

    return assess


def _points(i: Inputs) -> Finding:
    return None, [
        Evidence(
            "Responses cannot be sent without the complaint definition, the decision and the "
            "reasons; whether every point is addressed is for the person responding.",
            SOURCE_LETTERS,
        )
    ]


def _a_6_10(i: Inputs) -> Finding:
    c1 = rp.ch01(i.facts.base.stages, i.year, 0)
    return YES, [
        _db(f"{c1.stage2_count} escalations to stage 2 received in the year."),
        Evidence(
            "Every stage 1 response tells the resident how to escalate to stage 2.",
            SOURCE_LETTERS,
        ),
    ]


def _a_6_12(i: Inputs) -> Finding:
    return YES, [
        Evidence(
            "The stage 2 acknowledgement invites, but does not require, the reasons the "
            "resident is still unhappy; an escalation is recorded without one.",
            SOURCE_LETTERS,
        )
    ]


def _a_6_13(i: Inputs) -> Finding:
    different, same, unknown = stage2_handlers(i.facts.handlers)
    return judge(different, same), [
        _db(
            f"Of {_n(different + same + unknown, 'case')} with a stage 2: {different} handled by a "
            f"different person at stage 2, {same} by the same person, {unknown} not yet assigned."
        ),
        Evidence(
            "The system refuses to assign or record a stage 2 response by the stage 1 handler.",
            SOURCE_PRODUCT,
        ),
    ]


def _a_7_1(i: Inputs) -> Finding:
    total, valued, unvalued = rp.remedies_total_pence(i.facts.base.remedies, i.year)
    year_remedies = [
        a for a in i.facts.actions if a.kind == "remedy" and i.year.contains(a.offered_on)
    ]
    r = action_summary(year_remedies, "remedy", i.today)
    return (YES if valued + unvalued else None), [
        _db(
            f"{_n(valued + unvalued, 'remedy', 'remedies')} offered in responses in the year "
            f"({valued} with money totalling {rp.format_pounds(total)}); {r.completed} completed."
        )
    ]


def _a_7_3(i: Inputs) -> Finding:
    r = action_summary(i.facts.actions, "remedy", i.today)
    open_ = r.total - r.completed
    return (YES if r.total and r.overdue == 0 else PARTLY if r.overdue else None), [
        _db(
            f"{_n(r.total, 'remedy', 'remedies')} recorded: {r.completed} completed, {open_} still "
            f"open, {r.overdue} past their date."
        ),
        Evidence(
            "Responses cannot be sent without the remedy (or why none) and the outstanding "
            "actions with their dates.",
            SOURCE_LETTERS,
        ),
    ]


def _a_8_1(i: Inputs) -> Finding:
    return None, [
        Evidence(
            f"The annual report's figures (8.1b: performance and the types of complaint refused; "
            f"8.1d: upheld complaints to start the learning section) are produced by "
            f"`{i.annual_command}`; 8.1a (this self-assessment), c, e and f are added by the "
            "complaints team.",
            SOURCE_PRODUCT,
        )
    ]


def _a_9_7(i: Inputs) -> Finding:
    return None, [
        Evidence(
            f"The regular MRC report (9.7a, b, d) is produced by "
            f"`complaints report mrc --year {i.year.start_year}`.",
            SOURCE_PRODUCT,
        )
    ]


def _a_6_1(i: Inputs) -> Finding:
    return None, [
        _db(f"{_n(i.facts.priority_cases, 'case')} marked as a priority (risk or vulnerability).")
    ]


ASSESSORS: Final[dict[str, Assessor]] = {
    "1.2": _a_1_2,
    "1.3": _a_1_3,
    "1.4": _a_1_4,
    "1.6": _a_1_6,
    "2.1": _a_2_1,
    "2.2": _a_2_2,
    "2.3": _a_2_3,
    "2.4": _a_2_4,
    "2.5": _a_2_5,
    "3.1": _a_3_1,
    "3.2": _a_3_1,
    "3.3": _a_3_3,
    "3.6": _a_3_6,
    "3.7": _a_3_7,
    "5.2": _a_5_2,
    "5.3": _a_5_2,
    "5.6": _a_5_6,
    "5.7": _a_5_7,
    "5.9": _a_5_9,
    "5.10": _a_5_10,
    "5.11": _a_5_11,
    "5.12": _a_5_12,
    "5.14": _a_5_14,
    "5.15": _a_5_14,
    "6.1": _a_6_1,
    "6.2": _ack(1),
    "6.3": _respond(1),
    "6.4": _extend(1),
    "6.5": _extension_ombudsman,
    "6.6": _actions,
    "6.7": _points,
    "6.9": _response_letter("stage1_response"),
    "6.10": _a_6_10,
    "6.11": _ack(2),
    "6.12": _a_6_12,
    "6.13": _a_6_13,
    "6.14": _respond(2),
    "6.15": _extend(2),
    "6.16": _extension_ombudsman,
    "6.17": _actions,
    "6.18": _points,
    "6.19": _response_letter("stage2_final_response"),
    "7.1": _a_7_1,
    "7.3": _a_7_3,
    "8.1": _a_8_1,
    "9.6": _a_9_7,
    "9.7": _a_9_7,
}

# What to attach where the system cannot show compliance on its own.
ATTACH: Final[dict[str, str]] = {
    "1": "the complaints policy's definition of a complaint and of a service request",
    "2": "the exclusions section of the complaints policy",
    "3": "the published policy, the web page and the channels residents can use",
    "4": "the complaints officer's role, authority and training records",
    "5": "the complaints policy and procedure",
    "6": "the complaints procedure",
    "7": "the remedies and compensation policy",
    "8": "the published annual report, the governing body's response and any Ombudsman findings",
    "9": "governing body minutes, the MRC's role, staff objectives and service improvements made",
}
SPECIFIC_ATTACH: Final[dict[str, str]] = {
    "3.4": "the policy as published on the website, with its accessible formats",
    "3.5": "where the policy and the Ombudsman's details are publicised",
    "4.1": "the name of the complaints officer or team",
    "5.4": "contracts or agreements with any third party handling complaints",
    "5.5": "contracts or agreements with any third party handling complaints",
    "8.2": "the governing body's minutes and its published response",
    "8.3": "any self-assessment after a restructure, merger or change in procedures",
    "8.4": "any update after an Ombudsman investigation",
    "8.5": "any notice of exceptional circumstances and the timescale to return to compliance",
    "9.4": "the name and role of the lead person accountable for complaint handling",
    "9.5": "the name of the Member Responsible for Complaints",
    "9.8": "the standard objective in staff appraisals",
}


def assess(provision: Provision, inputs: Inputs) -> Assessment:
    assessor = ASSESSORS.get(provision.number)
    attach = SPECIFIC_ATTACH.get(provision.number) or ATTACH.get(provision.section, "")
    if assessor is None:
        return Assessment(
            provision,
            LANDLORD,
            [Evidence("The system holds no evidence for this provision.", SOURCE_PRODUCT)],
            attach,
        )
    comply, evidence = assessor(inputs)
    return Assessment(provision, comply or LANDLORD, evidence, attach)


def assess_all(
    provisions: Sequence[Provision],
    facts: AssessmentFacts,
    year: rp.ReportingYear,
    today: date,
) -> list[Assessment]:
    inputs = Inputs(facts, year, today, f"complaints report annual --year {year.start_year}")
    return [assess(p, inputs) for p in provisions]


# ---------------------------------------------------------------------------------------------
# The document


def self_assessment_document(assessments: Sequence[Assessment], ctx: Context) -> Document:
    doc = Document(
        f"{ctx.landlord}: Complaint Handling Code self-assessment (draft) {ctx.year.label}".lstrip(
            ": "
        )
    )
    counts = Counter(a.comply for a in assessments)
    doc.add(
        Para(
            f"A draft of the Housing Ombudsman's Appendix A self-assessment for "
            f"{ctx.year.start:%-d %B %Y} to {ctx.year.end:%-d %B %Y}, filled with the evidence "
            f"held by the complaints system on {ctx.today:%-d %B %Y}. The complaints officer "
            "must check every answer, add the evidence the system cannot hold, and the governing "
            "body must review and approve it before it is published with the annual report "
            "(Code 8.1, 8.2)."
        ),
        Para(
            "'Comply' is a suggestion: yes when the year's records show nothing against the "
            "provision, partly when some records meet it and some do not, no when none do, and "
            "for the landlord to decide where the system cannot show it or has no records yet."
        ),
        Table(
            "Suggested answers",
            ["Comply", "Provisions"],
            [[c, str(counts.get(c, 0))] for c in (YES, PARTLY, NO, LANDLORD)],
        ),
    )
    section = ""
    for a in assessments:
        p = a.provision
        if p.section != section:
            section = p.section
            doc.add(Heading(1, f"Section {p.section}: {p.section_heading}"))
        blocks: list[Block] = [
            Heading(2, f"Provision {p.number}"),
            Table(
                f"Provision {p.number}: requirement and suggested answer",
                ["Item", "Detail"],
                [
                    ["Code requirement", p.requirement],
                    ["Comply (suggested)", a.comply],
                ],
            ),
            Bullets([f"{e.text} (Source: {e.source}.)" for e in a.evidence]),
        ]
        if a.attach:
            blocks.append(Para(f"Evidence for the landlord to attach: {a.attach}."))
        doc.add(*blocks)
    return doc


def main_self_assessment(args: argparse.Namespace) -> int:
    """`complaints report self-assessment [--year YYYY] [--out PATH]`."""
    from worker.bootstrap import existing_database

    year_arg, out = report_options(args)
    with existing_database() as app, app.db.session() as session:
        facts = load_assessment_facts(session)
    ctx = report_context(app, year_arg)
    doc = self_assessment_document(assess_all(load_provisions(), facts, ctx.year, ctx.today), ctx)
    return write_report(render_for(doc, out), out, "the self-assessment draft")
