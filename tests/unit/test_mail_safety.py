"""The RFC 3834 / SPEC section 6 rule chain: when we must never answer automatically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from worker.domain.mail_safety import (
    LOOP_HEADER,
    RULES,
    SafetyVerdict,
    assess,
    machine_sender,
    normalised_local_part,
    outgoing_auto_headers,
    within_sender_cap,
)
from worker.domain.parsing import ParsedMessage, bounced_message_ids, find_case_refs, parse_message

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "emails"
EXPECTED: dict[str, dict[str, Any]] = {
    name: facts
    for name, facts in json.loads((FIXTURES / "expected.json").read_text("utf-8")).items()
    if not name.startswith("_")
}
OURS = ("complaints@thrivehomes.org.uk",)
RESIDENT_OOO_BODY = "I am out of the office until Monday. For urgent repairs call 0800 917 6000."


def verdict_for(parsed: ParsedMessage) -> SafetyVerdict:
    return assess(
        parsed.headers,
        parsed.from_addr,
        content_type=parsed.content_type,
        return_path=parsed.return_path or None,
        own_addresses=OURS,
        body=parsed.text,
    )


def fixture_verdict(name: str) -> SafetyVerdict:
    return verdict_for(parse_message((FIXTURES / name).read_bytes()))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_verdict_as_expected(name: str) -> None:
    expected = EXPECTED[name]["safety"]
    verdict = fixture_verdict(name)
    assert verdict.automatic == expected["automatic"]
    assert verdict.reason == expected["reason"]
    assert verdict.may_hold_resident_words == expected["may_hold_resident_words"]
    for rule in expected["rules_include"]:
        assert rule in verdict.rules
    assert bool(verdict.rules) == verdict.automatic


def test_out_of_office_gets_no_acknowledgement() -> None:
    verdict = fixture_verdict("08_outlook_out_of_office.eml")
    assert verdict.automatic
    assert verdict.reason == "auto_reply"
    assert not verdict.may_hold_resident_words


def test_list_mail_is_bulk() -> None:
    for name in ("11_mailing_list.eml", "12_newsletter.eml"):
        verdict = fixture_verdict(name)
        assert (verdict.automatic, verdict.reason) == (True, "bulk")
    assert assess({"List-Id": "<x.lists.example.org>"}, "a@example.org").reason == "bulk"
    assert assess({"list-unsubscribe": "<mailto:u@x>"}, "a@example.org").reason == "bulk"


@pytest.mark.parametrize("value", ["bulk", "junk", "list", "BULK", " List (comment)"])
def test_precedence_bulk_junk_list(value: str) -> None:
    verdict = assess({"Precedence": value}, "a@example.org")
    assert verdict.automatic and verdict.reason == "bulk"


def test_precedence_first_class_is_not_automatic() -> None:
    assert not assess({"Precedence": "first-class"}, "a@example.org").automatic


def test_bounce_reports_original_message_id() -> None:
    parsed = parse_message((FIXTURES / "09_exchange_ndr.eml").read_bytes())
    verdict = verdict_for(parsed)
    assert verdict.reason == "bounce"
    assert not verdict.may_hold_resident_words  # a bounce of our letter is not a resident's words
    ids = bounced_message_ids(parsed)
    assert ids[0] == "letter.CMP-2026-00042.stage1_acknowledgement.1@thrivehomes.org.uk"
    assert find_case_refs(parsed.text) == ["CMP-2026-00042"]


def test_auto_submitted_no_is_not_automatic() -> None:
    assert assess({"Auto-Submitted": "no"}, "a@example.org") == SafetyVerdict(False, "", (), False)
    assert not assess({"auto-submitted": " No ; reason=x"}, "a@example.org").automatic
    assert not fixture_verdict("17_auto_submitted_no.eml").automatic


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("auto-replied", "auto_submitted:auto-replied"),
        ("Auto-Generated", "auto_submitted:auto-generated"),
        ("auto-replied; owner-email=x@example.org", "auto_submitted:auto-replied"),
        ("auto-notified", "auto_submitted:auto-notified"),
        ("", "auto_submitted:empty"),
    ],
)
def test_auto_submitted_anything_but_no_is_automatic(value: str, rule: str) -> None:
    verdict = assess({"AUTO-SUBMITTED": value}, "a@example.org")
    assert verdict.automatic and verdict.reason == "auto_reply"
    assert verdict.rules == (rule,)


def test_header_names_are_case_insensitive() -> None:
    for name in ("x-complaints-loop", "X-COMPLAINTS-LOOP", "X-Complaints-Loop"):
        assert assess({name: "thrive"}, "someone@example.org").rules == ("loop_header",)


def test_custom_loop_header_name() -> None:
    verdict = assess({"X-Other-Loop": "1"}, "a@example.org", loop_header="X-Other-Loop")
    assert verdict.rules == ("loop_header",) and verdict.reason == "auto_reply"
    assert not assess({"X-Other-Loop": "1"}, "a@example.org").automatic


def test_own_address_is_a_loop() -> None:
    verdict = assess({}, "Complaints@ThriveHomes.org.uk", own_addresses=OURS)
    assert verdict.automatic and verdict.reason == "auto_reply"
    assert verdict.rules == ("own_address:complaints@thrivehomes.org.uk",)


def test_null_return_path_fires_but_unknown_does_not() -> None:
    assert assess({}, "a@example.org", return_path="<>").rules == ("null_return_path:<>",)
    assert assess({}, "a@example.org", return_path="").automatic
    assert assess({}, "a@example.org", return_path="<>").reason == "bounce"
    assert not assess({}, "a@example.org", return_path=None).automatic
    assert not assess({}, "a@example.org", return_path="a@example.org").automatic


def test_null_return_path_with_auto_submitted_is_an_auto_reply() -> None:
    verdict = assess({"Auto-Submitted": "auto-replied"}, "a@example.org", return_path="<>")
    assert verdict.reason == "auto_reply"


@pytest.mark.parametrize(
    "sender", ["MAILER-DAEMON@mx.example.org", "postmaster@example.org", "Mailer-Daemon"]
)
def test_mailer_daemon_and_postmaster_are_bounces(sender: str) -> None:
    verdict = assess({}, sender)
    assert verdict.automatic and verdict.reason == "bounce"


def test_postmaster_is_only_the_local_part() -> None:
    assert not assess({}, "jane@postmaster-services.co.uk").automatic


def test_delivery_and_disposition_reports_are_bounces() -> None:
    headers = {"Content-Type": "multipart/report; report-type=disposition-notification"}
    verdict = assess(headers, "jane@example.org", content_type="multipart/report")
    assert verdict.reason == "bounce" and verdict.rules == ("report:disposition-notification",)
    # content_type may also be left to the headers
    assert assess(headers, "jane@example.org").reason == "bounce"


def test_x_auto_response_suppress_alone_is_not_automatic() -> None:
    assert not assess({"X-Auto-Response-Suppress": "All"}, "resident@example.org").automatic


@pytest.mark.parametrize("header", ["X-Autoreply", "X-Autorespond", "X-AutoReply-From"])
def test_vendor_auto_reply_headers(header: str) -> None:
    verdict = assess({header: "yes"}, "resident@example.org")
    assert verdict.reason == "auto_reply"
    assert verdict.rules == (f"vendor_autoreply:{header.lower()}",)


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Your complaint", "Out of Office: Re: repairs", "Auto: hello", "Autoreply"],
)
def test_auto_reply_subjects_are_weak_evidence(subject: str) -> None:
    short = assess({"Subject": subject}, "resident@example.org", body=RESIDENT_OOO_BODY)
    assert short.automatic and short.reason == "auto_reply"
    assert not short.may_hold_resident_words
    long_body = (
        "I have had no heating since October and I am still waiting for anyone to come. " * 3
    )
    long = assess({"Subject": subject}, "resident@example.org", body=long_body)
    assert long.automatic and long.may_hold_resident_words


@pytest.mark.parametrize(
    "subject",
    ["Out of office hours emergency line useless", "Auto gate broken", "Automatically renewed?"],
)
def test_resident_subjects_that_merely_start_alike_are_not_automatic(subject: str) -> None:
    assert not assess({"Subject": subject}, "resident@example.org").automatic


def test_bounce_subject_alone_is_a_weak_bounce() -> None:
    verdict = assess({"Subject": "Undeliverable: Your complaint"}, "someone@example.org")
    assert verdict.reason == "bounce" and verdict.rules == ("subject:undeliverable",)
    assert not verdict.may_hold_resident_words


def test_complaint_forwarded_by_a_list_goes_to_a_person() -> None:
    verdict = fixture_verdict("25_list_forwarded_complaint.eml")
    assert verdict.reason == "bulk"
    assert verdict.may_hold_resident_words


def test_long_auto_submitted_message_goes_to_a_person() -> None:
    body = " ".join(["word"] * 200)
    verdict = assess({"Auto-Submitted": "auto-generated"}, "system@example.org", body=body)
    assert verdict.may_hold_resident_words


def test_quoted_text_does_not_count_as_resident_words() -> None:
    quoted = "\n".join(
        "> We are sorry you are unhappy, this complaint has been ignored" for _ in range(40)
    )
    verdict = assess({"Auto-Submitted": "auto-replied"}, "a@example.org", body="Away.\n" + quoted)
    assert not verdict.may_hold_resident_words


def test_our_own_looped_mail_never_needs_a_person() -> None:
    body = "I am unhappy and this complaint was ignored for months. " * 30
    verdict = assess({LOOP_HEADER: "x"}, "a@example.org", body=body)
    assert verdict.automatic and not verdict.may_hold_resident_words


def test_bulk_precedence_with_auto_generated_is_bulk() -> None:
    headers = {"Auto-Submitted": "auto-generated", "List-Unsubscribe": "<mailto:u@x>"}
    assert assess(headers, "news@example.org").reason == "bulk"


def test_every_fired_rule_is_recorded_in_chain_order() -> None:
    headers = {
        "Auto-Submitted": "auto-replied",
        "Precedence": "bulk",
        "List-Id": "<l.example.org>",
        "X-Complaints-Loop": "thrive",
    }
    verdict = assess(headers, "a@example.org", return_path="<>")
    assert verdict.rules == (
        "loop_header",
        "auto_submitted:auto-replied",
        "precedence:bulk",
        "list:list-id",
        "null_return_path:<>",
    )
    assert [rule.name for rule in RULES][:2] == ["loop_header", "own_address"]


def test_ordinary_resident_mail_is_not_automatic() -> None:
    verdict = assess(
        {"From": "Sarah <sarah@example.org>", "Subject": "Damp", "X-Mailer": "iPhone Mail"},
        "sarah@example.org",
        return_path="sarah@example.org",
        own_addresses=OURS,
        body="The mould is back.",
    )
    assert verdict == SafetyVerdict(False, "", (), False)


def test_within_sender_cap() -> None:
    assert within_sender_cap(0, 3)
    assert within_sender_cap(2, 3)
    assert not within_sender_cap(3, 3)
    assert not within_sender_cap(0, 0)


def test_outgoing_auto_headers_mark_our_letters_and_are_caught_on_return() -> None:
    headers = outgoing_auto_headers("thrive-complaints\r\nBcc: x@example.org")
    assert headers == {
        "Auto-Submitted": "auto-replied",
        LOOP_HEADER: "thrive-complaints Bcc: x@example.org",
        "X-Auto-Response-Suppress": "All",
    }
    verdict = assess(headers, "complaints@thrivehomes.org.uk", own_addresses=OURS)
    assert verdict.automatic and verdict.rules[0] == "loop_header"


# -- machine senders (issue 7) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "normalised"),
    [
        ("no_reply", "noreply"),
        ("No-Reply", "noreply"),
        ("no.reply+abc123", "noreply"),
        ("do-not-reply", "donotreply"),
        ("Post_Master", "postmaster"),
        ('"mailer-daemon"', "mailerdaemon"),
    ],
)
def test_local_parts_are_normalised_before_comparing(local: str, normalised: str) -> None:
    assert normalised_local_part(local) == normalised


@pytest.mark.parametrize("sender", ["post_master@example.org", "Mailer_Daemon@mx.example.org"])
def test_postmaster_spellings_are_bounces(sender: str) -> None:
    verdict = assess({}, sender)
    assert verdict.automatic and verdict.reason == "bounce"


@pytest.mark.parametrize(
    "sender",
    [
        "no-reply@example.com",
        "noreply-12345@booking.example.com",
        "donotreply@council.example.gov.uk",
        "do_not_reply@example.com",
        "account-notifications@example.com",
        "notifications@github.example",
        "bounces+abc=example.org@mail.example.net",
        "dse_na4@docusign.net",
        "echosign@echosign.com",
        "member@surveymonkeyuser.com",
        "noreply@qemailserver.com",
        "support@thrivehomes.zendesk.com",
        "landlord@service-now.com",
        "notification@facebookmail.com",
        "reservations@opentable.com",
    ],
)
def test_no_reply_addresses_and_notification_platforms_are_machines(sender: str) -> None:
    verdict = machine_sender({}, sender)
    assert verdict.machine
    assert verdict.rules and verdict.explanations


@pytest.mark.parametrize(
    "sender",
    [
        "jane.smith@example.co.uk",
        "jane@gmail.com",
        "replies.to.jane@example.com",
        "noreen@example.com",  # starts like "no-reply" but is a name
        "jane@notdocusign.net",  # a platform's name inside another domain is not the platform
        "sally.postman@example.com",
        "info@tenants-association.org.uk",  # an organisation's mailbox is read by people
    ],
)
def test_ordinary_senders_are_not_machines(sender: str) -> None:
    assert not machine_sender({}, sender).machine


@pytest.mark.parametrize(
    ("headers", "rule"),
    [
        ({"X-Auto-Response-Suppress": "All"}, "auto_response_suppress:all"),
        ({"X-Auto-Response-Suppress": "OOF, AutoReply"}, "auto_response_suppress:autoreply,oof"),
        ({"Feedback-ID": "111:222:mailchimp"}, "bulk_service:feedback-id"),
        ({"X-Mailer": "MailChimp Mailer - **CID9f**"}, "bulk_service:x-mailer:mailchimp"),
        ({"X-SES-Outgoing": "2026.11.10-1.2.3.4"}, "bulk_service:x-ses-outgoing"),
    ],
)
def test_the_messages_own_machine_signals(headers: dict[str, str], rule: str) -> None:
    verdict = machine_sender(headers, "someone@example.com")
    assert verdict.machine and verdict.rules == (rule,)


def test_receipt_suppression_alone_is_not_a_machine() -> None:
    assert not machine_sender({"X-Auto-Response-Suppress": "DR, RN, NRN"}, "a@example.com").machine


@pytest.mark.parametrize(
    "body",
    [
        "Your booking is confirmed.\n\nPlease do not reply to this email.",
        "This mailbox is not monitored.",
        "This is an automated message from the repairs portal.",
        "Replies to this email will not be read.",
    ],
)
def test_a_do_not_reply_footer_marks_a_machine(body: str) -> None:
    verdict = machine_sender({}, "portal@example.com", body=body)
    assert verdict.machine and verdict.rules[0].startswith("do_not_reply_footer")


def test_a_resident_asking_not_to_be_emailed_is_not_a_footer() -> None:
    body = "Please do not email me, I do not read it; call me on 07700 900123 instead."
    assert not machine_sender({}, "jane@example.com", body=body).machine


def test_machine_senders_do_not_make_the_message_automatic() -> None:
    # Triage still reads a no-reply sender's message: a resident's words in it are not lost.
    assert not assess({}, "no-reply@portal.example.com").automatic
