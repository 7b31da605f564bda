"""What a complaint is about, and the flags that route it (pure; stdlib only).

The policy page asks residents for four things: what they are unhappy about, when it started, who
they spoke to, and how they want it put right. ``extract`` finds whichever are present so the
acknowledgement can state our understanding and ask only for the missing ones (Code 5.6).
``detect_flags`` marks building safety (policy: the building safety lead), vulnerability or risk
(6.1), a representative (3.6), a request to escalate (6.10-6.12) and a repeat of a closed issue
(input to 5.14, never an automatic restriction). Every flag carries the evidence that set it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from worker.domain import caseless
from worker.domain.caseless import Caseless
from worker.domain.triage_rules import new_text

__all__ = ["DETAILS", "Extraction", "Flags", "detect_flags", "extract", "missing_details"]

DETAILS: tuple[str, ...] = ("issue", "started", "staff_names", "outcome_sought")


@dataclass(frozen=True)
class Extraction:
    """The four details the policy asks for; empty where the message does not give them."""

    issue: str = ""
    started: str = ""
    staff_names: tuple[str, ...] = ()
    outcome_sought: str = ""


@dataclass(frozen=True)
class Flags:
    """Routing flags with the evidence for each one that is set."""

    building_safety: bool = False
    vulnerability: bool = False
    representative: bool = False
    escalation_request: bool = False
    repeat: bool = False
    reasons: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """The names of the flags that are set."""
        return tuple(
            n
            for n in (
                "building_safety",
                "vulnerability",
                "representative",
                "escalation_request",
                "repeat",
            )
            if getattr(self, n)
        )


def missing_details(e: Extraction) -> tuple[str, ...]:
    """The details the acknowledgement must ask for, in the policy page's order."""
    return tuple(name for name in DETAILS if not getattr(e, name))


# --- helpers -----------------------------------------------------------------------------------

_SIGN_OFF = caseless.compile(
    r"^\s*(?:kind regards|regards|best regards|many thanks|thanks|thank you|thanks again"
    r"|yours sincerely|yours faithfully|yours truly|best wishes|cheers|warm regards|sent from my"
    r"|thx|ta)\b[ ,.!]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SENTENCE = caseless.compile(r"[^.!?\n]+(?:[.!?]+|$)", re.MULTILINE)
_GREETING = caseless.compile(
    r"^\s*(?:dear|hi|hello|hiya|good (?:morning|afternoon|evening)|to whom it may concern|hey)\b",
    re.IGNORECASE,
)


def _body_without_sign_off(body: str) -> str:
    m = _SIGN_OFF.search(body)
    return body[: m.start()] if m else body


def _sentences(text: str) -> tuple[str, ...]:
    # The issue and the outcome are both looked for in the sentences of the same text: split
    # once. A very long text is not kept after it has gone.
    if len(text) > _LONGEST_KEPT:
        return _split_sentences(text)
    return _kept_sentences(text)


_LONGEST_KEPT = 64 * 1024


def _split_sentences(text: str) -> tuple[str, ...]:
    # Mail clients wrap lines at about 72 characters: a single line break inside a paragraph is
    # not the end of a sentence, a blank line is.
    unwrapped = re.sub(r"(?<=\S)[ \t]*\n(?![ \t]*\n)[ \t]*(?=\S)", " ", text)
    out = []
    for s in _SENTENCE.findall(unwrapped):
        s = " ".join(s.split())
        if len(s) > 3:
            out.append(s)
    return tuple(out)


_kept_sentences = functools.lru_cache(maxsize=4)(_split_sentences)


def _clip(s: str, n: int = 240) -> str:
    s = s.strip()
    return s if len(s) <= n else s[: n - 1].rstrip() + "…"


# --- the issue -----------------------------------------------------------------------------------

_ISSUE_WORDS = caseless.compile(
    r"\b(?:leak\w*|damp|mou?ld\w*|condensation|boiler|heating|hot water|radiator|repair\w*|broken"
    r"|not working|doesn'?t work|won'?t|fault\w*|crack\w*|rot\w*|roof|window|door|lock|toilet"
    r"|sink|drain|blocked|flood\w*|ceiling|wall|floor|stair\w*|lift|light\w*|electric\w*|gas"
    r"|smell\w*|pest\w*|mice|rats?|cockroach\w*|noise|neighbour\w*|rude|charge\w*|rent|arrears"
    r"|bill\w*|fence|garden|bins?|rubbish|communal|hallway|fire|alarm|asbestos|cladding|contractor"
    r"|operative|appointment|complain\w*|unhappy|not happy|disgust\w*|unacceptable|ignored"
    r"|waiting|nobody|no one|still|refund|service)\b",
    re.IGNORECASE,
)
_GENERIC_SUBJECT = caseless.compile(
    r"^\s*(?:(?:re|fw|fwd)\s*:\s*)*(?:complaint|complaints|enquiry|query|help|urgent|hello|hi"
    r"|no subject|message|contact|feedback|web form.*|online form.*|\(no subject\))?\s*[.!?]*\s*$",
    re.IGNORECASE,
)
_FORM_FIELD = caseless.compile(
    r"^\s*(?:what is your complaint about|details|description|your complaint|complaint details"
    r"|message|tell us what happened|issue)\s*[:?]+\s*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)


_ANNOUNCEMENT = caseless.compile(
    r"^\s*(?:i\s*(?:am|'m)\s+(?:writing|emailing|contacting you)\s+(?:to|in order to)\s+"
    r"(?:make\s+|raise\s+|log\s+)?(?:a\s+)?(?:formal\s+|official\s+)?complain\w*"
    r"|i\s+(?:would like|want|wish|need)\s+to\s+(?:make|raise|log|submit|lodge)\s+a\s+"
    r"(?:formal\s+|official\s+)?complaint"
    r"|this\s+is\s+a\s+(?:formal\s+|official\s+)?complaint)"
    r"[^.!?]{0,25}[.!?]?\s*$",
    re.IGNORECASE,
)


def _issue(subject: str, text: str) -> str:
    form = _FORM_FIELD.search(text)
    if form and form.group(1).strip():
        return _clip(form.group(1))
    sentences = _sentences(text)
    for i, s in enumerate(sentences):
        if _GREETING.match(s) and len(s) < 40:
            continue
        if _ANNOUNCEMENT.match(s):
            # "I am writing to complain." says that there is a complaint, not what it is about.
            continue
        if _ISSUE_WORDS.search(s):
            # A second sentence about the problem usually completes the picture the
            # acknowledgement gives back to the resident as our understanding (5.6).
            following = sentences[i + 1] if i + 1 < len(sentences) else ""
            if following and _ISSUE_WORDS.search(following) and len(s) + len(following) < 300:
                return _clip(f"{s} {following}", 320)
            return _clip(s)
    subj = re.sub(r"^\s*(?:(?:re|fw|fwd)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip()
    if subj and not _GENERIC_SUBJECT.match(subj):
        return _clip(subj)
    return ""


# --- when it started -----------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NUMW = (
    r"(?:\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|eighteen"
    r"|a couple of|a few|several)"
)
_STARTED = caseless.compile(
    rf"\b(?:(?:ever\s+)?since\s+(?:(?:early|late|mid|the end of|the start of|last)\s+)?"
    rf"(?:{_MONTH}(?:\s+\d{{4}})?|\d{{4}}|christmas|easter|spring|summer|autumn|winter|the \w+"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}(?:\s+\d{{4}})?|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|then)"
    rf"|(?:for|over)\s+(?:the\s+(?:last|past)\s+)?{_NUMW}\s+(?:days?|weeks?|months?|years?)"
    rf"|{_NUMW}\s+(?:days?|weeks?|months?|years?)(?:\s+and\s+a\s+half)?\s+ago"
    rf"|(?:back\s+)?(?:in|on|during)\s+(?:(?:early|late|mid)\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?"
    rf"{_MONTH}(?:\s+\d{{4}})?"
    rf"|(?:back\s+)?in\s+(?:19|20)\d\d|on\s+\d{{1,2}}/\d{{1,2}}/\d{{2,4}}"
    rf"|last\s+(?:week|month|year|winter|summer|autumn|spring|christmas|monday|tuesday"
    rf"|wednesday|thursday|friday|saturday|sunday)|yesterday"
    rf"|when\s+(?:i|we)\s+moved\s+in)\b",
    re.IGNORECASE,
)


def _started(text: str) -> str:
    m = _STARTED.search(text)
    return " ".join(m.group(0).split()) if m else ""


# --- staff names ---------------------------------------------------------------------------------

_NOT_NAMES = {
    "The", "A", "An", "Your", "My", "Our", "Thrive", "Repairs", "Repair", "Housing", "Customer",
    "Services", "Service", "Team", "Contact", "Centre", "Center", "Office", "Council", "Monday",
    "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February",
    "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December", "He", "She", "They", "It", "I", "Someone", "Somebody", "Nobody", "Anyone",
    "Complaints", "Lettings", "Income", "Rent", "Gas", "Manager", "Officer", "Surveyor", "Hub",
    "Reception", "Ombudsman", "Environmental", "Health", "Sir", "Madam", "Mr", "Mrs", "Ms",
    "Miss", "Dr", "Him", "Her", "Them", "Us", "Me", "Which", "Who", "That", "This", "Then",
}  # fmt: skip
_NAME = r"((?:(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+)?[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+)?)"
_STAFF_PATTERNS = (
    caseless.compile(
        r"\b(?:spoke|spoken|speaking|talked|talking|chatted|dealt|dealing)\s+(?:to|with)\s+"
        r"(?:(?:a|your|the|one of your)\s+)?(?:\w+\s+){0,2}?(?:called|named)?\s*" + _NAME
    ),
    caseless.compile(
        r"\b(?:officer|manager|surveyor|operative|engineer|plumber|electrician|contractor|advisor"
        r"|adviser|handler|inspector|caretaker|agent|lady|man|guy|woman|bloke|chap)"
        r"(?:\s+(?:called|named))?,?\s+" + _NAME
    ),
    caseless.compile(
        _NAME + r"\s+(?:from|in|at)\s+(?:the\s+|your\s+)?(?:repairs|housing|customer"
        r"|income|lettings|contact|call|complaints|gas|estate|neighbourhood|asb|office)"
    ),
    caseless.compile(r"\b(?:told|promised|assured|informed)\s+(?:me\s+)?by\s+" + _NAME),
    caseless.compile(
        r"\b" + _NAME + r"\s+(?:told|promised|assured|said)\s+(?:me|us|that|she|he)\b"
    ),
    caseless.compile(r"\b((?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z][a-z]+)"),
)


def _staff_names(text: str) -> tuple[str, ...]:
    found: list[str] = []
    for pattern in _STAFF_PATTERNS:
        for m in pattern.finditer(text):
            name = " ".join(m.group(1).split())
            words = name.replace(".", "").split()
            core = [w for w in words if w not in {"Mr", "Mrs", "Ms", "Miss", "Dr"}]
            if not core or any(w in _NOT_NAMES for w in core):
                continue
            if name not in found and not any(name in f for f in found):
                found.append(name)
    return tuple(found[:5])


# --- outcome sought ------------------------------------------------------------------------------

_OUTCOME_FIELD = caseless.compile(
    r"^\s*(?:what (?:outcome|would you like us to do|do you want us to do)[^:?]*|outcome(?: sought"
    r"| wanted)?|how would you like (?:us to|this to be) (?:resolve|put right)[^:?]*"
    r"|desired outcome|resolution)\s*[:?]+\s*(.+)$",
    re.IGNORECASE | re.MULTILINE,
)
_OUTCOME = caseless.compile(
    r"\b(?:i|we)\s*(?:'d| would| wud| wld)?\s+(?:like|want|expect|need)\b(?!\s+to\s+(?:report|know"
    r"|make a complaint|complain|let you know|ask))"
    r"|\b(?:i|we)\s*(?:am|'m|are|'re)\s+(?:asking|seeking|looking)\s+for\b"
    r"|\ball\s+(?:i|we)\s+want\b|\b(?:please|pls|plz)\s+(?:can|could)\s+(?:you|someone)\b"
    r"|\b(?:can|could)\s+(?:you|someone)\s+(?:please|pls|plz)\b"
    r"|\bcompensat\w*|\brefund\b|\bapolog\w*|\brehous\w*|\bmove\s+(?:me|us)\b"
    r"|\b(?:i|we)\s+(?:demand|insist)\b|\bput\s+(?:this|it|things)\s+right\b",
    re.IGNORECASE,
)


def _outcome(text: str) -> str:
    form = _OUTCOME_FIELD.search(text)
    if form and form.group(1).strip():
        return _clip(form.group(1))
    # The last sentence that says what the resident wants: looked for from the end.
    for sentence in reversed(_sentences(text)):
        if _OUTCOME.search(sentence):
            return _clip(sentence)
    return ""


def extract(subject: str, body: str, received: date | None = None) -> Extraction:
    """The four details from the resident's own new words (quoted landlord text ignored).

    ``received`` is accepted so callers can pass it uniformly; "started" is returned as the
    resident phrased it ("since March 2024", "three weeks ago"), which is what a handler reads.
    """
    text = _body_without_sign_off(new_text(body) or body)
    return Extraction(
        issue=_issue(subject, text),
        started=_started(text),
        staff_names=_staff_names(text),
        outcome_sought=_outcome(text),
    )


# --- flags ---------------------------------------------------------------------------------------

_BUILDING_SAFETY = caseless.compile(
    r"\b(?:fire\s*doors?|fire\s+(?:alarm|risk|safety|escape|exit|hazard|regulations)"
    r"|smoke\s+(?:alarm|detector)s?|carbon\s+monoxide|co\s+alarm|gas\s+(?:leak|smell)"
    r"|smell(?:s|ing)?\s+(?:of\s+)?gas|sparking|sparks|exposed\s+wir\w*|bare\s+wires|electric\s+shock"
    r"|burning\s+smell|cladding|asbestos|structural|subsidence|ceiling\s+(?:has\s+)?(?:collaps\w*"
    r"|came\s+down|fell|falling|is\s+falling|bowing)|collaps\w+|balcony\s+(?:is\s+)?(?:unsafe"
    r"|loose|crumbling)|emergency\s+light\w*|dry\s+riser|sprinkler\w*|unsafe\s+(?:wiring|stair\w*"
    r"|balcony|building)|loose\s+(?:banister|handrail|railing)s?"
    r"|trip\s+switch\w* (?:keeps|tripping)"
    r"|electrics?\s+(?:are|is)\s+(?:dangerous|unsafe))\b",
    re.IGNORECASE,
)
_VULNERABLE = caseless.compile(
    r"\b(?:disab\w+|wheelchair|mobility|elderly|pensioner|(?:aged|age)\s+(?:8\d|9\d)"
    r"|(?:i\s+am|i'm|im|she\s+is|she's|he\s+is|he's)\s+(?:7[5-9]|8\d|9\d|1\d\d)\b"
    r"|(?:8\d|9\d)\s*(?:years?\s+old|yrs?\s+old|year-old)|pregnan\w*|new\s*born|newborn|baby"
    r"|infant|toddler|asthma\w*|copd|lung\s+condition|cancer|chemo\w*|dementia|alzheimer\w*"
    r"|mental\s+health|depress\w*|anxiety|suicid\w*|self[- ]harm|domestic\s+(?:abuse|violence)"
    r"|(?:i am|i'm|im)\s+(?:a\s+)?carer|blind|deaf|partially\s+sighted|autis\w+|oxygen|dialysis"
    r"|terminal\w*|frail|vulnerable|learning\s+disabilit\w*|sickle\s+cell|heart\s+condition"
    r"|stroke|epilep\w*|immune|in\s+hospital|hospitalised|can'?t\s+(?:walk|climb|manage\s+the\s+stairs)"
    r"|housebound|bed\s*bound|ptsd|in\s+crisis)\b",
    re.IGNORECASE,
)
_REPRESENTATIVE = caseless.compile(
    r"\b(?:on\s+behalf\s+of|on\s+(?:his|her|their|my\s+\w+'?s)\s+behalf|behalf\s+of\s+my"
    r"|(?:i\s+am|i'm|im)\s+(?:writing|emailing|contacting\s+you)\s+(?:for|about)\s+my\s+"
    r"(?:mum|mother|dad|father|nan|gran|grandmother|grandad|grandfather|son|daughter|sister"
    r"|brother|aunt|uncle|neighbour|friend|client|tenant)"
    r"|(?:her|his|their)\s+(?:advocate|support\s+worker|social\s+worker|carer|representative)"
    r"|(?:i\s+am|i'm|im)\s+(?:the\s+|a\s+|an\s+)?(?:\w+\s+)?(?:advocate|support\s+worker"
    r"|social\s+worker|caseworker|case\s+worker|representative|key\s*worker)\s+(?:for|of|to|at)"
    r"|(?:i\s+am|i'm|im)\s+(?:the\s+)?(?:ward\s+|local\s+)?councillor\s+for\s+(?:mr|mrs|ms|miss)?"
    r"\s*[a-z]+\s+[a-z'-]+\s+(?:of|at)\b"
    r"|my\s+client|my\s+constituent|(?:a|one\s+of\s+my)\s+constituents?"
    r"|(?:third\s+party|3rd\s+party)\s+(?:consent|authority)|authority\s+to\s+act"
    r"|(?:has|have)\s+asked\s+me\s+to\s+(?:write|contact|email|raise|complain))\b",
    re.IGNORECASE,
)
_ESCALATION = caseless.compile(
    r"\b(?:stage\s*(?:2|two)|escalat\w+|(?:not|un)\s*(?:happy|satisfied)\s+with\s+(?:the|your)\s+"
    r"(?:stage\s*(?:1|one)\s+)?(?:complaint\s+)?(?:response|outcome|decision|reply|answer|findings)"
    r"|(?:review|reconsider)\s+(?:my|the|this)\s+complaint|take\s+(?:this|my\s+complaint|it)\s+"
    r"further|(?:go|move|take\s+it)\s+to\s+the\s+next\s+stage|senior\s+manager\s+to\s+review"
    r"|final\s+response\s+(?:please|from)|i\s+(?:still\s+)?disagree\s+with\s+(?:the|your)\s+"
    r"(?:outcome|response|decision))\b",
    re.IGNORECASE,
)

_STOP = set(
    "a an the and or but if of to in on at for with by from is are was were be been being i me my "
    "we our us you your it its this that these those there here have has had do does did not no "
    "so as can could would should will just still very also about again into out up down "
    "over "
    "they them their he she his her him what when which who how all any some more than then too "
    "am im i'm ive i've dont don't its it's thrive please thanks thank regards dear hi "
    "hello".split()
)
_WORD = caseless.compile(r"[a-z][a-z']+")


def _content_words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def _similarity(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


REPEAT_THRESHOLD = 0.5


def detect_flags(subject: str, body: str, closed_issue_texts: Sequence[str] = ()) -> Flags:
    """Set each routing flag that the resident's words support, with the evidence.

    ``closed_issue_texts`` are the descriptions of this resident's closed complaints, supplied by
    the caller; similarity to one sets ``repeat`` for a person to weigh (5.14), nothing more.
    """
    own = new_text(body) or body
    text = f"{subject}\n{own}"
    reasons: list[str] = []

    def hit(name: str, pattern: Caseless, where: str) -> bool:
        m = pattern.search(where)
        if m:
            reasons.append(f"{name}: '{' '.join(m.group(0).split())}'")
        return m is not None

    building_safety = hit("building_safety", _BUILDING_SAFETY, text)
    vulnerability = hit("vulnerability", _VULNERABLE, text)
    representative = hit("representative", _REPRESENTATIVE, text)
    escalation = hit("escalation_request", _ESCALATION, text)
    repeat = False
    # The words are compared only with this resident's closed complaints, if there are any.
    words = _content_words(text) if closed_issue_texts else set()
    if len(words) >= 4:
        best, best_i = 0.0, -1
        for i, closed in enumerate(closed_issue_texts):
            score = _similarity(words, _content_words(closed))
            if score > best:
                best, best_i = score, i
        if best >= REPEAT_THRESHOLD:
            repeat = True
            reasons.append(f"repeat: similar to closed issue #{best_i + 1} (overlap {best:.2f})")
    return Flags(
        building_safety=building_safety,
        vulnerability=vulnerability,
        representative=representative,
        escalation_request=escalation,
        repeat=repeat,
        reasons=tuple(reasons),
    )
