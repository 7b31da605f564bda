"""Small named triage rules, each recording why it fired (pure; stdlib only).

The statistical model (``classifiers/``) reads the words; these rules cover what a model is the
wrong tool for: arithmetic on dates against the received date (Code 2.2/2.3), whether a claim has
actually been filed at court rather than threatened (2.2), and mail-safety signals (RFC 3834, via
``worker.domain.mail_safety``). A rule never refuses anything: an ``excluded`` hit is a proposal a
person confirms (2.1, 2.5). Rules with label ``complaint`` are complaint signals that stop a
model-proposed exclusion from hiding dissatisfaction with the landlord's service (1.2, 1.5).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

from worker.domain import caseless
from worker.domain.caseless import Caseless

__all__ = [
    "RuleHit",
    "RULES",
    "automatic_notification",
    "complaint_in_survey_reply",
    "complaint_signals",
    "court_claim_filed",
    "dissatisfied_with_service",
    "escalation_requested",
    "evaluate_rules",
    "exclusion_proposals",
    "insurance_claim_made",
    "issue_older_than_12_months",
    "legal_action_threatened",
    "mail_safety_rule",
    "new_text",
    "previously_considered_matter",
    "section20_consultation",
    "statutory_notice_served",
    "survey_reply",
    "tribunal_or_external_appeal",
    "wish_to_complain",
]


@dataclass(frozen=True)
class RuleHit:
    """One rule firing: the label (and reason) it proposes and the evidence, in words."""

    name: str
    label: str
    reason: str
    why: str


# --- quoted text -------------------------------------------------------------------------------

_QUOTE_START = caseless.compile(
    r"^(?:-{2,}\s*Original Message\s*-{2,}"
    r"|-{2,}\s*Forwarded message\s*-{2,}"
    r"|Begin forwarded message:"
    r"|On .{3,200}wrote:\s*$"
    r"|From:\s.+$(?=\n(?:Sent|Date):)"
    r"|_{10,}\s*$)",
    re.IGNORECASE | re.MULTILINE,
)


def new_text(body: str) -> str:
    """The sender's own new words: drop ``>`` quoted lines and quoted/forwarded blocks.

    A resident forwarding our letter with "see below, still nothing done" must be triaged on
    their words, not on our letter's (which talks about complaints and repairs too).
    """
    m = _QUOTE_START.search(body)
    head = body[: m.start()] if m else body
    lines = [ln for ln in head.splitlines() if not ln.lstrip().startswith(">")]
    return "\n".join(lines).strip()


# --- legal proceedings (2.2) -------------------------------------------------------------------

_CLAIM_FILED = caseless.compile(
    r"\b(?:claim\s+(?:no\.?|number|ref(?:erence)?)\s*[:#]?\s*[A-Z0-9]{2,}[A-Z0-9/-]*\d"
    r"|issued\s+(?:court\s+)?proceedings|proceedings\s+(?:have\s+been|were)\s+issued"
    r"|(?:have|has)\s+(?:now\s+)?(?:filed|issued|lodged)\s+(?:a\s+|the\s+|my\s+|our\s+)?"
    r"(?:claim|proceedings|particulars)"
    r"|(?:filed|lodged|issued)\s+(?:at|with|in)\s+(?:the\s+)?(?:county\s+)?court"
    r"|claim\s+form\s+(?:and\s+particulars\s+of\s+claim\s+)?(?:has|have|was|were)\s+"
    r"(?:been\s+)?(?:filed|issued|served|sealed)"
    r"|particulars\s+of\s+claim\s+(?:has|have|was|were)\s+(?:been\s+)?(?:filed|served|issued)"
    r"|sealed\s+claim\s+form|county\s+court\s+claim\s+(?:no|number|ref)"
    r"|hearing\s+(?:is\s+)?(?:listed|set)\s+for)",
    re.IGNORECASE,
)
_THREAT = caseless.compile(
    r"\b(?:(?:take|taking|took)\s+(?:you|thrive|this|it|the\s+matter)\s+to\s+court"
    r"|(?:see|sue)\s+you|legal\s+(?:action|advice)|(?:speak|speaking|spoken|go|going)\s+to\s+(?:a|my)\s+solicitor"
    r"|housing\s+disrepair\s+claim|(?:will|going\s+to|gonna)\s+(?:sue|court)"
    r"|letter\s+before\s+(?:action|claim)|pre-action\s+protocol|no\s+win\s+no\s+fee)",
    re.IGNORECASE,
)


def court_claim_filed(text: str) -> RuleHit | None:
    """A claim has been filed at court (claim number, issued proceedings): 2.2 exclusion."""
    m = _CLAIM_FILED.search(text)
    if not m:
        return None
    return RuleHit(
        "court_claim_filed",
        "excluded",
        "legal_proceedings",
        f"a court claim appears to have been filed: '{m.group(0).strip()}'",
    )


def legal_action_threatened(text: str) -> RuleHit | None:
    """Threatening court, or a letter before claim, is not a filed claim: still a complaint."""
    if _CLAIM_FILED.search(text):
        return None
    m = _THREAT.search(text)
    if not m:
        return None
    return RuleHit(
        "legal_action_threatened",
        "complaint",
        "",
        f"legal action is mentioned but no claim filed at court: '{m.group(0).strip()}'",
    )


# --- dates older than 12 months (2.2, 2.3) ------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for m in names
}
_SEASON_END = {"spring": 5, "summer": 8, "autumn": 11, "winter": 12, "christmas": 12, "easter": 4}
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "a couple of": 2, "couple of": 2, "a few": 3, "few": 3,
    "several": 3,
}  # fmt: skip
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUM = r"(\d{1,2}|a couple of|couple of|a few|few|several|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"  # noqa: E501

_AGO = caseless.compile(
    rf"\b(over|more than|about|around|nearly|almost)?\s*{_NUM}\s+(years?|months?|weeks?|days?)"
    r"(\s+and\s+a\s+half)?\s+ago\b",
    re.IGNORECASE,
)
_YEAR_AND_HALF = caseless.compile(
    r"\b(over\s+)?(a|one)\s+(and\s+a\s+half\s+years?|year\s+and\s+a\s+half)\s+ago\b", re.I
)
_DMY_NUM = caseless.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-]((?:19|20)?\d\d)\b")
_DAY_MONTH_YEAR = caseless.compile(
    rf"\b(?:(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?({_MONTH_NAMES})\.?,?\s+((?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_SEASON_YEAR = caseless.compile(
    r"\b(spring|summer|autumn|winter|christmas|easter)\s+(?:of\s+)?((?:19|20)\d\d)\b", re.I
)
_BARE_YEAR = caseless.compile(
    r"\b(in|back in|during|around|since|from|early|late|mid|the end of|start of|between)\s+"
    r"(?:of\s+)?((?:19|20)\d\d)\b(?:\s+and\s+((?:19|20)\d\d)\b)?",
    re.IGNORECASE,
)
#: The last month a qualified year can mean ("early 2024" is over by the end of April).
_YEAR_PART_END = {"early": 4, "start of": 3, "mid": 8}
_YEAR_BEFORE_LAST = caseless.compile(r"\byear before last\b", re.IGNORECASE)
_RECENT = caseless.compile(
    r"\b(?:yesterday|(?<!writing\s)(?<!writing to you\s)(?<!emailing\s)today"
    r"|this (?:morning|week|month)|last (?:night|week|month|monday|tuesday"
    r"|wednesday|thursday|friday|saturday|sunday|weekend)|recently|the other day|few days ago"
    r"|(?:\d{1,2}|a|one|two|three|four|five|six|couple of)\s+(?:days?|weeks?)\s+ago)\b",
    re.IGNORECASE,
)
_ONGOING = caseless.compile(
    # "I still feel let down" and "look at it again" say nothing about the issue continuing.
    r"\b(?:still(?!\s+(?:feel|felt|think|believe|want|would|wish|like|expect|upset|angry|annoyed"
    r"|cross|hurt"
    r"|remember|don'?t\s+agree|disagree|not\s+(?:agree|happy\s+with\s+how)))"
    r"|ever since|since then|continu\w*|ongoing|on-going|to this day|to date"
    r"|keeps?\s+(?:on\s+)?(?:coming(?!\s+back\s+to\s+(?:it|this|that|me))|happening|leaking"
    r"|getting|breaking)|kept coming back"
    r"|getting worse|never (?:been )?(?:fixed|sorted|resolved|repaired|done)"
    r"|(?:not|n't) (?:been )?(?:fixed|sorted|resolved|repaired)|remains?|came back"
    r"|(?:happen\w*|start\w*|leak\w*|broke\w*|back|came|come|flood\w*|off|out|going|doing"
    r"|same\s+thing|it|this)\s+(?:\w+\s+)?again(?!\s+(?:from\s+the\s+start|by|with|and\s+give))"
    r"|again\s+(?:last|this|on|yesterday|today|now)"
    r"|every (?:winter|year|month|week|day)|since\s+(?:\w+\s+){0,2}(?:19|20)\d\d"
    r"|since\s+(?:" + _MONTH_NAMES + r"|the|last|then|spring|summer|autumn|winter|christmas))\b",
    re.IGNORECASE,
)
_BECAME_AWARE = caseless.compile(
    r"\b(?:only|just)\s+(?:recently\s+)?(?:found out|became aware|discovered|realised|realized"
    r"|noticed|been told|learned|learnt)\b",
    re.IGNORECASE,
)


def _months_between(earlier: date, later: date) -> float:
    return (later - earlier).days / 30.44


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


def _year(raw: str) -> int:
    y = int(raw)
    return y + 2000 if y < 100 else y


def _dated_mentions(text: str, received: date) -> list[tuple[str, date, int]]:
    """Each date phrase with the *latest* day it can mean, so "in 2023" means 31 Dec 2023.

    Taking the latest possible day makes the rule fire only when the issue is certainly older
    than 12 months; doubt goes to accepting the complaint.
    """
    out: list[tuple[str, date, int]] = []
    for m in _YEAR_AND_HALF.finditer(text):
        out.append((m.group(0), _shift_months(received, -18), m.start()))
    for m in _AGO.finditer(text):
        qual = (m.group(1) or "").lower()
        raw = m.group(2).lower()
        n = int(raw) if raw.isdigit() else _NUMBERS[raw]
        unit = m.group(3).lower()
        half = bool(m.group(4))
        if unit.startswith("year"):
            months = n * 12 + (6 if half else 0)
        elif unit.startswith("month"):
            months = n
        else:
            out.append((m.group(0), received, m.start()))
            continue
        if qual in ("over", "more than") and months == 12:
            months = 13
        if qual in ("nearly", "almost"):
            months -= 1
        out.append((m.group(0), _shift_months(received, -months), m.start()))
    for m in _DMY_NUM.finditer(text):
        d, mo, y = int(m.group(1)), int(m.group(2)), _year(m.group(3))
        try:
            out.append((m.group(0), date(y, mo, d), m.start()))
        except ValueError:
            continue
    for m in _DAY_MONTH_YEAR.finditer(text):
        mo, y = _MONTHS[m.group(2).lower()], int(m.group(3))
        if m.group(1):
            try:
                out.append((m.group(0), date(y, mo, int(m.group(1))), m.start()))
            except ValueError:
                continue
        else:
            out.append((m.group(0), _month_end(y, mo), m.start()))
    for m in _SEASON_YEAR.finditer(text):
        y = int(m.group(2))
        out.append((m.group(0), _month_end(y, _SEASON_END[m.group(1).lower()]), m.start()))
    specific_years = {d.year for _, d, _ in out}
    for m in _BARE_YEAR.finditer(text):
        year = int(m.group(3) or m.group(2))
        if year in specific_years:
            continue  # "3 January 2024" says more than "in 2024" in the subject line
        end = _YEAR_PART_END.get(m.group(1).lower(), 12)
        out.append((m.group(0), _month_end(year, end), m.start()))
    for m in _YEAR_BEFORE_LAST.finditer(text):
        out.append((m.group(0), date(received.year - 2, 12, 31), m.start()))
    return out


def _shift_months(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(y, m + 1, min(d.day, 28))


#: What the resident says is wrong *now*: a present problem, a fresh breakdown, a time word for
#: the present. Code 2.3 counts from when the resident became aware of the issue; a problem that
#: is happening now is not over 12 months old, whatever year the story starts in.
_CURRENT = caseless.compile(
    r"\b(?:currently|at\s+(?:the\s+)?(?:moment|present)|right\s+now|these\s+days|tonight"
    r"|this\s+(?:winter|summer|autumn|spring|year|month|week|morning|evening|afternoon)"
    r"|every\s+time|each\s+time|back\s+again|(?:is|it'?s|are|has\s+come|have\s+come)\s+back\b"
    r"|now\s+(?:the|it|there|my|our|getting|leaking|worse|broken|wet|stuck|cracked|black"
    r"|bulging|sagging|spreading|completely)"
    r"|(?:is|are|it'?s|has|have)\s+now\s+(?!fine|ok|okay|great|good|sorted|fixed|resolved|done"
    r"|working|lovely|gone)"
    r"|(?:is|are|am)\s+(?:still\s+)?(?:leaking|dripping|broken|not\s+working|coming|getting"
    r"|growing|spreading|falling|hanging|cracking|sagging|bulging|rotting|wet|damp|cold"
    r"|freezing|stuck|blocked|flooding|off|lifting|failing|tripping|sparking|humming)"
    r"|(?:has|have|it'?s)\s+(?:now\s+|just\s+|since\s+)?(?:stopped|broken(?:\s+down)?|started"
    r"|failed|packed\s+up|collapsed|cracked|burst|flooded|got\s+worse|worsened|spread"
    r"|reappeared|returned|opened\s+up)"
    r"|(?:isn'?t|aren'?t|doesn'?t|don'?t|won'?t|can'?t|cannot)\s+(?:\w+\s+)?(?:work|working"
    r"|close|shut|lock|open|flush|heat|get\s+warm|turn\s+on|drain|use|sleep|cook|wash)"
    r"|(?:there\s+is|there'?s|i\s+have|we\s+have|i'?ve\s+got|we'?ve\s+got)\s+(?:still\s+)?no\s+"
    r"(?:heat|heating|hot\s+water|water|power|electric|gas|lights?|cooker|toilet|kitchen))",
    re.IGNORECASE,
)
#: A decision or refusal that is itself recent: the matter it refuses is live now (2.3).
_RECENT_REFUSAL = caseless.compile(
    r"\b(?:(?:has|have)\s+(?:now\s+|just\s+|recently\s+|finally\s+)?(?:been\s+)?(?:refused|rejected"
    r"|turned\s+down|declined|cancelled|closed|withdrawn|dropped)"
    r"|(?:refused|rejected|turned\s+down|declined|cancelled|closed|withdrawn)\s+(?:it\s+|me\s+"
    r"|my\s+\w+\s+|the\s+\w+\s+)?(?:again|yesterday|today|recently)"
    r"|(?:refus|reject|declin|cancel|clos)\w*\s+(?:\w+\s+){0,4}(?:last|this)\s+(?:week|month))\b",
    re.IGNORECASE,
)
_WEEKDAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
#: A weekday ("on Monday", "since Friday") or a day of the month with no year ("on the 3rd",
#: "on 2 October", "in August"): residents leave the year out when it is this one or the last
#: few months, so these count as dates within the last 12 months.
_YEARLESS = caseless.compile(
    rf"\b(?:(?:on|since|from|this|by|until|till)\s+{_WEEKDAYS}|{_WEEKDAYS}\s+(?:just\s+gone|morning"
    rf"|night|afternoon|evening)"
    r"|(?:on|since|from|by|until)\s+the\s+\d{1,2}(?:st|nd|rd|th)\b"
    r"|(?:dated|of|on|since|from|by|until|in|during|early|late|mid|end\s+of|beginning\s+of"
    r"|start\s+of)\s+(?:the\s+)?(?:\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?)?(?:"
    + _MONTH_NAMES
    + r")\b(?![\s,]*(?:of\s+)?(?:19|20)\d\d\b)(?!\s*/))",
    re.IGNORECASE,
)
#: Background dates: when the tenancy began, when the home was built, when something was put in
#: or last inspected. A year in such a sentence dates the background, not the issue.
_CONTEXT = caseless.compile(
    r"\b(?:moved?\s+(?:in|here|into)|signed\s+up|sign-?up|tenancy\s+(?:began|started|start"
    r"|commenced|since)|tenant\s+(?:since|from)|(?:lived|living|been)\s+(?:here|there)"
    r"|lived\s+in\s+(?:this|the|my)|born|(?:was|were)\s+built|built\s+in"
    r"|(?:was|were|been|got)\s+(?:\w+\s+)?(?:put\s+in|installed|fitted|replaced|rewired"
    r"|refurbished|renovated|built|refitted)"
    r"|(?:last|previous(?:ly)?)\s+(?:rated|inspected|serviced|checked|surveyed|assessed|tested"
    r"|valued)|certificate\s+from|survey\s+from|valuation\s+from|epc)\b",
    re.IGNORECASE,
)
#: Words that tie the complaint to the background moment ("when we moved in we were promised",
#: "during the works they scratched the floor"): then that moment is the issue's date.
_TIED_TO_CONTEXT = caseless.compile(
    r"\b(?:when\s+(?:we|i|you|they|he|she|it)\s+(?:\w+\s+)?(?:moved|signed|did|fitted|replaced"
    r"|installed|put|was|were|came|had)"
    r"|when\s+(?:the|my|our)\s+(?:\w+\s+){0,3}(?:was|were)\s+(?:being\s+)?(?:fitted|done"
    r"|replaced|installed|put\s+in|built|refurbished|refitted)"
    r"|(?:complain|writing)\s+about\s+(?:my|the|our)\s+(?:move|moving|tenancy|sign)"
    r"|during\s+the\s+(?:work|works|refit|installation|move|fitting)|at\s+the\s+time"
    r"|while\s+(?:they|the|your)\s+(?:were\s+)?(?:work|fitters?|contractors?|doing)"
    r"|(?:the|that)\s+same\s+(?:week|day|month|year))\b",
    re.IGNORECASE,
)


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    left = max(text.rfind(c, 0, pos) for c in ".!?\n") + 1
    rights = [i for c in ".!?\n" if (i := text.find(c, pos)) != -1]
    return left, min(rights) if rights else len(text)


#: How far before a date a background phrase may stand ("tenant since 2014", "was fitted in
#: March 2024"): the same clause, not the whole sentence, which may go on to the issue itself.
CONTEXT_WINDOW = 40


def _in_context_sentence(text: str, pos: int) -> bool:
    left, _ = _sentence_bounds(text, pos)
    window = text[max(left, pos - CONTEXT_WINDOW) : pos + 12]
    return _CONTEXT.search(window) is not None


#: "It has been fine since the new contractor started": a state since then that is resolved.
_RESOLVED_BEFORE = caseless.compile(
    r"(?:fine|ok|okay|good|better|dry|sorted|great|lovely|no\s+problems?|no\s+trouble|nothing"
    r"|regularly|properly)\s+(?:ever\s+)?$",
    re.IGNORECASE,
)


def _signal_outside_context(pattern: Caseless, text: str) -> re.Match[str] | None:
    """The first match of ``pattern`` that is not in a background sentence ("tenant since
    2014" says nothing about whether the issue is ongoing) nor a resolved state ("fine since
    April")."""
    for m in pattern.finditer(text):
        if _in_context_sentence(text, m.start()):
            continue
        if _RESOLVED_BEFORE.search(text[max(0, m.start() - 30) : m.start()]):
            continue
        return m
    return None


def _current_or_recent(text: str) -> re.Match[str] | None:
    """Evidence that the matter is live now: ongoing, recent, recently refused or discovered."""
    for pattern in (_ONGOING, _BECAME_AWARE, _RECENT, _CURRENT, _RECENT_REFUSAL, _YEARLESS):
        m = _signal_outside_context(pattern, text)
        if m is not None:
            return m
    return None


def issue_older_than_12_months(text: str, received: date) -> RuleHit | None:
    """The issue certainly arose more than 12 months before receipt and is not ongoing (2.3).

    The issue's age is when it last happened or when the resident became aware of it, not the
    oldest year in the text. Does not fire when the text says the problem continues ("still",
    "ever since", "keeps coming back"), is happening now ("the ceiling is now bulging", "has
    stopped working"), mentions anything recent (a weekday, a date without a year, "last
    week"), reports a recent refusal, or says the resident only recently became aware. Years
    that date the background (when the tenancy began, when the home was built, when something
    was fitted or last inspected) are not the issue's date, unless the complaint is tied to that
    moment ("when we moved in we were promised..."). Doubt goes to accepting the complaint;
    staff may use discretion either way.
    """
    mentions = _dated_mentions(text, received)
    if not mentions:
        return None
    if _current_or_recent(text) is not None:
        return None
    issue = [(p, d, pos) for p, d, pos in mentions if not _in_context_sentence(text, pos)]
    if not issue:
        if _TIED_TO_CONTEXT.search(text) is None:
            return None
        issue = mentions
    newest_phrase, newest, _ = max(issue, key=lambda pm: pm[1])
    age = _months_between(newest, received)
    if newest > received or age <= 12.0:
        return None
    return RuleHit(
        "issue_older_than_12_months",
        "excluded",
        "over_12_months",
        f"latest date of the issue '{newest_phrase.strip()}' is at least {int(age)} months before "
        f"the received date {received.isoformat()} and nothing says the issue is ongoing, "
        "recent or only recently discovered",
    )


# --- other named exclusions (proposals only) ----------------------------------------------------

_STATUTORY = caseless.compile(
    r"\b(?:improvement notice|prohibition order|hazard awareness notice|abatement notice"
    r"|emergency remedial action|suspended improvement notice|section\s+(?:11|12|80)\s+notice"
    r"|(?:served|issued)\s+(?:a|an|the)\s+(?:\w+\s+){0,2}notice\s+under"
    r"|notice\s+under\s+(?:the\s+)?(?:housing act 2004|environmental protection act))\b",
    re.IGNORECASE,
)


def statutory_notice_served(text: str) -> RuleHit | None:
    """An environmental health or HHSRS notice (policy page: not a complaint)."""
    m = _STATUTORY.search(text)
    if not m:
        return None
    return RuleHit(
        "statutory_notice_served",
        "excluded",
        "statutory_notice",
        f"a statutory notice is referred to: '{m.group(0).strip()}'",
    )


_TRIBUNAL = caseless.compile(
    r"\b(?:first[- ]tier tribunal|upper tribunal|property chamber|valuation tribunal"
    r"|(?:applied|application|appeal(?:ed)?|referred)\s+to\s+the\s+(?:\w+\s+)?tribunal"
    r"|tribunal\s+(?:hearing|application|case|reference|ref)"
    r"|(?:appeal|appealing)\s+(?:against\s+)?the\s+(?:court'?s?|judge'?s?)\s+(?:decision|order))\b",
    re.IGNORECASE,
)


def tribunal_or_external_appeal(text: str) -> RuleHit | None:
    """A tribunal application or appeal of a court decision: an external process."""
    m = _TRIBUNAL.search(text)
    if not m:
        return None
    return RuleHit(
        "tribunal_or_external_appeal",
        "excluded",
        "external_appeal_or_tribunal",
        f"an external appeal or tribunal is referred to: '{m.group(0).strip()}'",
    )


_INSURANCE = caseless.compile(
    r"\b(?:insurance claim|claim (?:on|against|through|under) (?:your|the|thrive'?s?|the buildings)"
    r" (?!own\b)(?:\w+ )?insur\w*|public liability|loss adjuster|insurers?\s+(?:details|claim form)"
    r"|claim\s+form\s+for\s+(?:my\s+)?(?:insurance|damaged))\b",
    re.IGNORECASE,
)


def insurance_claim_made(text: str) -> RuleHit | None:
    """A claim on the landlord's insurance (policy page: not a complaint)."""
    m = _INSURANCE.search(text)
    if not m:
        return None
    return RuleHit(
        "insurance_claim_made",
        "excluded",
        "insurance_claim",
        f"an insurance claim is referred to: '{m.group(0).strip()}'",
    )


_S20 = caseless.compile(
    r"\b(?:section\s*20\b|s\.?\s?20\s+(?:notice|consultation)|notice of (?:intention|estimates|"
    r"proposal)|stage\s+(?:one|two|1|2)\s+(?:section 20\s+)?consultation notice"
    r"|observations?\s+(?:on|about|regarding)\s+the\s+(?:proposed|planned|major)\s+works)",
    re.IGNORECASE,
)


def section20_consultation(text: str) -> RuleHit | None:
    """Observations on a leaseholder (section 20) consultation go to home ownership."""
    m = _S20.search(text)
    if not m:
        return None
    return RuleHit(
        "section20_consultation",
        "excluded",
        "leaseholder_consultation",
        f"a leaseholder consultation is referred to: '{m.group(0).strip()}'",
    )


_DONE_BEFORE = caseless.compile(
    r"\b(?:(?:been|went|gone)\s+through\s+(?:your|the)\s+(?:whole\s+)?complaints?\s+process"
    r"|(?:at|through)\s+(?:both\s+stages|stage\s*(?:1|one)\s+and\s+(?:stage\s*)?(?:2|two))"
    r"|dealt\s+with\s+at\s+both\s+stages|ombudsman\s+(?:has\s+)?(?:already\s+)?(?:made\s+a\s+"
    r"determination|found\s+no|decided|closed|looked\s+at\s+it|said\s+they\s+wouldn'?t)"
    r"|(?:closed|answered|decided)\s+(?:with|after|in)\s+(?:your|the)\s+(?:stage\s*(?:2|two)\s+)?"
    r"final\s+(?:response|answer|decision)|(?:gave|sent)\s+(?:me\s+)?(?:your|the)\s+(?:stage\s*"
    r"(?:2|two)\s+)?final\s+(?:response|answer|decision)|fully\s+considered\s+and\s+closed)",
    re.IGNORECASE,
)
_AGAIN = caseless.compile(
    r"\b(?:again|re-?open|re-?investigat\w*|re-?submit\w*|once\s+more|same\s+(?:complaint|issue"
    r"|thing|points)|fresh\s+investigation|start\s+it\s+again|looked\s+at\s+again)\b",
    re.IGNORECASE,
)


#: "That's a new problem", "I'm not raising that again": a new matter after a finished one.
_NEW_MATTER = caseless.compile(
    r"\b(?:(?:a|an?other|that'?s\s+a|this\s+is\s+a)\s+(?:new|different|separate|fresh)\s+"
    r"(?:problem|issue|matter|complaint)|this\s+is\s+(?:about\s+)?(?:something\s+)?(?:different"
    r"|new|separate)|not\s+(?:raising|reopening|asking\s+(?:you\s+)?to\s+reopen|complaining"
    r"\s+about)\s+(?:that|it|the\s+same|anything))",
    re.IGNORECASE,
)


def previously_considered_matter(text: str) -> RuleHit | None:
    """The same matter has been through the complaints process to the end and is raised again.

    Not when the resident says this is a new problem ("that's a new problem", "I'm not raising
    that again"): a new issue after a finished complaint is a new complaint (Code 6.8)."""
    done = _DONE_BEFORE.search(text)
    if not done or not _AGAIN.search(text) or _NEW_MATTER.search(text):
        return None
    return RuleHit(
        "previously_considered_matter",
        "excluded",
        "previously_considered",
        f"the matter seems to have completed the complaints process: '{done.group(0).strip()}'",
    )


# --- complaint signals (1.2, 1.5, 6.10) ----------------------------------------------------------

_ESCALATE = caseless.compile(
    r"\b(?:stage\s*(?:2|two)|escalat\w+|(?:not|un)\s*(?:happy|satisfied)\s+with\s+(?:the|your)\s+"
    r"(?:stage\s*(?:1|one)\s+)?(?:response|outcome|decision|reply|answer)"
    r"|(?:review|reconsider)\s+(?:my|the|this)\s+complaint|take\s+(?:this|my complaint)\s+further"
    r"|next\s+stage|(?:want|like|request|need|ask\s+for)\s+(?:a|your|the)\s+final\s+response"
    r"|(?:go|going|gone|straight|complain(?:ing)?|write|writing|report\w*)\s+(?:straight\s+)?to\s+"
    r"the\s+(?:housing\s+)?ombudsman)\b",
    re.IGNORECASE,
)


def escalation_requested(text: str) -> RuleHit | None:
    """The resident asks to take a complaint to stage 2; no reasons required (6.12)."""
    m = _ESCALATE.search(text)
    if not m:
        return None
    return RuleHit(
        "escalation_requested",
        "complaint",
        "",
        f"asks for the complaint to go further: '{m.group(0).strip()}'",
    )


_DISSATISFIED = caseless.compile(
    r"\b(?:not good enough|unacceptable|disgust\w*|appall\w*|shocking|disgrace\w*|useless"
    r"|fed up|sick (?:and tired|of)|let down|ignor(?:ed|ing)|fob(?:bed)? off"
    r"|no(?:body| one|-one)\s+(?:has\s+|have\s+|ever\s+)?(?:come|came|turned up|showed|got back|"
    r"called|rang|replied|bothered|been)"
    r"|(?:never|didn't|did not|hasn't|has not|haven't|have not)\s+(?:turn(?:ed)? up|show(?:ed)? up"
    r"|come back|came back|got back|call(?:ed)? (?:me )?back|heard back|rung back)"
    r"|still (?:not|no|waiting|hasn't|haven't|nothing|dripping|leaking|broken|happening)"
    r"|(?:third|fourth|fifth|\d+(?:st|nd|rd|th))"
    r" time|chas(?:ed|ing)|rude|unprofessional|no response|not (?:happy|satisfied)|unhappy"
    r"|dissatisfied|complain\w*\s+about\s+(?:how|the\s+way)|poor (?:service|workmanship)"
    r"|(?:never|nobody|no one|noone)\s+(?:come|came|showed|turned up|answer\w*|call\w* back)"
    r"|(?:you|thrive|your (?:contractor|staff|officer|team))\s+(?:have|has)\s+"
    r"(?:done nothing|failed)"
    r"|lack of (?:action|communication|response)|missed appointment|waste of time"
    r"|ashamed|(?:absolute|complete|total) joke|beyond a joke|had enough|at my wits'? end"
    r"|(?:promised|told)\s+(?:\w+\s+){0,4}(?:\d+|three|four|five|six|several|many)\s+times"
    r"|(?:want|expect|would\s+like|i'?d\s+like|deserve|demand)\s+(?:\w+\s+){0,2}apology"
    r"|disappoint\w*|(?:is|far|way|much|taking|takes|took)\s+(?:far\s+|way\s+)?too\s+long"
    r"|(?:said|promised)\s+(?:he|she|they|you|it)(?:'d|\s+would|\s+will)\s+(?:[\w'-]+\s+){0,6}?"
    r"(?:and|but)\s+(?:never|didn'?t|did\s+not|hasn'?t|has\s+not)"
    r"|(?<!not\s)your\s+fault|(?:not|don'?t)\s+(?:want\s+)?(?:to\s+be\s+)?told\s+to\s+claim"
    r"|told\s+(?:me\s+|us\s+)?to\s+claim\s+on\s+(?:my|our)\s+(?:own\s+)?insurance)\b",
    re.IGNORECASE,
)


#: "Nobody answers" is about us when it is our phone or inbox; not when it is a neighbour's door.
_NO_ANSWER = caseless.compile(r"(?:never|nobody|no one|noone)\s+answer\w*", re.IGNORECASE)
_SOMEONE_ELSES_DOOR = caseless.compile(
    r"\b(?:door|doorbell|intercom|buzzer|neighbou?rs?|next\s+door|upstairs|downstairs"
    r"|flat\s+(?:above|below|upstairs|downstairs))\b",
    re.IGNORECASE,
)


def _sentence_at(text: str, start: int, end: int) -> str:
    """The sentence (or line) around ``text[start:end]``."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for c in ".!?\n" if (i := text.find(c, end)) != -1]
    return text[left : min(rights) if rights else len(text)]


def dissatisfied_with_service(text: str) -> RuleHit | None:
    """Words of dissatisfaction with what the landlord did or failed to do (1.2, 1.5).

    "Nobody answers" counts unless its sentence is about a door or a neighbour ("it's coming
    from the flat above but nobody answers the door there" is a first repair report, not
    dissatisfaction with us).
    """
    for phrase in _dissatisfaction(text):
        return _dissatisfied_hit(phrase)
    return None


def _dissatisfaction(text: str) -> Iterator[str]:
    for m in _DISSATISFIED.finditer(text):
        if _NO_ANSWER.fullmatch(m.group(0)) and _SOMEONE_ELSES_DOOR.search(
            _sentence_at(text, m.start(), m.end())
        ):
            continue
        yield m.group(0).strip()


def _dissatisfied_hit(phrase: str) -> RuleHit:
    return RuleHit(
        "dissatisfied_with_service",
        "complaint",
        "",
        f"expresses dissatisfaction with the service: '{phrase}'",
    )


# --- an explicit wish to complain (1.3, 1.4) -----------------------------------------------------

_WISH = caseless.compile(
    r"\b(?:i\s+(?:do\s+|really\s+|definitely\s+|now\s+)?(?:want|wish|need|would\s+like)"
    r"|i\s*['’]d\s+(?:really\s+)?like)\s+to\s+(?:complain\b|(?:make|raise|lodge|log|file|submit"
    r"|put\s+in|register|open)\s+(?:a|an|my)\s+(?:formal\s+|official\s+|proper\s+)?complaint)"
    r"|\bi\s*(?:am|['’]m)\s+(?:writing\s+to\s+(?:complain\b|make\s+a\s+(?:formal\s+|official\s+)?"
    r"complaint)|(?:now\s+)?(?:making|raising|lodging|submitting)\s+a\s+(?:formal\s+|official\s+)?"
    r"complaint)"
    r"|\bthis\s+is\s+(?:a|my)\s+(?:formal\s+|official\s+)?complaint"
    r"|\b(?:want|like|need)\s+(?:this|it|my\s+\w+)\s+(?:to\s+be\s+)?(?:logged|treated|recorded"
    r"|registered|taken|dealt\s+with)\s+as\s+a\s+(?:formal\s+|official\s+)?complaint"
    r"|\bplease\s+(?:treat|log|record|register|take|accept)\s+(?:it|(?:this|my)(?:\s+(?:e-?mail"
    r"|message|letter))?)\s+as\s+(?:a|my)\s+(?:formal\s+|official\s+)?complaint",
    re.IGNORECASE,
)
#: A hedge or negation earlier in the same sentence ("I'm not sure whether I want to make a
#: complaint", "if nothing happens I want to complain") means no wish has been expressed yet.
_HEDGE = caseless.compile(
    r"\b(?:if|whether|unless|not|never|no\s+need|before|don['’]?t|do\s+not|didn['’]?t)\b|n['’]t\b",
    re.IGNORECASE,
)


def wish_to_complain(text: str) -> RuleHit | None:
    """The resident says in so many words that they want to complain (Code 1.3).

    Not a complaint signal: a first request in which the resident uses the word complaint is
    still a service request (1.4). But the Code gives residents the choice to complain, so such
    an item goes to a person rather than through unseen. "I don't want to make a complaint but..."
    and "if it isn't fixed I will complain" are not a wish to complain.
    """
    for m in _WISH.finditer(text):
        left = max(text.rfind(c, 0, m.start()) for c in ".!?\n") + 1
        if _HEDGE.search(text[left : m.start()]):
            continue
        return RuleHit(
            "wish_to_complain",
            "complaint",
            "",
            f"says they want to complain: '{' '.join(m.group(0).split())}'",
        )
    return None


# --- survey replies (1.6) ----------------------------------------------------------------------

#: Our survey invitations, as quoted beneath a reply or echoed in its subject line.
_SURVEY_INVITE = caseless.compile(
    r"\b(?:how\s+did\s+we\s+do|tell\s+us\s+how\s+we\s+did"
    r"|how\s+was\s+your\s+(?:recent\s+)?(?:repair|visit|appointment)"
    r"|(?:satisfaction|feedback|customer|post-visit|tenant|resident|text|star)\s+survey"
    r"|(?:reply|respond|answer)\s+with\s+a\s+(?:score|number|rating|mark)"
    r"|(?:score|rate)\s+(?:us|it|your\s+(?:recent\s+)?\w+)\s+(?:from|on\s+a\s+scale|out\s+of)"
    r"|on\s+a\s+scale\s+of\s+(?:0|1|one|zero)\s+to\s+(?:5|10|five|ten)"
    r"|how\s+satisfied\s+(?:are|were)\s+you"
    r"|how\s+likely\s+(?:are\s+you|is\s+it\s+that\s+you)\s+(?:to|would)\s+recommend"
    r"|(?:in\s+answer|replying)\s+to\s+your\s+(?:\w+\s+)?survey)\b",
    re.IGNORECASE,
)
#: A line opening with a score given as an answer: "8 out of 10", "8/10", "3 stars", "Score 5",
#: "Rating: 4", "I'd give it 7 out of 10".
_SCORE = caseless.compile(
    r"(?:i\s*(?:['’]d|would)?\s+(?:give|rate|score)\s+(?:it|you|us|them|him|her|the\s+\w+)\s+"
    r"(?:an?\s+)?)?"
    r"(?:(?:score[ds]?|rating|rated?)\s*[:=-]?\s*(?:an?\s+)?(?:10|[0-9])\b(?![/\d.,-]\d)"
    r"|(?:10|[0-9])\s*(?:/\s*|out\s+of\s+)(?:10|ten|5|five)\b(?![/\d])"
    r"|(?:[0-5]|one|two|three|four|five)\s+stars?\b)"
    # "8 out of 10 times the boiler fails" is a count, not a score.
    r"(?!\s+(?:times?|days?|nights?|weeks?|months?|visits?|people|residents|tenants|of)\b)",
    re.IGNORECASE,
)
_BARE_NUMBER = caseless.compile(r"(?:10|[0-9])\s*[.!]?")
_REPLY_SUBJECT = caseless.compile(r"^\s*(?:re|aw|sv)\s*:", re.IGNORECASE)
#: A reply opening with a score and saying little else is a survey answer even without context.
BARE_SCORE_MAX_WORDS = 60


def survey_reply(text: str, context: str = "") -> RuleHit | None:
    """An answer to one of our surveys (Code 1.6: survey feedback is not itself a complaint).

    ``text`` is what the sender wrote (the subject line first, as the model reads it);
    ``context`` is the whole message as received, quoted text kept, where our survey invitation
    may be quoted beneath the reply. Fires when:

    - our survey invitation is quoted in ``context``, or named in a reply's subject line, or
      named in the text together with a score ("Re: How did we do?" ... "8 out of 10");
    - or the text opens with a score and says little else (a bare score reply: "9/10 thanks").

    Only a proposal: a survey reply that also expresses dissatisfaction or asks to complain is
    treated as a complaint for a person to check (``classifiers.triage.decide``).
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    score = next((m for ln in lines[:3] if (m := _SCORE.match(ln)) is not None), None)
    bare = next((ln for ln in lines[:3] if _BARE_NUMBER.fullmatch(ln)), None)
    quoted_invite = _SURVEY_INVITE.search(context) if context else None
    is_reply = bool(lines) and bool(_REPLY_SUBJECT.match(lines[0]))
    # The invitation in the sender's own words counts only in a reply or beside a score.
    own_invite = (
        _SURVEY_INVITE.search(text)
        if quoted_invite is None and (is_reply or score or bare)
        else None
    )
    if quoted_invite is not None or own_invite is not None:
        invite = quoted_invite or own_invite
        assert invite is not None
        answer = f", answering with '{(score.group(0) if score else bare or '').strip()}'"
        return RuleHit(
            "survey_reply",
            "excluded",
            "survey_feedback",
            f"replies to our survey ('{' '.join(invite.group(0).split())}')"
            + (answer if score or bare else ""),
        )
    if score is not None and len(text.split()) <= BARE_SCORE_MAX_WORDS:
        return RuleHit(
            "survey_reply",
            "excluded",
            "survey_feedback",
            f"a bare score reply: opens with '{score.group(0).strip()}' and says little else",
        )
    return None


#: The words of a rating scale ("Very dissatisfied", "not happy"): in a survey answer they are
#: the rating itself, which Code 1.6 says is not a complaint.
_RATING_WORDS = caseless.compile(
    r"(?:(?:very|fairly|quite)\s+)?(?:dis)?satisfied|not\s+(?:happy|satisfied)|unhappy"
    r"|(?:(?:very|a\s+bit|quite)\s+)?disappointed"
    r"|poor\s+service",
    re.IGNORECASE,
)


def complaint_in_survey_reply(text: str) -> RuleHit | None:
    """A survey reply that complains in so many words, beyond the rating (Code 1.3, 1.6).

    A wish to complain, a request to escalate, a threat of legal action, or dissatisfaction in
    words other than the rating scale's ("nobody turned up", "still not fixed", "ignored").
    "2 - Very dissatisfied" or "not happy with the cleaning, 4/10" is the rating: survey feedback.
    """
    for rule in (wish_to_complain, escalation_requested, legal_action_threatened):
        hit = rule(text)
        if hit is not None:
            return hit
    for phrase in _dissatisfaction(text):
        if not _RATING_WORDS.fullmatch(phrase):
            return _dissatisfied_hit(phrase)
    return None


# --- automatic notifications in the text (booking confirmations, e-signature, digests) -----------

#: The words landlord systems and platforms put in their own mail: a booking confirmation, an
#: e-signature request, a survey digest, a case-update or sensor alert. Each is one signal; the
#: rule needs two different ones (or one of the unmistakable ``_NOTICE_STRONG``), so a resident who
#: writes "I keep getting automated texts" is not taken for a machine.
_NOTICE_SIGNALS: tuple[tuple[str, Caseless], ...] = tuple(
    (name, caseless.compile(rx, re.IGNORECASE))
    for name, rx in (
        (
            "automated",
            r"\b(?:this\s+is\s+an?\s+(?:automated|automatic)\s+(?:\w+\s+)?"
            r"(?:message|e-?mail|msg|notification|reminder|receipt|alert|response|acknowledgement)"
            r"|(?:sent|generated|produced)\s+(?:\w+\s+){0,5}automatically|automatically\s+generated"
            r"|(?<!your\s)(?<!the\s)(?<!these\s)(?<!getting\s)(?<!get\s)automated\s+(?:msg|message"
            r"|email|report|alert|digest|notification|receipt|tracking|escalation|kpi)"
            r"|msg\s+sent\s+by\s+automated|generated\s+(?:nightly|daily"
            r"|weekly|every\s+\w+)|this\s+(?:notification|digest|report|summary|alert)\s+(?:was|is)"
            r"\s+(?:sent|generated|produced))",
        ),
        (
            "no_reply",
            r"\b(?:(?:please\s+)?(?:do\s+not|don'?t)\s+reply(?:\s+to\s+this)?"
            r"|replies\s+(?:to\s+this\s+(?:address|email|message)\s+)?are\s+not\s+(?:read|monitored)"
            r"|(?:mailbox|inbox|address)\s+is\s+not\s+monitored|not\s+monitored\b)",
        ),
        (
            "subscription",
            r"\b(?:you\s+(?:are|'re)\s+receiving\s+this|unsubscribe"
            r"|manage\s+(?:your\s+)?(?:notification|email)\s+(?:settings|preferences)"
            r"|update\s+your\s+notification"
            r"|you\s+(?:turned\s+on|subscribed|requested\s+this\s+export)|to\s+stop\s+receiving)",
        ),
        (
            "signature",
            r"\b(?:(?:review|view)\s+(?:and\s+sign|document)|sent\s+you\s+(?:a\s+)?"
            r"document\s+to\s+(?:review|sign)|(?:requested|request)\s+your\s+signature"
            r"|all\s+(?:parties|signers)\s+have\s+(?:completed|signed)|sign\s+documents"
            r"\s+electronically|e-?signature\s+(?:service|platform)|powered\s+by)",
        ),
        (
            "booking",
            r"\b(?:(?:appointment|booking|callback|call\s+back)\s+(?:is\s+|has\s+been\s+)?"
            r"(?:confirmed|booked|scheduled|rescheduled|cancelled)|booking\s+confirm\w*"
            r"|add\s+to\s+calendar|reply\s+(?:y|stop|cancel|r)\s+to|(?:job|ticket|incident|case"
            r"|request)\s+(?:number|no\.?|ref\w*|id)?\s*[:#]?\s*[A-Z]{0,4}-?\d{5,}\s+"
            r"(?:has\s+been|is)\s+(?:updated|assigned|resolved|received|completed|closed)"
            r"|status\s+changed\s+from|track\s+(?:your\s+)?(?:repair|parcel|arrival))",
        ),
        (
            "digest",
            r"\b(?:(?:weekly|daily|monthly)\s+(?:summary|digest|report)|\d+\s+new\s+"
            r"(?:responses?|comments?|mentions?|submissions?|reviews?)|view\s+(?:full\s+)?results"
            r"|survey\s+(?:digest|results|export)|dashboard|response\s+summary|new\s+(?:response|"
            r"submission|entry)\s+(?:to|for|was))",
        ),
    )
)
_NOTICE_STRONG = ("automated", "signature")
#: A reply or forward: the subject line is the platform's, the body is the sender's own.
_REPLY_OR_FORWARD = caseless.compile(r"^\s*(?:re|fw|fwd|aw|sv)\s*:", re.IGNORECASE)


def automatic_notification(text: str) -> RuleHit | None:
    """The text reads as an automatic notification from a system or platform, not a person.

    ``text`` is what the model reads: the subject line, then the sender's new words. A reply
    or forward ("Re: Your appointment is confirmed") is judged on its body alone, because its
    subject is the platform's and its words are the resident's. Fires on two different kinds of
    signal (an automated-message notice, "do not reply", subscription footer, e-signature,
    booking, digest), or on one that only machines write ("This is an automated message",
    "review and sign"). Label ``not_resident_mail``; reason ``bulk`` for digests and
    subscription mail, ``auto_reply`` otherwise (an automatic acknowledgement or notification).
    """
    subject, _, body = text.partition("\n")
    scan = body if _REPLY_OR_FORWARD.match(subject) else text
    found: dict[str, str] = {}
    for name, pattern in _NOTICE_SIGNALS:
        m = pattern.search(scan)
        if m is not None:
            found[name] = " ".join(m.group(0).split())
    if len(found) < 2 and not any(n in found for n in _NOTICE_STRONG):
        return None
    bulk = "digest" in found or (
        "subscription" in found and "booking" not in found and "signature" not in found
    )
    evidence = "; ".join(f"{k}: '{v}'" for k, v in found.items())
    return RuleHit(
        "automatic_notification",
        "not_resident_mail",
        "bulk" if bulk else "auto_reply",
        f"reads as an automatic notification from a system or platform ({evidence})",
    )


# --- mail safety ----------------------------------------------------------------------------------


def mail_safety_rule(
    headers: Mapping[str, str],
    from_addr: str,
    *,
    content_type: str = "",
    return_path: str | None = None,
    own_addresses: Collection[str] = (),
    body: str = "",
) -> tuple[RuleHit | None, bool]:
    """Automatic mail (RFC 3834) as a rule hit, and whether it may still hold a resident's words.

    Delegates to ``worker.domain.mail_safety.assess`` so triage and the letter sender agree on
    what is automatic.
    """
    from worker.domain import mail_safety

    verdict = mail_safety.assess(
        headers,
        from_addr,
        content_type=content_type,
        return_path=return_path,
        own_addresses=own_addresses,
        body=body,
    )
    if not verdict.automatic:
        return None, False
    reason = verdict.reason or "auto_reply"
    rules = ", ".join(verdict.rules) or "automatic"
    hit = RuleHit(
        "mail_safety",
        "not_resident_mail",
        reason,
        f"automatic mail ({rules})",
    )
    return hit, bool(verdict.may_hold_resident_words)


# --- the ordered chains ---------------------------------------------------------------------------

TextRule = Callable[[str], RuleHit | None]

#: Exclusion proposals, in order of precedence (the first hit gives the proposed reason).
EXCLUSION_RULES: tuple[TextRule, ...] = (
    court_claim_filed,
    tribunal_or_external_appeal,
    statutory_notice_served,
    insurance_claim_made,
    section20_consultation,
    previously_considered_matter,
)
#: Signals that the item is a complaint whatever else it looks like.
COMPLAINT_RULES: tuple[TextRule, ...] = (
    escalation_requested,
    legal_action_threatened,
    dissatisfied_with_service,
)
RULES: tuple[str, ...] = tuple(r.__name__ for r in EXCLUSION_RULES + COMPLAINT_RULES) + (
    "issue_older_than_12_months",
    "survey_reply",
    "wish_to_complain",
    "automatic_notification",
    "mail_safety",
)


def exclusion_proposals(text: str, received: date) -> list[RuleHit]:
    """Every exclusion rule that fires, most specific first."""
    hits = [h for rule in EXCLUSION_RULES if (h := rule(text)) is not None]
    old = issue_older_than_12_months(text, received)
    if old is not None:
        hits.append(old)
    return hits


def complaint_signals(text: str) -> list[RuleHit]:
    """Every complaint signal that fires."""
    return [h for rule in COMPLAINT_RULES if (h := rule(text)) is not None]


def evaluate_rules(text: str, received: date) -> list[RuleHit]:
    """All text rules that fire, exclusions first."""
    return exclusion_proposals(text, received) + complaint_signals(text)
