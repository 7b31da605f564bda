"""Awaab's Law: potential hazards found in residents' words, and the clocks the law sets for them.

The Hazards in Social Housing (Prescribed Requirements) (England) Regulations 2025 (SI 2025/1042,
in force 27 October 2025) make a social landlord investigate a potential hazard, tell the resident
what it found, and make the home safe within fixed times of becoming aware of it. An email to
complaints@ is often how the landlord becomes aware, whatever the message is labelled. Pure code:
rules and text in, detections out; moments and a calendar in, deadlines out. Nothing here reads the
clock or a file (the hazard list is configuration, parsed here from the TOML data the service
layer reads).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from worker.domain import caseless
from worker.domain.caseless import Caseless
from worker.domain.working_days import Calendar

LONDON: Final = ZoneInfo("Europe/London")

Severity = Literal["emergency", "significant"]
SEVERITIES: Final[tuple[str, ...]] = ("emergency", "significant")

# -------------------------------------------------------------------------------------------
# The law's numbers (SI 2025/1042). Regulation numbers as given in the published commentary we
# could read (see README "Awaab's Law"); the periods themselves are in the government's guidance
# for social landlords and every summary of the regulations.
# -------------------------------------------------------------------------------------------

# Emergency hazard: investigate, and take the relevant safety work, as soon as reasonably
# practicable and in any event within 24 hours of becoming aware. Hours, not working days: the
# clock runs through nights, weekends and bank holidays.
EMERGENCY_HOURS: Final = 24
# Reg 6: a potential significant hazard is investigated within 10 working days of the landlord
# becoming aware of it.
SIGNIFICANT_INVESTIGATE_WORKING_DAYS: Final = 10
# Reg 9: the resident gets a written summary of the findings within 3 working days of the
# investigation concluding.
WRITTEN_SUMMARY_WORKING_DAYS: Final = 3
# Reg 11(2)(a): relevant safety work within 5 working days of the investigation concluding.
SAFETY_WORK_WORKING_DAYS: Final = 5
# Reg 13(2): supplementary preventative work begun within 5 working days of the investigation
# concluding; reg 13(3)(b): where that is not reasonably practicable, physically started as soon
# as it is and within 12 weeks at most.
PREVENTATIVE_BEGIN_WORKING_DAYS: Final = 5
PREVENTATIVE_START_WEEKS: Final = 12

# A clock is "due soon" inside this margin (the console's two working days for the Code; for the
# 24-hour clock, six hours).
DUE_SOON_WORKING_DAYS: Final = 2
EMERGENCY_DUE_SOON: Final = timedelta(hours=6)

ClockName = Literal[
    "investigate", "make_safe", "summary", "safety_work", "preventative_begin", "preventative_start"
]
ClockState = Literal["on_track", "due_soon", "overdue", "complete", "dismissed"]
CLOCK_STATES: Final[tuple[str, ...]] = ("on_track", "due_soon", "overdue", "complete", "dismissed")

# What staff record about a hazard, and the clock each event stops.
EVENTS: Final[Mapping[str, str]] = {
    "confirmed": "a person confirmed it is a potential hazard",
    "dismissed": "a person found it is not a hazard (reason recorded)",
    "investigated": "the investigation concluded (stops the investigate clock)",
    "summary_sent": "the written summary went to the resident (stops the summary clock)",
    "safety_work_done": "the relevant safety work is done (stops the safety-work clock)",
    "preventative_begun": "steps taken to begin the preventative work",
    "preventative_started": "the preventative work physically started",
    "no_further_work": "the investigation found no safety or preventative work is needed",
    "alternative_accommodation": "suitable alternative accommodation secured for the household",
}


# -------------------------------------------------------------------------------------------
# Rules (configuration) and detection
# -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HazardRule:
    """One kind of hazard: the phrases that suggest it, and when a match does not count.

    ``phrases`` are regular expressions matched case-insensitively, one sentence at a time.
    ``requires_any``: at least one must appear somewhere in the message too (no heating is an
    emergency only with someone vulnerable at home). ``not_when``: a match in a sentence that
    also matches one of these is a near miss (a neighbour's flat, advice asked for), unless the
    sentence also matches ``unless``, which says the problem is present after all ("it has come
    back").
    """

    kind: str
    severity: Severity
    title: str
    phrases: tuple[Caseless, ...]
    team: str = "repairs"
    requires_any: tuple[Caseless, ...] = ()
    not_when: tuple[Caseless, ...] = ()
    unless: tuple[Caseless, ...] = ()
    # All phrases as one pattern, searched once over the whole message before any sentence is
    # tried: most messages report no hazard of a kind, and one search is far cheaper than every
    # phrase on every sentence (the sentence-by-sentence check was the triage stage's largest
    # cost). None when the phrases cannot be joined safely; then every sentence is tried.
    screen: Caseless | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "screen", _screen(self.phrases))


# A back-reference (\1, (?P=name)) would point at another phrase's group once joined, an inline
# global flag is not allowed mid-pattern, and \A or \Z would mean the message's edges rather than
# a sentence's: such phrases are tried one by one, unscreened.
_UNJOINABLE = re.compile(r"\\[1-9AZ]|\(\?P=|\(\?[aiLmsux]+\)")


def _screen(phrases: Sequence[Caseless]) -> Caseless | None:
    """One pattern that matches wherever any phrase would match within a sentence, for the
    sentences joined by newlines (MULTILINE keeps ^ and $ at sentence edges)."""
    if not phrases or any(_UNJOINABLE.search(p.pattern) for p in phrases):
        return None
    try:
        return caseless.compile(
            "|".join(f"(?:{p.pattern})" for p in phrases), re.IGNORECASE | re.MULTILINE
        )
    except re.error:
        return None


@dataclass(frozen=True)
class HazardRules:
    rules: tuple[HazardRule, ...]
    # Words just before a phrase that deny it ("no mould", "not damp").
    negations: tuple[Caseless, ...] = ()
    # The regulations' working days skip weekends and bank holidays, not the landlord's own
    # closure days; a landlord that wants stricter clocks may not count them (never looser).
    closure_days_stop_clocks: bool = False

    def kinds(self) -> tuple[str, ...]:
        return tuple(r.kind for r in self.rules)

    def rule(self, kind: str) -> HazardRule | None:
        return next((r for r in self.rules if r.kind == kind), None)


def _patterns(where: str, value: object) -> tuple[Caseless, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where} must be a list of non-empty strings")
    out = []
    for text in value:
        try:
            out.append(caseless.compile(text, re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"{where} has a bad pattern {text!r}: {exc}") from None
    return tuple(out)


def parse_rules(data: Mapping[str, Any]) -> HazardRules:
    """The hazard list from its TOML data; ValueError with one line naming the field."""
    items = data.get("hazard")
    if not isinstance(items, list) or not items:
        raise ValueError("no [[hazard]] entries")
    rules: list[HazardRule] = []
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        where = f"hazard {n}"
        if not isinstance(item, dict):
            raise ValueError(f"{where} is not a table")
        kind = item.get("kind")
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", kind):
            raise ValueError(f"{where}: kind must be a short lower_case name, got {kind!r}")
        where = f"hazard {kind!r}"
        if kind in seen:
            raise ValueError(f"{where} is listed twice")
        seen.add(kind)
        severity = item.get("severity")
        if severity not in SEVERITIES:
            raise ValueError(
                f"{where}: severity must be emergency or significant, got {severity!r}"
            )
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ValueError(f"{where}: title is missing or empty")
        team = item.get("team", "repairs")
        if not isinstance(team, str) or not team.strip():
            raise ValueError(f"{where}: team must be a name")
        phrases = _patterns(f"{where}: phrases", item.get("phrases"))
        if not phrases:
            raise ValueError(f"{where}: phrases is missing or empty")
        known = {
            "kind",
            "severity",
            "title",
            "team",
            "phrases",
            "requires_any",
            "not_when",
            "unless",
        }
        unknown = sorted(set(item) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field {unknown[0]!r}")
        rules.append(
            HazardRule(
                kind=kind,
                severity=severity,
                title=title.strip(),
                phrases=phrases,
                team=team.strip(),
                requires_any=_patterns(f"{where}: requires_any", item.get("requires_any")),
                not_when=_patterns(f"{where}: not_when", item.get("not_when")),
                unless=_patterns(f"{where}: unless", item.get("unless")),
            )
        )
    stop = data.get("closure_days_stop_clocks", False)
    if not isinstance(stop, bool):
        raise ValueError("closure_days_stop_clocks must be true or false")
    return HazardRules(
        rules=tuple(rules),
        negations=_patterns("negations", data.get("negations")),
        closure_days_stop_clocks=stop,
    )


@dataclass(frozen=True)
class Detection:
    """A potential hazard in one message: what, how serious, and why we think so."""

    kind: str
    severity: Severity
    title: str
    team: str
    reasons: tuple[str, ...]
    # The resident's own sentences that raised it, for the repairs team.
    words: tuple[str, ...]


# A sentence ends at white space after . ! or ?, at a blank line, or before a line that starts
# a list. Every such break begins with a white-space character, so the pattern starts with one:
# ``re`` then skips ahead to the next one, where a look-behind first would be tried at every
# character (twice the time; the same breaks, which a test compares).
_SENTENCE_END = re.compile(r"\s(?:(?<=[.!?]\s)\s*|(?<=\n)\s*\n|(?<=\n)(?=\s*[-*•]))")
_QUOTED = re.compile(r"^\s*>.*$", re.MULTILINE)
_NEGATION_WINDOW: Final = 30


def sentences(text: str) -> list[str]:
    """The message cut into sentences (quoted lines of earlier mail left out)."""
    body = _QUOTED.sub("", text) if ">" in text else text
    parts = (" ".join(p.split()) for p in _SENTENCE_END.split(body))
    return [p for p in parts if p]


def _negated(sentence: str, start: int, negations: Sequence[Caseless]) -> bool:
    before = sentence[max(0, start - _NEGATION_WINDOW) : start]
    # Only the words since the last clause break count ("no damp, but mould" is still mould).
    before = re.split(r"[,;:]|\bbut\b|\band\b", before)[-1]
    return any(p.search(before) for p in negations)


def detect(subject: str, text: str, rules: HazardRules) -> tuple[Detection, ...]:
    """Every potential hazard the message reports, each with the reasons it fired.

    Favours recall (a person confirms or dismisses each one); leaves alone a phrase that is denied
    ("no mould"), a near miss the rule names (a neighbour's flat, condensation advice asked for,
    mould treated and gone) unless the same sentence says it is back.
    """
    found: list[Detection] = []
    parts = sentences(f"{subject.strip()}.\n\n{text}" if subject.strip() else text)
    whole = " ".join(parts)
    lines = "\n".join(parts)
    for rule in rules.rules:
        if rule.screen is not None and rule.screen.search(lines) is None:
            continue
        reasons: list[str] = []
        words: list[str] = []
        for sentence in parts:
            hit = _first_hit(sentence, rule, rules.negations)
            if hit is None:
                continue
            near = next((p for p in rule.not_when if p.search(sentence)), None)
            if near is not None and not any(p.search(sentence) for p in rule.unless):
                continue
            reasons.append(f"{rule.title}: {hit!r} in {_clip(sentence)!r}")
            if sentence not in words:
                words.append(sentence)
        if not reasons:
            continue
        if rule.requires_any:
            also = next((m for p in rule.requires_any if (m := p.search(whole))), None)
            if also is None:
                continue
            reasons.append(f"with {also.group(0)!r} in the message")
        found.append(
            Detection(
                kind=rule.kind,
                severity=rule.severity,
                title=rule.title,
                team=rule.team,
                reasons=tuple(reasons[:5]),
                words=tuple(words[:5]),
            )
        )
    # Emergencies first: they are the ones that cannot wait.
    return tuple(sorted(found, key=lambda d: SEVERITIES.index(d.severity)))


def _first_hit(sentence: str, rule: HazardRule, negations: Sequence[Caseless]) -> str | None:
    for pattern in rule.phrases:
        for match in pattern.finditer(sentence):
            if not _negated(sentence, match.start(), negations):
                return match.group(0)
    return None


def _clip(sentence: str, limit: int = 160) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 3].rstrip() + "..."


# -------------------------------------------------------------------------------------------
# Clocks
# -------------------------------------------------------------------------------------------


def statutory_calendar(calendar: Calendar, rules: HazardRules | None = None) -> Calendar:
    """The calendar the regulations count in: weekends and the nation's bank holidays (Christmas
    Day and Good Friday are bank holidays in England). The landlord's own closure days are not in
    the law's definition, so they do not stop the clocks unless the landlord chose so."""
    if rules is not None and rules.closure_days_stop_clocks:
        return calendar
    return Calendar(calendar.nation)


def working_days_after(calendar: Calendar, day: date, n: int) -> date:
    """The Nth working day after ``day``, counting from the day after it.

    The regulations' periods run from the day after the day of awareness (or of the
    investigation's end), so awareness on a Saturday makes the following Monday day 1 (the Code's
    rule, which first moves a weekend day to Monday as day 0, would give a day later).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    current = day
    counted = 0
    while counted < n:
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            counted += 1
    return current


def london_day(moment: datetime) -> date:
    return _utc(moment).astimezone(LONDON).date()


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in London (as the start of the next day), in UTC."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=LONDON).astimezone(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class Progress:
    """What staff have recorded about one hazard (the events that stop its clocks)."""

    severity: Severity
    aware_at: datetime
    status: str = "open"  # open | confirmed | dismissed | closed
    investigated_at: datetime | None = None
    summary_sent_at: datetime | None = None
    safety_work_done_at: datetime | None = None
    preventative_begun_at: datetime | None = None
    preventative_started_at: datetime | None = None
    no_further_work: bool = False
    alternative_accommodation_at: datetime | None = None


@dataclass(frozen=True)
class Clock:
    """One deadline of a hazard: due as a moment (the 24-hour clock) or a day (the others)."""

    name: ClockName
    due_at: datetime  # the last moment that is in time, UTC
    due_on: date | None  # the day, for the working-day clocks
    done_at: datetime | None
    regulation: str
    # A date worked out from the latest the investigation may end, not from when it did.
    provisional: bool = False

    @property
    def met(self) -> bool | None:
        if self.done_at is None:
            return None
        return _utc(self.done_at) <= self.due_at


@dataclass(frozen=True)
class Clocks:
    aware_at: datetime
    aware_on: date
    investigate_by: Clock
    others: tuple[Clock, ...] = field(default=())

    def all(self) -> tuple[Clock, ...]:
        return (self.investigate_by, *self.others)

    def get(self, name: str) -> Clock | None:
        return next((c for c in self.all() if c.name == name), None)


def clocks(progress: Progress, calendar: Calendar) -> Clocks:
    """Every clock of a hazard, from the moment of awareness and what staff recorded.

    ``calendar`` is the statutory calendar (see ``statutory_calendar``). Before the investigation
    has ended, the clocks that run from its end are given from its deadline and marked
    provisional: the latest they can be.
    """
    aware_at = _utc(progress.aware_at)
    aware_on = london_day(aware_at)
    if progress.severity == "emergency":
        due = aware_at + timedelta(hours=EMERGENCY_HOURS)
        return Clocks(
            aware_at,
            aware_on,
            Clock("investigate", due, None, progress.investigated_at, "SI 2025/1042: 24 hours"),
            (
                Clock(
                    "make_safe", due, None, progress.safety_work_done_at, "SI 2025/1042: 24 hours"
                ),
            ),
        )
    investigate_on = working_days_after(calendar, aware_on, SIGNIFICANT_INVESTIGATE_WORKING_DAYS)
    investigate = Clock(
        "investigate", end_of_day(investigate_on), investigate_on, progress.investigated_at, "reg 6"
    )
    ended = progress.investigated_at
    base = london_day(ended) if ended is not None else investigate_on
    provisional = ended is None

    def after(name: ClockName, days: int, done: datetime | None, reg: str) -> Clock:
        on = working_days_after(calendar, base, days)
        return Clock(name, end_of_day(on), on, done, reg, provisional)

    start_on = base + timedelta(weeks=PREVENTATIVE_START_WEEKS)
    others = [
        after("summary", WRITTEN_SUMMARY_WORKING_DAYS, progress.summary_sent_at, "reg 9"),
    ]
    if not progress.no_further_work:
        others += [
            after("safety_work", SAFETY_WORK_WORKING_DAYS, progress.safety_work_done_at, "reg 11"),
            after(
                "preventative_begin",
                PREVENTATIVE_BEGIN_WORKING_DAYS,
                progress.preventative_begun_at,
                "reg 13(2)",
            ),
            Clock(
                "preventative_start",
                end_of_day(start_on),
                start_on,
                progress.preventative_started_at,
                "reg 13(3)",
                provisional,
            ),
        ]
    return Clocks(aware_at, aware_on, investigate, tuple(others))


def open_clocks(progress: Progress, calendar: Calendar) -> list[Clock]:
    """The clocks still running, soonest first (none once dismissed or closed)."""
    if progress.status in ("dismissed", "closed"):
        return []
    return sorted(
        (c for c in clocks(progress, calendar).all() if c.done_at is None), key=lambda c: c.due_at
    )


def clock_state(progress: Progress, now: datetime, calendar: Calendar) -> ClockState:
    """Where the hazard stands: by its most pressing clock still running."""
    if progress.status == "dismissed":
        return "dismissed"
    running = open_clocks(progress, calendar)
    if not running:
        return "complete"
    return _state(running[0], _utc(now), calendar)


def _state(clock: Clock, now: datetime, calendar: Calendar) -> ClockState:
    if now > clock.due_at:
        return "overdue"
    if clock.due_on is None:
        return "due_soon" if clock.due_at - now <= EMERGENCY_DUE_SOON else "on_track"
    today = london_day(now)
    if calendar.working_days_between(today, clock.due_on) <= DUE_SOON_WORKING_DAYS:
        return "due_soon"
    return "on_track"


def watched(
    progress: Progress, now: datetime, calendar: Calendar
) -> list[tuple[Clock, ClockState]]:
    """The clocks a deadline watcher raises now: running, due soon or overdue, soonest first.

    A provisional clock (one that runs from the end of an investigation not yet concluded) is
    left out: it is not due until the investigation ends, and the investigate clock is the one
    that is late meanwhile."""
    moment = _utc(now)
    out: list[tuple[Clock, ClockState]] = []
    for clock in open_clocks(progress, calendar):
        if clock.provisional:
            continue
        state = _state(clock, moment, calendar)
        if state in ("due_soon", "overdue"):
            out.append((clock, state))
    return out


def safety_clock(progress: Progress, calendar: Calendar) -> Clock | None:
    """The clock by which the home must be made safe (reg 11, or the 24 hours of an emergency)."""
    return clocks(progress, calendar).get(
        "make_safe" if progress.severity == "emergency" else "safety_work"
    )


def needs_alternative_accommodation(progress: Progress, now: datetime, calendar: Calendar) -> bool:
    """True when the home will not be made safe in time and no other home has been found.

    The regulations expect the landlord to secure suitable alternative accommodation where the
    home cannot be made safe within the time limits; we flag it when the safety clock (the
    24-hour make-safe clock, or the 5-working-day safety-work clock once the investigation has
    ended) is due soon or overdue and no safety work or alternative accommodation is recorded.
    """
    if progress.status in ("dismissed", "closed") or progress.alternative_accommodation_at:
        return False
    if progress.severity == "significant" and progress.investigated_at is None:
        return False
    safety = safety_clock(progress, calendar)
    if safety is None or safety.done_at is not None:
        return False
    return _state(safety, _utc(now), calendar) in ("due_soon", "overdue")


def clocks_as_json(c: Clocks) -> dict[str, object]:
    out: dict[str, object] = {"aware_at": c.aware_at.isoformat()}
    for clock in c.all():
        out[f"{clock.name}_by"] = (
            clock.due_on.isoformat() if clock.due_on is not None else clock.due_at.isoformat()
        )
    return out


def describe_for_resident(
    severity: Severity, title: str, investigate_by: str, calendar_note: str = ""
) -> list[str]:
    """What the acknowledgement tells the resident, in plain English (one paragraph a line)."""
    if severity == "emergency":
        lines = [
            f"What you told us may be an emergency hazard in your home ({title.lower()}). We "
            "are treating it as one.",
            "We will investigate it and make your home safe within 24 hours of when we received "
            f"your message, that is by {investigate_by}. If we cannot make it safe in time, we "
            "will find you somewhere safe to stay.",
            "If you are in danger now, leave the room or the home and call 999. If you smell "
            "gas, call the National Gas Emergency line on 0800 111 999.",
        ]
    else:
        lines = [
            f"What you told us may be a hazard to your health ({title.lower()}). We are treating "
            "it as a potential significant hazard under the law known as Awaab's Law.",
            f"We will investigate it by {investigate_by}. Within 3 working days of the "
            "investigation we will send you a written summary of what we found and what we will "
            "do. If we find a hazard, we will make your home safe within 5 working days of the "
            "investigation, and start any longer-term work to stop it coming back within 5 "
            "working days, or within 12 weeks at most if that is not possible.",
            "If we cannot make your home safe in time, we will find you somewhere safe to stay.",
        ]
    if calendar_note:
        lines.append(calendar_note)
    return lines


def as_rules_list(items: Iterable[Detection]) -> list[dict[str, object]]:
    """Detections as plain data, kept on the message row."""
    return [
        {
            "kind": d.kind,
            "severity": d.severity,
            "title": d.title,
            "team": d.team,
            "reasons": list(d.reasons),
            "words": list(d.words),
        }
        for d in items
    ]
