"""Build the labelled triage corpus: hand-written messages plus seeded compositions of fragments.

Reproduce the committed files exactly with::

    .venv/bin/python -m classifiers.data.generate

Labels are correct by construction: each message is assembled from fragments written for one
label (and reason), then wrapped (forwarded chain with the landlord's text quoted, a
representative's introduction, the web form, typos, case changes) by wrappers that do not change
what the message is. The held-out test set is built only from fragments and templates whose index
in their pool is 4 modulo 5, and training only from the others; hand-written messages are split
by their ``group`` (a near-miss pair shares a group) with a stable hash. See DATA.md.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from classifiers.data import fragments as F

DATA_DIR = Path(__file__).resolve().parent
HANDWRITTEN_DIR = DATA_DIR / "handwritten"
SEED = 20250601
N_GENERATED_TRAIN = 1250
N_GENERATED_TEST = 330

LABELS = ("complaint", "service_request", "excluded", "not_resident_mail")
EXCLUSION_REASONS = (
    "legal_proceedings",
    "over_12_months",
    "previously_considered",
    "insurance_claim",
    "lettings_decision",
    "asb_report",
    "councillor_mp_general",
    "leaseholder_consultation",
    "external_appeal_or_tribunal",
    "policy_dissatisfaction",
    "survey_feedback",
    "statutory_notice",
    "not_landlord_matter",
)
NOT_RESIDENT_REASONS = ("auto_reply", "bounce", "bulk", "spam")


def fragment_split(index: int) -> str:
    """Which side of the split a fragment at this index in its pool belongs to."""
    return "test" if index % 5 == 4 else "train"


def group_split(group: str) -> str:
    """Which side a hand-written group belongs to (stable across runs and machines)."""
    return "test" if int(hashlib.sha256(group.encode()).hexdigest(), 16) % 4 == 0 else "train"


@dataclass
class Msg:
    subject: str
    body: str
    label: str
    reason: str = ""
    channel: str = "email"
    from_addr: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    templates: list[str] = field(default_factory=list)
    resident_written: bool = True


class SkipMessage(Exception):
    """This message cannot be built on this side of the split."""


class Ctx:
    """Random choices restricted to one side of the fragment split."""

    def __init__(self, rng: random.Random, split: str, received: date) -> None:
        self.rng = rng
        self.split = split
        self.received = received
        self.first = rng.choice(F.FIRST_NAMES)
        self.surname = rng.choice(F.SURNAMES)
        self.name = f"{self.first} {self.surname}"
        self.addr = f"{rng.randint(1, 120)} {rng.choice(F.STREETS)}, {rng.choice(F.TOWNS)}"
        self.flat = str(rng.randint(1, 60))
        self.used: list[str] = []

    def pick(self, pool: Sequence[str], name: str) -> str:
        # Pools of fewer than five items are too small to split: subject lines are shared
        # between the sides; a small body pool (the rarest limited-English rewrites) is used for
        # training only, and a test message that would need it is not generated. See DATA.md.
        small = len(pool) < 5
        if small and not name.endswith("SUBJECTS") and self.split == "test":
            raise SkipMessage(name)
        idx = [i for i in range(len(pool)) if fragment_split(i) == self.split or small]
        i = self.rng.choice(idx)
        self.used.append(f"{name}:{i}")
        return pool[i]

    def pick_problem(self) -> tuple[str, tuple[str, ...]]:
        idx = [i for i in range(len(F.PROBLEMS)) if fragment_split(i) == self.split]
        i = self.rng.choice(idx)
        self.used.append(f"PROBLEMS:{i}")
        return F.PROBLEMS[i][1], F.PROBLEMS[i][2]

    # --- dates ---
    def recent_ago(self) -> str:
        return self.pick(RECENT_AGO, "RECENT_AGO")

    def recent_since(self) -> str:
        d = self.received - timedelta(days=self.rng.randint(20, 150))
        return f"{d:%B}" if self.rng.random() < 0.6 else f"{d:%B %Y}"

    def old_phrases(self) -> tuple[str, str]:
        """(phrase usable after a verb, phrase usable after 'since') at least 14 months back."""
        months = self.rng.randint(15, 40)
        y, m = divmod(self.received.year * 12 + self.received.month - 1 - months, 12)
        d = date(y, m + 1, self.rng.randint(1, 28))
        fmt = self.pick(OLD_FORMATS, "OLD_FORMATS")
        phrase = fmt.format(
            Month=f"{d:%B}",
            YYYY=d.year,
            N=months,
            dd=f"{d.day:02d}",
            mm=f"{d.month:02d}",
            D=d.day,
            words=_months_words(months),
        )
        if "{" in phrase:
            phrase = f"in {d:%B %Y}"
        # A bare year must end more than 12 months before receipt to be certain.
        if phrase.startswith("back in 20") or phrase.startswith("in 20"):
            if (self.received - date(d.year, 12, 31)).days < 380:
                phrase = f"back in {d:%B %Y}"
        since = f"{d:%B %Y}" if self.rng.random() < 0.7 else f"{d.day} {d:%B %Y}"
        return phrase, since

    def fill(self, template: str, **extra: str) -> str:
        problem = extra.pop("problem", "")
        failure = extra.pop("failure", "")
        values: dict[str, Any] = {
            "name": self.name,
            "first": self.first,
            "surname": self.surname,
            "addr": self.addr,
            "flat": self.flat,
            "staff": self.rng.choice(F.STAFF),
            "day": self.rng.choice(F.DAYS),
            "ref": f"{self.rng.choice(REF_PREFIXES)}-{self.rng.randint(10000, 99999)}",
            "amount": f"{self.rng.randint(35, 1400)}.{self.rng.choice(['00', '50', '20', '76'])}",
            "num": str(self.rng.randint(1, 60)),
            "phone": f"{self.rng.randint(100000000, 999999999)}",
            "reg": f"{self.rng.choice(['AB', 'KX', 'LR', 'YT'])}{self.rng.randint(10, 73)} "
            f"{''.join(self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}",
            "time": self.rng.choice(["10", "11am", "2pm", "half 3", "12"]),
            "claim": _claim_number(self.rng),
            "date": (self.received + timedelta(days=self.rng.randint(-40, 40))).strftime(
                self.rng.choice(["%d/%m/%Y", "%d %B %Y", "%-d %B"])
            ),
            "month": (self.received + timedelta(days=self.rng.randint(20, 90))).strftime("%B"),
            "month_year": (self.received - timedelta(days=self.rng.randint(120, 400))).strftime(
                "%B %Y"
            ),
            "ago": self.recent_ago(),
            "ago_since": self.recent_since(),
            "addr_email": f"{self.first.lower()}.{self.surname.lower().replace(chr(39), '')}"
            f"{self.rng.randint(1, 99)}@{self.rng.choice(MAIL_DOMAINS)}",
            "problem": problem,
            "Problem": _cap(problem),
            "failure": failure,
            "Failure": _cap(failure),
        }
        values.update(extra)
        return template.format(**values)


REF_PREFIXES = ["CMP", "JOB", "REF", "ASB", "T"]
MAIL_DOMAINS = ["gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk"]


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _months_words(n: int) -> str:
    words = {18: "eighteen", 24: "two years", 15: "fifteen", 20: "twenty", 30: "thirty"}
    return words.get(n, str(n))


def _claim_number(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return (
        f"{rng.choice('KJFGH')}{rng.randint(0, 9)}{rng.choice(letters)}{rng.choice(letters)}"
        f"{rng.randint(100, 9999)}"
    )


RECENT_AGO = [
    "three weeks ago", "last week", "a fortnight ago", "on Monday", "about a month ago",
    "two weeks ago", "last month", "10 days ago", "at the start of the month", "six weeks ago",
    "the week before last", "yesterday", "a couple of weeks ago", "back at the start of the month",
    "over a month ago",
]  # fmt: skip
OLD_FORMATS = [
    "back in {Month} {YYYY}", "{N} months ago", "in {Month} {YYYY}", "on {dd}/{mm}/{YYYY}",
    "in the summer of {YYYY}", "back in {YYYY}", "in early {YYYY}", "around {Month} {YYYY}",
    "on {D} {Month} {YYYY}", "about {N} months ago",
]  # fmt: skip
COMPLAINT_SUBJECTS = [
    "Complaint", "Repair still not done", "", "Not happy", "Still waiting!!", "Formal complaint",
    "RE: repair", "chasing again", "URGENT - no one has come", "Complaint about repairs",
    "Fw: your repair", "Disgusted", "what is going on", "Complaint - {addr}", "Missed appointment",
    "Re: Re: leak", "Unacceptable service", "Third time asking", "complaint ref needed", "help",
]  # fmt: skip
SR_SUBJECTS = [
    "Repair", "Repair request", "", "Quick question", "New repair", "Request", "Query",
    "Repair needed at {addr}", "Boiler", "Enquiry", "Can someone come out", "Help please",
    "question about my tenancy", "Leak", "Appointment", "Flat {flat}", "Info please",
    "Report a repair", "hello", "Repairs",
]  # fmt: skip


# --- builders ------------------------------------------------------------------------------------


def _assemble(c: Ctx, parts: list[str], *, short: bool = False) -> str:
    parts = [p for p in parts if p]
    if short:
        return " ".join(parts)
    return "\n\n".join(parts)


def _opening(c: Ctx) -> str:
    r = c.rng.random()
    if r < 0.08:
        return c.pick(F.LONG_OPENINGS, "LONG_OPENINGS")
    return c.pick(F.OPENINGS, "OPENINGS")


def _signoff(c: Ctx) -> str:
    return c.fill(c.pick(F.SIGN_OFFS, "SIGN_OFFS"))


def _subject(c: Ctx, pool: list[str], name: str) -> str:
    return c.fill(c.pick(pool, name))


def build_complaint_repair(c: Ctx) -> Msg:
    problem, pflags = c.pick_problem()
    failure = c.pick(F.FAILURES, "FAILURES")
    frame = c.pick(F.COMPLAINT_FRAMES, "COMPLAINT_FRAMES")
    flags = set(pflags)
    body_parts = [c.fill(frame, problem=problem, failure=failure)]
    if c.rng.random() < 0.4:
        body_parts.append(c.fill(c.pick(F.STAFF_MENTIONS, "STAFF_MENTIONS")))
    if c.rng.random() < 0.2:
        body_parts.append(c.pick(F.VULNERABILITY, "VULNERABILITY"))
        flags.add("vulnerability")
    if c.rng.random() < 0.5:
        body_parts.append(c.pick(F.FEELINGS, "FEELINGS"))
    if c.rng.random() < 0.6:
        body_parts.append(c.pick(F.OUTCOMES, "OUTCOMES"))
    return _finish(c, "complaint", "", body_parts, flags, COMPLAINT_SUBJECTS, "COMPLAINT_SUBJECTS")


def build_complaint_other(c: Ctx) -> Msg:
    flags: set[str] = set()
    body_parts = [c.fill(c.pick(F.OTHER_COMPLAINTS, "OTHER_COMPLAINTS"))]
    if c.rng.random() < 0.15:
        body_parts.append(c.pick(F.VULNERABILITY, "VULNERABILITY"))
        flags.add("vulnerability")
    if c.rng.random() < 0.4:
        body_parts.append(c.pick(F.FEELINGS, "FEELINGS"))
    if c.rng.random() < 0.6:
        body_parts.append(c.pick(F.OUTCOMES, "OUTCOMES"))
    return _finish(c, "complaint", "", body_parts, flags, COMPLAINT_SUBJECTS, "COMPLAINT_SUBJECTS")


def build_complaint_escalation(c: Ctx) -> Msg:
    body_parts = [c.fill(c.pick(F.ESCALATIONS, "ESCALATIONS"))]
    if c.rng.random() < 0.5:
        problem, _ = c.pick_problem()
        body_parts.append(f"To remind you, {problem} and it still isn't resolved.")
    if c.rng.random() < 0.4:
        body_parts.append(c.pick(F.OUTCOMES, "OUTCOMES"))
    subjects = ["Stage 2", "Escalation", "Re: Your complaint response", "escalate please",
                "Complaint {ref} - not satisfied", "Re: Stage 1 response",
                "Appeal my complaint"]  # fmt: skip
    m = _finish(c, "complaint", "", body_parts, {"escalation_request"}, subjects, "ESC_SUBJECTS")
    return m


def build_complaint_threat(c: Ctx) -> Msg:
    problem, pflags = c.pick_problem()
    failure = c.pick(F.FAILURES, "FAILURES")
    body_parts = [
        c.fill(c.pick(F.COMPLAINT_FRAMES, "COMPLAINT_FRAMES"), problem=problem, failure=failure),
        c.pick(F.THREATS, "THREATS"),
    ]
    if c.rng.random() < 0.5:
        body_parts.append(c.pick(F.OUTCOMES, "OUTCOMES"))
    return _finish(
        c, "complaint", "", body_parts, set(pflags), COMPLAINT_SUBJECTS, "COMPLAINT_SUBJECTS"
    )


def build_complaint_ongoing_old(c: Ctx) -> Msg:
    problem, pflags = c.pick_problem()
    old, since = c.old_phrases()
    frame = c.pick(F.ONGOING_FROM_OLD, "ONGOING_FROM_OLD")
    body_parts = [c.fill(frame, problem=problem, old=old, old_since=since)]
    if c.rng.random() < 0.5:
        body_parts.append(c.pick(F.FEELINGS, "FEELINGS"))
    if c.rng.random() < 0.6:
        body_parts.append(c.pick(F.OUTCOMES, "OUTCOMES"))
    return _finish(
        c, "complaint", "", body_parts, set(pflags), COMPLAINT_SUBJECTS, "COMPLAINT_SUBJECTS"
    )


def build_complaint_asb_handling(c: Ctx) -> Msg:
    body_parts = [c.fill(c.pick(F.ASB_HANDLING_COMPLAINTS, "ASB_HANDLING_COMPLAINTS"))]
    if c.rng.random() < 0.5:
        body_parts.append(c.pick(F.OUTCOMES, "OUTCOMES"))
    subjects = ["ASB", "Complaint about ASB team", "neighbour problems - no action",
                "Re: ASB case", "Nobody is helping", "Noise complaint ignored"]  # fmt: skip
    return _finish(c, "complaint", "", body_parts, set(), subjects, "ASBC_SUBJECTS")


def build_complaint_councillor(c: Ctx) -> Msg:
    problem, pflags = c.pick_problem()
    failure = c.pick(F.FAILURES, "FAILURES")
    text = c.fill(
        c.pick(F.COUNCILLOR_FOR_RESIDENT, "COUNCILLOR_FOR_RESIDENT"),
        problem=problem,
        failure=failure,
    )
    title = c.rng.choice(["Cllr", "Councillor"])
    cllr = f"{title} {c.rng.choice(F.FIRST_NAMES)} {c.rng.choice(F.SURNAMES)}"
    if "MP" in text:
        cllr = f"Office of {c.rng.choice(F.FIRST_NAMES)} {c.rng.choice(F.SURNAMES)} MP"
    body = f"Dear Sir/Madam,\n\n{text}\n\nYours sincerely,\n{cllr}"
    m = Msg(
        subject=c.rng.choice(
            [
                f"Casework: {c.name}",
                f"Constituent complaint - {c.addr}",
                "Complaint on behalf of resident",
                f"Re: {c.surname} repairs",
            ]
        ),
        body=body,
        label="complaint",
        flags=set(pflags) | {"representative"},
        from_addr=f"cllr.{c.rng.choice(F.SURNAMES).lower().replace(chr(39), '')}@dacorum.gov.uk",
    )
    return m


def build_limited(label: str, reason: str) -> Callable[[Ctx], Msg]:
    key = reason or label

    def build(c: Ctx) -> Msg:
        text = c.pick(F.LIMITED_ENGLISH[key], f"LIMITED_ENGLISH.{key}")
        subj = c.rng.choice(["", "help", "Please help", "problem", "hello", "house"])
        return Msg(subject=subj, body=text, label=label, reason=reason)

    return build


def build_sr_repair(c: Ctx) -> Msg:
    problem, pflags = c.pick_problem()
    frame = c.pick(F.REQUEST_FRAMES, "REQUEST_FRAMES")
    body_parts = [c.fill(frame, problem=problem)]
    flags = set(pflags)
    if c.rng.random() < 0.12:
        body_parts.append(c.pick(F.VULNERABILITY, "VULNERABILITY"))
        flags.add("vulnerability")
    return _finish(c, "service_request", "", body_parts, flags, SR_SUBJECTS, "SR_SUBJECTS")


def build_sr_complaint_word(c: Ctx) -> Msg:
    problem, pflags = c.pick_problem()
    frame = c.pick(F.REQUEST_COMPLAINT_WORD_FRAMES, "REQUEST_COMPLAINT_WORD_FRAMES")
    body_parts = [c.fill(frame, problem=problem)]
    return _finish(
        c, "service_request", "", body_parts, set(pflags), ["Complaint", "complaint", "Repair"] +
        SR_SUBJECTS, "SRC_SUBJECTS"
    )  # fmt: skip


def build_sr_info(c: Ctx) -> Msg:
    body_parts = [c.fill(c.pick(F.INFO_REQUESTS, "INFO_REQUESTS"))]
    return _finish(c, "service_request", "", body_parts, set(), SR_SUBJECTS, "SR_SUBJECTS")


def build_old_issue(c: Ctx) -> Msg:
    old, _ = c.old_phrases()
    frame = c.pick(F.OLD_ISSUE_FRAMES, "OLD_ISSUE_FRAMES")
    body_parts = [c.fill(frame, old=old, Old_cap=_cap(old))]
    if c.rng.random() < 0.3:
        body_parts.append(c.pick(SAFE_OUTCOMES, "OUTCOMES"))
    return _finish(
        c, "excluded", "over_12_months", body_parts, set(), OLD_SUBJECTS, "OLD_SUBJECTS",
        wrappers=False,
    )  # fmt: skip


OLD_SUBJECTS = ["Complaint", "", "Formal complaint", "Old issue", "Compensation", "Refund",
                "Complaint about repairs", "An apology", "Damage", "Unfair charge"]  # fmt: skip


SAFE_OUTCOMES = [o for o in F.OUTCOMES if not any(w in o for w in ("keeps", "still", "again"))]


def build_excluded(pool_name: str, reason: str, subjects: list[str]) -> Callable[[Ctx], Msg]:
    pool: list[str] = getattr(F, pool_name)

    def build(c: Ctx) -> Msg:
        body_parts = [c.fill(c.pick(pool, pool_name))]
        return _finish(
            c, "excluded", reason, body_parts, set(), subjects, f"{pool_name}_SUBJECTS",
            wrappers=reason in ("asb_report", "policy_dissatisfaction", "not_landlord_matter",
                                "lettings_decision", "insurance_claim"),
        )  # fmt: skip

    return build


def build_councillor_general(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.COUNCILLOR_GENERAL, "COUNCILLOR_GENERAL"))
    who = f"{c.rng.choice(['Cllr', 'Councillor'])} {c.rng.choice(F.FIRST_NAMES)} {c.surname}"
    if " MP" in text or "MP's" in text:
        who = f"Caseworker, office of {c.rng.choice(F.FIRST_NAMES)} {c.surname} MP"
    body = f"{c.rng.choice(['Dear colleagues,', 'Hello,', 'Dear Thrive,', 'Good morning,'])}\n\n"
    body += f"{text}\n\n{c.rng.choice(['Best wishes', 'Kind regards', 'Many thanks'])},\n{who}"
    subj = c.rng.choice(["Ward query", "Request for information", "Invitation", "Briefing request",
                         "Residents' meeting", "Query from councillor", "MP enquiry"])  # fmt: skip
    return Msg(
        subject=subj,
        body=body,
        label="excluded",
        reason="councillor_mp_general",
        from_addr=f"cllr.{c.surname.lower().replace(chr(39), '')}@dacorum.gov.uk",
    )


def build_statutory(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.STATUTORY, "STATUTORY"))
    body = (
        f"Dear Sir/Madam,\n\n{text}\n\nRegards,\nEnvironmental Health Officer\n"
        "Dacorum Borough Council"
    )
    if "my flat" in text:
        body = f"Hi,\n\n{text}\n\n{c.name}"
    return Msg(
        subject=c.rng.choice(
            [
                "Improvement notice",
                "Notice served",
                "HHSRS notice - " + c.addr,
                "Environmental Health",
                "Statutory notice",
            ]
        ),  # fmt: skip
        body=body,
        label="excluded",
        reason="statutory_notice",
        from_addr="environmental.health@dacorum.gov.uk",
    )


def build_survey(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.SURVEY, "SURVEY"))
    return Msg(
        subject=c.rng.choice(
            [
                "Your feedback",
                "Survey response",
                "Re: How did we do?",
                "Customer satisfaction survey",
                "Feedback",
            ]
        ),  # fmt: skip
        body=text,
        label="excluded",
        reason="survey_feedback",
        channel=c.rng.choice(["webform", "email"]),
        from_addr=c.fill("{addr_email}"),
    )


def build_auto_reply(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.AUTO_REPLY, "AUTO_REPLY"))
    r = c.rng.random()
    headers: dict[str, str] = {}
    if r < 0.5:
        headers = {"Auto-Submitted": "auto-replied"}
    elif r < 0.8:
        headers = {"Auto-Submitted": "auto-generated", "X-Auto-Response-Suppress": "All"}
    subj = c.rng.choice(["Automatic reply: Your complaint {ref}", "Out of Office: Re: repair",
                         "Auto: Re: Your case", "Out of office",
                         "Automatic reply: Acknowledgement"])  # fmt: skip
    return Msg(
        subject=c.fill(subj), body=text, label="not_resident_mail", reason="auto_reply",
        headers=headers, from_addr=c.fill("{addr_email}"), resident_written=False,
    )  # fmt: skip


def build_bounce(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.BOUNCE, "BOUNCE"))
    quoted = c.fill(c.pick(F.LANDLORD_QUOTED, "LANDLORD_QUOTED"))
    body = f"{text}\n\n----- Original message -----\n{quoted}"
    headers = {"Content-Type": "multipart/report; report-type=delivery-status", "Return-Path": "<>"}
    if c.rng.random() < 0.3:
        headers = {"Auto-Submitted": "auto-replied"}
    return Msg(
        subject=c.rng.choice(["Undelivered Mail Returned to Sender", "Undeliverable: Your case",
                              "Mail delivery failed", "Delivery Status Notification (Failure)"]),
        body=body, label="not_resident_mail", reason="bounce", headers=headers,
        from_addr=c.rng.choice(["MAILER-DAEMON@mx.example.net", "postmaster@outlook.com",
                                "mailer-daemon@googlemail.com"]),
        resident_written=False,
    )  # fmt: skip


def build_bulk(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.BULK, "BULK"))
    headers = {"List-Unsubscribe": "<mailto:unsubscribe@news.example.org>", "Precedence": "bulk"}
    if c.rng.random() < 0.3:
        headers = {"List-Id": "<bulletin.news.example.org>"}
    return Msg(
        subject=c.rng.choice(["This week's news", "Newsletter", "Don't miss out", "Bulletin",
                              "Webinar invitation", "Your weekly update"]),
        body=text, label="not_resident_mail", reason="bulk", headers=headers,
        from_addr="news@mailer.example.org", resident_written=False,
    )  # fmt: skip


SPAM_LOCAL = ["promo", "info", "noreply", "admin"]
SPAM_DOMAINS = ["xk-mail.biz", "secure-verify.top", "bestdeals.click"]


def build_spam(c: Ctx) -> Msg:
    text = c.fill(c.pick(F.SPAM, "SPAM"))
    return Msg(
        subject=c.rng.choice(["Action required", "You have won!", "Invoice overdue", "Re: offer",
                              "Account suspended", "Business proposal", "URGENT"]),
        body=text, label="not_resident_mail", reason="spam",
        from_addr=f"{c.rng.choice(SPAM_LOCAL)}@{c.rng.choice(SPAM_DOMAINS)}",
        resident_written=False,
    )  # fmt: skip


def _finish(
    c: Ctx,
    label: str,
    reason: str,
    body_parts: list[str],
    flags: set[str],
    subjects: list[str],
    subjects_name: str,
    *,
    wrappers: bool = True,
) -> Msg:
    """Add an opening and a sign-off, then maybe wrap: representative, forward, web form."""
    rng = c.rng
    short = rng.random() < 0.08
    if short:
        text = " ".join(body_parts[:2])
    else:
        text = "\n\n".join([p for p in [_opening(c), *body_parts, _signoff(c)] if p])
    m = Msg(
        subject=_subject(c, subjects, subjects_name),
        body=text,
        label=label,
        reason=reason,
        flags=set(flags),
        from_addr=c.fill("{addr_email}"),
    )
    if not wrappers:
        return m
    if label in ("complaint", "service_request") and rng.random() < 0.12 and not short:
        intro = c.fill(c.pick(F.FAMILY_REP_INTROS, "FAMILY_REP_INTROS"))
        body_parts = [intro, *body_parts]
        m.body = "\n\n".join([p for p in [_opening(c), *body_parts, _signoff(c)] if p])
        m.flags.add("representative")
    r = rng.random()
    if label in ("complaint", "service_request") and r < 0.1:
        m = _forward(c, m)
    elif r < 0.22 and label == "complaint":
        m = _webform_complaint(c, m, body_parts)
    elif r < 0.3:
        m.channel = "webform"
        m.body = c.fill(
            F.WEBFORM_GENERAL,
            email=m.from_addr,
            etype=rng.choice(F.WEBFORM_ENQUIRY_TYPES),
            message=" ".join(body_parts),
        )
    return m


def _forward(c: Ctx, m: Msg) -> Msg:
    quoted = c.fill(c.pick(F.LANDLORD_QUOTED, "LANDLORD_QUOTED"))
    style = c.rng.randint(0, 2)
    if style == 0:
        block = (
            "-----Original Message-----\nFrom: Thrive Homes <repairs@thrivehomes.org.uk>\n"
            f"Sent: {c.fill('{date}')}\nTo: {m.from_addr}\nSubject: Your repair\n\n{quoted}"
        )
    elif style == 1:
        block = f"On {c.fill('{day}')}, {c.fill('{date}')}, Thrive Homes <customer.services@" \
                "thrivehomes.org.uk> wrote:\n" + \
                "\n".join("> " + ln for ln in quoted.splitlines())  # fmt: skip
    else:
        block = (
            "---------- Forwarded message ---------\nFrom: Thrive Homes "
            f"<noreply@thrivehomes.org.uk>\nDate: {c.fill('{date}')}\nSubject: Your repair\n\n"
            f"{quoted}"
        )
    if c.rng.random() < 0.5:
        note = c.fill(c.pick(F.FORWARD_NOTES[m.label], f"FORWARD_NOTES.{m.label}"))
        m.body = f"{note}\n\n{block}"
        m.flags = set()  # the resident's own words are now only the note
    else:
        m.body = f"{m.body}\n\n{block}"
    m.subject = c.rng.choice(["Fw: Your repair", "RE: Your repair", "Fwd: Your repair", "Re: "])
    return m


def _webform_complaint(c: Ctx, m: Msg, parts: list[str]) -> Msg:
    m.channel = "webform"
    outcome = next((p for p in parts if p in F.OUTCOMES), "")
    issue = " ".join(p for p in parts if p not in F.OUTCOMES)
    m.body = c.fill(
        F.WEBFORM_COMPLAINT,
        issue=issue,
        started=c.rng.choice([c.recent_ago(), "not sure", "", c.recent_since()]),
        staffline=c.rng.choice(["", "don't know", c.fill("{staff}"), "the call centre"]),
        outcome=outcome,
        tref=f"T{c.rng.randint(100000, 999999)}",
        contact=c.rng.choice(["Email", "Phone", "Letter", "Text"]),
    )
    m.subject = "Online complaint form submission"
    return m


# --- surface noise -------------------------------------------------------------------------------

MISSPELLINGS = {
    "definitely": "definately", "receive": "recieve", "because": "becuase", "until": "untill",
    "appointment": "appointmnet", "which": "wich", "please": "pls", "you": "u", "your": "ur",
    "really": "realy", "separate": "seperate", "tomorrow": "tommorow", "weird": "wierd",
    "bathroom": "bathrom", "ceiling": "cieling", "whether": "wether", "there": "their",
    "thanks": "thx", "about": "abt", "people": "ppl", "mould": "mold", "neighbour": "neighbor",
}  # fmt: skip


def add_typos(text: str, rng: random.Random, rate: float) -> str:
    out = []
    for word in text.split(" "):
        low = word.lower().strip(".,!?")
        if low in MISSPELLINGS and rng.random() < 0.5:
            word = word.lower().replace(low, MISSPELLINGS[low])
        elif len(word) > 4 and word.isalpha() and rng.random() < rate:
            i = rng.randint(1, len(word) - 2)
            op = rng.random()
            if op < 0.4:
                word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            elif op < 0.7:
                word = word[:i] + word[i + 1 :]
            else:
                word = word[:i] + word[i] + word[i:]
        out.append(word)
    return " ".join(out)


def add_noise(m: Msg, rng: random.Random) -> Msg:
    if not m.resident_written:
        return m
    r = rng.random()
    if r < 0.25:
        m.body = add_typos(m.body, rng, rng.choice([0.03, 0.06, 0.1]))
    if rng.random() < 0.06:
        m.body = m.body.lower().replace(".", "").replace(",", "")
    elif m.label == "complaint" and rng.random() < 0.04:
        m.body = m.body.upper()
    return m


# --- plan and output -----------------------------------------------------------------------------

_EX_SUBJECTS = {
    "LEGAL_FILED": ["Court claim", "Legal proceedings", "Claim {claim}", "Disrepair claim",
                    "Notice of issue"],
    "PREVIOUSLY_CONSIDERED": ["Complaint again", "Reopen my complaint", "Same complaint",
                              "Complaint {ref}", "Re: old complaint"],
    "INSURANCE": ["Insurance claim", "Claim for damage", "Insurance", "Damaged belongings"],
    "LETTINGS": ["Housing register", "Bidding", "Banding", "Appeal", "Lettings decision"],
    "ASB": ["ASB report", "Neighbours", "Noise", "Report", "", "Antisocial behaviour"],
    "LEASEHOLDER": ["Section 20 observations", "Consultation response", "Major works",
                    "Leaseholder comments"],
    "TRIBUNAL": ["Tribunal", "First-tier Tribunal application", "Appeal", "Service charge case"],
    "POLICY": ["Your policy", "Feedback on policy", "Pet policy", "Suggestion", "Unfair rule"],
    "NOT_LANDLORD": ["Council tax", "Street light", "Bins", "Question", "Help", ""],
}  # fmt: skip

PLAN: list[tuple[str, float, Callable[[Ctx], Msg]]] = [
    ("complaint_repair", 13, build_complaint_repair),
    ("complaint_other", 6, build_complaint_other),
    ("complaint_escalation", 3, build_complaint_escalation),
    ("complaint_threat", 3, build_complaint_threat),
    ("complaint_ongoing_old", 3.5, build_complaint_ongoing_old),
    ("complaint_asb_handling", 3, build_complaint_asb_handling),
    ("complaint_councillor", 2.5, build_complaint_councillor),
    ("complaint_limited", 2, build_limited("complaint", "")),
    ("sr_repair", 9, build_sr_repair),
    ("sr_complaint_word", 3.5, build_sr_complaint_word),
    ("sr_info", 5, build_sr_info),
    ("sr_limited", 1.5, build_limited("service_request", "")),
    ("ex_legal", 2.5, build_excluded("LEGAL_FILED", "legal_proceedings",
                                     _EX_SUBJECTS["LEGAL_FILED"])),
    ("ex_old", 3, build_old_issue),
    ("ex_previous", 2, build_excluded("PREVIOUSLY_CONSIDERED", "previously_considered",
                                      _EX_SUBJECTS["PREVIOUSLY_CONSIDERED"])),
    ("ex_insurance", 2, build_excluded("INSURANCE", "insurance_claim", _EX_SUBJECTS["INSURANCE"])),
    ("ex_lettings", 1.8, build_excluded("LETTINGS", "lettings_decision", _EX_SUBJECTS["LETTINGS"])),
    ("ex_lettings_limited", 0.3, build_limited("excluded", "lettings_decision")),
    ("ex_asb", 2.2, build_excluded("ASB", "asb_report", _EX_SUBJECTS["ASB"])),
    ("ex_asb_limited", 0.4, build_limited("excluded", "asb_report")),
    ("ex_councillor", 2, build_councillor_general),
    ("ex_leaseholder", 2, build_excluded("LEASEHOLDER", "leaseholder_consultation",
                                         _EX_SUBJECTS["LEASEHOLDER"])),
    ("ex_tribunal", 2, build_excluded("TRIBUNAL", "external_appeal_or_tribunal",
                                      _EX_SUBJECTS["TRIBUNAL"])),
    ("ex_policy", 2, build_excluded("POLICY", "policy_dissatisfaction", _EX_SUBJECTS["POLICY"])),
    ("ex_survey", 2, build_survey),
    ("ex_statutory", 2, build_statutory),
    ("ex_not_landlord", 1.8, build_excluded("NOT_LANDLORD", "not_landlord_matter",
                                            _EX_SUBJECTS["NOT_LANDLORD"])),
    ("ex_not_landlord_limited", 0.3, build_limited("excluded", "not_landlord_matter")),
    ("nrm_auto", 3, build_auto_reply),
    ("nrm_bounce", 2, build_bounce),
    ("nrm_bulk", 2, build_bulk),
    ("nrm_spam", 3, build_spam),
]  # fmt: skip


def _received(rng: random.Random) -> date:
    start = date(2024, 10, 1)
    while True:
        d = start + timedelta(days=rng.randint(0, 440))
        if d.weekday() < 5 or rng.random() < 0.3:
            return d


_SECONDARY = ("OPENINGS", "LONG_OPENINGS", "SIGN_OFFS", "RECENT_AGO", "OLD_FORMATS", "PROBLEMS",
              "FAILURES", "STAFF_MENTIONS", "VULNERABILITY", "FEELINGS", "OUTCOMES",
              "FAMILY_REP_INTROS", "LANDLORD_QUOTED", "FORWARD_NOTES", "THREATS")  # fmt: skip


def _main_template(used: list[str]) -> str:
    """The message's main template (its frame), used to group rows for cross-validation."""
    for u in used:
        pool = u.split(":", 1)[0].split(".", 1)[0]
        if pool not in _SECONDARY and not pool.endswith("SUBJECTS"):
            return u
    return used[0] if used else ""


def generate(split: str, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}-{split}")
    names = [p[0] for p in PLAN]
    weights = [p[1] for p in PLAN]
    builders = {p[0]: p[2] for p in PLAN}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(out) < n and attempts < n * 20:
        attempts += 1
        kind = rng.choices(names, weights)[0]
        c = Ctx(rng, split, _received(rng))
        try:
            m = add_noise(builders[kind](c), rng)
        except SkipMessage:
            continue
        key = (m.subject + "\n" + m.body).strip().lower()
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "id": f"gen-{split}-{len(out) + 1:04d}",
                "subject": m.subject,
                "body": m.body,
                "from": m.from_addr,
                "received": c.received.isoformat(),
                "channel": m.channel,
                "headers": m.headers,
                "label": m.label,
                "reason": m.reason,
                "flags": sorted(m.flags),
                "source": "generated",
                "kind": kind,
                "templates": sorted(set(c.used)),
                "group": f"{kind}:{_main_template(c.used)}",
            }
        )
    return out


def load_handwritten(directory: Path = HANDWRITTEN_DIR) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            row.setdefault("headers", {})
            row.setdefault("flags", [])
            row.setdefault("channel", "email")
            row["source"] = "handwritten"
            row.setdefault("group", row["id"])
            rows.append(row)
    return rows


def check(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        if r["label"] not in LABELS:
            raise ValueError(f"{r['id']}: bad label {r['label']}")
        if r["label"] == "excluded" and r["reason"] not in EXCLUSION_REASONS:
            raise ValueError(f"{r['id']}: bad exclusion reason {r['reason']!r}")
        if r["label"] == "not_resident_mail" and r["reason"] not in NOT_RESIDENT_REASONS:
            raise ValueError(f"{r['id']}: bad reason {r['reason']!r}")
        if r["label"] in ("complaint", "service_request") and r["reason"]:
            raise ValueError(f"{r['id']}: {r['label']} takes no reason")
        date.fromisoformat(r["received"])


def build(out_dir: Path = DATA_DIR, seed: int = SEED) -> dict[str, int]:
    hand = load_handwritten()
    train = generate("train", N_GENERATED_TRAIN, seed)
    test = generate("test", N_GENERATED_TEST, seed)
    for row in hand:
        (test if group_split(row["group"]) == "test" else train).append(row)
    check(train + test)
    for name, rows in (("train", train), ("test", test)):
        with (out_dir / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    return {"train": len(train), "test": len(test), "handwritten": len(hand)}


def main(argv: Sequence[str] | None = None) -> int:
    counts = build()
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
