"""The trusted-recipient decision through the real pipeline on PostgreSQL (SPEC section 6, issue 7):
a doubtful From opens the case as usual, sends nothing and leaves one confirm_address item; a
person's confirmation sends the held letter exactly once, to the confirmed address only."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import (
    AuditEvent,
    Case,
    InboundMessage,
    Letter,
    Resident,
    ReviewItem,
    ServiceRequest,
)
from worker.bootstrap import App, bootstrap
from worker.cli import main
from worker.domain.errors import UserError
from worker.ports import RawInbound
from worker.services import StaffService
from worker.settings import load_settings
from worker.stages.receive_mail import store

pytestmark = pytest.mark.integration

COMPLAINT = (
    "Formal complaint about your staff",
    "I want to make a formal complaint. Your contractor missed three appointments in October "
    "and when I rang the contact centre the adviser was rude and put the phone down on me. "
    "Nobody has called me back. I want an apology and a new appointment.",
)
REPAIR = (
    "Booking a gas safety check",
    "Please could you book my annual gas safety check? Thursday or Friday afternoons are best "
    "for me. Thank you.",
)
COURT = (
    "Disrepair claim",
    "Our solicitors issued a claim against you in the County Court on 3 November 2026, claim "
    "number K7QZ1234, about the disrepair in my flat.",
)
INJECTED = b"=?utf-8?Q?Kim=0D=0ABcc:_victim@example.com?= <kim.lowe@example.org>"
DMARC_FAIL = (
    b"Authentication-Results: mx.thrivehomes.org.uk; dmarc=fail header.from=example.org\r\n"
)


@pytest.fixture
def app(tmp_path: Path, pg_url: str) -> Iterator[App]:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": pg_url,
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
            "COMPLAINTS_TRUSTED_AUTHSERV_IDS": "mx.thrivehomes.org.uk",
        },
        cwd=tmp_path,
    )
    app = bootstrap(settings, clock=FixedClock(datetime(2026, 11, 10, 10, 0, tzinfo=UTC)))
    yield app
    app.db.dispose()


_uid = iter(range(1, 10_000))


def deliver(app: App, from_value: bytes, subject: str, body: str, extra: bytes = b"") -> int:
    uid = next(_uid)
    raw = (
        b"From: " + from_value + b"\r\n"
        b"To: complaints@thrivehomes.org.uk\r\n"
        b"Subject: " + subject.encode() + b"\r\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0000\r\n"
        b"Message-ID: <m" + str(uid).encode() + b"@example.org>\r\n" + extra + b"\r\n"
        b"" + body.encode() + b"\r\n"
    )
    inbound_id, fresh = store(app, RawInbound("test", 1, uid, raw))
    assert fresh
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    return inbound_id


def letters(app: App) -> list[tuple[str, str, str]]:
    with app.db.session() as s:
        return [
            (x.kind, x.recipient, x.status) for x in s.scalars(select(Letter).order_by(Letter.id))
        ]


def open_items(app: App) -> list[ReviewItem]:
    with app.db.session() as s:
        items = list(s.scalars(select(ReviewItem).where(ReviewItem.status == "open")))
        for item in items:
            s.expunge(item)
        return items


def outbox_recipients(app: App) -> list[str]:
    """The To of every letter file written, each checked to parse without defects."""
    found = []
    for eml in sorted(Path(app.settings.outbox_dir).glob("*.eml")):
        message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        assert not message.defects
        to = message["To"]
        assert not to.defects
        found.extend(a.addr_spec for a in to.addresses)
    return found


def test_an_ambiguous_from_opens_the_case_sends_nothing_and_asks_a_person(app: App) -> None:
    inbound_id = deliver(app, INJECTED, *COMPLAINT)
    with app.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row is not None
        assert row.recipient_trust == "unconfirmed"
        assert row.recipient_address == "kim.lowe@example.org"
        assert any(r.startswith("line_break") for r in row.recipient_reasons or [])
        case = s.scalars(select(Case)).one()
        # Opened as usual, but not acknowledged: the 5-day clock keeps running (6.2).
        assert case.status == "stage1_open"
        held = s.scalars(select(AuditEvent).where(AuditEvent.action == "letter.held")).one()
        assert "stage1_acknowledgement" in held.why
    assert letters(app) == []
    (item,) = open_items(app)
    assert (item.proposed_label, item.proposed_reason) == (
        "confirm_address",
        "stage1_acknowledgement",
    )
    assert any("line break" in text for text in item.evidence)

    result = StaffService(app).resolve_review(
        item.id, outcome="address_confirmed", reason="Rang Kim: it is her address.", by="Sam"
    )
    assert result["letters"] == ["stage1_acknowledgement"]
    assert letters(app) == [("stage1_acknowledgement", "kim.lowe@example.org", "sent")]
    assert outbox_recipients(app) == ["kim.lowe@example.org"]
    with app.db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "stage1_acknowledged"
        row = s.get(InboundMessage, inbound_id)
        assert row is not None and row.recipient_trust == "confirmed"
    assert open_items(app) == []

    # Once only: the item is decided, and nothing more is written.
    with pytest.raises(UserError, match="already decided"):
        StaffService(app).resolve_review(
            item.id, outcome="address_confirmed", reason="again", by="Sam"
        )
    assert len(letters(app)) == 1


def test_an_ordinary_from_still_gets_its_acknowledgement(app: App) -> None:
    deliver(app, b'"Lowe, Kim" <kim.lowe@example.org>', *COMPLAINT)
    assert letters(app) == [("stage1_acknowledgement", "kim.lowe@example.org", "sent")]
    assert open_items(app) == []
    assert outbox_recipients(app) == ["kim.lowe@example.org"]


def test_a_no_reply_sender_gets_no_service_request_acknowledgement(app: App) -> None:
    deliver(app, b"Bookings <no-reply@bookings.example.com>", *REPAIR)
    with app.db.session() as s:
        assert s.scalars(select(ServiceRequest)).one().ref.startswith("SR-")
    assert letters(app) == []
    (item,) = open_items(app)
    assert item.proposed_label == "confirm_address"
    assert item.proposed_reason == "service_request_acknowledgement"
    result = StaffService(app).resolve_review(
        item.id, outcome="do_not_write", reason="A booking system; phoned the resident.", by="Sam"
    )
    assert result["status"] == "decided" and result["letters"] == []
    assert letters(app) == []


def test_dmarc_failure_reported_by_our_server_holds_the_receipt_then_the_item_is_triage(
    app: App,
) -> None:
    results = (
        b"Authentication-Results: mx.thrivehomes.org.uk; dmarc=fail header.from=example.org\r\n"
    )
    deliver(app, b"Kim Lowe <kim.lowe@example.org>", *COURT, extra=results)
    with app.db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "pending_triage"
    assert letters(app) == []
    (item,) = open_items(app)
    assert (item.proposed_label, item.proposed_reason) == ("confirm_address", "receipt")
    StaffService(app).resolve_review(
        item.id, outcome="address_confirmed", reason="Her usual address.", by="Sam"
    )
    assert letters(app) == [("receipt", "kim.lowe@example.org", "sent")]
    # The address is dealt with; the exclusion still waits for a person's decision (2.1, 2.5).
    (item,) = open_items(app)
    assert item.proposed_label == "excluded"


def test_no_deliverable_address_cannot_be_confirmed(app: App) -> None:
    deliver(app, b"develop!nextmime@ebony@sblab.att.com", *COMPLAINT)
    assert letters(app) == []
    (item,) = open_items(app)
    assert item.proposed_label == "confirm_address"
    with pytest.raises(UserError, match="do_not_write"):
        StaffService(app).resolve_review(item.id, outcome="address_confirmed", reason="x", by="Sam")
    assert letters(app) == []


def test_cli_decides_a_confirm_address_item(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deliver(app, b"xxxxx@xxxxx", *COMPLAINT)
    (item,) = open_items(app)
    monkeypatch.setattr("worker.cli._staff", lambda: StaffService(app))
    argv = ["review", "resolve", str(item.id), "--outcome", "do_not_write", "--reason", "x"]
    assert main([*argv, "--by", "Sam"]) == 0
    assert '"outcome": "do_not_write"' in capsys.readouterr().out
    assert letters(app) == []


# -- the address the product stores and writes to (issue 7 parts 1-2, every letter) -------------


def residents(app: App) -> list[str]:
    with app.db.session() as s:
        return sorted(s.scalars(select(Resident.email)))


def test_a_doubtful_from_is_never_stored_as_the_residents_email(app: App) -> None:
    inbound_id = deliver(
        app, b"=?utf-8?Q?Jane=0D=0ABcc:_victim@example.com?= <jane@example.org>", *COMPLAINT
    )
    with app.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row is not None and row.recipient_trust == "unconfirmed"
        case = s.scalars(select(Case)).one()
        # The raw reading stays for staff to see; the record has no address until confirmed.
        assert "@" not in case.resident.email
    assert not [e for e in residents(app) if "victim" in e or "?=" in e or "@" in e]


def test_a_trusted_from_is_stored_as_the_modern_parser_reads_it(app: App) -> None:
    inbound_id = deliver(app, b'"Lowe, Kim" <Kim.Lowe@Example.ORG>', *COMPLAINT)
    with app.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row is not None and row.from_addr == "kim.lowe@example.org"
    assert residents(app) == ["kim.lowe@example.org"]


def test_staff_letters_before_the_address_is_confirmed_are_refused_in_one_line(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deliver(app, b"Kim Lowe <kim.lowe@example.org>", *COURT, extra=DMARC_FAIL)
    with app.db.session() as s:
        ref = s.scalars(select(Case)).one().ref
    staff = StaffService(app)
    with pytest.raises(UserError, match="nobody has confirmed the sender's email address"):
        staff.decide_triage(ref, decision="accept", reason="It is a complaint.", by="Sam")
    with pytest.raises(UserError, match="review item"):
        staff.decide_triage(ref, decision="service_request", reason="A repair.", by="Sam")
    monkeypatch.setattr("worker.cli._staff", lambda: StaffService(app))
    argv = ["case", "decide", ref, "--decision", "accept", "--reason", "x", "--by", "Sam"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "confirm" in err and "Traceback" not in err
    with app.db.session() as s:
        assert s.scalars(select(Case)).one().status == "pending_triage"  # nothing changed
    assert letters(app) == []


def test_a_confirmed_address_becomes_the_residents_and_staff_letters_go_there(app: App) -> None:
    deliver(app, INJECTED, *COURT)
    (item,) = open_items(app)
    StaffService(app).resolve_review(
        item.id, outcome="address_confirmed", reason="Rang Kim.", by="Sam"
    )
    assert residents(app) == ["kim.lowe@example.org"]
    (item,) = open_items(app)  # now the triage decision
    with app.db.session() as s:
        ref = s.scalars(select(Case)).one().ref
    StaffService(app).decide_triage(ref, decision="accept", reason="A complaint.", by="Sam")
    assert letters(app) == [
        ("receipt", "kim.lowe@example.org", "sent"),
        ("stage1_acknowledgement", "kim.lowe@example.org", "sent"),
    ]


def test_after_do_not_write_staff_letters_are_kept_for_post_not_sent(app: App) -> None:
    inbound_id = deliver(app, b"xxxxx@xxxxx", *COURT)
    (item,) = open_items(app)
    StaffService(app).resolve_review(item.id, outcome="do_not_write", reason="x", by="Sam")
    with app.db.session() as s:
        ref = s.scalars(select(Case)).one().ref
    StaffService(app).decide_triage(ref, decision="accept", reason="A complaint.", by="Sam")
    placeholder = f"unknown-sender-{inbound_id}"
    assert letters(app) == [("stage1_acknowledgement", placeholder, "no_address")]
    assert outbox_recipients(app) == []


def test_a_person_may_give_a_corrected_address_instead_of_the_candidate(app: App) -> None:
    deliver(app, b"jang.abcdef@xyzlinu <jang.abcdef@xyzlinux12345678.it>", *COMPLAINT)
    (item,) = open_items(app)
    staff = StaffService(app)
    for bad, why in [
        ("kim@localhost", "no dot in the domain"),
        ("kim@example.org\r\nBcc: victim@example.com", "line break"),
        ("kim@example.org, victim@example.com", "single email address"),
        ("develop!nextmime@example.org", "bang path"),
    ]:
        with pytest.raises(UserError, match=why):
            staff.resolve_review(
                item.id, outcome="address_confirmed", reason="x", by="Sam", address=bad
            )
    with pytest.raises(UserError, match="only be given when confirming"):
        staff.resolve_review(
            item.id, outcome="do_not_write", reason="x", by="Sam", address="jang@example.it"
        )
    assert letters(app) == [] and [i.id for i in open_items(app)] == [item.id]

    result = staff.resolve_review(
        item.id,
        outcome="address_confirmed",
        reason="Rang Jang: the address in the name was a typo of theirs.",
        by="Sam",
        address="Jang Abcdef <Jang.Abcdef@Example.IT>",
    )
    assert result["letters"] == ["stage1_acknowledgement"]
    assert letters(app) == [("stage1_acknowledgement", "jang.abcdef@example.it", "sent")]
    assert outbox_recipients(app) == ["jang.abcdef@example.it"]
    assert residents(app) == ["jang.abcdef@example.it"]
    with app.db.session() as s:
        confirmed = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "recipient.address_confirmed")
        ).one()
        assert "corrected" in confirmed.why and "xyzlinux12345678.it" in confirmed.why


def test_confirming_an_address_on_file_joins_the_case_to_that_resident(app: App) -> None:
    deliver(app, b"Kim Lowe <kim.lowe@example.org>", *REPAIR)  # trusted: Kim's record
    deliver(app, b"Kim <kim.lowe@example.org>", *COMPLAINT, extra=DMARC_FAIL)
    (item,) = open_items(app)
    StaffService(app).resolve_review(item.id, outcome="address_confirmed", reason="x", by="Sam")
    assert residents(app) == ["kim.lowe@example.org"]  # the placeholder is gone
    with app.db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.resident.email == "kim.lowe@example.org"


def test_cli_takes_a_corrected_address(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deliver(app, b"develop!nextmime@ebony@sblab.att.com", *COMPLAINT)
    (item,) = open_items(app)
    monkeypatch.setattr("worker.cli._staff", lambda: StaffService(app))
    argv = ["review", "resolve", str(item.id), "--outcome", "address_confirmed"]
    argv += ["--reason", "Phoned.", "--by", "Sam"]
    assert main([*argv, "--address", "a@b"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no dot in the domain" in err and "\n" not in err
    assert main([*argv, "--address", "nextmime@sblab.att.com"]) == 0
    assert json.loads(capsys.readouterr().out)["letters"] == ["stage1_acknowledgement"]
    assert letters(app) == [("stage1_acknowledgement", "nextmime@sblab.att.com", "sent")]


def test_console_takes_a_corrected_address_and_shows_a_bad_one_as_a_field_error(
    tmp_path: Path,
) -> None:
    from starlette.testclient import TestClient

    from tests.browser.seed import PASSWORD, SECRET, directory, make_app, seed
    from worker.web.app import create_app

    core = make_app(tmp_path)
    seed(core)
    deliver(core, INJECTED, *COMPLAINT)
    with core.db.session() as s:
        item_id = s.scalars(
            select(ReviewItem.id).where(ReviewItem.proposed_label == "confirm_address")
        ).one()
    web = create_app(core, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:

        def post(path: str, data: dict[str, str], page: str) -> Any:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
            assert token
            return client.post(
                path, data={**data, "csrf_token": token.group(1)}, follow_redirects=False
            )

        post("/login", {"username": "hana", "password": PASSWORD}, "/login")
        page = client.get(f"/triage/{item_id}").text
        assert f'id="address-{item_id}"' in page
        assert f'<label for="address-{item_id}">' in page
        form = {"outcome": "address_confirmed", "reason": "Rang Kim."}
        bad = post(f"/triage/{item_id}/resolve", {**form, "address": "kim@nodot"}, "/triage")
        assert bad.status_code == 422
        assert "Enter one email address we can deliver to" in bad.text
        assert 'aria-invalid="true"' in bad.text
        good = {**form, "address": "kim.lowe@example.net"}
        assert post(f"/triage/{item_id}/resolve", good, "/triage").status_code == 303
    with core.db.session() as s:
        sent = [(x.kind, x.recipient) for x in s.scalars(select(Letter))]
        assert ("stage1_acknowledgement", "kim.lowe@example.net") in sent
    core.db.dispose()
