"""Automatic notifications from landlord systems and platforms are never labelled complaint
without a person looking (issue 13): a booking confirmation, an e-signature request or a survey
digest that reads like dissatisfaction would otherwise get an automatic acknowledgement sent to
a machine. Residents replying to or forwarding such mail are still read as residents.
"""

from __future__ import annotations

from datetime import date

import pytest

from classifiers.triage import decide, model_text
from worker.domain.triage_rules import automatic_notification

RECEIVED = date(2025, 10, 14)

BOOKING = (
    "Repair appointment confirmed - Job 8120044",
    "Your repair appointment has been booked.\nJob number: 8120044\nDescription: Bathroom "
    "extractor fan\nDate: Tuesday 21 October\nTime slot: 8am - 12pm\nIf you need to change this "
    "appointment please call us. Please do not reply to this email as this mailbox is not "
    "monitored.",
)
SIGNATURE = (
    "Please sign: Tenancy Agreement - 4 Elder Way",
    "Thrive Homes Lettings has sent you a document to review and sign.\nREVIEW DOCUMENT\nPlease "
    "do not share this email.",
)
DIGEST = (
    "Weekly survey digest: 11 new responses",
    "Repairs survey - weekly summary\n11 new responses this week. Satisfaction 55% (down 4).\n"
    "Sample comments: 'nobody came back to finish the job', 'disgusting service'\nView full "
    "results. You are receiving this because you are an admin of this survey.",
)
CASE_UPDATE = (
    "Case 00450012 updated",
    "There has been an update to case 00450012 (Damp and mould).\nStatus changed from 'Open' to "
    "'Closed - no further action'.\nThis notification was generated automatically. Please do "
    "not reply.",
)
SENSOR = (
    "Alert: Damp sensor high humidity - 9 Lark Rise",
    "Sensor alert\nRelative humidity 88% for more than 72 hours.\nAn automatic job has been "
    "raised for the damp and mould team. This message was sent by the environmental "
    "monitoring platform automatically.",
)

NOTIFICATIONS = [
    pytest.param(*BOOKING, "auto_reply", id="booking-confirmation"),
    pytest.param(*SIGNATURE, "auto_reply", id="e-signature-request"),
    pytest.param(*DIGEST, "bulk", id="survey-digest-quoting-angry-residents"),
    pytest.param(*CASE_UPDATE, "auto_reply", id="crm-case-update"),
    pytest.param(*SENSOR, "auto_reply", id="sensor-alert"),
]

# Residents' own words about such mail: near misses in the other direction.
RESIDENTS = [
    pytest.param(
        "Fwd: Repair appointment confirmed - Job 8120044",
        "I got this confirmation and took the morning off work. Nobody came and nobody rang. I "
        "want a new appointment and my lost wages.\n\n---------- Forwarded message ---------\n"
        + BOOKING[1],
        id="forwarded-confirmation-with-a-complaint",
    ),
    pytest.param(
        "Re: Case 00450012 updated",
        "Closed?? Nobody has been to look at the mould. Please reopen it and tell me who decided "
        "to close it.",
        id="reply-to-a-case-update",
    ),
    pytest.param(
        "texts",
        "Why do I keep getting automated reminders saying my appointment is confirmed when it "
        "was cancelled? I took today off and nobody came again.",
        id="resident-mentions-automated-texts",
    ),
    pytest.param(
        "gas check tomorrow",
        "I've just had a reminder that my gas check is tomorrow but I've been called in to "
        "work. Could it be moved to next week? Thank you.",
        id="resident-asks-to-move-a-booking",
    ),
]


@pytest.mark.parametrize(("subject", "body", "reason"), NOTIFICATIONS)
def test_platform_notifications_are_recognised_from_their_text(
    subject: str, body: str, reason: str
) -> None:
    hit = automatic_notification(model_text(subject, body))
    assert hit is not None
    assert hit.label == "not_resident_mail"
    assert hit.reason == reason


@pytest.mark.parametrize(("subject", "body"), RESIDENTS)
def test_residents_writing_about_notifications_are_not_taken_for_machines(
    subject: str, body: str
) -> None:
    assert automatic_notification(model_text(subject, body)) is None


@pytest.mark.parametrize(("subject", "body", "reason"), NOTIFICATIONS)
@pytest.mark.parametrize("p_complaint", [0.99, 0.7, 0.4])
def test_a_notification_is_never_a_complaint_without_review_however_sure_the_model(
    subject: str, body: str, reason: str, p_complaint: float
) -> None:
    # Given a model that reads the notification as a complaint (the failure issue 13 found)
    probs = {"complaint": p_complaint, "service_request": 1 - p_complaint}
    # When the triage decides
    d = decide(probs, model_text(subject, body), RECEIVED, threshold=0.5, complaint_floor=0.2)
    # Then it is automatic mail for a person to check, never a complaint sent on unseen
    assert d.label == "not_resident_mail"
    assert d.needs_review
    assert any("automatic_notification" in r for r in d.reasons)


def test_a_notification_the_model_is_sure_of_goes_through_without_review() -> None:
    probs = {"not_resident_mail/auto_reply": 0.97, "complaint": 0.03}
    d = decide(probs, model_text(*BOOKING), RECEIVED, threshold=0.5, complaint_floor=0.2)
    assert (d.label, d.reason, d.needs_review) == ("not_resident_mail", "auto_reply", False)


def test_a_confident_notification_quoting_complaints_still_goes_to_a_person() -> None:
    probs = {"not_resident_mail/bulk": 0.95, "complaint": 0.05}
    d = decide(probs, model_text(*DIGEST), RECEIVED, threshold=0.5, complaint_floor=0.2)
    assert d.label == "not_resident_mail"
    assert d.needs_review  # its words show dissatisfaction: a person decides
