"""The case state machine of SPEC section 4: what may happen to a complaint, and when.

Pure: every change takes a state and returns a new state plus the audit event (``Transition``) that
explains it, or raises ``TransitionRefused`` naming the Code provision that forbids it. The input
state is never modified, so a caller can keep the old state until the new one is saved.

    pending_triage ─accept─> stage1_open ─acknowledge─> stage1_acknowledged ─respond─>
    stage1_responded ─> closed | (escalate) stage2_requested ─acknowledge─> stage2_acknowledged
    ─respond─> stage2_responded ─close─> closed
    any open status ─withdraw─> withdrawn;  pending_triage | stage2_requested ─refuse─> refused

Actors are free-text names; ``SYSTEM_ACTOR`` marks what the worker did on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Final

from worker.domain.errors import TransitionRefused
from worker.domain.timescales import STAGES, timescale
from worker.domain.working_days import Calendar


class Status(StrEnum):
    # Unsure or proposed exclusion, waiting for a person; the 5-day clock (6.2) runs meanwhile.
    PENDING_TRIAGE = "pending_triage"
    STAGE1_OPEN = "stage1_open"
    STAGE1_ACKNOWLEDGED = "stage1_acknowledged"
    STAGE1_RESPONDED = "stage1_responded"
    STAGE2_REQUESTED = "stage2_requested"
    STAGE2_ACKNOWLEDGED = "stage2_acknowledged"
    STAGE2_RESPONDED = "stage2_responded"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    # An exclusion confirmed by staff (2.1, 2.4) or a refusal to escalate (5.11).
    REFUSED = "refused"


TERMINAL: Final = frozenset({Status.CLOSED, Status.WITHDRAWN, Status.REFUSED})

# The decisions a stage response can record (SPEC section 9, `complaints case respond`).
DECISIONS: Final = ("upheld", "partly_upheld", "not_upheld")

# The actor recorded for what the worker does by itself (opening a case, the automatic
# acknowledgement). A refusal may never carry it: exclusions are never applied automatically (2.5).
SYSTEM_ACTOR: Final = "system"


@dataclass
class StageRecord:
    """One stage's dates and people; CH02 timeliness (SPEC section 8) is computed from these.

    Invariant once set: ``respond_by`` is ``original_respond_by`` plus ``extension_days`` working
    days, and ``original_respond_by`` is the response period counted from the acknowledgement (or,
    before one, from receipt, as the automatic acknowledgement would make it).
    ``extension_notified`` is when the resident was FIRST told of an extension: that is what must
    precede ``original_respond_by``; later notices are in the audit trail.
    """

    stage: int
    received: date
    acknowledged: date | None = None
    acknowledge_by: date | None = None
    respond_by: date | None = None
    original_respond_by: date | None = None
    extension_days: int = 0
    extension_reason: str = ""
    extension_notified: date | None = None
    good_reason: str = ""
    approved_by: str = ""
    responded: date | None = None
    handler: str = ""
    decision: str = ""


@dataclass
class CaseState:
    ref: str
    status: Status
    stage1: StageRecord
    stage2: StageRecord | None = None


@dataclass(frozen=True)
class Transition:
    """One audit event. ``name`` is one of: open, accept, refuse, acknowledge, extend, respond,
    escalate, assign, close, withdraw. For ``open`` (and ``assign``, which changes no status)
    ``before`` equals ``after``."""

    name: str
    actor: str
    on: date
    why: str
    before: Status
    after: Status


def current_stage(state: CaseState) -> StageRecord:
    """The stage the case is in: stage 2 once an escalation has been recorded, else stage 1."""
    return state.stage2 if state.stage2 is not None else state.stage1


def next_deadline(state: CaseState) -> date | None:
    """The date the case is working towards now, or None when nothing is due from us.

    The acknowledgement date until the stage is acknowledged, then the (possibly extended)
    response date; None once the stage is responded to or the case has ended.
    """
    if state.status in TERMINAL or state.status in (
        Status.STAGE1_RESPONDED,
        Status.STAGE2_RESPONDED,
    ):
        return None
    record = current_stage(state)
    if record.acknowledged is None:
        return record.acknowledge_by
    return record.respond_by


# ---------------------------------------------------------------------------------------------
# Transitions


def open_case(
    ref: str,
    received: date,
    calendar: Calendar,
    pending_triage: bool = False,
    by: str = SYSTEM_ACTOR,
) -> tuple[CaseState, Transition]:
    """A new case at stage 1, or waiting in the triage queue.

    The 5-day acknowledgement clock (6.2) starts on receipt either way: a complaint the
    classifier is unsure of, or a proposed exclusion, is watched as if it were a complaint
    (SPEC section 3). The response date is provisional until the acknowledgement is recorded.
    """
    if not ref.strip():
        raise TransitionRefused("a case needs a reference")
    status = Status.PENDING_TRIAGE if pending_triage else Status.STAGE1_OPEN
    record = _fresh_stage(1, received, calendar)
    state = CaseState(ref=ref, status=status, stage1=record)
    why = f"received {received.isoformat()}; acknowledge by {_iso(record.acknowledge_by)} (6.2)"
    if pending_triage:
        why += "; waiting for a person to decide (2.1, 2.5)"
    return state, Transition("open", _actor(by, ref, "open"), received, why, status, status)


def accept_from_triage(
    state: CaseState, by: str, on: date, why: str = ""
) -> tuple[CaseState, Transition]:
    """A person accepts a triage item as a stage 1 complaint (2.1: accept unless valid reason)."""
    _require_status(state, "accept from triage", {Status.PENDING_TRIAGE}, "only triage items")
    actor = _actor(by, state.ref, "accept")
    _not_before(state, on, state.stage1.received, "received", "accept")
    new = _copy(state, status=Status.STAGE1_OPEN)
    return new, _event("accept", actor, on, why or "accepted as a stage 1 complaint", state, new)


def refuse(state: CaseState, by: str, on: date, why: str) -> tuple[CaseState, Transition]:
    """A person refuses the matter, with written reasons.

    Allowed from ``pending_triage`` (an exclusion confirmed by staff, 2.1, 2.4) and from
    ``stage2_requested`` (a refusal to escalate, 5.11, which must meet section 2). Not once a
    stage is acknowledged: acknowledging it is accepting it ("acknowledged, defined and logged",
    6.2, 6.11), so it then ends with a response, or a withdrawal. The resident must be told why and
    of the right to take the decision to the Ombudsman (2.4); the refusal letter does that.
    """
    _require_status(
        state,
        "refuse",
        {Status.PENDING_TRIAGE, Status.STAGE2_REQUESTED},
        "a matter can be refused only while it waits in triage (2.1, 2.4) or as a refusal to "
        "escalate before stage 2 is acknowledged (5.11)",
    )
    actor = _actor(by, state.ref, "refuse")
    if _norm(actor) == SYSTEM_ACTOR:
        raise TransitionRefused(
            f"case {state.ref}: a refusal must be a person's decision on the individual case, "
            "never automatic (2.1, 2.5)"
        )
    if not why.strip():
        raise TransitionRefused(
            f"case {state.ref}: a refusal needs written reasons for the resident (2.1, 2.4, 5.11)"
        )
    _not_before(state, on, current_stage(state).received, "received", "refuse")
    new = _copy(state, status=Status.REFUSED)
    return new, _event("refuse", actor, on, why.strip(), state, new)


def acknowledge(
    state: CaseState, on: date, calendar: Calendar, by: str = SYSTEM_ACTOR
) -> tuple[CaseState, Transition]:
    """Record the acknowledgement of the current stage and fix its response date from it.

    The response period runs from the actual acknowledgement (6.3: 10 working days; 6.14: 20).
    A late acknowledgement is recorded, not refused: the resident must still be answered, and
    CH02 reports the lateness.
    """
    _require_status(
        state,
        "acknowledge",
        {Status.STAGE1_OPEN, Status.STAGE2_REQUESTED},
        "only a stage 1 complaint that has been accepted (not one waiting in triage) or a stage 2 "
        "request that is not yet acknowledged (6.2, 6.11)",
    )
    actor = _actor(by, state.ref, "acknowledge")
    record = current_stage(state)
    _not_before(state, on, record.received, "received", "acknowledge")
    periods = timescale(record.stage)
    respond_by = calendar.add_working_days(on, periods.respond_days)
    updated = replace(
        record, acknowledged=on, respond_by=respond_by, original_respond_by=respond_by
    )
    after = Status.STAGE1_ACKNOWLEDGED if record.stage == 1 else Status.STAGE2_ACKNOWLEDGED
    new = _with_stage(state, updated, after)
    provision = "6.3" if record.stage == 1 else "6.14"
    why = (
        f"stage {record.stage} acknowledged {on.isoformat()} (due {_iso(record.acknowledge_by)}); "
        f"response due {respond_by.isoformat()} ({periods.respond_days} working days, {provision})"
    )
    return new, _event("acknowledge", actor, on, why, state, new)


def extend(
    state: CaseState,
    days: int,
    reason: str,
    by: str,
    on: date,
    calendar: Calendar,
    good_reason: str = "",
    approved_by: str = "",
) -> tuple[CaseState, Transition]:
    """Extend the current stage's response date by ``days`` working days.

    6.4/6.15: decided after acknowledgement, with reasons explained to the resident; in total no
    more than 10 (stage 1) or 20 (stage 2) working days without good reason, which this product
    takes as a recorded good reason AND a named manager's approval (SPEC section 4). The notice
    must reach the resident before the date it moves (SPEC section 4): an extension notified
    after the current response date is refused, because by then the deadline has already been
    missed. For a first extension that date is the original response date.
    """
    _require_status(
        state,
        "extend",
        {Status.STAGE1_ACKNOWLEDGED, Status.STAGE2_ACKNOWLEDGED},
        "an extension is decided for an acknowledged stage that has not been responded to "
        "(6.4, 6.15)",
    )
    actor = _actor(by, state.ref, "extend")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise TransitionRefused(
            f"case {state.ref}: an extension must be a whole number of working days, at least 1, "
            f"got {days!r}"
        )
    if not reason.strip():
        raise TransitionRefused(
            f"case {state.ref}: an extension needs a reason explained to the resident (6.4, 6.15)"
        )
    record = current_stage(state)
    assert record.acknowledged is not None  # guaranteed by the acknowledged statuses
    _not_before(state, on, record.acknowledged, "acknowledged", "extend")
    periods = timescale(record.stage)
    original = record.original_respond_by or calendar.add_working_days(
        record.acknowledged, periods.respond_days
    )
    current_due = record.respond_by or original
    if on >= current_due:
        # SPEC section 4: the notice must come BEFORE the date it moves; on the day itself the
        # response is due, so it is too late to extend it.
        raise TransitionRefused(
            f"case {state.ref}: the extension notice on {on.isoformat()} is not before the "
            f"response date {current_due.isoformat()} it would move; the resident must be told "
            f"before the response is due (6.4, 6.15)"
        )
    total = record.extension_days + days
    provisions = "6.4/6.5" if record.stage == 1 else "6.15/6.16"
    if total > periods.max_extension_days:
        missing = [
            label
            for label, value in (
                ("a good reason", good_reason),
                ("a manager's approval", approved_by),
            )
            if not value.strip()
        ]
        if missing:
            raise TransitionRefused(
                f"case {state.ref}: extending stage {record.stage} by {total} working days in "
                f"total exceeds the Code's limit of {periods.max_extension_days} ({provisions}); "
                f"needs {' and '.join(missing)}"
            )
    new_due = calendar.add_working_days(original, total)
    # Every reason given stays on the record; the audit trail says which came when.
    reasons = reason.strip()
    if record.extension_reason:
        reasons = f"{record.extension_reason}; {reasons}"
    updated = replace(
        record,
        original_respond_by=original,
        respond_by=new_due,
        extension_days=total,
        extension_reason=reasons,
        extension_notified=record.extension_notified or on,
        good_reason=good_reason.strip() or record.good_reason,
        approved_by=approved_by.strip() or record.approved_by,
    )
    new = _with_stage(state, updated, state.status)
    why = (
        f"stage {record.stage} response date {current_due.isoformat()} -> {new_due.isoformat()} "
        f"(+{days}, {total} of {periods.max_extension_days} working days, {provisions}): "
        f"{reason.strip()}"
    )
    if total > periods.max_extension_days:
        why += f"; beyond the limit for good reason: {good_reason.strip()}"
        why += f"; approved by {approved_by.strip()}"
    return new, _event("extend", actor, on, why, state, new)


def respond(state: CaseState, on: date, by: str, decision: str) -> tuple[CaseState, Transition]:
    """Record the current stage's response (6.3 at stage 1, 6.14 at stage 2).

    No response without an acknowledgement: the complaint must first be "acknowledged, defined
    and logged" (6.2, 6.11), and the response answers that definition (6.7, 6.9, 6.18, 6.19). The
    responder becomes the stage's handler if none was assigned; at stage 2 they must not be the
    stage 1 handler (6.13). A late response is recorded, not refused (CH02 reports it).
    """
    _require_status(
        state,
        "respond",
        {Status.STAGE1_ACKNOWLEDGED, Status.STAGE2_ACKNOWLEDGED},
        "a response follows the acknowledgement of the stage (6.2, 6.11) and comes once per stage",
    )
    actor = _actor(by, state.ref, "respond")
    if decision not in DECISIONS:
        raise TransitionRefused(
            f"case {state.ref}: decision must be one of {', '.join(DECISIONS)}, got {decision!r}"
        )
    record = current_stage(state)
    assert record.acknowledged is not None  # guaranteed by the acknowledged statuses
    _not_before(state, on, record.acknowledged, "acknowledged", "respond")
    if record.stage == 2:
        _check_not_stage1_handler(state, actor, "respond at stage 2")
    updated = replace(record, responded=on, decision=decision, handler=record.handler or actor)
    after = Status.STAGE1_RESPONDED if record.stage == 1 else Status.STAGE2_RESPONDED
    new = _with_stage(state, updated, after)
    late = ""
    if record.respond_by is not None and on > record.respond_by:
        late = f", after the response date {record.respond_by.isoformat()}"
    why = f"stage {record.stage} response: {decision}{late}"
    return new, _event("respond", actor, on, why, state, new)


def request_escalation(
    state: CaseState, received: date, calendar: Calendar, by: str
) -> tuple[CaseState, Transition]:
    """Record a request for stage 2, received on ``received``.

    Only after the stage 1 response (6.10): points raised before it belong to stage 1 (6.8). No
    reason is demanded (6.12). A case closed after its stage 1 response can still be escalated:
    closing is our bookkeeping, and refusing to escalate needs a person's written reasons (5.11),
    which ``refuse`` records. There is no stage 3 (5.3).
    """
    responded_stage1 = state.stage1.responded is not None
    escalable = state.status is Status.STAGE1_RESPONDED or (
        state.status is Status.CLOSED and state.stage2 is None and responded_stage1
    )
    if not escalable:
        if state.stage2 is not None:
            hint = "stage 2 is the landlord's final stage; there is no stage 3 (5.3, 6.10)"
        elif state.status in TERMINAL:
            hint = f"the case is {state.status.value}"
        else:
            hint = (
                "escalation follows the stage 1 response (6.10); points raised before it are "
                "added to the stage 1 complaint (6.8)"
            )
        raise TransitionRefused(
            f"case {state.ref}: cannot escalate from {state.status.value}: {hint}"
        )
    actor = _actor(by, state.ref, "escalate")
    assert state.stage1.responded is not None
    _not_before(state, received, state.stage1.responded, "the stage 1 response", "escalate")
    record = _fresh_stage(2, received, calendar)
    new = _copy(state, status=Status.STAGE2_REQUESTED)
    new.stage2 = record
    why = (
        f"stage 2 requested {received.isoformat()}; acknowledge by "
        f"{_iso(record.acknowledge_by)} (6.11); no reason required (6.12)"
    )
    return new, _event("escalate", actor, received, why, state, new)


def assign(
    state: CaseState, stage: int, handler: str, by: str, on: date
) -> tuple[CaseState, Transition]:
    """Make ``handler`` the person considering ``stage``.

    The stage 2 handler must not be the stage 1 handler (6.13). A stage already
    responded to keeps its handler: it is part of the record (5.12).
    """
    if isinstance(stage, bool) or stage not in STAGES:
        raise TransitionRefused(
            f"case {state.ref}: stage must be 1 or 2, there are exactly two (5.2, 5.3); "
            f"got {stage!r}"
        )
    if state.status in TERMINAL:
        raise TransitionRefused(
            f"case {state.ref}: cannot assign a handler to a case that is {state.status.value}"
        )
    actor = _actor(by, state.ref, "assign")
    name = handler.strip()
    if not name:
        raise TransitionRefused(f"case {state.ref}: a handler needs a name")
    record = state.stage1 if stage == 1 else state.stage2
    if record is None:
        raise TransitionRefused(
            f"case {state.ref}: stage 2 has not been requested, so it cannot be assigned (6.10)"
        )
    if record.responded is not None:
        raise TransitionRefused(
            f"case {state.ref}: stage {stage} was responded to on {record.responded.isoformat()}; "
            "its handler is part of the record (5.12)"
        )
    _not_before(state, on, record.received, "received", "assign")
    # Stage 1 can no longer be reassigned once stage 2 exists (it has been responded to), so
    # 6.13 only needs checking in this direction.
    if stage == 2:
        _check_not_stage1_handler(state, name, "handle stage 2")
    updated = replace(record, handler=name)
    new = _with_stage(state, updated, state.status)
    previous = f" (was {record.handler})" if record.handler else ""
    why = f"stage {stage} assigned to {name}{previous}"
    return new, _event("assign", actor, on, why, state, new)


def close(state: CaseState, by: str, on: date, why: str = "") -> tuple[CaseState, Transition]:
    """Close a case whose current stage has been responded to.

    Only after a response: a complaint is closed by answering it (6.3, 6.14). A resident who no
    longer wants an answer withdraws (``withdraw``), which is recorded as such.
    """
    _require_status(
        state,
        "close",
        {Status.STAGE1_RESPONDED, Status.STAGE2_RESPONDED},
        "a case closes after its stage response (6.3, 6.14); use withdraw if the resident withdrew",
    )
    actor = _actor(by, state.ref, "close")
    responded = current_stage(state).responded
    assert responded is not None
    _not_before(state, on, responded, "the response", "close")
    new = _copy(state, status=Status.CLOSED)
    return new, _event("close", actor, on, why.strip() or "closed after response", state, new)


def withdraw(state: CaseState, by: str, on: date, why: str) -> tuple[CaseState, Transition]:
    """The resident withdraws the complaint; how and when they said so is recorded (5.12).

    A reason is required because a withdrawal ends the landlord's duty to respond: the record
    must show it was the resident's choice.
    """
    if state.status in TERMINAL:
        raise TransitionRefused(
            f"case {state.ref}: cannot withdraw a case that is already {state.status.value}"
        )
    actor = _actor(by, state.ref, "withdraw")
    if not why.strip():
        raise TransitionRefused(
            f"case {state.ref}: a withdrawal must record how the resident withdrew (5.12)"
        )
    _not_before(state, on, current_stage(state).received, "received", "withdraw")
    new = _copy(state, status=Status.WITHDRAWN)
    return new, _event("withdraw", actor, on, why.strip(), state, new)


def recompute_deadlines(state: CaseState, calendar: Calendar) -> tuple[CaseState, list[str]]:
    """Recompute the open deadlines after the calendar changed (SPEC section 4).

    A new bank holiday or closure day moves the deadlines that are still running: the
    acknowledgement date while a stage is unacknowledged, the response date (with any extension)
    while it is unanswered. Deadlines already met, and cases that have ended, keep their dates:
    they are history. Returns the new state and one line per date moved, for the audit log.
    """
    new = _copy(state)
    changes: list[str] = []
    if state.status in TERMINAL:
        return new, changes
    for record in (new.stage1, new.stage2):
        if record is None or record.responded is not None:
            continue
        periods = timescale(record.stage)
        if record.acknowledged is None:
            acknowledge_by = calendar.add_working_days(record.received, periods.acknowledge_days)
            _note(
                changes,
                state.ref,
                record.stage,
                "acknowledge_by",
                record.acknowledge_by,
                acknowledge_by,
            )
            record.acknowledge_by = acknowledge_by
        start = record.acknowledged or record.received
        original = calendar.add_working_days(start, periods.respond_days)
        respond_by = calendar.add_working_days(original, record.extension_days)
        _note(
            changes,
            state.ref,
            record.stage,
            "original_respond_by",
            record.original_respond_by,
            original,
        )
        _note(changes, state.ref, record.stage, "respond_by", record.respond_by, respond_by)
        record.original_respond_by = original
        record.respond_by = respond_by
    return new, changes


# ---------------------------------------------------------------------------------------------
# Helpers


def _fresh_stage(stage: int, received: date, calendar: Calendar) -> StageRecord:
    periods = timescale(stage)
    # Until the acknowledgement is recorded, the response date assumes it is made on receipt, as
    # the automatic acknowledgement makes it (SPEC section 9); `acknowledge` fixes it.
    respond_by = calendar.add_working_days(received, periods.respond_days)
    return StageRecord(
        stage=stage,
        received=received,
        acknowledge_by=calendar.add_working_days(received, periods.acknowledge_days),
        respond_by=respond_by,
        original_respond_by=respond_by,
    )


def _copy(state: CaseState, status: Status | None = None) -> CaseState:
    # StageRecord is mutable, so a new state gets its own records: changing one state can then
    # never change another that a caller still holds.
    return CaseState(
        ref=state.ref,
        status=state.status if status is None else status,
        stage1=replace(state.stage1),
        stage2=None if state.stage2 is None else replace(state.stage2),
    )


def _with_stage(state: CaseState, record: StageRecord, status: Status) -> CaseState:
    new = _copy(state, status=status)
    if record.stage == 1:
        new.stage1 = record
    else:
        new.stage2 = record
    return new


def _event(
    name: str, actor: str, on: date, why: str, before: CaseState, after: CaseState
) -> Transition:
    return Transition(name, actor, on, why, before.status, after.status)


def _require_status(state: CaseState, action: str, allowed: set[Status], rule: str) -> None:
    if state.status not in allowed:
        raise TransitionRefused(
            f"case {state.ref}: cannot {action} from {state.status.value}: {rule}"
        )


def _actor(by: str, ref: str, action: str) -> str:
    name = by.strip()
    if not name:
        raise TransitionRefused(f"case {ref}: {action} needs the name of who did it (5.12)")
    return name


def _not_before(state: CaseState, on: date, earliest: date, what: str, action: str) -> None:
    if on < earliest:
        raise TransitionRefused(
            f"case {state.ref}: cannot {action} on {on.isoformat()}, before {what} "
            f"({earliest.isoformat()})"
        )


def _check_not_stage1_handler(state: CaseState, name: str, action: str) -> None:
    stage1_handler = state.stage1.handler
    if stage1_handler and _norm(stage1_handler) == _norm(name):
        raise TransitionRefused(
            f"case {state.ref}: {name} handled stage 1, so cannot {action}; the person "
            "considering stage 2 must not be the one who considered stage 1 (6.13)"
        )


def _norm(name: str) -> str:
    # Handler names are typed by people: "J Smith" and "j smith " are the same person for 6.13.
    return " ".join(name.split()).casefold()


def _iso(d: date | None) -> str:
    return "-" if d is None else d.isoformat()


def _note(
    changes: list[str], ref: str, stage: int, field: str, old: date | None, new: date
) -> None:
    if old != new:
        changes.append(
            f"case {ref} stage {stage} {field}: {_iso(old)} -> {new.isoformat()} (calendar changed)"
        )
