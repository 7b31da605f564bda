"""Complaints that do not arrive by email keep the resident's words (issue 9): the public web
form's description becomes "our understanding" in the case and in the acknowledgement, exactly as
an emailed complaint's does. Against a real SQLite database, the pipeline run in-process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.browser.seed import SECRET, directory, make_app
from worker.adapters.db_models import Case, InboundMessage, Letter
from worker.bootstrap import App
from worker.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WORDS = (
    "The bathroom extractor fan has not worked since the summer and mould is spreading "
    "across the ceiling. I reported it twice and nobody came."
)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[App, TestClient]]:
    app = make_app(tmp_path)
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:
        yield app, client
    app.db.dispose()


def _send_form(client: TestClient, issue: str) -> None:
    token = CSRF.search(client.get("/complain").text)
    assert token
    response = client.post(
        "/complain",
        data={
            "csrf_token": token.group(1),
            "name": "Jo Resident",
            "email": "jo@example.org",
            "phone": "",
            "address": "4 Mill Lane, Leeds LS1 4AB",
            "issue": issue,
            "started": "",
            "spoken_to": "",
            "outcome": "Replace the fan and treat the mould",
            "adjustments": "",
            "on_behalf": "no",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_a_web_form_complaint_keeps_the_residents_words_in_the_acknowledgement(
    served: tuple[App, TestClient],
) -> None:
    app, client = served
    _send_form(client, WORDS)
    with app.db.session() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.source == "webform"))
        assert row is not None and row.status == "done", row and row.error
        case = s.get(Case, row.case_id)
        assert case is not None
        assert "Complaint made on the web form" not in case.understanding
        assert case.understanding.startswith("The bathroom extractor fan has not worked")
        assert case.outcome_sought == "Replace the fan and treat the mould"
        letter = s.scalar(
            select(Letter).where(Letter.case_id == case.id, Letter.kind == "stage1_acknowledgement")
        )
        assert letter is not None
        flat = " ".join(letter.text.split())
        assert "The bathroom extractor fan has not worked since the summer" in flat
        assert "Complaint made on the web form" not in flat
        assert "Replace the fan and treat the mould" in flat


def test_a_web_form_complaint_is_understood_as_the_same_words_by_email_would_be(
    served: tuple[App, TestClient], tmp_path: Path
) -> None:
    from worker.domain.extraction import extract

    app, client = served
    _send_form(client, WORDS)
    with app.db.session() as s:
        case = s.scalar(select(Case))
        assert case is not None
        by_email = extract("Extractor fan and mould", f"Dear Sir\n\n{WORDS}\n\nKind regards\nJo")
        assert case.understanding == by_email.issue


# -- staff-entered complaints at /cases/new (issue 9, item 2) --------------------------------------

PHONE_WORDS = (
    "I rang twice about the broken front door lock and nobody came. "
    "My flat has not been secure for three weeks and I am frightened at night."
)


def _staff_client(app: App, username: str = "hana") -> TestClient:
    from tests.browser.seed import PASSWORD

    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    client = TestClient(web)
    token = CSRF.search(client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def staff_client(tmp_path: Path) -> Iterator[tuple[App, TestClient]]:
    app = make_app(tmp_path)
    with _staff_client(app) as client:
        yield app, client
    app.db.dispose()


def _form(client: TestClient) -> dict[str, str]:
    page = client.get("/cases/new")
    assert page.status_code == 200
    token = CSRF.search(page.text)
    entry = re.search(r'name="entry" value="([^"]+)"', page.text)
    assert token and entry
    return {"csrf_token": token.group(1), "entry": entry.group(1)}


def _log(client: TestClient, form: dict[str, str], **values: str) -> Any:
    data = {
        "channel": "phone",
        "received_date": "",
        "received_time": "10:15",
        "name": "Sam Tenant",
        "email": "sam.tenant@example.org",
        "phone": "0113 496 0000",
        "address": "12 Canal Street, Leeds LS2 7QA",
        "words": PHONE_WORDS,
        "outcome": "Fix the lock today",
        "adjustments": "",
        "letters_by": "email",
        "rep_name": "",
        "rep_email": "",
        **form,
        **values,
    }
    return client.post("/cases/new", data=data, follow_redirects=False)


def test_a_phone_complaint_received_yesterday_is_counted_from_yesterday(
    staff_client: tuple[App, TestClient],
) -> None:
    from worker.adapters.db_models import AuditEvent, CaseStage
    from worker.domain.timescales import stage_deadlines

    app, client = staff_client
    yesterday = app.clock.today() - timedelta(days=1)
    response = _log(client, _form(client), received_date=yesterday.isoformat())
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    with app.db.session() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.source == "staff"))
        assert row is not None and row.status == "done", row and row.error
        assert row.received_on == yesterday
        case = s.get(Case, row.case_id)
        assert case is not None and case.status == "stage1_acknowledged"
        stage = s.scalar(select(CaseStage).where(CaseStage.case_id == case.id))
        assert stage is not None and stage.received == yesterday
        expected = stage_deadlines(1, yesterday, app.calendar, acknowledged=stage.acknowledged)
        assert stage.acknowledge_by == expected.acknowledge_by
        assert stage.respond_by == expected.respond_by
        # The resident's words are our understanding, in the acknowledgement too (Code 5.6).
        assert case.understanding.startswith("I rang twice about the broken front door lock")
        letter = s.scalar(
            select(Letter).where(Letter.case_id == case.id, Letter.kind == "stage1_acknowledgement")
        )
        assert letter is not None and letter.recipient == "sam.tenant@example.org"
        assert "broken front door lock" in " ".join(letter.text.split())
        logged = s.scalar(select(AuditEvent).where(AuditEvent.action == "staff.contact_logged"))
        assert logged is not None and logged.actor == "Hana Handler"
        ref = case.ref
    assert f"Logged as {ref}" in page.text
    assert expected.acknowledge_by.strftime("%-d %B %Y") in page.text
    assert f"Acknowledge by</dt><dd>{expected.acknowledge_by.strftime('%-d %B %Y')}" in page.text
    # Found by postcode and by a word of the complaint.
    assert ref in client.get("/cases", params={"q": "LS2 7QA"}).text
    assert ref in client.get("/cases", params={"q": "frightened"}).text


def test_the_same_form_sent_twice_is_logged_once(staff_client: tuple[App, TestClient]) -> None:
    app, client = staff_client
    form = _form(client)
    day = (app.clock.today() - timedelta(days=1)).isoformat()
    first = _log(client, form, received_date=day)
    second = _log(client, form, received_date=day)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    with app.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert s.scalar(select(func.count()).select_from(Case)) == 1
        assert s.scalar(select(func.count()).select_from(Letter)) == 1


def test_a_letter_logged_weeks_later_keeps_the_day_it_arrived(
    staff_client: tuple[App, TestClient],
) -> None:
    app, client = staff_client
    long_ago = app.clock.today() - timedelta(days=45)
    response = _log(client, _form(client), channel="letter", received_date=long_ago.isoformat())
    assert response.status_code == 303, response.text
    with app.db.session() as s:
        row = s.scalar(select(InboundMessage))
        assert row is not None and row.received_on == long_ago


def test_bad_entries_are_refused_with_a_message_per_field_and_nothing_stored(
    staff_client: tuple[App, TestClient],
) -> None:
    app, client = staff_client
    tomorrow = (app.clock.today() + timedelta(days=2)).isoformat()
    response = _log(
        client,
        _form(client),
        channel="carrier pigeon",
        received_date=tomorrow,
        words="",
        email="not an address",
        rep_name="Alex Advocate",
    )
    assert response.status_code == 422
    for message in (
        "Choose how the resident contacted us",
        "The date and time received cannot be in the future",
        "Enter what the resident told us",
        "Enter an email address in the correct format",
        "Enter the representative&#39;s email address",
    ):
        assert message in response.text, message
    assert "Alex Advocate" in response.text  # what was typed is kept
    response = _log(client, _form(client), received_date="27/03/2026", name="A\r\nBcc: x@y.z")
    assert response.status_code == 422
    assert "Enter the date received, like" in response.text
    assert "must be on one line" in response.text
    with app.db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_an_existing_resident_is_found_and_their_adjustments_and_representative_kept(
    staff_client: tuple[App, TestClient],
) -> None:
    from worker.adapters.db_models import Resident

    app, client = staff_client
    with app.db.session() as s:
        s.add(Resident(email="pat.known@example.org", name="Pat Known"))
    found = client.get("/cases/new", params={"find": "pat kno"})
    match = re.search(
        r'href="/cases/new\?resident=(\d+)">Use Pat Known, pat.known@example.org', found.text
    )
    assert match, found.text
    filled = client.get(f"/cases/new?resident={match.group(1)}")
    assert 'value="pat.known@example.org"' in filled.text
    response = _log(
        client,
        _form(client),
        channel="in_person",
        # Yesterday: the form's default time (10:15) today is in the future before 10:15.
        received_date=(app.clock.today() - timedelta(days=1)).isoformat(),
        name="Pat Known",
        email="pat.known@example.org",
        adjustments="Large print letters, please",
        letters_by="post",
        rep_name="Alex Advocate",
        rep_email="alex@advocacy.example.org",
        rep_consent="yes",
    )
    assert response.status_code == 303, response.text
    with app.db.session() as s:
        residents = list(s.scalars(select(Resident)))
        assert len(residents) == 1
        pat = residents[0]
        assert pat.adjustments == "Large print letters, please"
        assert pat.large_print and pat.preferred_channel == "post"
        assert pat.adjustments_review_on is not None
        assert pat.representative_name == "Alex Advocate" and pat.representative_consent
        letter = s.scalar(select(Letter))
        # Kept for post, as the resident asked (5.10), not emailed.
        assert letter is not None and letter.status == "by_post"


def test_only_staff_who_act_can_log_a_contact(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    with TestClient(
        create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    ) as anonymous:
        assert anonymous.get("/cases/new", follow_redirects=False).headers["location"] == "/login"
    with _staff_client(app, "ops") as ops:
        assert ops.get("/cases/new").status_code == 403
    app.db.dispose()
