"""Extraction of the four details (Code 5.6) and the routing flags, on realistic messages."""

from __future__ import annotations

from datetime import date

import pytest

from worker.domain.extraction import DETAILS, Extraction, detect_flags, extract, missing_details

FULL = """Hi,

I reported a leak from the bathroom ceiling three weeks ago. I spoke to Sarah from repairs who
told me someone would come on Tuesday but nobody turned up.

I would like someone to come out this week and compensation for my ruined carpet.

Kind regards
Mrs Patel"""


def test_all_four_details_are_found_when_given() -> None:
    e = extract("Leak still not fixed", FULL, date(2025, 5, 1))
    assert "leak" in e.issue.lower()
    assert e.started == "three weeks ago"
    assert e.staff_names == ("Sarah",)
    assert "compensation" in e.outcome_sought
    assert missing_details(e) == ()


def test_the_signature_is_not_taken_for_a_member_of_staff() -> None:
    e = extract("", FULL)
    assert "Mrs Patel" not in e.staff_names


def test_missing_details_are_the_ones_the_acknowledgement_asks_for() -> None:
    e = extract("", "why does nobody ever ring back?????")
    assert "started" in missing_details(e)
    assert "staff_names" in missing_details(e)
    assert "outcome_sought" in missing_details(e)
    assert missing_details(Extraction()) == DETAILS


def test_web_form_fields_are_read() -> None:
    body = (
        "Online complaint form\nName: Aisha Begum\n"
        "What is your complaint about?: The damp survey was done in May and nothing since.\n"
        "When did the problem start?: Winter\nWho have you spoken to?: Michelle in repairs\n"
        "What outcome would you like?: Start the works and give me a date\n"
    )
    e = extract("Online complaint form submission", body)
    assert e.issue.startswith("The damp survey")
    assert e.outcome_sought == "Start the works and give me a date"


@pytest.mark.parametrize(
    ("text", "started"),
    [
        ("The boiler has been broken since March 2024.", "since March 2024"),
        ("It started 18 months ago.", "18 months ago"),
        ("Water has come through for the last two weeks.", "for the last two weeks"),
        ("Back in 2023 your contractor broke my fence.", "Back in 2023"),
    ],
)
def test_when_it_started_is_kept_as_the_resident_phrased_it(text: str, started: str) -> None:
    assert extract("", text).started == started


def test_staff_names_in_several_phrasings() -> None:
    body = (
        "Your officer Karen Wood came out. Then I spoke with Tom on the phone, and "
        "Michelle from repairs promised a visit."
    )
    names = extract("", body).staff_names
    assert {"Karen Wood", "Tom", "Michelle"} <= set(names)


def test_quoted_landlord_text_does_not_feed_extraction() -> None:
    body = (
        "Still nothing.\n\nOn Fri, 3 Oct 2025 at 16:02, Thrive <c@t.org> wrote:\n"
        "> I spoke to Jason who said we would like to apologise and offer compensation."
    )
    e = extract("", body)
    assert e.staff_names == ()
    assert e.outcome_sought == ""


# --- flags, each with a near miss ----------------------------------------------------------------


def test_building_safety_flag() -> None:
    f = detect_flags("Fire door", "The fire door on the 4th floor landing is wedged open.")
    assert f.building_safety
    assert any(r.startswith("building_safety:") for r in f.reasons)
    assert not detect_flags("", "The kitchen door hinge is loose.").building_safety


def test_vulnerability_flag() -> None:
    assert detect_flags("", "I have COPD and the damp makes my breathing worse.").vulnerability
    assert detect_flags("", "I'm 84 and live on my own.").vulnerability
    assert not detect_flags("", "The tap drips and keeps me awake.").vulnerability


def test_representative_flag_for_family_advocates_and_councillors() -> None:
    assert detect_flags("", "I am writing on behalf of my mother, Mrs Joan Reid.").representative
    assert detect_flags("", "I am an advocate for Mr Baker and write with consent.").representative
    assert detect_flags("", "My constituent Mr Price has asked me to write.").representative
    # a resident mentioning family is not a representative
    assert not detect_flags("", "My daughter's bedroom has mould on the wall.").representative


def test_escalation_flag() -> None:
    assert detect_flags("", "Please escalate my complaint to stage 2.").escalation_request
    assert detect_flags("", "I'm not happy with your stage 1 response.").escalation_request
    assert not detect_flags("", "I want to make a complaint about my boiler.").escalation_request


def test_repeat_flag_compares_with_closed_issues_supplied_by_the_caller() -> None:
    closed = ["Bathroom ceiling leak, nobody came, carpet ruined"]
    body = "The bathroom ceiling is leaking again and my carpet is ruined again."
    f = detect_flags("", body, closed)
    assert f.repeat
    assert any(r.startswith("repeat:") for r in f.reasons)
    assert not detect_flags("", body, ["Rent account arrears letter wrong"]).repeat
    assert not detect_flags("", body).repeat


def test_flag_names_lists_the_set_flags() -> None:
    f = detect_flags("Stage 2", "On behalf of my mum: the smoke alarm is broken, escalate please.")
    assert set(f.names()) == {"building_safety", "representative", "escalation_request"}


def test_the_outcome_is_the_last_sentence_that_asks_for_something() -> None:
    body = (
        "The boiler has been broken since March.\n\n"
        "I would like an engineer to come this week. The radiators are cold.\n\n"
        "I would also like a refund of the heating charge for March. Thank you for reading."
    )
    assert extract("Boiler", body).outcome_sought == (
        "I would also like a refund of the heating charge for March."
    )


def test_a_very_long_message_has_its_details_found_too() -> None:
    padding = "\n\n".join(["The hallway light is out again."] * 4000)  # over 64 KB
    long_body = f"{padding}\n\n{FULL}"
    e = extract("Leak still not fixed", long_body, date(2025, 5, 1))
    assert len(long_body) > 64 * 1024
    assert e.issue.startswith("The hallway light is out again.")
    assert "compensation" in e.outcome_sought
