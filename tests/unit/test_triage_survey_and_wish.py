"""Triage of survey replies (Code 1.6) and of an explicit wish to complain (1.3, 1.4), end to end
through the shipped model and the named rules, with realistic near-miss pairs."""

from __future__ import annotations

from datetime import date

import pytest

from classifiers.triage import TriageInput, Triager, decide

RECEIVED = date(2026, 3, 10)

SURVEY_QUOTE = (
    "\n\nOn Mon, 9 Mar 2026 at 10:00, Thrive Homes <feedback@thrivehomes.org.uk> wrote:\n"
    "> How did we do? Please reply with a score from 1 to 10 for your recent\n"
    "> repair (job 451207, renew kitchen extractor fan)."
)


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


def item(body: str, subject: str, *, full_text: str = "") -> TriageInput:
    return TriageInput(
        id="t1", subject=subject, body=body, from_addr="debbie.cole@example.com",
        received=RECEIVED, channel="email", full_text=full_text,
    )  # fmt: skip


def has_rule(reasons: tuple[str, ...], name: str) -> bool:
    return any(name in r for r in reasons)


# --- survey replies (1.6) ------------------------------------------------------------------------


def test_a_scored_survey_reply_with_mild_criticism_is_survey_feedback_for_review(
    triager: Triager,
) -> None:
    own = (
        "7 out of 10. The fan works fine now but the operative left dust all over the worktop."
        "\n\nDebbie"
    )
    # As the pipeline passes it: new words as the body, the whole message as full_text.
    result = triager.triage(item(own, "Re: Your feedback please", full_text=own + SURVEY_QUOTE))
    assert (result.label, result.reason) == ("excluded", "survey_feedback"), result.reasons
    assert result.needs_review is True
    assert result.automatic_letter == "receipt"
    assert has_rule(result.reasons, "rule survey_reply")
    # As the JSONL input gives it: the whole body, quote included.
    whole = triager.triage(item(own + SURVEY_QUOTE, "Re: Your feedback please"))
    assert (whole.label, whole.reason) == ("excluded", "survey_feedback")


def test_the_quoted_survey_alone_shows_it_is_a_survey_reply(triager: Triager) -> None:
    own = "The fan works fine now but the operative left dust all over the worktop.\n\nDebbie"
    with_quote = triager.triage(item(own, "Re: Your feedback please", full_text=own + SURVEY_QUOTE))
    assert (with_quote.label, with_quote.reason) == ("excluded", "survey_feedback")
    assert any("How did we do" in r for r in with_quote.reasons)
    # Near miss: without the quoted survey nothing says this is a survey answer.
    without = triager.triage(item(own, "Re: Your feedback please"))
    assert not has_rule(without.reasons, "survey_reply")


def test_a_survey_reply_with_a_real_complaint_in_it_is_a_complaint_for_review(
    triager: Triager,
) -> None:
    own = (
        "2 out of 10. This is the third time the fan has been 'fixed' and it has stopped again. "
        "Nobody turned up on Thursday for the follow-up visit. I want to make a formal complaint."
    )
    result = triager.triage(item(own, "Re: Your feedback please", full_text=own + SURVEY_QUOTE))
    assert (result.label, result.reason) == ("complaint", ""), result.reasons
    assert result.needs_review is True
    assert has_rule(result.reasons, "noted survey_reply")
    assert has_rule(result.reasons, "rule wish_to_complain")


def test_a_bare_score_reply_is_survey_feedback(triager: Triager) -> None:
    result = triager.triage(item("9/10 thanks, lovely chap", "Re: Job 451207"))
    assert (result.label, result.reason) == ("excluded", "survey_feedback"), result.reasons
    assert result.needs_review is True


def test_a_count_is_not_a_score(triager: Triager) -> None:
    body = "8 out of 10 times the boiler cuts out when I run a bath. Can an engineer look at it?"
    result = triager.triage(item(body, "Boiler"))
    assert result.label == "service_request"
    assert not has_rule(result.reasons, "survey_reply")


# --- an explicit wish to complain on a first request (1.3, 1.4) ---------------------------------

TAP = (
    "My bathroom tap has been dripping for a few days now. Could someone come and have a look "
    "please? I'm in most mornings.\n\nThanks, Gail"
)


def test_a_first_request_with_a_wish_to_complain_is_a_service_request_for_review(
    triager: Triager,
) -> None:
    result = triager.triage(item("I want to make a complaint. " + TAP, "Dripping tap"))
    assert (result.label, result.reason) == ("service_request", "")
    assert result.needs_review is True
    assert result.automatic_letter == "receipt"
    assert has_rule(result.reasons, "rule wish_to_complain")
    assert any("Code 1.3" in r for r in result.reasons)


def test_i_dont_want_to_make_a_complaint_is_not_a_wish_to_complain(triager: Triager) -> None:
    result = triager.triage(item("I don't want to make a complaint but " + TAP, "Dripping tap"))
    assert result.label == "service_request"
    assert result.needs_review is False
    assert not has_rule(result.reasons, "wish_to_complain")


def test_a_wish_to_complain_never_lowers_a_complaint(triager: Triager) -> None:
    body = (
        "I wish to complain. I reported the dripping tap three weeks ago, two appointments were "
        "missed and nobody has called me back. It is still not fixed."
    )
    result = triager.triage(item(body, "Complaint"))
    assert result.label == "complaint"
    assert not any("the choice is theirs" in r for r in result.reasons)


# --- a first repair report that mentions an unanswered door --------------------------------------


def test_a_neighbours_unanswered_door_does_not_make_a_first_report_a_complaint(
    triager: Triager,
) -> None:
    body = (
        "Hi, water is coming through my bathroom ceiling from the flat upstairs. I've knocked but "
        "nobody answers the door. Can someone come out today please?\n\nKeith"
    )
    result = triager.triage(item(body, "Leak from upstairs"))
    assert result.label == "service_request", result.reasons
    assert not has_rule(result.reasons, "dissatisfied_with_service")
    ours = (
        "Water is coming through my bathroom ceiling. I've rung your repairs line four times "
        "today and nobody answers."
    )
    assert triager.triage(item(ours, "Leak")).label == "complaint"


def test_the_ratings_own_words_do_not_turn_survey_feedback_into_a_complaint() -> None:
    # Even where the model leans to complaint, "very dissatisfied" is the rating (1.6)...
    probs = {"complaint": 0.6, "excluded/survey_feedback": 0.35, "service_request": 0.05}
    rating = "Re: How did we do?\n2 out of 10. Very dissatisfied with the time it took."
    d = decide(probs, rating, RECEIVED, threshold=0.5, complaint_floor=0.35)
    assert (d.label, d.reason, d.needs_review) == ("excluded", "survey_feedback", True)
    # ...while a failure in plain words is a complaint for a person to check.
    failure = rating + " Nobody turned up for the second visit either."
    d = decide(probs, failure, RECEIVED, threshold=0.5, complaint_floor=0.35)
    assert (d.label, d.needs_review) == ("complaint", True)
    assert any(r.startswith("noted survey_reply:") for r in d.reasons)
