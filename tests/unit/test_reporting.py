"""The figures of SPEC section 8 (CH01, CH02, the annual and MRC reports), from hand-made facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from worker.domain import reporting as rp
from worker.domain.reporting import ReportingYear, StageFacts
from worker.domain.working_days import Calendar

D = date
Y2026 = ReportingYear(2026)
JUNE_1 = D(2026, 6, 1)
JUNE_15 = D(2026, 6, 15)


def stage(ref: str = "CMP-1", n: int = 1, received: date = JUNE_1, **kw: object) -> StageFacts:
    return StageFacts(case_ref=ref, stage=n, received=received, **kw)  # type: ignore[arg-type]


def responded(
    ref: str = "CMP-1",
    n: int = 1,
    *,
    respond_by: date = JUNE_15,
    on: date = JUNE_15,
    decision: str = "upheld",
    **kw: object,
) -> StageFacts:
    values: dict[str, object] = {
        "acknowledged": D(2026, 6, 1),
        "acknowledge_by": D(2026, 6, 8),
        "respond_by": respond_by,
        "responded": on,
        "decision": decision,
        "case_status": f"stage{n}_responded",
        "has_stage2": n == 2,
    }
    values.update(kw)
    return stage(ref, n, **values)  # type: ignore[arg-type]


# -- the reporting year ---------------------------------------------------------------------------


def test_reporting_year_is_the_uk_financial_year() -> None:
    assert Y2026.start == D(2026, 4, 1)
    assert Y2026.end == D(2027, 3, 31)
    assert Y2026.label == "2026-27"
    assert ReportingYear(1999).label == "1999-00"


@pytest.mark.parametrize(
    ("day", "inside"),
    [
        (D(2026, 3, 31), False),
        (D(2026, 4, 1), True),
        (D(2026, 12, 31), True),
        (D(2027, 3, 31), True),
        (D(2027, 4, 1), False),
        (None, False),
    ],
)
def test_reporting_year_boundaries(day: date | None, inside: bool) -> None:
    assert Y2026.contains(day) is inside


def test_reporting_year_containing_a_day() -> None:
    assert ReportingYear.containing(D(2027, 3, 31)) == Y2026
    assert ReportingYear.containing(D(2026, 4, 1)) == Y2026
    assert ReportingYear.containing(D(2026, 3, 31)) == ReportingYear(2025)


def test_reporting_year_months_run_april_to_march() -> None:
    months = Y2026.months()
    assert len(months) == 12
    assert months[0] == (2026, 4)
    assert months[8] == (2026, 12)
    assert months[9] == (2027, 1)
    assert months[-1] == (2027, 3)


# -- what counts as a complaint -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "status", "has_stage2", "counts"),
    [
        (1, "stage1_open", False, True),
        (1, "withdrawn", False, True),
        (1, "closed", False, True),
        (1, "pending_triage", False, False),
        (1, "refused", False, False),  # an exclusion confirmed by staff
        (1, "refused", True, True),  # refused at stage 2: stage 1 stands
        (2, "refused", True, False),  # a refusal to escalate (5.11)
        (2, "stage2_requested", True, True),
    ],
)
def test_is_complaint(n: int, status: str, has_stage2: bool, counts: bool) -> None:
    assert rp.is_complaint(stage(n=n, case_status=status, has_stage2=has_stage2)) is counts


# -- CH01 -------------------------------------------------------------------------------------


def test_ch01_counts_complaints_received_in_the_year_per_1000_homes() -> None:
    stages = [
        stage("A", received=D(2026, 4, 1)),
        stage("B", received=D(2027, 3, 31), case_status="withdrawn"),
        stage("C", received=D(2026, 7, 1), case_status="closed", has_stage2=True),
        stage("C", 2, received=D(2026, 8, 3), case_status="closed", has_stage2=True),
        stage("D", received=D(2026, 3, 31)),  # the year before
        stage("E", received=D(2027, 4, 1)),  # the year after
        stage("F", case_status="pending_triage"),  # not yet accepted
        stage("G", case_status="refused"),  # exclusion confirmed
        stage("H", case_status="refused", has_stage2=True),
        stage("H", 2, received=D(2026, 9, 1), case_status="refused", has_stage2=True),
        # a stage 2 in this year whose stage 1 was in the year before
        stage("I", received=D(2026, 3, 2), case_status="stage2_requested", has_stage2=True),
        stage("I", 2, received=D(2026, 4, 20), case_status="stage2_requested", has_stage2=True),
    ]
    result = rp.ch01(stages, Y2026, 4000)
    assert (result.stage1_count, result.stage2_count) == (4, 2)  # A B C H ; C I
    assert result.stage1_per_1000 == 1.0
    assert result.stage2_per_1000 == 0.5
    assert result.year == "2026-27"
    assert result.note == ""


def test_ch01_rounds_to_two_decimal_places() -> None:
    result = rp.ch01([stage()], Y2026, 3000)
    assert result.stage1_per_1000 == 0.33
    assert result.stage2_per_1000 == 0.0


@pytest.mark.parametrize("homes", [0, -5])
def test_ch01_without_homes_is_null_with_a_note(homes: int) -> None:
    result = rp.ch01([stage()], Y2026, homes)
    assert result.stage1_count == 1
    assert result.stage1_per_1000 is None
    assert result.stage2_per_1000 is None
    assert "homes_owned" in result.note


# -- CH02: one stage at a time -------------------------------------------------------------------


def test_response_on_the_response_date_is_within_timescale() -> None:
    t = rp.response_timeliness(responded(on=D(2026, 6, 15)))
    assert t.within is True
    assert t.deadline == D(2026, 6, 15)


def test_response_a_day_late_is_outside_timescale() -> None:
    t = rp.response_timeliness(responded(on=D(2026, 6, 16)))
    assert t.within is False
    assert "late" in t.why


def _extended(**kw: object) -> StageFacts:
    values: dict[str, object] = {
        "original_respond_by": D(2026, 6, 15),
        "respond_by": D(2026, 6, 29),
        "extension_days": 10,
        "extension_notified": D(2026, 6, 10),
        "on": D(2026, 6, 26),
    }
    values.update(kw)
    return responded(**values)  # type: ignore[arg-type]


def test_proper_extension_moves_the_date() -> None:
    t = rp.response_timeliness(_extended())
    assert t.within is True
    assert t.extension_counted is True
    assert t.deadline == D(2026, 6, 29)


def test_extension_notified_on_the_original_date_is_ignored() -> None:
    # SPEC section 4: the notice must come before the original response date; the state machine
    # refuses one on the day itself, and the report does not count it either.
    t = rp.response_timeliness(_extended(extension_notified=D(2026, 6, 15)))
    assert t.extension_counted is False


def test_extension_notified_the_day_before_the_original_date_counts() -> None:
    assert rp.response_timeliness(_extended(extension_notified=D(2026, 6, 12))).within is True


def test_extension_notified_after_the_original_date_is_ignored() -> None:
    t = rp.response_timeliness(_extended(extension_notified=D(2026, 6, 16)))
    assert t.within is False
    assert t.extension_counted is False
    assert t.deadline == D(2026, 6, 15)
    assert "not before the original response date" in t.why


def test_extension_never_notified_is_ignored() -> None:
    t = rp.response_timeliness(_extended(extension_notified=None))
    assert (t.within, t.extension_counted) == (False, False)


def test_stage1_extension_beyond_10_days_needs_good_reason_and_approval() -> None:
    beyond = {"extension_days": 15, "respond_by": D(2026, 7, 6), "on": D(2026, 7, 3)}
    assert rp.response_timeliness(_extended(**beyond)).within is False
    assert rp.response_timeliness(_extended(**beyond, good_reason="surveyor")).within is False
    assert rp.response_timeliness(_extended(**beyond, approved_by="Manager")).within is False
    approved = _extended(**beyond, good_reason="specialist survey", approved_by="A Manager")
    t = rp.response_timeliness(approved)
    assert (t.within, t.extension_counted, t.deadline) == (True, True, D(2026, 7, 6))


def test_stage2_extension_of_20_days_is_within_the_limit() -> None:
    s = responded(
        n=2,
        original_respond_by=D(2026, 6, 29),
        respond_by=D(2026, 7, 27),
        extension_days=20,
        extension_notified=D(2026, 6, 22),
        on=D(2026, 7, 27),
    )
    assert rp.response_timeliness(s).within is True
    assert rp.response_timeliness(replace(s, extension_days=21)).within is False


def test_an_improper_extension_still_passes_if_the_original_date_was_met() -> None:
    s = _extended(extension_notified=D(2026, 6, 20), on=D(2026, 6, 12))
    assert rp.response_timeliness(s).within is True


def test_no_recorded_response_date_counts_as_outside() -> None:
    t = rp.response_timeliness(responded(respond_by=None))  # type: ignore[arg-type]
    assert t.within is False
    assert t.deadline is None


def test_not_responded_is_not_within() -> None:
    assert rp.response_timeliness(stage()).within is False


# -- CH02: the year --------------------------------------------------------------------------


def test_ch02_counts_responses_sent_in_the_year() -> None:
    stages = [
        responded("A"),  # on time
        responded("B", on=D(2026, 6, 16)),  # late
        responded("C", on=D(2026, 6, 10)),  # early
        # received last year, responded this year: counts (responses made in the year)
        responded("D", received=D(2026, 3, 20), respond_by=D(2026, 4, 7), on=D(2026, 4, 7)),
        # responded last year: not this year's
        responded("E", received=D(2026, 3, 2), respond_by=D(2026, 3, 16), on=D(2026, 3, 16)),
        stage("F"),  # not responded yet
        responded("G", n=2, respond_by=D(2026, 7, 1), on=D(2026, 7, 2)),  # late stage 2
        responded("H", n=2, respond_by=D(2026, 7, 1), on=D(2026, 7, 1)),
        # an escalation refused (5.11) is not a stage 2 complaint
        responded("I", n=2, respond_by=D(2026, 7, 1), on=D(2026, 7, 1), case_status="refused"),
    ]
    result = rp.ch02(stages, Y2026)
    assert (result.stage1_responded, result.stage1_within) == (4, 3)
    assert result.stage1_share == 0.75
    assert (result.stage2_responded, result.stage2_within) == (2, 1)
    assert result.stage2_share == 0.5


def test_ch02_share_is_a_fraction_to_four_places_and_none_without_responses() -> None:
    stages = [responded("A"), responded("B"), responded("C", on=D(2026, 6, 20))]
    result = rp.ch02(stages, Y2026)
    assert result.stage1_share == 0.6667
    assert result.stage2_share is None
    assert rp.ch02([], Y2026).stage1_share is None


# -- volumes, categories, outcomes, refusals -----------------------------------------------------


def test_volumes_by_month_lists_all_twelve_months() -> None:
    stages = [
        stage("A", received=D(2026, 4, 30)),
        stage("B", received=D(2026, 4, 1)),
        stage("C", received=D(2027, 3, 31), has_stage2=True, case_status="stage2_requested"),
        stage("C", 2, received=D(2027, 3, 31), case_status="stage2_requested", has_stage2=True),
        stage("D", received=D(2026, 5, 5), case_status="pending_triage"),
        stage("E", received=D(2027, 4, 1)),
    ]
    months = rp.volumes_by_month(stages, Y2026)
    assert [m.label for m in months][:2] == ["Apr 2026", "May 2026"]
    assert months[-1].label == "Mar 2027"
    assert (months[0].stage1, months[0].stage2) == (2, 0)
    assert (months[1].stage1, months[1].stage2) == (0, 0)
    assert (months[-1].stage1, months[-1].stage2) == (1, 1)
    assert sum(m.stage1 + m.stage2 for m in months) == 4


def test_count_by_is_largest_first_then_alphabetical() -> None:
    assert rp.count_by(["b", "a", "c", "c", "a"]) == [("a", 2), ("c", 2), ("b", 1)]
    assert rp.count_by([]) == []


def test_outcomes_list_every_decision_of_responses_in_the_year() -> None:
    stages = [
        responded("A", decision="upheld"),
        responded("B", decision="upheld"),
        responded("C", decision="not_upheld"),
        responded("D", decision="partly_upheld", on=D(2027, 4, 1)),  # next year
        responded("E", n=2, decision="partly_upheld"),
    ]
    assert rp.outcomes(stages, Y2026, 1) == {"upheld": 2, "partly_upheld": 0, "not_upheld": 1}
    assert rp.outcomes(stages, Y2026, 2) == {"upheld": 0, "partly_upheld": 1, "not_upheld": 0}


def test_outcomes_keep_an_unexpected_decision_visible() -> None:
    result = rp.outcomes([responded(decision="")], Y2026, 1)
    assert result["not recorded"] == 1


def test_refused_types_count_refusals_decided_in_the_year() -> None:
    refusals = [
        rp.Refusal("A", 1, "legal_proceedings", D(2026, 5, 1)),
        rp.Refusal("B", 1, "over_12_months", D(2026, 6, 1)),
        rp.Refusal("C", 1, "over_12_months", D(2026, 7, 1)),
        rp.Refusal("D", 1, "insurance_claim", D(2026, 3, 31)),  # last year
        rp.Refusal("E", 1, "", D(2026, 7, 1)),
    ]
    assert rp.refused_types(refusals, Y2026) == [
        ("over_12_months", 2),
        ("legal_proceedings", 1),
        ("not recorded", 1),
    ]


def test_acknowledgement_timeliness() -> None:
    stages = [
        stage("A", acknowledged=D(2026, 6, 8), acknowledge_by=D(2026, 6, 8)),
        stage("B", acknowledged=D(2026, 6, 1), acknowledge_by=D(2026, 6, 8)),
        stage("C", acknowledged=D(2026, 6, 9), acknowledge_by=D(2026, 6, 8)),
        stage("D", acknowledge_by=D(2026, 6, 8)),
        stage("E", acknowledge_by=D(2026, 6, 8), case_status="pending_triage"),
        stage("F", 2, acknowledged=D(2026, 6, 9), acknowledge_by=D(2026, 6, 8)),
    ]
    all_stages = rp.acknowledgement_timeliness(stages, Y2026)
    assert (all_stages.on_time, all_stages.late, all_stages.not_yet) == (2, 2, 1)
    assert all_stages.share_on_time == 0.5
    first = rp.acknowledgement_timeliness(stages, Y2026, stage=1)
    assert (first.on_time, first.late, first.not_yet) == (2, 1, 1)
    assert rp.acknowledgement_timeliness([], Y2026).share_on_time is None


def test_remedies_total_counts_money_offered_in_the_year() -> None:
    remedies = [
        rp.Remedy("A", 1, D(2026, 6, 15), 15000),
        rp.Remedy("B", 1, D(2026, 7, 1), 2550),
        rp.Remedy("C", 1, D(2026, 7, 1), None),  # an apology, say
        rp.Remedy("D", 1, D(2026, 3, 31), 99900),  # last year
        rp.Remedy("E", 1, None, 100),  # never offered in a response
    ]
    assert rp.remedies_total_pence(remedies, Y2026) == (17550, 2, 1)


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (0, "£0.00"),
        (5, "£0.05"),
        (17550, "£175.50"),
        (123456789, "£1,234,567.89"),
        (-250, "-£2.50"),
    ],
)
def test_format_pounds(pence: int, text: str) -> None:
    assert rp.format_pounds(pence) == text


# -- open cases --------------------------------------------------------------------------------


def test_open_cases_by_deadline_status() -> None:
    cal = Calendar("england")
    today = D(2026, 6, 10)  # a Wednesday
    stages = [
        stage("A", acknowledge_by=D(2026, 6, 9)),  # overdue acknowledgement
        stage("B", acknowledge_by=D(2026, 6, 12), case_status="pending_triage"),  # due soon
        stage(
            "C",
            acknowledged=D(2026, 6, 2),
            respond_by=D(2026, 6, 30),
            case_status="stage1_acknowledged",
        ),
        responded("D"),  # responded: nothing due
        stage("E", acknowledge_by=D(2026, 6, 1), case_status="closed"),
        stage("F", acknowledge_by=D(2026, 6, 1), case_status="refused"),
        # stage 2 is the current stage: its date, not stage 1's
        responded("G", case_status="stage2_requested", has_stage2=True),
        stage("G", 2, acknowledge_by=D(2026, 6, 10), case_status="stage2_requested"),
    ]
    result = rp.open_cases(stages, today, cal)
    assert [(c.case_ref, c.stage, c.due, c.status) for c in result] == [
        ("A", 1, "acknowledge", "overdue"),
        ("G", 2, "acknowledge", "due_soon"),
        ("B", 1, "acknowledge", "due_soon"),
        ("C", 1, "respond", "on_track"),
    ]
    assert rp.open_case_counts(result) == {"on_track": 1, "due_soon": 2, "overdue": 1}


# -- categories ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Black mould in the bedroom and the repair never came", "Damp and mould"),
        ("The boiler has been broken for weeks", "Repairs"),
        ("My rent statement is wrong", "Rent, service charges and money"),
        ("My parent was spoken to rudely", "Staff conduct and communication"),
        ("Fire door on the landing does not close", "Building safety"),
        ("Nobody dealt with the ASB next door", "Anti-social behaviour handling"),
        ("Something else entirely", "Other"),
        ("", "Other"),
    ],
)
def test_categorise(text: str, category: str) -> None:
    assert rp.categorise(text) == category
