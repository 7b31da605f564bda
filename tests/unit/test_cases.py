"""The case state machine (SPEC section 4): allowed moves, refused moves, dates and audit events."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date

import pytest

from worker.domain.cases import (
    DECISIONS,
    SYSTEM_ACTOR,
    TERMINAL,
    CaseState,
    Status,
    Transition,
    accept_from_triage,
    acknowledge,
    assign,
    close,
    current_stage,
    extend,
    next_deadline,
    open_case,
    recompute_deadlines,
    refuse,
    request_escalation,
    respond,
    withdraw,
)
from worker.domain.errors import TransitionRefused, UserError
from worker.domain.working_days import Calendar

D = date
CAL = Calendar("england")
REF = "C-2026-0001"
# Monday 2 March 2026: a plain fortnight follows, so the numbers below are easy to check.
RECEIVED = D(2026, 3, 2)
STAGE1_HANDLER = "Alice Able"
STAGE2_HANDLER = "Bob Baker"


# ---------------------------------------------------------------------------------------------
# Walking the machine to each status


def _opened() -> CaseState:
    return open_case(REF, RECEIVED, CAL)[0]


def _stage1_acknowledged() -> CaseState:
    return acknowledge(_opened(), RECEIVED, CAL, SYSTEM_ACTOR)[0]


def _stage1_responded() -> CaseState:
    return respond(_stage1_acknowledged(), D(2026, 3, 10), STAGE1_HANDLER, "not_upheld")[0]


def _stage2_requested() -> CaseState:
    return request_escalation(_stage1_responded(), D(2026, 3, 12), CAL, "resident")[0]


def _stage2_acknowledged() -> CaseState:
    return acknowledge(_stage2_requested(), D(2026, 3, 13), CAL, SYSTEM_ACTOR)[0]


def _stage2_responded() -> CaseState:
    return respond(_stage2_acknowledged(), D(2026, 4, 1), STAGE2_HANDLER, "partly_upheld")[0]


def _pending() -> CaseState:
    return open_case(REF, RECEIVED, CAL, pending_triage=True)[0]


STATE_IN: dict[Status, Callable[[], CaseState]] = {
    Status.PENDING_TRIAGE: _pending,
    Status.STAGE1_OPEN: _opened,
    Status.STAGE1_ACKNOWLEDGED: _stage1_acknowledged,
    Status.STAGE1_RESPONDED: _stage1_responded,
    Status.STAGE2_REQUESTED: _stage2_requested,
    Status.STAGE2_ACKNOWLEDGED: _stage2_acknowledged,
    Status.STAGE2_RESPONDED: _stage2_responded,
    Status.CLOSED: lambda: close(_stage2_responded(), "Manager", D(2026, 4, 2))[0],
    Status.WITHDRAWN: lambda: withdraw(_opened(), "Alice", D(2026, 3, 3), "phoned to withdraw")[0],
    Status.REFUSED: lambda: refuse(_pending(), "Alice", D(2026, 3, 3), "court claim filed")[0],
}


def test_every_status_can_be_reached() -> None:
    assert set(STATE_IN) == set(Status)
    for status, build in STATE_IN.items():
        assert build().status is status


def _latest(state: CaseState) -> date:
    """The last date on the record: an action on it is never 'before' anything."""
    dates = [
        value
        for record in (state.stage1, state.stage2)
        if record is not None
        for value in (record.received, record.acknowledged, record.responded)
        if value is not None
    ]
    return max(dates)


Operation = Callable[[CaseState], tuple[CaseState, Transition]]

OPERATIONS: dict[str, tuple[Operation, frozenset[Status]]] = {
    "accept": (
        lambda s: accept_from_triage(s, "Alice", _latest(s), "a complaint after all"),
        frozenset({Status.PENDING_TRIAGE}),
    ),
    "refuse": (
        lambda s: refuse(s, "Alice", _latest(s), "previously considered (2.2)"),
        frozenset({Status.PENDING_TRIAGE, Status.STAGE2_REQUESTED}),
    ),
    "acknowledge": (
        lambda s: acknowledge(s, _latest(s), CAL, SYSTEM_ACTOR),
        frozenset({Status.STAGE1_OPEN, Status.STAGE2_REQUESTED}),
    ),
    "extend": (
        lambda s: extend(s, 5, "waiting for a surveyor", "Alice", _latest(s), CAL),
        frozenset({Status.STAGE1_ACKNOWLEDGED, Status.STAGE2_ACKNOWLEDGED}),
    ),
    "respond": (
        lambda s: respond(s, _latest(s), "Carol Clark", "upheld"),
        frozenset({Status.STAGE1_ACKNOWLEDGED, Status.STAGE2_ACKNOWLEDGED}),
    ),
    "escalate": (
        lambda s: request_escalation(s, _latest(s), CAL, "resident"),
        frozenset({Status.STAGE1_RESPONDED}),
    ),
    "assign stage 1": (
        lambda s: assign(s, 1, "Dan Dare", "Manager", _latest(s)),
        frozenset({Status.PENDING_TRIAGE, Status.STAGE1_OPEN, Status.STAGE1_ACKNOWLEDGED}),
    ),
    "assign stage 2": (
        lambda s: assign(s, 2, "Dan Dare", "Manager", _latest(s)),
        frozenset({Status.STAGE2_REQUESTED, Status.STAGE2_ACKNOWLEDGED}),
    ),
    "close": (
        lambda s: close(s, "Manager", _latest(s), "resident satisfied"),
        frozenset({Status.STAGE1_RESPONDED, Status.STAGE2_RESPONDED}),
    ),
    "withdraw": (
        lambda s: withdraw(s, "Alice", _latest(s), "resident emailed to withdraw"),
        frozenset(set(Status) - TERMINAL),
    ),
}

PAIRS = [(op, status) for op in OPERATIONS for status in Status]
FORBIDDEN = [(op, status) for op, status in PAIRS if status not in OPERATIONS[op][1]]
ALLOWED = [(op, status) for op, status in PAIRS if status in OPERATIONS[op][1]]


@pytest.mark.parametrize(("operation", "status"), FORBIDDEN)
def test_forbidden_transition_is_refused(operation: str, status: Status) -> None:
    state = STATE_IN[status]()
    before = copy.deepcopy(state)
    with pytest.raises(TransitionRefused) as info:
        OPERATIONS[operation][0](state)
    assert REF in str(info.value)
    assert state == before


@pytest.mark.parametrize(("operation", "status"), ALLOWED)
def test_allowed_transition_returns_a_new_state_and_leaves_the_old_one_alone(
    operation: str, status: Status
) -> None:
    state = STATE_IN[status]()
    before = copy.deepcopy(state)
    new, event = OPERATIONS[operation][0](state)
    assert state == before
    assert new is not state
    assert new.stage1 is not state.stage1
    assert event.before is status
    assert event.after is new.status
    assert event.actor and event.why


def test_transition_refused_is_a_user_error() -> None:
    # The command line turns UserError into one line and exit 2 (SPEC section 9).
    assert issubclass(TransitionRefused, UserError)


# ---------------------------------------------------------------------------------------------
# Opening and triage


def test_open_case_starts_the_acknowledgement_clock() -> None:
    state, event = open_case(REF, RECEIVED, CAL)
    assert state.status is Status.STAGE1_OPEN
    assert state.stage2 is None
    record = state.stage1
    assert (record.stage, record.received) == (1, RECEIVED)
    assert record.acknowledge_by == D(2026, 3, 9)
    # provisional, as if acknowledged on receipt
    assert record.respond_by == record.original_respond_by == D(2026, 3, 16)
    assert event == Transition(
        "open", SYSTEM_ACTOR, RECEIVED, event.why, Status.STAGE1_OPEN, Status.STAGE1_OPEN
    )
    assert "6.2" in event.why


def test_a_triage_item_runs_the_same_five_day_clock() -> None:
    state, event = open_case(REF, RECEIVED, CAL, pending_triage=True)
    assert state.status is Status.PENDING_TRIAGE
    assert state.stage1.acknowledge_by == D(2026, 3, 9)
    assert next_deadline(state) == D(2026, 3, 9)
    assert event.after is Status.PENDING_TRIAGE


def test_received_on_a_bank_holiday_counts_from_the_next_working_day() -> None:
    state, _ = open_case(REF, D(2026, 12, 25), CAL)  # Christmas; next working day Tue 29th
    assert state.stage1.acknowledge_by == D(2027, 1, 6)  # 30, 31, (1 Jan), 4, 5, 6


def test_a_case_needs_a_reference() -> None:
    with pytest.raises(TransitionRefused):
        open_case("  ", RECEIVED, CAL)


def test_accepting_a_triage_item_opens_stage_1() -> None:
    state, event = accept_from_triage(_pending(), "Alice", D(2026, 3, 3), "")
    assert state.status is Status.STAGE1_OPEN
    assert (event.name, event.before, event.after) == (
        "accept",
        Status.PENDING_TRIAGE,
        Status.STAGE1_OPEN,
    )
    # the clock started on receipt, not on acceptance
    assert state.stage1.acknowledge_by == D(2026, 3, 9)


# ---------------------------------------------------------------------------------------------
# Refusal (2.1, 2.4, 5.11)


@pytest.mark.parametrize("status", [Status.PENDING_TRIAGE, Status.STAGE2_REQUESTED])
def test_a_person_can_refuse_with_reasons(status: Status) -> None:
    state, event = refuse(STATE_IN[status](), "Alice", D(2026, 3, 20), "court claim filed")
    assert state.status is Status.REFUSED
    assert event.why == "court claim filed"
    assert event.before is status


@pytest.mark.parametrize("why", ["", "   "])
def test_a_refusal_without_reasons_is_refused(why: str) -> None:
    with pytest.raises(TransitionRefused, match="2.4"):
        refuse(_pending(), "Alice", D(2026, 3, 3), why)


@pytest.mark.parametrize("by", [SYSTEM_ACTOR, " System "])
def test_the_worker_never_refuses_on_its_own(by: str) -> None:
    with pytest.raises(TransitionRefused, match="2.5"):
        refuse(_pending(), by, D(2026, 3, 3), "looks like an insurance claim")


# ---------------------------------------------------------------------------------------------
# Acknowledgement (6.2, 6.3, 6.11, 6.14)


def test_acknowledgement_fixes_the_response_date_from_the_actual_day() -> None:
    # acknowledged late on Mon 9 March: 10 working days later is Mon 23 March (6.3)
    state, event = acknowledge(_opened(), D(2026, 3, 9), CAL, SYSTEM_ACTOR)
    assert state.status is Status.STAGE1_ACKNOWLEDGED
    assert state.stage1.acknowledged == D(2026, 3, 9)
    assert state.stage1.respond_by == state.stage1.original_respond_by == D(2026, 3, 23)
    assert state.stage1.acknowledge_by == D(2026, 3, 9)
    assert "2026-03-23" in event.why


def test_stage_2_acknowledgement_gives_twenty_working_days_over_easter() -> None:
    state = _stage2_acknowledged()
    record = current_stage(state)
    assert record.stage == 2
    assert record.acknowledge_by == D(2026, 3, 19)  # escalated Thu 12 March + 5
    # acknowledged Fri 13 March; Good Friday and Easter Monday skipped
    assert record.respond_by == D(2026, 4, 14)


def test_acknowledgement_before_receipt_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="before received"):
        acknowledge(_opened(), D(2026, 3, 1), CAL, SYSTEM_ACTOR)


def test_a_triage_item_must_be_accepted_before_it_is_acknowledged() -> None:
    with pytest.raises(TransitionRefused, match="pending_triage"):
        acknowledge(_pending(), RECEIVED, CAL, SYSTEM_ACTOR)


# ---------------------------------------------------------------------------------------------
# Extensions (6.4, 6.5, 6.15, 6.16)


def test_extension_moves_the_response_date_and_keeps_the_original() -> None:
    state, event = extend(_stage1_acknowledged(), 5, "surveyor", "Alice", D(2026, 3, 12), CAL)
    record = state.stage1
    assert record.original_respond_by == D(2026, 3, 16)
    assert record.respond_by == D(2026, 3, 23)
    assert record.extension_days == 5
    assert record.extension_reason == "surveyor"
    assert record.extension_notified == D(2026, 3, 12)
    assert state.status is Status.STAGE1_ACKNOWLEDGED
    assert event.name == "extend" and "2026-03-23" in event.why


@pytest.mark.parametrize(
    ("stage_status", "days", "allowed"),
    [
        (Status.STAGE1_ACKNOWLEDGED, 10, True),
        (Status.STAGE1_ACKNOWLEDGED, 11, False),
        (Status.STAGE2_ACKNOWLEDGED, 20, True),
        (Status.STAGE2_ACKNOWLEDGED, 21, False),
    ],
)
def test_extension_beyond_the_codes_limit_needs_good_reason_and_approval(
    stage_status: Status, days: int, allowed: bool
) -> None:
    state = STATE_IN[stage_status]()
    on = _latest(state)
    if allowed:
        new, _ = extend(state, days, "complex", "Alice", on, CAL)
        assert current_stage(new).extension_days == days
    else:
        provision = "6.4" if stage_status is Status.STAGE1_ACKNOWLEDGED else "6.15"
        with pytest.raises(TransitionRefused, match=provision):
            extend(state, days, "complex", "Alice", on, CAL)
        new, event = extend(
            state, days, "complex", "Alice", on, CAL, good_reason="expert report", approved_by="M"
        )
        assert current_stage(new).extension_days == days
        assert current_stage(new).good_reason == "expert report"
        assert current_stage(new).approved_by == "M"
        assert "approved by M" in event.why


@pytest.mark.parametrize(
    ("good_reason", "approved_by", "missing"),
    [
        ("expert report", "", "approval"),
        ("", "Manager", "good reason"),
        ("  ", "  ", "good reason and a manager's approval"),
    ],
)
def test_extension_beyond_the_limit_needs_both_good_reason_and_approval(
    good_reason: str, approved_by: str, missing: str
) -> None:
    with pytest.raises(TransitionRefused, match=missing):
        extend(
            _stage1_acknowledged(),
            11,
            "complex",
            "Alice",
            D(2026, 3, 10),
            CAL,
            good_reason=good_reason,
            approved_by=approved_by,
        )


def test_extensions_add_up_towards_the_limit() -> None:
    first, _ = extend(_stage1_acknowledged(), 6, "surveyor", "Alice", D(2026, 3, 10), CAL)
    with pytest.raises(TransitionRefused, match="11 working days in total"):
        extend(first, 5, "more delay", "Alice", D(2026, 3, 17), CAL)
    second, _ = extend(first, 4, "contractor", "Alice", D(2026, 3, 17), CAL)
    record = second.stage1
    assert record.extension_days == 10
    assert record.respond_by == D(2026, 3, 30)  # 16 March + 10 working days
    assert record.extension_reason == "surveyor; contractor"
    # the first notice is the one that had to precede the original date
    assert record.extension_notified == D(2026, 3, 10)


@pytest.mark.parametrize(
    ("on", "allowed"),
    [
        (D(2026, 3, 13), True),
        (D(2026, 3, 16), False),  # on the response date itself: not before it (SPEC section 4)
        (D(2026, 3, 17), False),  # the response is already late
    ],
)
def test_extension_must_be_notified_before_the_response_date(on: date, allowed: bool) -> None:
    state = _stage1_acknowledged()
    if allowed:
        assert extend(state, 3, "surveyor", "Alice", on, CAL)[0].stage1.extension_notified == on
    else:
        with pytest.raises(TransitionRefused, match="not before the response date 2026-03-16"):
            extend(state, 3, "surveyor", "Alice", on, CAL)


@pytest.mark.parametrize("days", [0, -1, True])
def test_extension_must_be_at_least_one_working_day(days: int) -> None:
    with pytest.raises(TransitionRefused, match="at least 1"):
        extend(_stage1_acknowledged(), days, "surveyor", "Alice", D(2026, 3, 10), CAL)


@pytest.mark.parametrize("reason", ["", "   "])
def test_extension_needs_a_reason(reason: str) -> None:
    with pytest.raises(TransitionRefused, match="reason"):
        extend(_stage1_acknowledged(), 3, reason, "Alice", D(2026, 3, 10), CAL)


def test_extension_before_the_acknowledgement_date_is_refused() -> None:
    state = acknowledge(_opened(), D(2026, 3, 4), CAL, SYSTEM_ACTOR)[0]
    with pytest.raises(TransitionRefused, match="before acknowledged"):
        extend(state, 3, "surveyor", "Alice", D(2026, 3, 3), CAL)


# ---------------------------------------------------------------------------------------------
# Responses (6.3, 6.13, 6.14)


@pytest.mark.parametrize("decision", DECISIONS)
def test_response_records_the_decision(decision: str) -> None:
    state, event = respond(_stage1_acknowledged(), D(2026, 3, 10), "Alice", decision)
    assert state.status is Status.STAGE1_RESPONDED
    assert state.stage1.responded == D(2026, 3, 10)
    assert state.stage1.decision == decision
    assert event.why == f"stage 1 response: {decision}"


@pytest.mark.parametrize("decision", ["", "rejected", "Upheld", "partly upheld"])
def test_response_with_an_unknown_decision_is_refused(decision: str) -> None:
    with pytest.raises(TransitionRefused, match="decision must be one of"):
        respond(_stage1_acknowledged(), D(2026, 3, 10), "Alice", decision)


def test_the_responder_becomes_the_handler_unless_one_was_assigned() -> None:
    assigned = assign(_stage1_acknowledged(), 1, "Alice", "Manager", D(2026, 3, 3))[0]
    assert respond(assigned, D(2026, 3, 10), "Manager", "upheld")[0].stage1.handler == "Alice"
    unassigned = respond(_stage1_acknowledged(), D(2026, 3, 10), "Carol", "upheld")[0]
    assert unassigned.stage1.handler == "Carol"


def test_a_late_response_is_recorded_and_said_to_be_late() -> None:
    state, event = respond(_stage1_acknowledged(), D(2026, 3, 20), "Alice", "upheld")
    assert state.stage1.responded == D(2026, 3, 20)
    assert "after the response date 2026-03-16" in event.why


@pytest.mark.parametrize("name", [STAGE1_HANDLER, "  alice   ABLE "])
def test_stage_1_handler_cannot_respond_at_stage_2(name: str) -> None:
    with pytest.raises(TransitionRefused, match="6.13"):
        respond(_stage2_acknowledged(), D(2026, 4, 1), name, "upheld")


def test_response_before_the_acknowledgement_is_refused() -> None:
    state = acknowledge(_opened(), D(2026, 3, 4), CAL, SYSTEM_ACTOR)[0]
    with pytest.raises(TransitionRefused, match="before acknowledged"):
        respond(state, D(2026, 3, 3), "Alice", "upheld")


# ---------------------------------------------------------------------------------------------
# Escalation (6.10-6.12, 5.3, 5.11)


def test_escalation_opens_stage_2_with_its_own_clock() -> None:
    state, event = request_escalation(_stage1_responded(), D(2026, 3, 12), CAL, "resident")
    assert state.status is Status.STAGE2_REQUESTED
    assert state.stage2 is not None
    assert state.stage2.stage == 2
    assert state.stage2.received == D(2026, 3, 12)
    assert state.stage2.acknowledge_by == D(2026, 3, 19)
    assert current_stage(state) is state.stage2
    assert state.stage1.decision == "not_upheld"  # stage 1 record kept
    assert "6.12" in event.why


def test_escalation_on_a_weekend_counts_from_monday() -> None:
    state, _ = request_escalation(_stage1_responded(), D(2026, 3, 14), CAL, "resident")
    assert state.stage2 is not None
    assert state.stage2.acknowledge_by == D(2026, 3, 23)  # Mon 16 is day 0


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (Status.STAGE1_OPEN, "6.8"),
        (Status.STAGE1_ACKNOWLEDGED, "6.10"),
        (Status.STAGE2_REQUESTED, "no stage 3"),
        (Status.STAGE2_ACKNOWLEDGED, "5.3"),
        (Status.STAGE2_RESPONDED, "5.3"),
        (Status.CLOSED, "5.3"),
        (Status.WITHDRAWN, "withdrawn"),
        (Status.REFUSED, "refused"),
    ],
)
def test_escalation_refusal_explains_why(status: Status, message: str) -> None:
    with pytest.raises(TransitionRefused, match=message):
        request_escalation(STATE_IN[status](), D(2026, 5, 1), CAL, "resident")


def test_a_case_closed_after_stage_1_can_still_be_escalated() -> None:
    closed = close(_stage1_responded(), "Manager", D(2026, 3, 11), "no reply")[0]
    state, event = request_escalation(closed, D(2026, 4, 20), CAL, "resident")
    assert state.status is Status.STAGE2_REQUESTED
    assert event.before is Status.CLOSED


def test_escalation_dated_before_the_stage_1_response_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="before the stage 1 response"):
        request_escalation(_stage1_responded(), D(2026, 3, 9), CAL, "resident")


# ---------------------------------------------------------------------------------------------
# Handlers (6.13)


def test_stage_2_cannot_be_assigned_to_the_stage_1_handler() -> None:
    with pytest.raises(TransitionRefused, match="6.13"):
        assign(_stage2_requested(), 2, " alice able", "Manager", D(2026, 3, 13))


def test_stage_2_can_be_assigned_to_someone_else() -> None:
    state, event = assign(_stage2_requested(), 2, STAGE2_HANDLER, "Manager", D(2026, 3, 13))
    assert state.stage2 is not None and state.stage2.handler == STAGE2_HANDLER
    assert state.stage1.handler == STAGE1_HANDLER
    assert (event.name, event.before, event.after) == (
        "assign",
        Status.STAGE2_REQUESTED,
        Status.STAGE2_REQUESTED,
    )


def test_reassigning_a_stage_names_the_previous_handler() -> None:
    first = assign(_opened(), 1, "Alice", "Manager", D(2026, 3, 3))[0]
    _, event = assign(first, 1, "Carol", "Manager", D(2026, 3, 4))
    assert event.why == "stage 1 assigned to Carol (was Alice)"


@pytest.mark.parametrize("stage", [0, 3])
def test_there_is_no_other_stage_to_assign(stage: int) -> None:
    with pytest.raises(TransitionRefused, match="5.2, 5.3"):
        assign(_opened(), stage, "Alice", "Manager", D(2026, 3, 3))


def test_stage_2_cannot_be_assigned_before_it_is_requested() -> None:
    with pytest.raises(TransitionRefused, match="not been requested"):
        assign(_stage1_acknowledged(), 2, "Bob", "Manager", D(2026, 3, 3))


def test_an_empty_handler_name_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="needs a name"):
        assign(_opened(), 1, "  ", "Manager", D(2026, 3, 3))


# ---------------------------------------------------------------------------------------------
# Closing and withdrawing


def test_close_after_the_stage_1_response() -> None:
    state, event = close(_stage1_responded(), "Manager", D(2026, 3, 11), "")
    assert state.status is Status.CLOSED
    assert event.why == "closed after response"
    assert next_deadline(state) is None


def test_close_dated_before_the_response_is_refused() -> None:
    with pytest.raises(TransitionRefused, match="before the response"):
        close(_stage1_responded(), "Manager", D(2026, 3, 9), "")


@pytest.mark.parametrize("why", ["", "  "])
def test_withdrawal_needs_a_record_of_how(why: str) -> None:
    with pytest.raises(TransitionRefused, match="5.12"):
        withdraw(_stage1_acknowledged(), "Alice", D(2026, 3, 4), why)


@pytest.mark.parametrize("by", ["", "   "])
def test_every_change_needs_an_actor(by: str) -> None:
    with pytest.raises(TransitionRefused, match="who did it"):
        withdraw(_stage1_acknowledged(), by, D(2026, 3, 4), "phoned")


# ---------------------------------------------------------------------------------------------
# Deadlines now and after a calendar change


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (Status.PENDING_TRIAGE, D(2026, 3, 9)),
        (Status.STAGE1_OPEN, D(2026, 3, 9)),
        (Status.STAGE1_ACKNOWLEDGED, D(2026, 3, 16)),
        (Status.STAGE1_RESPONDED, None),
        (Status.STAGE2_REQUESTED, D(2026, 3, 19)),
        (Status.STAGE2_ACKNOWLEDGED, D(2026, 4, 14)),
        (Status.STAGE2_RESPONDED, None),
        (Status.CLOSED, None),
        (Status.WITHDRAWN, None),
        (Status.REFUSED, None),
    ],
)
def test_next_deadline_is_the_date_being_worked_towards(
    status: Status, expected: date | None
) -> None:
    assert next_deadline(STATE_IN[status]()) == expected


def test_a_new_closure_day_moves_open_deadlines_and_says_so() -> None:
    state = _opened()
    closed = Calendar("england", closures=[D(2026, 3, 5)])
    new, changes = recompute_deadlines(state, closed)
    assert new.stage1.acknowledge_by == D(2026, 3, 10)
    assert new.stage1.respond_by == D(2026, 3, 17)
    assert state.stage1.acknowledge_by == D(2026, 3, 9)  # input untouched
    assert f"case {REF} stage 1 acknowledge_by: 2026-03-09 -> 2026-03-10 (calendar changed)" in (
        changes
    )
    assert any("respond_by: 2026-03-16 -> 2026-03-17" in change for change in changes)


def test_recompute_keeps_an_extension_and_a_met_acknowledgement_date() -> None:
    extended = extend(_stage1_acknowledged(), 5, "surveyor", "Alice", D(2026, 3, 10), CAL)[0]
    new, changes = recompute_deadlines(extended, Calendar(closures=[D(2026, 3, 2)]))
    # acknowledged, so acknowledge_by is history and stays
    assert new.stage1.acknowledge_by == D(2026, 3, 9)
    # Day 0 (the acknowledgement day) is now closed, so the count starts on Tuesday 3rd
    assert new.stage1.original_respond_by == D(2026, 3, 17)
    assert new.stage1.respond_by == D(2026, 3, 24)
    assert new.stage1.extension_days == 5
    assert len(changes) == 2


def test_recompute_with_an_unchanged_calendar_changes_nothing() -> None:
    state = _stage2_acknowledged()
    new, changes = recompute_deadlines(state, CAL)
    assert new == state
    assert changes == []


@pytest.mark.parametrize(
    "status", [Status.STAGE2_RESPONDED, Status.CLOSED, Status.WITHDRAWN, Status.REFUSED]
)
def test_recompute_leaves_answered_and_ended_cases_alone(status: Status) -> None:
    state = STATE_IN[status]()
    new, changes = recompute_deadlines(state, Calendar(closures=[D(2026, 3, 3), D(2026, 3, 16)]))
    assert new == state
    assert changes == []


def test_recompute_only_touches_the_open_stage() -> None:
    state = _stage2_requested()
    new, changes = recompute_deadlines(state, Calendar(closures=[D(2026, 3, 13)]))
    assert new.stage1 == state.stage1
    assert new.stage2 is not None and new.stage2.acknowledge_by == D(2026, 3, 20)
    assert all("stage 2" in change for change in changes)
