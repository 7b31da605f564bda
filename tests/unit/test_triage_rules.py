"""The named triage rules: each exclusion rule and its near miss, with realistic wording."""

from __future__ import annotations

from datetime import date

import pytest

from worker.domain.triage_rules import (
    complaint_in_survey_reply,
    complaint_signals,
    court_claim_filed,
    dissatisfied_with_service,
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
    survey_reply,
    tribunal_or_external_appeal,
    wish_to_complain,
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


def test_nobody_answering_a_neighbours_door_is_not_dissatisfaction_with_us() -> None:
    # The sample mailbox's first report of a leak: the resident could not raise the neighbour.
    neighbour = (
        "Water is dripping through the ceiling in my hallway at 9 Beechwood House, near the "
        "light. It started this morning. I think it's coming from the flat above (no. 13) but "
        "nobody answers the door there. I've put a bucket under it."
    )
    assert dissatisfied_with_service(neighbour) is None
    assert complaint_signals(neighbour) == []
    # ...while nobody answering our phone is (1.2), even in the same message.
    for ours in (
        "I've rung the repairs line four times today and nobody answers.",
        "Nobody answers the phone at your contact centre.",
        neighbour + " I rang your out-of-hours number twice and nobody answered.",
    ):
        hit = dissatisfied_with_service(ours)
        assert hit is not None and "nobody answer" in hit.why.lower(), ours


# --- an explicit wish to complain (1.3) ----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I want to make a complaint. My kitchen tap has been dripping since the weekend.",
        "I wish to complain about the state of the path leading to my front door.",
        "This is a formal complaint about the communal bins at Elm Court.",
        "Hi, I'd like to make a formal complaint please.",
        "Hi I would like to put in a complaint - part of the kitchen ceiling came down.",
        "I am writing to complain about the gardening contractor.",
        "Please treat this email as a formal complaint.",
        "I\u2019d like to complain about my neighbour\u2019s fence that you put up.",
    ],
)
def test_an_explicit_wish_to_complain_is_recognised_with_its_words(text: str) -> None:
    hit = wish_to_complain(text)
    assert hit is not None
    assert hit.name == "wish_to_complain"
    assert "complain" in hit.why


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to make a complaint but my kitchen tap has been dripping since Saturday.",
        "I do not wish to complain, I just need the light in the hall fixing.",
        "This is not a complaint, just a request for a new key fob.",
        "I'm not sure whether I want to make a complaint yet, can someone ring me?",
        "If it isn't fixed by Friday I want to make a complaint.",
        "Could you tell me how to make a complaint about my neighbour's dog?",
        "My neighbour says she is going to complain about my music.",
    ],
)
def test_no_wish_to_complain_without_saying_so(text: str) -> None:
    assert wish_to_complain(text) is None


# --- survey replies (1.6) ------------------------------------------------------------------------

SURVEY_QUOTE = (
    "\n\nOn Thu, 12 Nov 2026 at 10:00, Thrive Homes <feedback@thrivehomes.org.uk> wrote:\n"
    "> How did we do? Please reply with a score from 1 to 10 for your recent\n"
    "> repair (job 448812, replace bathroom light fitting, 3 November 2026)."
)


def test_a_reply_quoting_our_survey_is_survey_feedback() -> None:
    own = "Fine thanks. The electrician tidied up after himself.\n\nPauline"
    hit = survey_reply("Re: Your repair\n" + own, own + SURVEY_QUOTE)
    assert hit is not None
    assert (hit.label, hit.reason) == ("excluded", "survey_feedback")
    assert "How did we do" in hit.why
    # Near miss: the same words without the quoted survey are not a survey reply.
    assert survey_reply("Re: Your repair\n" + own) is None


def test_a_score_under_a_survey_subject_is_survey_feedback() -> None:
    text = (
        "Re: How did we do? Your repair on 3 November\n8 out of 10.\n\nThe electrician was "
        "polite. Would have been a 10 if he had come in the morning slot like I was told."
    )
    hit = survey_reply(text)
    assert hit is not None and hit.reason == "survey_feedback"
    assert "8 out of 10" in hit.why
    assert survey_reply("Re: How was your recent repair? Reply with a score 1-5\n2") is not None


@pytest.mark.parametrize(
    "text",
    [
        "Re: Job 448812\n9/10 thanks",
        "Re: repair\nScore 3. Late.",
        "Re: visit\nI'd give it 7 out of 10, bit late",
        "Re: your visit\n4 stars",
    ],
)
def test_a_bare_score_reply_is_survey_feedback(text: str) -> None:
    hit = survey_reply(text)
    assert hit is not None and "bare score" in hit.why


@pytest.mark.parametrize(
    "text",
    [
        # counts and dates are not scores
        "Boiler\n8 out of 10 times the boiler cuts out when I run a bath. Can someone look?",
        "Rent\nI paid on 3/10/2026 and it isn't on my account.",
        # a damp survey is not our satisfaction survey
        "Mould\nThe damp survey in July said the extractor fan needed replacing. Still waiting.",
        # a long message that only starts with a score-like line
        "Re: repair\n9/10 of the flats in this block have had new windows except mine. "
        + "I have asked for them for years and been told I'm next on the list every time. " * 5,
    ],
)
def test_not_a_survey_reply(text: str) -> None:
    assert survey_reply(text) is None


def test_a_survey_reply_that_complains_beyond_its_rating() -> None:
    # The rating scale's own words are the rating, which 1.6 says is not a complaint.
    assert complaint_in_survey_reply("How satisfied were you? 1 - Very dissatisfied") is None
    assert complaint_in_survey_reply("No I was not happy with the cleaning. 4/10.") is None
    assert complaint_in_survey_reply("6 out of 10, the man was a bit late.") is None
    # A wish to complain, a failure in plain words, an escalation: a complaint for a person.
    wish = complaint_in_survey_reply("2/10. I want to make a formal complaint about the fan.")
    assert wish is not None and wish.name == "wish_to_complain"
    failure = complaint_in_survey_reply("1/10. Very dissatisfied. Nobody turned up on Thursday.")
    assert failure is not None and failure.name == "dissatisfied_with_service"
    assert "Nobody turned up" in failure.why
    assert complaint_in_survey_reply("3/10 and please escalate my open complaint.") is not None


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
