"""The letters the product sends: each kind's required elements and the builders of their contexts.

Pure code (stdlib only). A builder turns case facts and the landlord profile into a plain dict for a
template in ``letter_templates/<kind>/``; :func:`check_required` refuses a letter that lacks an
element the Code requires (SPEC section 5), before anything is rendered or reaches the outbox.

Elements that read as fixed wording in a letter (the right to a representative, the offer of
reasonable adjustments, how to add information...) are still context values that the builders fill
from the landlord profile or constant wording here, so a builder or template change that drops one
is caught by the check rather than shipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from worker.domain.errors import MissingLetterElement
from worker.domain.landlord import Landlord, Ombudsman

# ---------------------------------------------------------------------------------------------
# Kinds and their required elements (SPEC section 5)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LetterSpec:
    """One letter kind: the context keys that must be present and non-blank, and why (Code)."""

    kind: str
    required: tuple[str, ...]
    provisions: tuple[str, ...]
    description: str


_ACK_COMMON: tuple[str, ...] = (
    "understanding",
    "outcome_sought_or_clarification",
    "responsibility",
    "respond_by",
    "handler",
    "how_to_add_information",
)
_ACK_TAIL: tuple[str, ...] = ("reasonable_adjustments", "representative_right", "ombudsman")
_RESPONSE_COMMON: tuple[str, ...] = (
    "reference",
    "stage",  # a. the complaint stage
    "complaint_definition",  # b.
    "decision",  # c.
    "reasons",  # d.
    "remedy",  # e. a remedy, or an explicit statement that none is offered and why
    "outstanding_actions",  # f. the actions with dates, or an explicit statement that none remain
)

SPECS: dict[str, LetterSpec] = {
    spec.kind: spec
    for spec in (
        LetterSpec(
            "stage1_acknowledgement",
            ("reference", "stage", "date_received", *_ACK_COMMON, *_ACK_TAIL),
            ("5.6", "5.7", "6.2", "3.6", "3.7", "5.10"),
            "Stage 1 acknowledgement: the complaint definition, dates and who is handling it.",
        ),
        LetterSpec(
            "stage2_acknowledgement",
            (
                "reference",
                "stage",
                "date_received",
                "escalation_date",
                *_ACK_COMMON,
                "why_still_unhappy_invitation",
                *_ACK_TAIL,
            ),
            ("5.6", "5.7", "6.11", "6.12", "3.6", "3.7", "5.10"),
            "Stage 2 acknowledgement: escalation logged, 20-day response date, no reason demanded.",
        ),
        LetterSpec(
            "extension_notice",
            (
                "reference",
                "stage",
                "original_respond_by",
                "new_respond_by",
                "reason",
                "next_contact",
                "ombudsman",
            ),
            ("5.9", "6.4", "6.5", "6.15", "6.16"),
            "Extension notice: why we need longer, the new date, when we will next be in touch.",
        ),
        LetterSpec(
            "stage1_response",
            (*_RESPONSE_COMMON, "escalation_route", "ombudsman"),
            ("6.7", "6.9", "3.7"),
            "Stage 1 response: decision, reasons, remedy, actions and how to escalate to stage 2.",
        ),
        LetterSpec(
            "stage2_final_response",
            (*_RESPONSE_COMMON, "final_response", "ombudsman"),
            ("6.18", "6.19"),
            "Stage 2 final response: decision, reasons, remedy, actions and the Ombudsman route.",
        ),
        LetterSpec(
            "refusal",
            ("reference", "date_received", "reasons", "where_instead", "ombudsman"),
            ("2.4", "5.11"),
            "Refusal: why the matter is not for the complaints process, where it should go, and "
            "the right to take the decision to the Ombudsman.",
        ),
        LetterSpec(
            "service_request_acknowledgement",
            (
                "reference",
                "logged_as_service_request",
                "next_steps",
                "due_by",
                "how_to_complain",
            ),
            ("1.3", "1.4"),
            "Service request acknowledgement: logged, what happens next and by when, how to "
            "complain if unhappy with the service.",
        ),
        LetterSpec(
            "survey_reply",
            ("reference", "how_to_complain"),
            ("1.6",),
            "Reply to survey feedback: how to make a complaint.",
        ),
        LetterSpec(
            "receipt",
            ("reference", "date_received", "hear_by", "how_to_add_information", "ombudsman"),
            ("3.7",),
            "Neutral receipt while a person decides how the message should be handled.",
        ),
        # Awaab's Law (SI 2025/1042): the repairs or damp-and-mould team told at once of a
        # potential hazard, with the resident's words and how to reach them.
        LetterSpec(
            "hazard_notification",
            (
                "reference",
                "hazard",
                "severity",
                "aware_at",
                "investigate_by",
                "residents_words",
                "resident_contact",
            ),
            ("SI 2025/1042",),
            "Internal: a potential hazard reported, its clock, the resident's words and contact.",
        ),
        # Reg 9: the written summary of the investigation's findings, within 3 working days.
        LetterSpec(
            "hazard_summary",
            ("reference", "findings", "works", "keep_safe", "how_to_complain", "ombudsman"),
            ("SI 2025/1042 reg 9", "1.3"),
            "Written summary after a hazard investigation: findings, the works and their dates, "
            "how to keep safe meanwhile, how to complain, the Ombudsman's details.",
        ),
    )
}

KINDS: tuple[str, ...] = tuple(SPECS)


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping):
        # A block (handler, Ombudsman details...) is missing if any of its parts is blank.
        return not value or any(_is_missing(v) for v in value.values())
    if isinstance(value, Sequence | set | frozenset):
        return len(value) == 0
    return False


def check_required(kind: str, context: Mapping[str, object]) -> None:
    """Raise :class:`MissingLetterElement` naming the first required element that is missing.

    Missing means absent, ``None``, a blank string, an empty sequence, or a mapping that is empty
    or has a blank part. Raises ``ValueError`` for an unknown kind.
    """
    spec = SPECS.get(kind)
    if spec is None:
        raise ValueError(f"unknown letter kind {kind!r}; expected one of {', '.join(KINDS)}")
    for element in spec.required:
        if _is_missing(context.get(element)):
            raise MissingLetterElement(kind, element)


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who the letter goes to. With ``representative_name`` set, the letter is addressed to the
    representative and names the resident (Code 3.6); ``email`` is then the representative's."""

    name: str
    email: str
    large_print: bool = False
    representative_name: str = ""


@dataclass(frozen=True)
class Action:
    """Something still to be done after a response, with its own date (Code 6.6, 6.9 f)."""

    text: str
    due: date


MISSING_DETAILS: tuple[str, ...] = ("issue", "started", "staff_names", "outcome_sought")


@dataclass(frozen=True)
class CaseFacts:
    """What the letters need to know about a case."""

    ref: str
    stage: int
    received: date
    respond_by: date | None
    handler_name: str
    handler_contact: str
    understanding: str
    # "" -> the letter asks the resident what outcome they want (Code 5.6).
    outcome_sought: str = ""
    # What we are and are not responsible for, or what is unclear (5.7); "" -> a default sentence.
    responsibility: str = ""
    # Any of MISSING_DETAILS: the acknowledgement asks the resident for each (5.6; policy page).
    missing_details: tuple[str, ...] = ()
    escalated: date | None = None
    acknowledged: date | None = None


# ---------------------------------------------------------------------------------------------
# Wording shared by several kinds
# ---------------------------------------------------------------------------------------------

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(day: date) -> str:
    """``Friday 4 December 2026``: English names whatever the machine's locale."""
    return f"{_DAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _fmt(day: date | None) -> str:
    return format_date(day) if day is not None else ""


DECISIONS: dict[str, str] = {
    "upheld": "We have upheld your complaint. This means we agree that we got things wrong.",
    "partly_upheld": (
        "We have partly upheld your complaint. This means we agree that we got some things "
        "wrong, but not everything you raised."
    ),
    "not_upheld": (
        "We have not upheld your complaint. This means we do not think we got things wrong."
    ),
}

DECISION_HEADINGS: dict[str, str] = {
    "upheld": "Upheld",
    "partly_upheld": "Partly upheld",
    "not_upheld": "Not upheld",
}

# Plain-words titles for the exclusion reasons of SPEC section 3, used in refusal letters.
REFUSAL_REASONS: dict[str, str] = {
    "legal_proceedings": "Legal action has started about this matter",
    "over_12_months": "The problem happened more than 12 months ago",
    "previously_considered": "We have already looked at this complaint",
    "insurance_claim": "This is an insurance claim",
    "lettings_decision": "This is about a lettings decision",
    "asb_report": "This is a report of antisocial behaviour",
    "councillor_mp_general": "This is general correspondence from a councillor or MP",
    "leaseholder_consultation": "These are comments on a leaseholder consultation",
    "external_appeal_or_tribunal": "This is for an external appeal, tribunal or court",
    "policy_dissatisfaction": "This is about one of our policies, not how we applied it",
    "survey_feedback": "This was feedback given in a survey",
    "statutory_notice": "This is about a statutory notice",
    "not_landlord_matter": "This is not something we are responsible for",
    "service_request": "This is a first request for a service",
    "escalation_refused": "We cannot take this complaint to stage 2",
}


def _landlord_block(landlord: Landlord) -> dict[str, object]:
    return {
        "name": landlord.name,
        "short_name": landlord.short_name,
        "complaints_email": landlord.complaints_email,
        "enquiries_email": landlord.enquiries_email,
        "phone": landlord.phone,
        "postal_address": landlord.postal_address,
        "website": landlord.website,
        "policy_url": landlord.policy_url,
        "complaint_form_url": landlord.complaint_form_url,
        "complaints_team_name": landlord.complaints_team_name,
        "complaints_team_phone": landlord.complaints_team_phone or landlord.phone,
        "ombudsman": _ombudsman_details(landlord.ombudsman),
    }


def _ombudsman_details(ombudsman: Ombudsman) -> dict[str, str]:
    return {
        "name": ombudsman.name,
        "website": ombudsman.website,
        "phone": ombudsman.phone,
        "email": ombudsman.email,
        "postal_address": ombudsman.postal_address,
    }


def _ombudsman(landlord: Landlord, statement: str) -> dict[str, str]:
    """The Ombudsman element: what the resident may do now, then every contact detail."""
    return {"statement": statement, **_ombudsman_details(landlord.ombudsman)}


def _ombudsman_any_time(landlord: Landlord) -> str:
    return (
        f"You can contact the {landlord.ombudsman.name} at any time for free, independent advice "
        f"about your complaint. They can look into it once you have had our final response."
    )


def _recipient_block(recipient: Recipient) -> dict[str, object]:
    on_behalf = bool(recipient.representative_name.strip())
    return {
        "name": recipient.name,
        "email": recipient.email,
        "large_print": recipient.large_print,
        "representative_name": recipient.representative_name,
        "greeting_name": recipient.representative_name if on_behalf else recipient.name,
        "on_behalf": on_behalf,
    }


def _base(kind: str, landlord: Landlord, recipient: Recipient, ref: str) -> dict[str, object]:
    """Keys every context carries: the kind, the reference, and what the footer needs."""
    return {
        "kind": kind,
        "ref": ref,
        "reference": ref,
        "landlord": _landlord_block(landlord),
        "recipient": _recipient_block(recipient),
    }


def _how_to_add_information(landlord: Landlord, ref: str) -> str:
    return (
        f"If you want to tell us more or send us photos or documents, just reply to this email. "
        f"Please keep {ref} in the subject line. You can also call us on "
        f"{landlord.complaints_team_phone or landlord.phone}."
    )


def _reasonable_adjustments(landlord: Landlord) -> str:
    return (
        "If you need us to do anything differently to make this easier for you, please tell us. "
        "For example, we can send letters in large print, call you instead of writing, or give "
        "you more time. We will record what you need and keep it under review."
    )


def _representative_right(landlord: Landlord) -> str:
    return (
        "You can ask someone else to deal with your complaint for you, such as a family member, "
        "a friend, an advocate or your councillor or MP. They can also come with you to any "
        f"meeting with us. Just let us know who they are by emailing {landlord.complaints_email}."
    )


def _how_to_complain(landlord: Landlord) -> dict[str, str]:
    return {
        "intro": (
            "If you are unhappy with our service, you can make a complaint. You do not need to "
            "use the word complaint. Telling us you are unhappy is enough."
        ),
        "form": landlord.complaint_form_url,
        "email": landlord.complaints_email,
        "phone": landlord.complaints_team_phone or landlord.phone,
        "post": landlord.postal_address,
    }


DETAIL_QUESTIONS: dict[str, str] = {
    "issue": "What exactly are you unhappy about?",
    "started": "When did the problem start?",
    "staff_names": (
        "The names of anyone at {short} you have spoken to about this, and when you spoke to them."
    ),
    "outcome_sought": "What would you like us to do to put things right?",
}


def _questions(landlord: Landlord, case: CaseFacts) -> list[str]:
    wanted = list(case.missing_details)
    unknown = [d for d in wanted if d not in DETAIL_QUESTIONS]
    if unknown:
        raise ValueError(
            f"unknown missing detail(s) {unknown}; expected some of {', '.join(MISSING_DETAILS)}"
        )
    if not case.outcome_sought.strip() and "outcome_sought" not in wanted:
        wanted.append("outcome_sought")
    # Ask in the order the landlord's policy page does.
    return [
        DETAIL_QUESTIONS[d].format(short=landlord.short_name)
        for d in MISSING_DETAILS
        if d in wanted
    ]


def _check_stage(kind: str, case: CaseFacts, stage: int) -> None:
    # A stage 1 letter for a stage 2 case (or the reverse) is a wiring bug, not a resident's text.
    if case.stage != stage:
        raise ValueError(
            f"{kind} is a stage {stage} letter but case {case.ref} is at stage {case.stage}"
        )


def _acknowledgement(
    kind: str, landlord: Landlord, recipient: Recipient, case: CaseFacts
) -> dict[str, object]:
    _check_stage(kind, case, 1 if kind.startswith("stage1") else 2)
    ctx = _base(kind, landlord, recipient, case.ref)
    outcome_known = bool(case.outcome_sought.strip())
    ctx.update(
        {
            "stage": case.stage,
            "date_received": format_date(case.received),
            "understanding": case.understanding,
            "outcome_known": outcome_known,
            "outcome_sought_or_clarification": (
                case.outcome_sought
                if outcome_known
                else "You have not told us yet what you would like us to do to put things "
                "right. Please let us know, so we can be sure we are looking at the right things."
            ),
            "questions": _questions(landlord, case),
            "responsibility": case.responsibility
            or (
                "From what you have told us, all of your complaint is about things we are "
                "responsible for. If we find that any part of it is not, we will tell you and "
                "explain who can help instead."
            ),
            "respond_by": _fmt(case.respond_by),
            "handler": {"name": case.handler_name, "contact": case.handler_contact},
            "how_to_add_information": _how_to_add_information(landlord, case.ref),
            "reasonable_adjustments": _reasonable_adjustments(landlord),
            "representative_right": _representative_right(landlord),
            "ombudsman": _ombudsman(landlord, _ombudsman_any_time(landlord)),
        }
    )
    return ctx


# ---------------------------------------------------------------------------------------------
# Builders: one per kind
# ---------------------------------------------------------------------------------------------


def stage1_acknowledgement(
    landlord: Landlord, recipient: Recipient, case: CaseFacts
) -> dict[str, object]:
    """Code 5.6, 5.7, 6.2: the complaint as we understand it, the dates, who is handling it."""
    return _acknowledgement("stage1_acknowledgement", landlord, recipient, case)


def stage2_acknowledgement(
    landlord: Landlord, recipient: Recipient, case: CaseFacts
) -> dict[str, object]:
    """Code 6.11, 6.12: escalation logged; no reason demanded, but an invitation to give one.

    ``case.received`` is when the complaint was first made; ``case.escalated`` when stage 2 was
    asked for; ``case.respond_by`` the stage 2 response date (20 working days, 6.14).
    """
    ctx = _acknowledgement("stage2_acknowledgement", landlord, recipient, case)
    ctx["escalation_date"] = _fmt(case.escalated)
    ctx["why_still_unhappy_invitation"] = (
        "You do not have to tell us why you are still unhappy. But if you would like to, please "
        "reply to this email. It will help us understand what matters most to you."
    )
    return ctx


def extension_notice(
    landlord: Landlord,
    recipient: Recipient,
    case: CaseFacts,
    *,
    original_respond_by: date,
    new_respond_by: date,
    reason: str,
    next_contact: date,
) -> dict[str, object]:
    """Code 5.9, 6.4, 6.5, 6.15, 6.16: a new date, the reason, next contact, the Ombudsman."""
    ctx = _base("extension_notice", landlord, recipient, case.ref)
    ctx.update(
        {
            "stage": case.stage,
            "handler": {"name": case.handler_name, "contact": case.handler_contact},
            "original_respond_by": format_date(original_respond_by),
            "new_respond_by": format_date(new_respond_by),
            "reason": reason,
            "next_contact": format_date(next_contact),
            "ombudsman": _ombudsman(
                landlord,
                f"If you are unhappy that we need more time, you can contact the "
                f"{landlord.ombudsman.name} for free, independent advice at any time.",
            ),
        }
    )
    return ctx


def stage_response(
    landlord: Landlord,
    recipient: Recipient,
    case: CaseFacts,
    *,
    decision: str,
    points: Sequence[tuple[str, str]],
    reasons: str,
    remedy: str,
    actions: Sequence[Action],
    final: bool,
    no_remedy_reason: str = "",
    escalate_by: date | None = None,
) -> dict[str, object]:
    """Code 6.7, 6.9 (stage 1) or 6.18, 6.19 (stage 2 final response, ``final=True``).

    ``decision`` is ``upheld``, ``partly_upheld`` or ``not_upheld``. ``points`` pairs each point
    of the complaint definition with what we found. The remedy element is satisfied by ``remedy``
    or by an explicit statement that none is offered: ``no_remedy_reason`` from the handler, or,
    for ``not_upheld`` only, a default saying so; an upheld complaint with neither is refused.
    ``escalate_by`` optionally gives the date we ask a stage 2 request to reach us by.
    """
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
    kind = "stage2_final_response" if final else "stage1_response"
    _check_stage(kind, case, 2 if final else 1)
    ctx = _base(kind, landlord, recipient, case.ref)

    if remedy.strip():
        remedy_text = remedy
    elif no_remedy_reason.strip():
        remedy_text = f"We are not offering a remedy. {no_remedy_reason}"
    elif decision == "not_upheld":
        remedy_text = (
            "We are not offering a remedy, because we have not found that we got things wrong."
        )
    else:
        remedy_text = ""

    outstanding: object
    if actions:
        outstanding = [{"text": a.text, "due": format_date(a.due)} for a in actions]
    else:
        outstanding = "There is nothing more for us to do on this complaint."

    team = landlord.complaints_team_name
    ctx.update(
        {
            "stage": case.stage,
            "handler": {"name": case.handler_name, "contact": case.handler_contact},
            "date_received": format_date(case.received),
            "complaint_definition": case.understanding,
            "outcome_sought": case.outcome_sought,
            "decision_code": decision,
            "decision_heading": DECISION_HEADINGS[decision],
            "decision": DECISIONS[decision],
            "points": [{"point": p, "finding": f} for p, f in points],
            "reasons": reasons,
            "remedy": remedy_text,
            "outstanding_actions": outstanding,
        }
    )
    if final:
        ctx["final_response"] = (
            "This is our final response to your complaint. It is the end of our complaints process."
        )
        ctx["ombudsman"] = _ombudsman(
            landlord,
            f"If you are still unhappy, you can now ask the {landlord.ombudsman.name} to look "
            f"into your complaint. Their service is free and independent.",
        )
    else:
        when = (
            f"If you can, please let us know by {format_date(escalate_by)}. If you need more "
            f"time, just tell us."
            if escalate_by is not None
            else "Please let us know as soon as you can, while the details are fresh. If you "
            "need more time, just tell us."
        )
        ctx["escalation_route"] = {
            "intro": (
                "You can ask for your complaint to go to stage 2. A senior manager who has not "
                "been involved so far will look at it again. You do not have to tell us why you "
                "are unhappy."
            ),
            "how": (
                f"Reply to this email keeping {case.ref} in the subject, email "
                f"{landlord.complaints_email}, or call us on "
                f"{landlord.complaints_team_phone or landlord.phone}."
            ),
            "who": f"Our {team} will log your request and tell you who is dealing with it.",
            "when": when,
        }
        ctx["ombudsman"] = _ombudsman(landlord, _ombudsman_any_time(landlord))
    return ctx


def refusal(
    landlord: Landlord,
    recipient: Recipient,
    *,
    ref: str,
    received: date,
    reason_code: str,
    reasons_text: str,
    where_instead: str,
) -> dict[str, object]:
    """Code 2.4, 5.11: why not, where instead, and the right to take the decision to the Ombudsman.

    ``reasons_text`` is the handler's own explanation and is required. ``where_instead`` falls
    back to the landlord profile's ``elsewhere`` entry for ``reason_code`` when blank.
    """
    if reason_code not in REFUSAL_REASONS:
        raise ValueError(
            f"unknown refusal reason {reason_code!r}; expected one of {', '.join(REFUSAL_REASONS)}"
        )
    ctx = _base("refusal", landlord, recipient, ref)
    ctx.update(
        {
            "date_received": format_date(received),
            "reason_code": reason_code,
            "reason_title": REFUSAL_REASONS[reason_code],
            "reasons": reasons_text,
            "where_instead": where_instead.strip() or landlord.elsewhere.get(reason_code, ""),
            "ombudsman": _ombudsman(
                landlord,
                f"If you do not agree with our decision, you can ask the "
                f"{landlord.ombudsman.name} to look at it. If they think we were wrong, they "
                f"can tell us to take on your complaint.",
            ),
        }
    )
    return ctx


def service_request_acknowledgement(
    landlord: Landlord,
    recipient: Recipient,
    *,
    ref: str,
    received: date,
    summary: str,
    next_steps: str,
    due_by: date,
) -> dict[str, object]:
    """Code 1.3, 1.4: logged as a service request; what happens next, by when; how to complain."""
    ctx = _base("service_request_acknowledgement", landlord, recipient, ref)
    ctx.update(
        {
            "date_received": format_date(received),
            "summary": summary,
            "logged_as_service_request": (
                "We have logged your message as a request for a service. This is not a "
                "complaint, but you can make one at any time."
            ),
            "next_steps": next_steps,
            "due_by": format_date(due_by),
            "how_to_complain": _how_to_complain(landlord),
        }
    )
    return ctx


def survey_reply(
    landlord: Landlord, recipient: Recipient, *, ref: str, received: date
) -> dict[str, object]:
    """Code 1.6: feedback in a survey is not a complaint, so we tell them how to make one."""
    ctx = _base("survey_reply", landlord, recipient, ref)
    ctx.update(
        {
            "date_received": format_date(received),
            "how_to_complain": _how_to_complain(landlord),
        }
    )
    return ctx


def receipt(
    landlord: Landlord, recipient: Recipient, *, ref: str, received: date, hear_by: date
) -> dict[str, object]:
    """Code 3.7; SPEC section 3: a neutral receipt while a person decides, so nothing waits in
    silence."""
    ctx = _base("receipt", landlord, recipient, ref)
    ctx.update(
        {
            "date_received": format_date(received),
            "hear_by": format_date(hear_by),
            "how_to_add_information": _how_to_add_information(landlord, ref),
            "ombudsman": _ombudsman(
                landlord,
                f"If you have a complaint about us, you can contact the {landlord.ombudsman.name} "
                f"at any time for free, independent advice.",
            ),
        }
    )
    return ctx


# ---------------------------------------------------------------------------------------------
# Awaab's Law letters (SI 2025/1042)
# ---------------------------------------------------------------------------------------------


def hazard_notification(
    landlord: Landlord,
    *,
    ref: str,
    team_name: str,
    team_email: str,
    title: str,
    severity: str,
    aware_at: str,
    investigate_by: str,
    words: Sequence[str],
    reasons: Sequence[str],
    resident_name: str,
    resident_email: str,
    label: str,
) -> dict[str, object]:
    """The team that investigates is told at once: the clock started when the message arrived."""
    ctx = _base("hazard_notification", landlord, Recipient(name=team_name, email=team_email), ref)
    ctx.update(
        {
            "hazard": title,
            "severity": severity,
            "emergency": severity == "emergency",
            "aware_at": aware_at,
            "investigate_by": investigate_by,
            "residents_words": list(words),
            "reasons": list(reasons),
            "resident_contact": {
                "name": resident_name or "(no name given)",
                "email": resident_email or "(no email address)",
            },
            "label": label,
        }
    )
    return ctx


def hazard_summary(
    landlord: Landlord,
    recipient: Recipient,
    *,
    ref: str,
    hazard: str,
    investigated: date,
    findings: str,
    works: Sequence[Action],
    no_work_reason: str,
    keep_safe: str,
) -> dict[str, object]:
    """Reg 9: what the investigation found, the works and their dates (or why there are none),
    how to keep safe meanwhile; then how to complain and the Ombudsman's details."""
    ctx = _base("hazard_summary", landlord, recipient, ref)
    works_element: object
    if works:
        works_element = [{"text": w.text, "due": format_date(w.due)} for w in works]
    elif no_work_reason.strip():
        works_element = f"We do not need to do any work. {no_work_reason.strip()}"
    else:
        works_element = ""
    ctx.update(
        {
            "hazard": hazard,
            "investigated": format_date(investigated),
            "findings": findings,
            "works": works_element,
            "keep_safe": keep_safe,
            "how_to_complain": _how_to_complain(landlord),
            "ombudsman": _ombudsman(
                landlord,
                f"If you are unhappy with how we have dealt with this, you can contact the "
                f"{landlord.ombudsman.name} for free, independent advice at any time.",
            ),
        }
    )
    return ctx
