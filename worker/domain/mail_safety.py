"""Should we ever answer this message automatically? RFC 3834 and SPEC section 6 as a rule chain.

Each rule is a small named object evaluated in order (as in GNU Mailman's chains); every rule
that fires is recorded by name, with what it saw, so staff can see why no letter went. A verdict
never drops a message: the caller still records it, and ``may_hold_resident_words`` sends
automatic-looking mail that may carry a resident's complaint to a person. Pure: stdlib only.

Decisions worth knowing:

- ``X-Auto-Response-Suppress`` on inbound mail is *not* evidence that the mail is automatic.
  Microsoft clients and servers set it to ask others not to auto-reply (MS-OXCMAIL 2.2.3.2.14);
  Exchange puts it on its own out-of-office replies, but also on meeting requests and on mail
  from many ordinary systems. Out-of-office replies also carry ``Auto-Submitted``, which fires.
- Subject patterns ("Automatic reply:", "Out of Office", "Undeliverable:") are *weak* rules: a
  resident may write "Out of office hours repair never came". A verdict resting only on weak
  rules always asks a person when the body has any substance.
- An empty return path (``<>``) makes a message automatic but does not say what kind; it is
  called a bounce only when nothing else says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from worker.domain.parsing import safe_header_value, strip_quoted

__all__ = [
    "LOOP_HEADER",
    "RULES",
    "Rule",
    "SafetyVerdict",
    "assess",
    "outgoing_auto_headers",
    "within_sender_cap",
]

LOOP_HEADER = "X-Complaints-Loop"

AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
BULK = "bulk"


@dataclass(frozen=True)
class SafetyVerdict:
    automatic: bool  # True: we must never send an automatic letter in reply
    reason: str  # "auto_reply" | "bounce" | "bulk" | ""
    rules: tuple[str, ...]  # every rule that fired, with what it saw
    may_hold_resident_words: bool  # automatic-looking, but a person must look (triage queue)


@dataclass(frozen=True)
class _Seen:
    """What the rules look at, normalised once."""

    headers: Mapping[str, str]  # lower-case names
    from_addr: str  # lower-case
    from_local: str  # lower-case local part
    content_type: str
    return_path: str | None
    own_addresses: frozenset[str]
    loop_header: str  # lower-case
    subject: str


@dataclass(frozen=True)
class Rule:
    """One named check. ``check`` returns what it saw (fired) or None (did not fire).

    ``reason`` is what the message is when this rule decides; "" means it makes the message
    automatic without saying which kind. Weak rules rest on wording a person could also use.
    """

    name: str
    reason: str
    check: Callable[[_Seen], str | None]
    weak: bool = False
    why: str = ""


def _loop_header(seen: _Seen) -> str | None:
    return "" if seen.loop_header in seen.headers else None


def _own_address(seen: _Seen) -> str | None:
    return seen.from_addr if seen.from_addr and seen.from_addr in seen.own_addresses else None


def _delivery_report(seen: _Seen) -> str | None:
    if seen.content_type != "multipart/report":
        return None
    match = re.search(r"report-type\s*=\s*\"?([\w.-]+)", seen.headers.get("content-type", ""), re.I)
    return match.group(1).lower() if match else ""


_DAEMON_LOCALS = {"mailer-daemon", "postmaster", "mailer_daemon", "mail-daemon"}
_EXCHANGE_SYSTEM_RE = re.compile(r"^microsoftexchange[0-9a-f]{32}$")


def _mailer_daemon(seen: _Seen) -> str | None:
    if seen.from_local in _DAEMON_LOCALS or _EXCHANGE_SYSTEM_RE.match(seen.from_local):
        return seen.from_local
    return None


def _token(value: str) -> str:
    """The first token of a header value, lower-case, parameters and comments dropped."""
    value = re.sub(r"\([^)]*\)", " ", value)
    return value.split(";", 1)[0].strip().lower()


def _auto_submitted(seen: _Seen) -> str | None:
    if "auto-submitted" not in seen.headers:
        return None
    value = _token(seen.headers["auto-submitted"])
    return None if value == "no" else (value or "empty")


# Vendor headers that mark an automatic response (name -> value that must appear, "" = any).
_VENDOR_MARKERS: tuple[tuple[str, str], ...] = (
    ("x-autoreply", ""),  # Yandex, some cPanel vacation scripts: "X-Autoreply: yes"
    ("x-autorespond", ""),  # various autoresponders
    ("x-autoreply-from", ""),  # Gnus/other vacation programs
    ("x-mail-autoreply", ""),
    ("x-auto-response", ""),
    ("x-fc-machinegenerated", "true"),  # FirstClass
    ("x-post-messageclass", "autoresponder"),
    ("x-ms-exchange-inbox-rules-loop", ""),  # Exchange: produced by a mailbox rule
    ("x-cron-env", ""),  # cron output
)


def _vendor_autoreply(seen: _Seen) -> str | None:
    for name, needle in _VENDOR_MARKERS:
        if name in seen.headers and needle in seen.headers[name].lower():
            return name
    return None


def _precedence(bulk: bool) -> Callable[[_Seen], str | None]:
    def check(seen: _Seen) -> str | None:
        value = _token(seen.headers.get("precedence", "") or seen.headers.get("x-precedence", ""))
        if bulk and value in ("bulk", "junk", "list"):
            return value
        if not bulk and value in ("auto_reply", "auto-reply", "autoreply"):
            return value
        return None

    return check


def _list_headers(seen: _Seen) -> str | None:
    for name in ("list-id", "list-unsubscribe"):
        if name in seen.headers:
            return name
    return None


def _null_return_path(seen: _Seen) -> str | None:
    if seen.return_path is None:
        return None
    value = seen.return_path.strip()
    return "<>" if value in ("", "<>") else None


# Only as a prefix ending in ":" (or the whole subject): "Out of office hours repair" is a
# resident's subject, "Out of Office: Re: ..." is not.
_AUTO_REPLY_SUBJECT_RE = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[ -]?(?:reply|response)|autoreply|auto|"
    r"out of (?:the )?office(?: ?auto ?reply)?|ooo)\s*(?::|$)",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|delivery status notification|"
    r"mail delivery (?:failed|failure|subsystem)|returned mail|delivery (?:has )?failed|"
    r"failure notice|non[- ]?delivery)",
    re.IGNORECASE,
)


def _subject_auto_reply(seen: _Seen) -> str | None:
    match = _AUTO_REPLY_SUBJECT_RE.match(seen.subject)
    return match.group(0).strip(" \t:").lower() if match else None


def _subject_bounce(seen: _Seen) -> str | None:
    match = _BOUNCE_SUBJECT_RE.match(seen.subject)
    return match.group(0).strip().lower() if match else None


# The chain, in order. Order decides nothing about *whether* a message is automatic (any fired
# rule makes it so); it is the order in which evidence is listed.
RULES: tuple[Rule, ...] = (
    Rule("loop_header", AUTO_REPLY, _loop_header, why="carries our own loop header"),
    Rule("own_address", AUTO_REPLY, _own_address, why="comes from one of our own addresses"),
    Rule("report", BOUNCE, _delivery_report, why="a delivery or disposition report"),
    Rule("mailer_daemon", BOUNCE, _mailer_daemon, why="from MAILER-DAEMON or postmaster"),
    Rule("auto_submitted", AUTO_REPLY, _auto_submitted, why="Auto-Submitted is not 'no'"),
    Rule("vendor_autoreply", AUTO_REPLY, _vendor_autoreply, why="a vendor auto-reply header"),
    Rule("precedence", AUTO_REPLY, _precedence(bulk=False), why="Precedence: auto_reply"),
    Rule("precedence", BULK, _precedence(bulk=True), why="Precedence: bulk, junk or list"),
    Rule("list", BULK, _list_headers, why="List-Id or List-Unsubscribe present"),
    Rule("null_return_path", "", _null_return_path, why="empty return path <>"),
    Rule("subject", AUTO_REPLY, _subject_auto_reply, weak=True, why="auto-reply subject"),
    Rule("subject", BOUNCE, _subject_bounce, weak=True, why="bounce subject"),
)

# Which reason wins when rules disagree: a report or daemon is a bounce whatever else it says;
# an auto-reply that also carries list headers is list traffic only if it is auto-generated.
_SELF = ("loop_header", "own_address")


def _choose_reason(fired: list[tuple[Rule, str]]) -> str:
    strong = [(rule, seen) for rule, seen in fired if not rule.weak]
    reasons = {rule.reason for rule, _ in strong}
    if any(rule.name in _SELF for rule, _ in strong):
        return AUTO_REPLY
    if BOUNCE in reasons:
        return BOUNCE
    if AUTO_REPLY in reasons:
        auto_generated_only = all(
            rule.name == "auto_submitted" and seen == "auto-generated"
            for rule, seen in strong
            if rule.reason == AUTO_REPLY
        )
        if BULK in reasons and auto_generated_only:
            return BULK
        return AUTO_REPLY
    if BULK in reasons:
        return BULK
    weak_reasons = [rule.reason for rule, _ in fired if rule.weak]
    if BOUNCE in weak_reasons and AUTO_REPLY not in weak_reasons:
        return BOUNCE
    if weak_reasons:
        return AUTO_REPLY
    return BOUNCE if fired else ""  # only an empty return path: most likely a bounce


# --------------------------------------------------------------------------------------------
# may_hold_resident_words: a simple, explainable heuristic.
#
# Applied to the body's *new* words (quoted replies and quoted chains removed):
#   - never for our own mail (loop header, own address) or for a bounce: a bounce of one of our
#     letters is not a resident's words (the caller flags the case instead);
#   - weak evidence only (a subject pattern): a person looks when there are >= 20 words;
#   - otherwise a person looks when the words read like dissatisfaction: at least 2 different
#     dissatisfaction phrases and the first person singular ("I", "my", "me"), as in a
#     complaint forwarded by a list or an auto-forwarding rule;
#   - or for an auto-reply (not list mail) that is long: >= 150 words, far beyond an
#     out-of-office note.

WEAK_ONLY_MIN_WORDS = 20
LONG_AUTO_REPLY_WORDS = 150
MIN_DISSATISFACTION_CUES = 2

DISSATISFACTION_CUES: tuple[str, ...] = (
    "complain",
    "complaint",
    "unhappy",
    "not happy",
    "disappointed",
    "dissatisfied",
    "unacceptable",
    "disgusted",
    "disgusting",
    "appalling",
    "fed up",
    "not good enough",
    "let down",
    "still waiting",
    "still not",
    "nobody has",
    "no one has",
    "no-one has",
    "ignored",
    "ombudsman",
    "chased",
    "chasing",
    "never turned up",
    "didn't turn up",
    "did not turn up",
    "no show",
    "missed appointment",
    "no heating",
    "no hot water",
    "mould",
    "damp",
    "leak",
    "rude",
    "months",
    "weeks",
)
_FIRST_PERSON_RE = re.compile(r"\b(?:i|my|me|i'm|i've)\b", re.IGNORECASE)


def _may_hold_resident_words(reason: str, fired: list[tuple[Rule, str]], body: str) -> bool:
    names = {rule.name for rule, _ in fired}
    if names & set(_SELF) or reason == BOUNCE:
        return False
    words_text = strip_quoted(body) if body else ""
    words = len(re.findall(r"\w+", words_text))
    if all(rule.weak for rule, _ in fired):
        return words >= WEAK_ONLY_MIN_WORDS
    lowered = words_text.lower()
    cues = sum(1 for cue in DISSATISFACTION_CUES if cue in lowered)
    if cues >= MIN_DISSATISFACTION_CUES and _FIRST_PERSON_RE.search(words_text):
        return True
    return reason == AUTO_REPLY and words >= LONG_AUTO_REPLY_WORDS


# --------------------------------------------------------------------------------------------


def assess(
    headers: Mapping[str, str],
    from_addr: str,
    *,
    content_type: str = "",
    return_path: str | None = None,
    own_addresses: Collection[str] = (),
    loop_header: str = LOOP_HEADER,
    body: str = "",
) -> SafetyVerdict:
    """Run the rule chain over one inbound message's facts and say whether we may auto-reply.

    ``headers`` may use any case for names. ``return_path`` None means unknown (the rule does
    not fire); "" or "<>" is the null return path. ``body`` is the message text, used only to
    decide ``may_hold_resident_words``.
    """
    lowered = {str(name).strip().lower(): str(value) for name, value in headers.items()}
    addr = from_addr.strip().strip("<>").strip().lower()
    seen = _Seen(
        headers=lowered,
        from_addr=addr,
        from_local=addr.rsplit("@", 1)[0] if "@" in addr else addr,
        content_type=(content_type or _token(lowered.get("content-type", ""))).strip().lower(),
        return_path=return_path,
        own_addresses=frozenset(a.strip().strip("<>").lower() for a in own_addresses),
        loop_header=loop_header.strip().lower(),
        subject=lowered.get("subject", ""),
    )
    fired: list[tuple[Rule, str]] = []
    for rule in RULES:
        result = rule.check(seen)
        if result is not None:
            fired.append((rule, result))
    if not fired:
        return SafetyVerdict(False, "", (), False)
    reason = _choose_reason(fired)
    names = tuple(
        dict.fromkeys(
            f"{rule.name}:{safe_header_value(result)[:60]}" if result else rule.name
            for rule, result in fired
        )
    )
    return SafetyVerdict(
        automatic=True,
        reason=reason,
        rules=names,
        may_hold_resident_words=_may_hold_resident_words(reason, fired, body),
    )


def within_sender_cap(sent_today: int, cap: int) -> bool:
    """True if one more automatic letter to this sender today stays within the daily cap."""
    return sent_today < cap


def outgoing_auto_headers(loop_value: str) -> dict[str, str]:
    """Headers every automatic letter carries (RFC 3834 section 5, plus our loop header)."""
    return {
        "Auto-Submitted": "auto-replied",
        LOOP_HEADER: safe_header_value(loop_value),
        "X-Auto-Response-Suppress": "All",
    }
