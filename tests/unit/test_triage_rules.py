"""The named triage rules: each exclusion rule and its near miss, with realistic wording."""

from __future__ import annotations

from datetime import date

import pytest

from worker.domain.triage_rules import (
    complaint_signals,
    court_claim_filed,
    escalation_requested,
    exclusion_proposals,
    insurance_claim_made,
    issue_older_than_12_months,
    legal_action_threatened,
    mail_safety_rule,
    new_text,
    previously_considered_matter,
    section20_consultation,
    statutory_notice_served,
    tribunal_or_external_appeal,
)

RECEIVED = date(2025, 8, 19)


# --- legal proceedings: filed vs threatened (Code 2.2) -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "We act for Ms Walsh. Proceedings have been issued in the County Court at Watford under "
        "claim number K4QZ8812 in respect of disrepair.",
        "Just so you know my disrepair claim has been filed with the court now, "
        "claim no. J7XK2291.",
        "The claim form and particulars of claim were filed at court on 20 March 2025.",
        "My solicitors have issued proceedings against Thrive.",
    ],
)
def test_a_claim_filed_at_court_is_proposed_as_legal_proceedings(text: str) -> None:
    hit = court_claim_filed(text)
    assert hit is not None
    assert (hit.label, hit.reason) == ("excluded", "legal_proceedings")
    assert hit.why


@pytest.mark.parametrize(
    "text",
    [
        "If it isn't sorted by the end of April I WILL be taking you to court.",
        "My solicitor is sending you a letter before claim about the leaking roof.",
        "I'm considering a housing disrepair claim if nothing happens.",
        "I'll be taking legal advice.",
    ],
)
def test_threatening_court_is_not_an_exclusion_but_a_complaint_signal(text: str) -> None:
    assert court_claim_filed(text) is None
    threat = legal_action_threatened(text)
    assert threat is not None and threat.label == "complaint"


# --- over 12 months (2.2, 2.3) --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "18 months ago I was moved out for 6 weeks while my kitchen was done. I want £240 back.",
        "In February 2024 your contractors damaged my garden fence. I'd like it replaced.",
        "back in 2022 i was charged for a new door when i moved out, want my money back",
        "On 12/01/2024 I was charged twice for my rent.",
        "A couple of years ago a housing officer made comments about my religion.",
        "In the summer of 2023 the window fitters broke my blinds.",
    ],
)
def test_an_issue_certainly_older_than_12_months_is_proposed(text: str) -> None:
    hit = issue_older_than_12_months(text, RECEIVED)
    assert hit is not None
    assert hit.reason == "over_12_months"
    assert RECEIVED.isoformat() in hit.why


@pytest.mark.parametrize(
    "text",
    [
        # ongoing issues that started long ago (2.3)
        "18 months ago you replaced my kitchen and the tiles have been lifting ever since. It is "
        "still not fixed.",
        "Since March 2024 the boiler keeps cutting out.",
        "The damp started in 2023 and continues to this day.",
        # became aware only recently (2.3)
        "I only just found out that back in 2022 you charged me for a new door.",
        # recent contact mentioned
        "It happened in January 2024 but the same thing happened again last week.",
        # not certainly older than 12 months
        "Last year the roof leaked and ruined my carpet.",
        "In September 2024 the operative was rude to me.",
    ],
)
def test_ongoing_recent_or_uncertain_dates_are_not_excluded(text: str) -> None:
    assert issue_older_than_12_months(text, RECEIVED) is None


def test_the_age_is_counted_from_the_received_date_not_today() -> None:
    text = "In March 2024 the operative was rude to me."
    assert issue_older_than_12_months(text, date(2025, 6, 1)) is not None
    assert issue_older_than_12_months(text, date(2024, 12, 1)) is None


# --- other exclusions ----------------------------------------------------------------------------


def test_statutory_notice_vs_resident_calling_environmental_health() -> None:
    served = (
        "Please find enclosed an Improvement Notice served under section 11 of the Housing Act "
        "2004 in respect of a Category 1 hazard at 5 Gadebridge Lane."
    )
    hit = statutory_notice_served(served)
    assert hit is not None and hit.reason == "statutory_notice"
    threat = "I've given up waiting so I've called environmental health and they're coming."
    assert statutory_notice_served(threat) is None


def test_tribunal_application_vs_dispute_about_a_charge() -> None:
    applied = (
        "I have applied to the First-tier Tribunal (Property Chamber) about my service charges."
    )
    hit = tribunal_or_external_appeal(applied)
    assert hit is not None and hit.reason == "external_appeal_or_tribunal"
    dispute = "The service charge has £340 for window cleaning that never happened. Remove it."
    assert tribunal_or_external_appeal(dispute) is None


def test_insurance_claim_vs_compensation_for_neglect() -> None:
    claim = "Please tell me how to claim on your buildings insurance for my car windscreen."
    hit = insurance_claim_made(claim)
    assert hit is not None and hit.reason == "insurance_claim"
    complaint = "Your contractor flooded my kitchen and I want compensation for the damage."
    assert insurance_claim_made(complaint) is None


def test_section20_observations_vs_service_charge_complaint() -> None:
    obs = "Thank you for the notice of intention for the roof. My observations are as follows."
    hit = section20_consultation(obs)
    assert hit is not None and hit.reason == "leaseholder_consultation"
    complaint = "I've asked three times for the breakdown of my service charge and had no reply."
    assert section20_consultation(complaint) is None


def test_previously_considered_vs_escalation_request() -> None:
    again = (
        "I know you gave your stage 2 final response in April and the Ombudsman said they "
        "wouldn't take it further, but I want it investigated again from the start."
    )
    hit = previously_considered_matter(again)
    assert hit is not None and hit.reason == "previously_considered"
    escalate = "I got your stage 1 response last week and I don't agree. Please escalate."
    assert previously_considered_matter(escalate) is None
    assert escalation_requested(escalate) is not None


def test_exclusion_proposals_lists_every_rule_that_fired_with_its_reason() -> None:
    text = "Proceedings were issued under claim number K4QZ8812. Back in 2022 the kitchen flooded."
    reasons = [h.reason for h in exclusion_proposals(text, RECEIVED)]
    assert reasons == ["legal_proceedings", "over_12_months"]


def test_complaint_signals_find_dissatisfaction_in_plain_and_limited_english() -> None:
    assert complaint_signals("Nobody has come and I'm fed up.")
    assert complaint_signals("I report 1 month ago, engineer never come.")
    assert not complaint_signals("Could someone come and look at my tap please?")


# --- quoted text ---------------------------------------------------------------------------------


def test_quoted_landlord_text_is_dropped_from_the_new_text() -> None:
    body = (
        "Thursday is fine, thank you.\n\n-----Original Message-----\nFrom: Thrive\n\n"
        "If you are unhappy you can make a complaint."
    )
    assert new_text(body) == "Thursday is fine, thank you."
    body2 = "Still nothing.\n\nOn Fri, 3 Oct 2025 at 16:02, Thrive <c@t.org> wrote:\n> complaint"
    assert new_text(body2) == "Still nothing."
    assert new_text("> quoted\nmine") == "mine"


# --- mail safety ---------------------------------------------------------------------------------


def test_mail_safety_rule_marks_auto_replies_and_keeps_resident_words_for_review() -> None:
    hit, words = mail_safety_rule(
        {"Auto-Submitted": "auto-replied", "Subject": "Automatic reply: Your complaint"},
        "resident@example.com",
        body="I am away until 1 September. PS my damp is STILL not sorted after 3 months.",
    )
    assert hit is not None
    assert (hit.label, hit.reason) == ("not_resident_mail", "auto_reply")
    assert isinstance(words, bool)


def test_mail_safety_rule_marks_bounces_and_bulk() -> None:
    bounce, _ = mail_safety_rule(
        {"Content-Type": "multipart/report; report-type=delivery-status"},
        "MAILER-DAEMON@mx.example.net",
        return_path="<>",
    )
    assert bounce is not None and bounce.reason == "bounce"
    bulk, _ = mail_safety_rule(
        {"List-Unsubscribe": "<mailto:u@x.org>", "Precedence": "bulk"}, "news@x.org"
    )
    assert bulk is not None and bulk.reason == "bulk"


def test_ordinary_resident_mail_is_not_automatic() -> None:
    hit, words = mail_safety_rule({}, "kelly@example.com", body="My sink is leaking.")
    assert hit is None and words is False
