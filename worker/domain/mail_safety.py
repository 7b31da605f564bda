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

from worker.domain import caseless
from worker.domain.parsing import safe_header_value, strip_quoted

__all__ = [
    "LOOP_HEADER",
    "RULES",
    "Rule",
    "SafetyVerdict",
    "MACHINE_RULES",
    "MachineVerdict",
    "assess",
    "machine_sender",
    "normalised_local_part",
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
    body: str = ""  # the new words only (quotes and forwarded chains removed); machine rules


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


# Compared after normalised_local_part: "post_master", "Post.Master" and "MAILER-DAEMON" are all
# daemons (issue 7: a receipt went to post_master@ because only the exact spellings were known).
_DAEMON_LOCALS = {"mailerdaemon", "postmaster", "maildaemon", "mailerdemon", "smtpdaemon"}
_EXCHANGE_SYSTEM_RE = re.compile(r"^microsoftexchange[0-9a-f]{32}$")


def normalised_local_part(local: str) -> str:
    """A local part reduced to compare against lists: lower case, any "+tag" subaddress dropped,
    and the separators people put between words ("-", "_", ".") removed, so that no_reply,
    no-reply, No.Reply and noreply+abc all read "noreply"."""
    local = local.strip().strip('"').lower().split("+", 1)[0]
    return re.sub(r"[-_.\s]+", "", local)


def _mailer_daemon(seen: _Seen) -> str | None:
    local = normalised_local_part(seen.from_local)
    if local in _DAEMON_LOCALS or _EXCHANGE_SYSTEM_RE.match(local):
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


# --------------------------------------------------------------------------------------------
# Machine senders (issue 7, SPEC section 6 "Trusted recipient").
#
# A second chain, in the same style, that answers a narrower question than ``assess``: is the
# sender a machine that nobody reads, so that an automatic letter to it is wasted at best and a
# leak at worst? Unlike ``assess`` it does not make the message automatic (triage still reads it
# as a resident's message, so no complaint is lost by a no-reply address); it only keeps every
# automatic letter from going to that address and asks a person (worker/domain/recipient.py).

# Local parts (after normalised_local_part) that nobody reads. Exact names, then prefixes that
# senders number or tag ("noreply-1234", "bounces-abc", "notifications.billing").
_MACHINE_LOCALS = frozenset(
    {
        "noreply", "donotreply", "dontreply", "donotrespond", "dontrespond", "noresponse",
        "noreplies", "notreply", "noreplay", "replynot", "nepasrepondre", "nichtantworten",
        "notification", "notifications", "notify", "notifier", "alert", "alerts",
        "mailerdaemon", "postmaster", "maildaemon", "bounce", "bounces", "bouncer",
        "autoreply", "autoresponder", "automailer", "automated", "mailer", "daemon",
        "system", "robot", "nobody", "unsubscribe", "newsletter", "newsletters", "news",
        "status",
        "calendar", "calendarnotification", "invitations", "invites", "updates",
        "ticket", "tickets", "jira", "dse", "echosign", "adobesign",
    }
)  # fmt: skip
_MACHINE_LOCAL_PREFIXES = (
    "noreply", "donotreply", "dontreply", "donotrespond", "noresponse", "bounce",
    "notification", "mailerdaemon", "postmaster", "autoreply", "automated",
)  # fmt: skip
_MACHINE_LOCAL_SUFFIXES = ("noreply", "donotreply", "notifications", "notification", "bounces")

# Notification platforms: the domain the mail comes from (or a subdomain of it) sends only
# automatic mail. Grouped by what they send; kept here, reviewed when a new one is met.
MACHINE_DOMAINS: Mapping[str, tuple[str, ...]] = {
    "e-signature request": (
        "docusign.net", "docusign.com", "echosign.com", "adobesign.com", "hellosign.com",
        "dropboxsign.com", "pandadoc.net", "signnow.com", "eversign.com",
    ),
    "survey or review platform": (
        "surveymonkey.com", "surveymonkeyuser.com", "qualtrics.com", "qualtrics-survey.com",
        "qemailserver.com", "typeform.com", "smartsurvey.co.uk", "alchemer.com",
        "surveygizmo.com", "trustpilot.com", "feefo.com", "reviews.io",
    ),
    "ticket or service-desk system": (
        "zendesk.com", "freshdesk.com", "freshservice.com", "service-now.com",
        "servicenow.com", "atlassian.net", "helpscoutapp.com", "kayako.com", "zoho-desk.com",
        "desk.com", "intercom-mail.com", "intercom.io",
    ),
    "booking confirmation": (
        "booking.com", "opentable.com", "calendly.com", "eventbrite.com", "doodle.com",
        "acuityscheduling.com", "simplybook.me", "setmore.com", "bookings.microsoft.com",
    ),
    "social platform notification": (
        "facebookmail.com", "linkedin.com", "twitter.com", "x.com", "nextdoor.com",
        "nextdoor.co.uk", "instagram.com", "tiktok.com", "youtube.com", "pinterest.com",
        "reddit.com", "redditmail.com",
    ),
    "bulk-mail service": (
        "mailchimp.com", "mcsv.net", "mcdlv.net", "mandrillapp.com", "sendgrid.net",
        "mailgun.org", "amazonses.com", "sparkpostmail.com", "mailjet.com", "sendinblue.com",
        "brevo.com", "createsend.com", "cmail19.com", "cmail20.com", "constantcontact.com",
        "hubspotemail.net", "klaviyomail.com", "exacttarget.com", "rsgsv.net",
    ),
}  # fmt: skip

# X-Mailer / User-Agent values of bulk and marketing tools (lower-case substrings).
_BULK_MAILERS = (
    "mailchimp", "mandrill", "sendgrid", "mailgun", "campaign monitor", "createsend",
    "constant contact", "hubspot", "exacttarget", "salesforce marketing", "marketo", "klaviyo",
    "sendinblue", "brevo", "mailjet", "sparkpost", "phplist", "mailpoet", "acymailing",
    "emarsys", "dotdigital", "dotmailer", "mailerlite", "getresponse", "aweber", "sendy",
    "newsletter", "mass mail", "bulk mail",
)  # fmt: skip
# Headers that only bulk or transactional sending services add (presence is enough).
_BULK_SERVICE_HEADERS = (
    "feedback-id",  # Google's feedback loop id: only bulk senders register one
    "x-mailgun-sid", "x-mailgun-tag", "x-sg-eid", "x-sg-id", "x-ses-outgoing", "x-mc-user",
    "x-mandrill-user", "x-campaign", "x-campaignid", "x-csa-complaints", "x-marketoid",
    "x-mailjet-campaign", "x-sfmc-stack", "x-hubspot-mail-id", "x-pm-message-id",
)  # fmt: skip
# X-Auto-Response-Suppress values that ask not to be answered automatically (MS-OXCMAIL
# 2.2.3.2.14). "DR", "NDR", "RN", "NRN" only ask for no delivery or read receipts.
_SUPPRESS_AUTOREPLY = {"all", "oof", "autoreply"}

# Scanned for in every message's body: a caseless pattern skips to where a match can begin
# (a plain IGNORECASE regex that begins with \b is tried at every position of the text).
_DO_NOT_REPLY_RE = caseless.compile(
    r"\b(?:please\s+)?(?:do\s+not|don'?t|don\u2019t)\s+(?:reply|respond)\s+(?:to\s+)?"
    r"(?:this|the\s+above)\s+(?:e-?mail|message|address|notification)"
    r"|\bthis\s+(?:e-?mail\s+address|mailbox|inbox)\s+(?:is\s+)?(?:not|un)\s*monitored"
    r"|\breplies\s+to\s+this\s+(?:e-?mail|message|address)\s+(?:will\s+not|won'?t|are\s+not)"
    r"|\bthis\s+is\s+an?\s+(?:automated|automatic|auto-generated|system[- ]generated)\s+"
    r"(?:e-?mail|message|notification)"
    r"|\bthis\s+(?:e-?mail|message)\s+was\s+(?:sent\s+)?(?:automatically|generated\s+"
    r"automatically|auto-?generated)",
    re.IGNORECASE,
)


def _no_reply_local(seen: _Seen) -> str | None:
    local = normalised_local_part(seen.from_local)
    if not local:
        return None
    if (
        local in _MACHINE_LOCALS
        or local.startswith(_MACHINE_LOCAL_PREFIXES)
        or local.endswith(_MACHINE_LOCAL_SUFFIXES)
    ):
        return seen.from_local
    return None


def _platform_domain(seen: _Seen) -> str | None:
    domain = seen.from_addr.rsplit("@", 1)[-1] if "@" in seen.from_addr else ""
    domain = domain.strip().rstrip(".")
    for kind, domains in MACHINE_DOMAINS.items():
        for known in domains:
            if domain == known or domain.endswith("." + known):
                return f"{kind} ({known})"
    return None


def _suppress_autoreply(seen: _Seen) -> str | None:
    value = seen.headers.get("x-auto-response-suppress", "")
    tokens = {t.strip().lower() for t in re.split(r"[,;\s]+", value) if t.strip()}
    found = sorted(tokens & _SUPPRESS_AUTOREPLY)
    return ",".join(found) if found else None


def _bulk_service(seen: _Seen) -> str | None:
    for name in _BULK_SERVICE_HEADERS:
        if name in seen.headers:
            return name
    for name in ("x-mailer", "user-agent"):
        value = seen.headers.get(name, "").lower()
        for tool in _BULK_MAILERS:
            if tool in value:
                return f"{name}:{tool}"
    return None


# Headers a mailing-list manager adds to what it sends (RFC 2369 beyond List-Id/List-Unsubscribe,
# which ``assess`` already reads; ezmlm, fml, Mailman): mail from the list software itself, such
# as "you are not a member" notices, which nobody reads replies to.
_LIST_MANAGER_HEADERS = (
    "list-subscribe", "list-help", "list-post", "list-owner", "list-archive", "mailing-list",
    "x-mlserver", "x-ml-name", "x-ml-info", "x-mailman-version", "x-beenthere",
)  # fmt: skip


def _list_manager(seen: _Seen) -> str | None:
    for name in _LIST_MANAGER_HEADERS:
        if name in seen.headers:
            return name
    return None


def _do_not_reply_footer(seen: _Seen) -> str | None:
    match = _DO_NOT_REPLY_RE.search(seen.body)
    return " ".join(match.group(0).split()).lower() if match else None


MACHINE_RULES: tuple[Rule, ...] = (
    Rule("no_reply_sender", AUTO_REPLY, _no_reply_local, why="a no-reply or system address"),
    Rule("platform", AUTO_REPLY, _platform_domain, why="a notification platform's domain"),
    Rule(
        "auto_response_suppress",
        AUTO_REPLY,
        _suppress_autoreply,
        why="X-Auto-Response-Suppress asks for no automatic reply",
    ),
    Rule("bulk_service", BULK, _bulk_service, why="sent by a bulk or notification service"),
    Rule("list_manager", BULK, _list_manager, why="sent by mailing-list software"),
    Rule(
        "do_not_reply_footer",
        AUTO_REPLY,
        _do_not_reply_footer,
        weak=True,
        why="the message says not to reply to it",
    ),
)


@dataclass(frozen=True)
class MachineVerdict:
    machine: bool  # True: no automatic letter of any kind goes to this sender
    rules: tuple[str, ...]  # every machine rule that fired, with what it saw
    explanations: tuple[str, ...]  # the same, in plain English for staff


def machine_sender(headers: Mapping[str, str], from_addr: str, *, body: str = "") -> MachineVerdict:
    """Run the machine-sender chain over one message. ``body`` is the message's new words (the
    "do not reply" footer rule reads only those, so a resident quoting a notification is not
    taken for the notification)."""
    lowered = {str(name).strip().lower(): str(value) for name, value in headers.items()}
    addr = from_addr.strip().strip("<>").strip().lower()
    seen = _Seen(
        headers=lowered,
        from_addr=addr,
        from_local=addr.rsplit("@", 1)[0] if "@" in addr else addr,
        content_type="",
        return_path=None,
        own_addresses=frozenset(),
        loop_header="",
        subject=lowered.get("subject", ""),
        body=body,
    )
    fired = [(rule, result) for rule in MACHINE_RULES if (result := rule.check(seen)) is not None]
    rules = tuple(
        f"{rule.name}:{safe_header_value(result)[:60]}" if result else rule.name
        for rule, result in fired
    )
    explanations = tuple(
        f"{rule.why} ({safe_header_value(result)[:60]})" if result else rule.why
        for rule, result in fired
    )
    return MachineVerdict(bool(fired), rules, explanations)
