"""Complaint recall on residents' own phrasings (issue 13), and the complaint-favouring decision.

The Code has a landlord accept a complaint unless there is a valid reason not to (1.2, 2.1), so
when the model is unsure between complaint and something else, complaint (for a person to check)
is the safe side. The first half runs the shipped model over near-miss pairs in both directions:
complaints that never use the word (chasers, staff and contractor conduct, a complaint inside a
reply to a survey or a notification, a complaint tacked onto a new repair, representatives,
limited English) against the first request, neighbour report or automatic notice they are
closest to. The messages were written for these tests and are not in the training data. The
second half checks ``complaint_at`` itself on made-up probabilities.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from classifiers.train import TARGET_HANDWRITTEN_COMPLAINT_RECALL, choose_threshold
from classifiers.triage import (
    COMPLAINT_AT_OFF,
    TriageInput,
    Triager,
    TriageResult,
    decide,
    model_text,
)

RECEIVED = date(2025, 12, 9)


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager.load()


def triage(triager: Triager, subject: str, body: str) -> TriageResult:
    return triager.triage(
        TriageInput(
            id="t", subject=subject, body=body, from_addr="resident@example.com",
            received=RECEIVED, channel="email",
        )
    )  # fmt: skip


#: family -> (complaint: subject, body), (near miss: subject, body, label, reason)
PAIRS: dict[str, tuple[tuple[str, str], tuple[str, str, str, str]]] = {
    "chaser-without-the-word": (
        (
            "Kitchen light",
            "Still no kitchen light. The electrician said he'd order the fitting and come back "
            "the following Tuesday. That was five weeks ago and I've been cooking by torchlight.",
        ),
        (
            "Kitchen light",
            "The kitchen ceiling light has stopped working and changing the bulb hasn't helped. "
            "Could you book an electrician please? I'm in every afternoon.",
            "service_request",
            "",
        ),
    ),
    "contractor-conduct-vs-neighbour": (
        (
            "Window fitters",
            "The window fitters you sent played music at full blast all day, parked across my "
            "drive so I couldn't get out for a hospital appointment, and swore at me when I asked "
            "them to move. I expect better from people working for you.",
        ),
        (
            "Next door",
            "The man next door plays music at full blast all day, parks across my drive so I "
            "can't get out, and swore at me when I asked him to move. It's been going on for "
            "weeks.",
            "excluded",
            "asb_report",
        ),
    ),
    "staff-attitude-vs-request": (
        (
            "Housing officer",
            "When I asked my housing officer about the mould she rolled her eyes and said "
            "'everyone's got a bit of mould, love'. She didn't even come in to look. My son has "
            "asthma.",
        ),
        (
            "Housing officer visit",
            "Could my housing officer come round to look at some mould in the back bedroom? My "
            "son has asthma so I'd like it checked. Any weekday morning suits.",
            "service_request",
            "",
        ),
    ),
    "mixed-new-repair-and-grievance": (
        (
            "Radiator and last visit",
            "Please send someone for the radiator in the hall, it's cold at the top. And the "
            "engineer who came for the boiler last month left the pipe lagging in a heap and "
            "never put the cover back, which I've asked about twice with no answer.",
        ),
        (
            "Radiator and boiler cover",
            "Please send someone for the radiator in the hall, it's cold at the top. While "
            "they're here, could they put the boiler cover back on? It came off when I was "
            "cleaning.",
            "service_request",
            "",
        ),
    ),
    "reply-to-a-notification": (
        (
            "Re: Your repair has been completed",
            "It hasn't been completed. Nobody came. The toilet still won't flush and I've got "
            "three kids using it. Why does your system say it's done?",
        ),
        (
            "Your repair has been completed",
            "Your repair (job 7781344) has been marked as completed. If you are not satisfied "
            "with the work please call 0300 123 4567. This is an automated message, please do "
            "not reply to this email.",
            "not_resident_mail",
            "auto_reply",
        ),
    ),
    "representative-vs-general-enquiry": (
        (
            "Mrs Eileen Ward, 9 Poplar Row",
            "I'm Mrs Ward's granddaughter and she's asked me to write. Her back door has been "
            "boarded up since your contractor took the old one out in October and nobody has "
            "come back to fit the new one. She's 90 and can't get to her garden or the bins.",
        ),
        (
            "Question for my ward",
            "Councillor Mark Bell here. Residents keep asking me when the new door entry system "
            "for the Poplar Row flats is planned. Could you let me know the programme so I can "
            "update them at the next ward meeting?",
            "excluded",
            "councillor_mp_general",
        ),
    ),
    "limited-english": (
        (
            "toilet",
            "Hello. Toilet broken 4 week. Man come one time, he say come back Monday with part. "
            "No come. I call 3 time. Nobody answer. Family 5 people one toilet. Please help.",
        ),
        (
            "toilet",
            "Hello. Toilet is broken, water not stop running. Please send man for fix. I am home "
            "every day. Thank you.",
            "service_request",
            "",
        ),
    ),
}


#: Families the shipped model still gets wrong, kept visible rather than dropped (strict: the
#: test fails once the model gets them right, so the mark is removed then).
KNOWN_GAPS = {
    # Contractor conduct with no failed repair in it reads to the model as a request (p about
    # 0.36 against complaint 0.29): below the threshold, so a person sees it (test below).
    "contractor-conduct-vs-neighbour": "contractor conduct without a failed repair: reviewed",
}


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[f]))
        if f in KNOWN_GAPS
        else f
        for f in sorted(PAIRS)
    ],
)
def test_the_complaint_half_is_a_complaint(triager: Triager, family: str) -> None:
    (subject, body), _ = PAIRS[family]
    res = triage(triager, subject, body)
    assert res.label == "complaint", res.reasons


@pytest.mark.parametrize("family", sorted(PAIRS))
def test_no_complaint_half_leaves_triage_as_something_else_unseen(
    triager: Triager, family: str
) -> None:
    # The costly error (SPEC section 3): a complaint labelled otherwise with no person looking.
    (subject, body), _ = PAIRS[family]
    res = triage(triager, subject, body)
    assert res.label == "complaint" or res.needs_review, res.reasons


@pytest.mark.parametrize("family", sorted(PAIRS))
def test_the_near_miss_half_keeps_its_label(triager: Triager, family: str) -> None:
    _, (subject, body, label, reason) = PAIRS[family]
    res = triage(triager, subject, body)
    assert (res.label, res.reason) == (label, reason), res.reasons
    # Nothing about it complains, so the complaint-favouring rule has no business here.
    assert not any("labelled complaint" in r for r in res.reasons), res.reasons


def test_the_shipped_model_carries_the_complaint_at_chosen_out_of_fold(triager: Triager) -> None:
    assert triager.complaint_at == triager.metadata["complaint_at"]
    # The issue-13 model favours complaint; a value of 1.0 would mean the rule is switched off.
    assert 0.25 <= triager.complaint_at < COMPLAINT_AT_OFF


# --- complaint_at on made-up probabilities ----------------------------------------------------

#: Neutral text: no rule (exclusion, notification, complaint signal, survey) fires on it, so
#: only the probabilities decide.
NEUTRAL = model_text("Garden gate", "Please could someone look at the latch on the garden gate.")


def _decide(probs: dict[str, float], complaint_at: float, text: str = NEUTRAL) -> Any:
    return decide(
        probs, text, RECEIVED, threshold=0.5, complaint_floor=0.35, complaint_at=complaint_at
    )


def test_a_strong_runner_up_complaint_is_labelled_complaint_for_review() -> None:
    probs = {"service_request": 0.56, "complaint": 0.44}
    d = _decide(probs, complaint_at=0.40)
    assert (d.label, d.needs_review) == ("complaint", True)
    # Off (a model saved before complaint_at existed): the old behaviour, the top label.
    d = _decide(probs, complaint_at=COMPLAINT_AT_OFF)
    assert d.label == "service_request"


def test_a_runner_up_below_complaint_at_keeps_the_top_label() -> None:
    d = _decide({"service_request": 0.62, "complaint": 0.38}, complaint_at=0.40)
    assert d.label == "service_request"
    # Still at or above the floor: a person looks, as before.
    assert d.needs_review


def test_an_exclusion_no_rule_proposed_gives_way_to_a_strong_complaint() -> None:
    probs = {"excluded/asb_report": 0.58, "complaint": 0.42}
    assert _decide(probs, complaint_at=0.40).label == "complaint"
    d = _decide(probs, complaint_at=0.45)
    assert (d.label, d.reason, d.needs_review) == ("excluded", "asb_report", True)


def test_an_automatic_notification_is_never_relabelled_complaint() -> None:
    notice = model_text(
        "Your appointment is confirmed",
        "Your repair appointment is confirmed for Tuesday 16 December, 8am-1pm. To change it "
        "call 0300 123 4567. This is an automated message, please do not reply.",
    )
    probs = {"not_resident_mail/auto_reply": 0.55, "complaint": 0.45}
    d = _decide(probs, complaint_at=0.25, text=notice)
    assert d.label == "not_resident_mail"


def _rows(n_sure: int, n_doubt: int, n_requests: int) -> tuple[list[dict[str, Any]], list[Any]]:
    rows: list[dict[str, Any]] = []
    probs: list[dict[str, float]] = []
    for i in range(n_sure + n_doubt + n_requests):
        label = "complaint" if i < n_sure + n_doubt else "service_request"
        rows.append({"label": label, "reason": "", "received": "2025-12-09",
                     "source": "handwritten", "id": f"r{i}"})  # fmt: skip
        if i < n_sure:
            probs.append({"complaint": 0.93, "service_request": 0.07})
        elif label == "complaint":
            # Complaints the model reads as requests, with complaint a close second.
            probs.append({"complaint": 0.42, "service_request": 0.58})
        else:
            probs.append({"complaint": 0.04, "service_request": 0.96})
    return rows, probs


def test_choose_threshold_turns_complaint_at_on_to_reach_the_recall_target() -> None:
    rows, probs = _rows(n_sure=300, n_doubt=4, n_requests=100)
    chosen = choose_threshold(rows, probs, [NEUTRAL] * len(rows))
    # Without it the four doubtful complaints are missed (300/304 = 0.987, under 0.99); the
    # highest value that catches them wins (fewest non-complaints relabelled).
    assert chosen.scores["handwritten_complaint_recall"] >= TARGET_HANDWRITTEN_COMPLAINT_RECALL
    assert chosen.complaint_at == 0.40


def test_choose_threshold_leaves_complaint_at_off_when_recall_is_already_met() -> None:
    rows, probs = _rows(n_sure=300, n_doubt=0, n_requests=100)
    chosen = choose_threshold(rows, probs, [NEUTRAL] * len(rows))
    assert chosen.complaint_at == COMPLAINT_AT_OFF
