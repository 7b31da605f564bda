"""What the console's work pages show, shaped for reading (issue 9, item 5): the case timeline in
plain English with each message at the time it reached us, the triage queue as a sortable list,
and the case list's "My cases" and "Unassigned" views. No web code: the routes render these."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from worker.adapters.clock import LONDON
from worker.domain.parsing import date_sent

# Audit actions as a handler would say them. An action missing here still reads sensibly (see
# ``event_title``); the internal name stays on the page as a data attribute for tests and tools.
EVENT_TITLES = {
    "case.open": "Case opened",
    "case.accept": "Accepted as a stage 1 complaint",
    "case.acknowledge": "Complaint acknowledged",
    "case.assign": "Handler assigned",
    "case.extend": "Response date extended",
    "case.respond": "Response recorded",
    "case.escalate": "Escalated to stage 2",
    "case.close": "Case closed",
    "case.withdraw": "Case withdrawn",
    "case.refuse": "Refused: not suitable for the complaints process",
    "case.correspondence": "Correspondence added to the case",
    "case.deadlines_recomputed": "Deadlines recalculated (calendar changed)",
    "case.escalation_refused": "Escalation refused",
    "case.opened_from_review": "Case opened from the triage queue",
    "case.prioritised": "Marked as a priority (vulnerability or risk)",
    "case.reply_from_new_address": "Reply from an address not on file",
    "case.routed_building_safety": "Passed to the building safety team",
    "case.legal_hold_placed": "Legal hold placed",
    "case.legal_hold_released": "Legal hold released",
    "letter.queued": "Letter written and queued to send",
    "letter.sent": "Letter sent",
    "letter.failed": "Letter could not be sent",
    "letter.bounced": "Letter bounced",
    "letter.retry": "Letter sending retried",
    "letter.held": "Letter held for a person to check",
    "letter.refused": "Letter refused: a required element was missing",
    "letter.suppressed": "Letter not sent (suppressed)",
    "letter.uncertain": "Letter may not have been sent",
    "letter.not_possible": "No letter could be sent",
    "letter.reclaimed": "Letter sending restarted",
    "triage.accept": "Triage: accepted as a complaint",
    "triage.refuse": "Triage: refused",
    "triage.service_request": "Triage: relabelled as a service request",
    "triage.not_resident_mail": "Triage: recorded as not resident mail",
    "action.completed": "Action marked as done",
    "resident.adjustments_recorded": "Reasonable adjustments recorded",
    "resident.adjustments_reviewed": "Reasonable adjustments reviewed",
    "resident.representative_set": "Representative recorded",
    "resident.representative_removed": "Representative removed",
    "resident.other_email_added": "Another email address added for the resident",
    "resident.address_confirmed": "Resident's address confirmed",
    "resident.created": "Resident record created",
    "resident.exported": "Resident's data exported",
    "resident.erased": "Resident's data erased",
    "restriction.recorded": "Restriction recorded",
    "restriction.ended": "Restriction ended",
    "restriction.continued": "Restriction continued after review",
    "staff.contact_logged": "Contact logged by staff",
    "inbound.triaged": "Message triaged",
    "inbound.hazard_suspected": "Possible hazard found in a message",
    "inbound.recipient_unconfirmed": "Sender's address needs confirming",
    "inbound.not_answered": "Message not answered automatically",
    "hazard.detected": "Hazard recorded",
    "hazard.due_soon": "Hazard deadline close",
    "hazard.overdue": "Hazard deadline passed",
    "deadline.due_soon": "Deadline due within 2 working days",
    "deadline.overdue": "Deadline passed",
}
_PREFIXES = {
    "case": "Case",
    "letter": "Letter",
    "triage": "Triage",
    "review": "Review item",
    "recipient": "Address",
    "resident": "Resident",
    "hazard": "Hazard",
    "deadline": "Deadline",
    "restriction": "Restriction",
    "action": "Action",
    "inbound": "Message",
    "staff": "Staff",
}
TIMELINE_KINDS = {"message": "Messages", "letter": "Letters", "event": "Events"}


def event_title(action: str) -> str:
    """The plain-English name of an audit action, e.g. ``case.open`` -> "Case opened"."""
    if action in EVENT_TITLES:
        return EVENT_TITLES[action]
    area, _, what = action.partition(".")
    words = what.replace("_", " ").replace(".", " ").strip()
    prefix = _PREFIXES.get(area, area.replace("_", " ").capitalize())
    return f"{prefix}: {words}" if words else prefix


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def received_at(
    headers: dict[str, Any] | None, received_on: date | None, stored_at: datetime
) -> datetime | date:
    """When a message reached us, as far as we know it: the time it was sent (its Date header)
    when that agrees with the day the parse stage decided it was received; else the day alone
    when that differs from the day we stored it (a replayed mailbox, a complaint logged late by
    staff); else the moment we stored it. Never the time a later stage processed it."""
    stored = _aware(stored_at)
    sent = date_sent(headers)
    if sent is not None and (received_on is None or sent.astimezone(LONDON).date() == received_on):
        return sent
    if received_on is not None and stored.astimezone(LONDON).date() != received_on:
        return received_on
    return stored


def sort_moment(value: datetime | date | None) -> datetime:
    """A key that orders datetimes and bare days together (a day sorts at its start)."""
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return _aware(value)
    return datetime(value.year, value.month, value.day, tzinfo=LONDON)


def order_timeline(entries: Iterable[dict[str, Any]], kind: str = "") -> list[dict[str, Any]]:
    """Newest first; only one kind when ``kind`` names one (messages, letters or events).
    Entries at the same moment keep the order they were recorded in, newest first too."""
    chosen = [e for e in entries if not kind or kind not in TIMELINE_KINDS or e["type"] == kind]
    indexed = list(enumerate(chosen))
    indexed.sort(key=lambda pair: (sort_moment(pair[1]["at"]), pair[0]), reverse=True)
    return [entry for _, entry in indexed]


# -- the triage queue as a list ------------------------------------------------------------------


@dataclass
class TriageRow:
    item_id: int
    ref: str  # the case's reference, or "" when no case was opened
    subject: str
    sender: str
    received: datetime | date
    proposed: str  # label, already in words
    confidence: float | None  # None for items the classifier did not score
    due: date | None  # the statutory date (acknowledge by), when there is a case
    risk: str
    kind: str  # "" for a decision on a pending case, else the review kind
    extra: dict[str, Any] = field(default_factory=dict)


TRIAGE_SORTS: dict[str, tuple[str, Callable[[TriageRow], Any], bool]] = {
    "oldest": ("Oldest first", lambda r: (sort_moment(r.received), r.item_id), False),
    "newest": ("Newest first", lambda r: (sort_moment(r.received), r.item_id), True),
    "due": (
        "Statutory date, soonest first",
        lambda r: (r.due or date.max, sort_moment(r.received), r.item_id),
        False,
    ),
    "label": ("Proposed label", lambda r: (r.proposed.lower(), r.item_id), False),
    "confidence": (
        "Confidence, least sure first",
        lambda r: (1.0 if r.confidence is None else r.confidence, r.item_id),
        False,
    ),
}


def sort_triage(rows: list[TriageRow], sort: str) -> tuple[list[TriageRow], str]:
    """The rows in the order asked for (oldest first unless another known order is named)."""
    chosen = sort if sort in TRIAGE_SORTS else "oldest"
    _, key, reverse = TRIAGE_SORTS[chosen]
    return sorted(rows, key=key, reverse=reverse), chosen


# -- the case list's views -----------------------------------------------------------------------

CASE_VIEWS = {"all": "All cases", "mine": "My cases", "unassigned": "Unassigned"}


def in_view(view: str, handler: str, me: str) -> bool:
    """Whether a case whose current handler is ``handler`` belongs in ``view`` for ``me``."""
    if view == "mine":
        return bool(handler) and handler.strip().casefold() == me.strip().casefold()
    if view == "unassigned":
        return not handler.strip()
    return True
