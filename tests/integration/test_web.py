"""The web console, public form and operations endpoints, through Starlette's TestClient against a
real database (SQLite; one run on PostgreSQL)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.browser.seed import PASSWORD, SECRET, Seeded, directory, make_app, seed
from worker.adapters.db_models import (
    AuditEvent,
    Case,
    InboundMessage,
    Letter,
    ReviewItem,
    ServiceRequest,
)
from worker.bootstrap import App
from worker.domain.errors import ConfigurationError
from worker.residents import ResidentService
from worker.web.app import create_app
from worker.web.auth import hash_password, load_directory, verify_password
from worker.web.session import Signer

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    def __init__(self, app: App, client: TestClient, seeded: Seeded) -> None:
        self.app = app
        self.client = client
        self.seeded = seeded

    def token(self, path: str = "/login") -> str:
        match = CSRF.search(self.client.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, username: str = "hana", password: str = PASSWORD) -> Any:
        return self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": self.token()},
            follow_redirects=False,
        )

    def post(self, path: str, data: dict[str, Any], page: str | None = None) -> Any:
        return self.client.post(
            path, data={**data, "csrf_token": self.token(page or path)}, follow_redirects=False
        )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    app = make_app(tmp_path)
    seeded = seed(app)
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:
        yield Console(app, client, seeded)
    app.db.dispose()


def audit_actions(app: App) -> list[str]:
    with app.db.session() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


# -- sign-in and CSRF ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/cases", "/triage", "/operations", "/cases/CMP-2026-00001"])
def test_staff_pages_need_sign_in(console: Console, path: str) -> None:
    response = console.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_wrong_password_is_refused_and_audited(console: Console) -> None:
    response = console.login(password="not it")
    assert response.status_code == 401
    assert "The username or password is wrong" in response.text
    assert "staff.login_failed" in audit_actions(console.app)
    assert console.client.get("/cases", follow_redirects=False).status_code == 303


def test_sign_in_and_out_are_audited(console: Console) -> None:
    response = console.login()
    assert response.status_code == 303 and response.headers["location"] == "/cases"
    assert console.client.get("/cases").status_code == 200
    response = console.post("/logout", {}, page="/cases")
    assert response.status_code == 303
    assert console.client.get("/cases", follow_redirects=False).status_code == 303
    actions = audit_actions(console.app)
    assert "staff.login" in actions and "staff.logout" in actions


def test_post_without_csrf_token_is_refused(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.client.post(
        f"/cases/{ref}/extend", data={"days": "2", "reason": "waiting for a survey"}
    )
    assert response.status_code == 403
    response = console.client.post(
        f"/cases/{ref}/extend",
        data={"days": "2", "reason": "waiting for a survey", "csrf_token": "forged"},
    )
    assert response.status_code == 403
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.stages[0].extension_days == 0


def test_login_form_needs_csrf_token_too(console: Console) -> None:
    response = console.client.post("/login", data={"username": "hana", "password": PASSWORD})
    assert response.status_code == 403


def _replace_session_cookie(console: Console, value: str) -> None:
    # The jar holds the genuine cookie under the test server's domain; a plain cookies.set adds
    # a second one under no domain, both are sent, and the server reads the genuine one. So the
    # genuine cookie is removed first and the replacement stored under the same domain.
    domain = next(c.domain for c in console.client.cookies.jar if c.name == "complaints_session")
    console.client.cookies.clear()
    console.client.cookies.set("complaints_session", value, domain=domain, path="/")


def test_session_cookie_signed_with_another_key_is_ignored(console: Console) -> None:
    console.login()
    assert console.client.get("/cases", follow_redirects=False).status_code == 200
    forged = Signer(b"another secret that is long enough").dumps({"user": "mo"}, 3600)
    _replace_session_cookie(console, forged)
    assert console.client.get("/cases", follow_redirects=False).status_code == 303


def test_tampered_session_cookie_is_ignored(console: Console) -> None:
    console.login()
    value = console.client.cookies.get("complaints_session")
    assert value
    # Same signature and expiry, a payload that names someone else.
    _payload, expires, signature = value.split(".")
    other = base64.urlsafe_b64encode(b'{"user":"mo"}').rstrip(b"=").decode()
    _replace_session_cookie(console, f"{other}.{expires}.{signature}")
    assert console.client.get("/cases", follow_redirects=False).status_code == 303


def test_operations_role_cannot_act(console: Console) -> None:
    console.login("ops")
    response = console.post(
        f"/cases/{console.seeded.acknowledged}/extend",
        {"days": "2", "reason": "survey"},
        page=f"/cases/{console.seeded.acknowledged}",
    )
    assert response.status_code == 403
    assert "cannot do this" in response.text


def test_only_managers_assign(console: Console) -> None:
    ref = console.seeded.acknowledged
    console.login("hana")
    response = console.post(f"/cases/{ref}/assign", {"handler": "Someone"}, page=f"/cases/{ref}")
    assert response.status_code == 403
    console.login("mo")
    response = console.post(
        f"/cases/{ref}/assign", {"handler": "Asha Patel", "stage": "1"}, page=f"/cases/{ref}"
    )
    assert response.status_code == 303
    assert "Asha Patel" in console.client.get(f"/cases/{ref}").text


# -- case list and case page --------------------------------------------------------------------


def test_case_list_shows_deadline_status_and_filters(console: Console) -> None:
    console.login()
    page = console.client.get("/cases").text
    seeded = console.seeded
    for ref in (seeded.acknowledged, seeded.overdue, seeded.triage, seeded.responded):
        assert ref in page
    assert "Overdue" in page and "On track" in page

    overdue = console.client.get("/cases", params={"risk": "overdue"}).text
    assert seeded.overdue in overdue and seeded.acknowledged not in overdue

    triage = console.client.get("/cases", params={"status": "pending_triage"}).text
    assert seeded.triage in triage and seeded.overdue not in triage

    mine = console.client.get("/cases", params={"handler": "mo manager"}).text
    assert seeded.overdue in mine and seeded.acknowledged not in mine

    flagged = console.client.get("/cases", params={"flag": "priority"}).text
    assert seeded.overdue in flagged and seeded.acknowledged not in flagged

    stage2 = console.client.get("/cases", params={"stage": "2"}).text
    assert "No cases match these filters" in stage2


def test_case_page_sanitises_resident_html(console: Console) -> None:
    console.login()
    page = console.client.get(f"/cases/{console.seeded.acknowledged}").text
    assert "<b>has come back</b>" in page
    assert "alert(" not in page
    assert "tracker.example" not in page
    assert "case.acknowledge" in page  # audit events are on the timeline
    assert 'lang="en-GB"' in page and 'href="#main"' in page


# -- attachments (issue 9, item 4) ---------------------------------------------------------------

PHOTO = bytes(range(256)) * 6000  # 1.5 MB: over the 1 MiB threshold, so stored apart
SCRIPT_PAGE = b"<html><body><script>alert('x')</script>Invoice</body></html>"


def _mail_with_attachments(console: Console) -> int:
    """A resident's email with a big photo, an HTML file and a PDF, stored as the poller stores
    it (the photo's body kept apart) and joined to the seeded case."""
    from email.message import EmailMessage

    from worker.ports import RawInbound
    from worker.stages.receive_mail import store

    message = EmailMessage()
    message["From"] = "Resident 1 <resident1@example.org>"
    message["To"] = "complaints@example.org"
    message["Subject"] = "Photos of the damp"
    message["Message-ID"] = "<photos-1@example.org>"
    message.set_content("Here are the photos of the damp.")
    message.add_attachment(PHOTO, maintype="image", subtype="png", filename="bedroom wall.png")
    message.add_attachment(
        SCRIPT_PAGE, maintype="text", subtype="html", filename="../../invoice.html"
    )
    message.add_attachment(
        b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="Lettre é.pdf"
    )
    inbound_id, fresh = store(
        console.app, RawInbound(mailbox="test", uidvalidity=1, uid=99, raw=message.as_bytes())
    )
    assert fresh
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == console.seeded.acknowledged))
        row = s.get(InboundMessage, inbound_id)
        assert case is not None and row is not None
        assert len(row.raw) < len(PHOTO)  # the photo really is kept apart from the message
        row.case_id = case.id
        row.status = "done"
    return inbound_id


def test_attachments_are_listed_with_name_type_and_size(console: Console) -> None:
    inbound_id = _mail_with_attachments(console)
    console.login()
    page = console.client.get(f"/cases/{console.seeded.acknowledged}").text
    assert "Attachments (3)" in page
    assert f'href="/attachments/{inbound_id}/1"' in page
    assert "bedroom wall.png</a> &middot; image/png &middot; 1.5 MB" in page
    assert f"invoice.html</a> &middot; text/html &middot; {len(SCRIPT_PAGE)} bytes" in page
    assert "../" not in page.split("Attachments (3)")[1].split("</ul>")[0]
    assert "<script>alert('x')" not in page


def test_an_attachment_downloads_as_a_file_and_is_never_rendered(console: Console) -> None:
    inbound_id = _mail_with_attachments(console)
    console.login()
    photo = console.client.get(f"/attachments/{inbound_id}/1")
    assert photo.status_code == 200
    assert photo.content == PHOTO  # put back together from the chunks stored apart
    page = console.client.get(f"/attachments/{inbound_id}/2")
    assert page.content == SCRIPT_PAGE
    for response in (photo, page):
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
    assert 'filename="invoice.html"' in page.headers["content-disposition"]
    pdf = console.client.get(f"/attachments/{inbound_id}/3")
    assert "filename*=UTF-8''Lettre%20%C3%A9.pdf" in pdf.headers["content-disposition"]
    assert console.client.get(f"/attachments/{inbound_id}/4").status_code == 404
    assert console.client.get("/attachments/999999/1").status_code == 404
    with console.app.db.session() as s:
        who = list(
            s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "access.attachment"))
        )
    assert who == ["Hana Handler"] * 3


def test_attachments_need_sign_in(console: Console) -> None:
    inbound_id = _mail_with_attachments(console)
    response = console.client.get(f"/attachments/{inbound_id}/1", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_unknown_case_is_404(console: Console) -> None:
    console.login()
    assert console.client.get("/cases/CMP-2099-99999").status_code == 404


def test_respond_form_refuses_a_missing_element(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.post(
        f"/cases/{ref}/respond",
        {"decision": "upheld", "reasons": "Our damp policy section 4 says ...", "intent": "send"},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 422
    assert "Enter the remedy, or say why no remedy is offered" in response.text
    assert "List each outstanding action with its date" in response.text
    assert "Our damp policy section 4 says" in response.text  # the form keeps what was typed
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.status == "stage1_acknowledged"


def test_respond_action_without_date_is_refused(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.post(
        f"/cases/{ref}/respond",
        {
            "decision": "upheld",
            "reasons": "Policy 4.2",
            "remedy": "We will treat the damp",
            "action_text": "Treat the damp",
            "action_due": "",
            "intent": "send",
        },
        page=f"/cases/{ref}",
    )
    assert response.status_code == 422
    assert "Action 1: enter the date it will be done by" in response.text


def _valid_response(console: Console) -> dict[str, Any]:
    due = console.app.calendar.add_working_days(console.app.clock.today(), 10).isoformat()
    return {
        "decision": "upheld",
        "reasons": "Our repairs policy (section 4.2) says damp is treated within 20 days.",
        "remedy": "An apology and £50 for the inconvenience",
        "remedy_amount": "50",
        "action_text": ["Treat the damp in the bedroom", ""],
        "action_due": [due, ""],
    }


def test_respond_preview_shows_the_letter_and_saves_nothing(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.post(
        f"/cases/{ref}/respond",
        {**_valid_response(console), "intent": "preview"},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 200
    assert "Preview:" in response.text
    assert "Treat the damp in the bedroom" in response.text
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.status == "stage1_acknowledged"
        assert not s.scalars(select(Letter).where(Letter.case_id == case.id)).all()


def test_respond_records_the_response_and_sends_the_letter(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.post(
        f"/cases/{ref}/respond",
        {**_valid_response(console), "intent": "send"},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 303, response.text
    page = console.client.get(f"/cases/{ref}").text
    assert "Response recorded" in page
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.status == "stage1_responded"
        kinds = [
            letter.kind for letter in s.scalars(select(Letter).where(Letter.case_id == case.id))
        ]
        assert kinds == ["stage1_response"]
        actor = s.scalar(
            select(AuditEvent.actor).where(
                AuditEvent.case_id == case.id, AuditEvent.action == "case.respond"
            )
        )
        assert actor == "Hana Handler"


def test_refused_action_shows_the_one_line_reason(console: Console) -> None:
    console.login()
    ref = console.seeded.responded  # already responded: cannot be extended
    response = console.post(
        f"/cases/{ref}/extend", {"days": "5", "reason": "more time"}, page=f"/cases/{ref}"
    )
    assert response.status_code == 400
    assert "There is a problem" in response.text
    assert "Traceback" not in response.text


def test_extend_beyond_limit_needs_a_manager(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.post(
        f"/cases/{ref}/extend",
        {"days": "15", "reason": "survey", "good_reason": "specialist", "approved_by": "Hana"},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 422
    assert "Approval must come from a manager" in response.text
    response = console.post(
        f"/cases/{ref}/extend",
        {
            "days": "15",
            "reason": "survey",
            "good_reason": "specialist",
            "approved_by": "Mo Manager",
        },
        page=f"/cases/{ref}",
    )
    assert response.status_code == 303, response.text


def test_escalate_and_complete_action(console: Console) -> None:
    console.login()
    ref = console.seeded.responded
    response = console.post(f"/cases/{ref}/escalate", {"received": ""}, page=f"/cases/{ref}")
    assert response.status_code == 303, response.text
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        assert case is not None and case.status == "stage2_acknowledged"


def test_complete_action_goes_through_the_service(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    console.post(
        f"/cases/{ref}/respond",
        {**_valid_response(console), "intent": "send"},
        page=f"/cases/{ref}",
    )
    page = console.client.get(f"/cases/{ref}").text
    action_id = re.search(rf"/cases/{ref}/actions/(\d+)/complete", page)
    assert action_id
    response = console.post(
        f"/cases/{ref}/actions/{action_id.group(1)}/complete", {}, page=f"/cases/{ref}"
    )
    assert response.status_code == 303
    assert "action.completed" in audit_actions(console.app)


# -- triage --------------------------------------------------------------------------------------


def test_triage_queue_lists_open_items(console: Console) -> None:
    console.login()
    page = console.client.get("/triage").text
    assert console.seeded.triage in page
    assert "Legal proceedings" in page
    assert "62%" in page
    # The list is compact; the evidence is on the item's own page (issue 9, item 5).
    page = console.client.get(f"/triage/{console.seeded.triage_item}").text
    assert "filed a claim at court" in page


def test_triage_refuse_needs_a_reason(console: Console) -> None:
    console.login()
    item = console.seeded.triage_item
    response = console.post(f"/triage/{item}", {"decision": "refuse", "reason": ""}, page="/triage")
    assert response.status_code == 422
    assert "Write the reason for your decision" in response.text


def test_triage_refuse_calls_through_and_sends_the_refusal(console: Console) -> None:
    console.login()
    item = console.seeded.triage_item
    response = console.post(
        f"/triage/{item}",
        {
            "decision": "refuse",
            "reason": "The court is deciding this; we cannot also decide it.",
            "exclusion": "legal_proceedings",
            "where_instead": "The court hearing",
        },
        page="/triage",
    )
    assert response.status_code == 303, response.text
    with console.app.db.session() as s:
        review = s.get(ReviewItem, item)
        assert review is not None and review.status == "decided"
        assert review.decided_by == "Hana Handler"
        case = s.scalar(select(Case).where(Case.ref == console.seeded.triage))
        assert case is not None and case.status == "refused"
        kinds = [
            letter.kind for letter in s.scalars(select(Letter).where(Letter.case_id == case.id))
        ]
        assert kinds == ["refusal"]
    assert "triage.refuse" in audit_actions(console.app)
    assert "The triage queue is empty" in console.client.get("/triage").text


def test_triage_accept_opens_stage1(console: Console) -> None:
    console.login()
    response = console.post(
        f"/triage/{console.seeded.triage_item}",
        {"decision": "accept", "reason": "It is about our service, not the court case."},
        page="/triage",
    )
    assert response.status_code == 303, response.text
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == console.seeded.triage))
        assert case is not None and case.status == "stage1_acknowledged"


def test_triage_relabels_a_pending_item_as_a_service_request(console: Console) -> None:
    console.login()
    item = console.seeded.triage_item
    response = console.post(
        f"/triage/{item}",
        {"decision": "service_request", "reason": "A first request for a repair (1.4)."},
        page="/triage",
    )
    assert response.status_code == 303, response.text
    notice = console.client.get("/triage").text
    assert "logged as service request SR-" in notice
    assert "The triage queue is empty" in notice
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == console.seeded.triage))
        assert case is not None and case.status == "withdrawn"
        letter = s.scalars(select(Letter).where(Letter.cause_inbound_id.is_not(None))).one()
        assert letter.kind == "service_request_acknowledgement"
        assert s.scalars(select(ServiceRequest)).one().origin_inbound_id == case.origin_inbound_id
    assert "triage.service_request" in audit_actions(console.app)


def test_triage_records_not_resident_mail_without_a_letter(console: Console) -> None:
    console.login()
    response = console.post(
        f"/triage/{console.seeded.triage_item}",
        {"decision": "not_resident_mail", "mail_reason": "bulk", "reason": "A newsletter."},
        page="/triage",
    )
    assert response.status_code == 303, response.text
    assert "no letter" in console.client.get("/triage").text
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == console.seeded.triage))
        assert case is not None and case.status == "withdrawn"
        assert s.scalars(select(Letter).where(Letter.case_id == case.id)).all() == []
    assert "triage.not_resident_mail" in audit_actions(console.app)


def _review_item(
    console: Console,
    label: str,
    *,
    case_ref: str | None = None,
    sender: str = "kim@work.example.com",
    headers: str = "",
) -> int:
    """An inbound message and its review item, as the route stage leaves them."""
    with console.app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == case_ref)) if case_ref else None
        n = (s.scalar(select(func.count(InboundMessage.id))) or 0) + 100
        text = "I am unhappy that nobody has fixed my boiler; this is a complaint."
        raw = (
            f"From: Kim <{sender}>\r\nTo: complaints@thrivehomes.org.uk\r\n{headers}"
            f"Subject: Out of office\r\nMessage-ID: <rv{n}@example.org>\r\n\r\n{text}\r\n"
        )
        row = InboundMessage(
            source="email",
            mailbox="seed",
            uidvalidity=1,
            uid=n,
            message_id=f"rv{n}@example.org",
            dedupe_key=f"mid:rv{n}@example.org",
            raw=raw.encode(),
            status="done",
            from_addr=sender,
            from_name="Kim",
            subject="Out of office",
            text=text,
            received_on=console.app.clock.today(),
            label="not_resident_mail" if label == "not_resident_mail" else "complaint",
            reason="auto_reply" if label == "not_resident_mail" else "",
            needs_review=label == "not_resident_mail",
            case_id=case.id if case else None,
        )
        s.add(row)
        s.flush()
        item = ReviewItem(
            inbound_id=row.id,
            case_id=case.id if case else None,
            proposed_label=label,
            proposed_reason="auto_reply" if label == "not_resident_mail" else "",
        )
        s.add(item)
        s.flush()
        return item.id


def test_triage_shows_the_right_actions_for_each_review_item(console: Console) -> None:
    auto = _review_item(console, "not_resident_mail", headers="Auto-Submitted: auto-replied\r\n")
    reply = _review_item(console, "reply_from_new_address", case_ref=console.seeded.acknowledged)
    console.login()
    pending = console.seeded.triage_item
    # Each item has its own page (issue 9, item 5).
    page = "".join(console.client.get(f"/triage/{i}").text for i in (pending, auto, reply))
    for value in ("accept", "refuse", "service_request", "not_resident_mail"):
        assert f'id="decision-{pending}-{value}"' in page
    assert f'id="outcome-{auto}-open_case"' in page and f'id="outcome-{auto}-no_action"' in page
    assert f'id="outcome-{reply}-same_resident"' in page
    assert f'id="outcome-{reply}-different_person"' in page
    assert f'<label for="outcome-{reply}-same_resident">' in page
    assert f'action="/triage/{reply}/resolve"' in page


def test_triage_resolve_needs_a_reason_and_shows_a_refusal_as_one_line(console: Console) -> None:
    item = _review_item(console, "reply_from_new_address", case_ref=console.seeded.acknowledged)
    console.login()
    response = console.post(
        f"/triage/{item}/resolve", {"outcome": "same_resident", "reason": ""}, page="/triage"
    )
    assert response.status_code == 422
    assert "Write what you found or did" in response.text
    response = console.post(
        f"/triage/{item}/resolve", {"outcome": "open_case", "reason": "x"}, page="/triage"
    )
    assert response.status_code == 400
    assert "takes outcome same_resident or different_person" in response.text


def test_triage_resolve_adds_the_new_address_to_the_resident(console: Console) -> None:
    item = _review_item(console, "reply_from_new_address", case_ref=console.seeded.acknowledged)
    console.login()
    response = console.post(
        f"/triage/{item}/resolve",
        {"outcome": "same_resident", "reason": "Confirmed by phone."},
        page="/triage",
    )
    assert response.status_code == 303, response.text
    with console.app.db.session() as s:
        review = s.get(ReviewItem, item)
        assert review is not None and review.status == "decided"
        assert review.decided_by == "Hana Handler" and review.decision == "same_resident"
        case = s.scalar(select(Case).where(Case.ref == console.seeded.acknowledged))
        assert case is not None and case.resident.other_emails == ["kim@work.example.com"]
    assert "review.same_resident" in audit_actions(console.app)


def test_triage_resolve_opens_a_case_for_automatic_looking_mail(console: Console) -> None:
    item = _review_item(console, "not_resident_mail", headers="Auto-Submitted: auto-replied\r\n")
    console.login()
    response = console.post(
        f"/triage/{item}/resolve",
        {"outcome": "open_case", "reason": "A complaint about the boiler is in it."},
        page="/triage",
    )
    assert response.status_code == 303, response.text
    page = console.client.get("/triage").text
    assert "the stage 1 acknowledgement has been queued" in page
    with console.app.db.session() as s:
        review = s.get(ReviewItem, item)
        assert review is not None and review.status == "decided" and review.case_id
        case = s.get(Case, review.case_id)
        assert case is not None and case.status == "stage1_acknowledged"
        kinds = [x.kind for x in s.scalars(select(Letter).where(Letter.case_id == case.id))]
        assert kinds == ["stage1_acknowledgement"]


def test_a_case_opened_for_mail_with_no_reply_address_stays_in_the_queue(
    console: Console,
) -> None:
    item = _review_item(console, "not_resident_mail")
    with console.app.db.session() as s:
        row = s.get(InboundMessage, s.get(ReviewItem, item).inbound_id)  # type: ignore[union-attr]
        assert row is not None
        row.raw = b"Subject: Out of office\r\n\r\nI am unhappy nobody fixed my boiler.\r\n"
        # The parse stage keeps the sender on the row; later steps never parse the raw again.
        row.from_addr = ""
    console.login()
    response = console.post(
        f"/triage/{item}/resolve",
        {"outcome": "open_case", "reason": "It is a complaint."},
        page="/triage",
    )
    assert response.status_code == 303, response.text
    assert "stays in the queue" in console.client.get("/triage").text
    with console.app.db.session() as s:
        review = s.get(ReviewItem, item)
        assert review is not None and review.status == "open"
        assert review.proposed_label == "no_reply_address" and review.case_id is not None


def test_operations_cannot_resolve_review_items(console: Console) -> None:
    item = _review_item(console, "not_resident_mail")
    console.login("ops")
    response = console.post(
        f"/triage/{item}/resolve", {"outcome": "no_action", "reason": "x"}, page="/triage"
    )
    assert response.status_code == 403


# -- the resident's record on the case page -----------------------------------------------------


def test_case_page_records_reasonable_adjustments_with_a_review_date(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    page = console.client.get(f"/cases/{ref}").text
    assert '<label for="adj_review_on">' in page and '<label for="rep_consent">' in page
    response = console.post(
        f"/cases/{ref}/adjustments",
        {"adj_text": "Large print letters", "adj_channel": "post", "adj_review_on": ""},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 422
    assert "Enter the date the adjustments will be reviewed" in response.text
    assert "Large print letters" in response.text  # what was typed is kept
    review_on = (console.app.clock.today() + timedelta(days=90)).isoformat()
    response = console.post(
        f"/cases/{ref}/adjustments",
        {
            "adj_text": "Large print letters",
            "adj_large_print": "yes",
            "adj_channel": "post",
            "adj_review_on": review_on,
        },
        page=f"/cases/{ref}",
    )
    assert response.status_code == 303, response.text
    shown = ResidentService(console.app).show("resident1@example.org")
    assert shown["adjustments"] == "Large print letters" and shown["large_print"]
    assert shown["adjustments_review_on"] == review_on and shown["preferred_channel"] == "post"
    assert "resident.adjustments_recorded" in audit_actions(console.app)
    past = console.app.clock.today().isoformat()
    response = console.post(
        f"/cases/{ref}/adjustments",
        {"adj_text": "Large print letters", "adj_review_on": past},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 400
    assert "adjustments need a review date after today" in response.text


def test_case_page_records_a_representative_with_consent(console: Console) -> None:
    console.login()
    ref = console.seeded.acknowledged
    response = console.post(
        f"/cases/{ref}/representative",
        {"rep_name": "Pat Advocate", "rep_email": "pat@advice.example.org", "rep_consent": "yes"},
        page=f"/cases/{ref}",
    )
    assert response.status_code == 303, response.text
    shown = ResidentService(console.app).show("resident1@example.org")
    assert shown["representative"] == {
        "name": "Pat Advocate",
        "email": "pat@advice.example.org",
        "consent": True,
    }
    response = console.post(
        f"/cases/{ref}/representative",
        {"rep_name": "Pat", "rep_email": "not an address"},
        page=f"/cases/{ref}",
    )
    # The wording of worker/residents.py since issue 7 (the rules a letter's address meets).
    assert response.status_code == 400
    assert "is not an email address we can write to" in response.text


def test_only_managers_record_restrictions(console: Console) -> None:
    ref = console.seeded.acknowledged
    review_on = (console.app.clock.today() + timedelta(days=180)).isoformat()
    data = {
        "res_description": "Contact by email to one named officer only",
        "res_reasons": "Repeated abusive calls to staff on 3, 4 and 5 November.",
        "res_review_on": review_on,
    }
    console.login("hana")
    assert 'action="/cases/' + ref + '/restriction"' not in console.client.get(f"/cases/{ref}").text
    response = console.post(f"/cases/{ref}/restriction", data, page=f"/cases/{ref}")
    assert response.status_code == 403
    console.login("mo")
    response = console.post(
        f"/cases/{ref}/restriction", {**data, "res_reasons": ""}, page=f"/cases/{ref}"
    )
    assert response.status_code == 422 and "Enter the reasons for the restriction" in response.text
    response = console.post(f"/cases/{ref}/restriction", data, page=f"/cases/{ref}")
    assert response.status_code == 303, response.text
    page = console.client.get(f"/cases/{ref}").text
    assert "Repeated abusive calls" in page and "decided by Mo Manager" in page
    restrictions = ResidentService(console.app).show("resident1@example.org")["restrictions"]
    assert [r["decided_by"] for r in restrictions] == ["Mo Manager"]


# -- public complaint form ------------------------------------------------------------------------


def _complaint(**overrides: str) -> dict[str, str]:
    values = {
        "name": "Jo Resident",
        "email": "jo@example.org",
        "phone": "0161 496 0000",
        "address": "1 High Street\nTown",
        "issue": "The repair to my leaking roof was not done and water is coming in.",
        "started": "March 2026",
        "spoken_to": "Sam at the call centre",
        "outcome": "Fix the roof",
        "adjustments": "Large print letters",
        "on_behalf": "no",
    }
    values.update(overrides)
    return values


def test_complaint_form_needs_no_sign_in_and_stores_an_inbound_item(console: Console) -> None:
    page = console.client.get("/complain")
    assert page.status_code == 200 and "What are you unhappy about?" in page.text
    response = console.post("/complain", _complaint())
    assert response.status_code == 303
    thanks = console.client.get(response.headers["location"])
    assert thanks.status_code == 200
    assert "We have received your complaint" in thanks.text
    with console.app.db.session() as s:
        row = s.scalar(select(InboundMessage).where(InboundMessage.source == "webform"))
        assert row is not None
        raw = row.raw.decode()
        assert "X-Complaints-Channel: webform" in raw
        assert "Subject: Web form complaint" in raw
        assert "jo@example.org" in raw
        # The resident's own words open the body, as in an email (issue 9, item 8).
        assert row.text.startswith("The repair to my leaking roof was not done")
        # In-process jobs ran the pipeline during the request: the case exists and its
        # reference is on the thank-you page.
        assert row.status == "done", row.error
        case = s.get(Case, row.case_id) if row.case_id else None
        assert case is not None
        assert f'class="ref">{case.ref}<' in thanks.text


def test_complaint_form_validates_with_clear_messages(console: Console) -> None:
    response = console.post(
        "/complain", _complaint(name="", email="not-an-email", issue=""), page="/complain"
    )
    assert response.status_code == 422
    assert "Enter your full name" in response.text
    assert "Enter an email address in the correct format" in response.text
    assert "Tell us what you are unhappy about" in response.text
    with console.app.db.session() as s:
        assert s.scalar(select(InboundMessage).where(InboundMessage.source == "webform")) is None


def test_complaint_form_refuses_line_breaks_in_header_fields(console: Console) -> None:
    response = console.post(
        "/complain",
        _complaint(name="Jo\r\nBcc: victim@example.com", email="jo@example.org\nX-Evil: 1"),
        page="/complain",
    )
    assert response.status_code == 422
    assert "must be on one line" in response.text
    with console.app.db.session() as s:
        assert s.scalar(select(InboundMessage).where(InboundMessage.source == "webform")) is None


def test_complaint_form_needs_csrf_token(console: Console) -> None:
    response = console.client.post("/complain", data=_complaint())
    assert response.status_code == 403


# -- operations ----------------------------------------------------------------------------------


def test_healthz_reports_each_check(console: Console) -> None:
    response = console.client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert set(body["checks"]) == {"database", "broker", "mailbox", "outbox"}
    # Without the health token only ok / not ok (tests/integration/test_web_protection.py).
    assert body["checks"]["broker"] == {"ok": True}


def test_healthz_is_503_when_the_mailbox_is_missing(tmp_path: Path) -> None:
    from worker.settings import load_settings

    app = make_app(tmp_path)
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": app.settings.database_url,
            "COMPLAINTS_MAILDIR": str(tmp_path / "no-such-maildir"),
        },
        cwd=tmp_path,
    )
    app.settings = settings
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    with TestClient(web) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["mailbox"]["ok"] is False


METRIC_NAMES = (
    "complaints_inbound_queue_depth",
    "complaints_inbound_queue_oldest_age_seconds",
    "complaints_poll_lag_seconds",
    "complaints_triaged_messages_total",
    "complaints_outbox_pending",
    "complaints_outbox_failed",
    "complaints_dead_letters",
    "complaints_loop_breaker_trips_total",
    "complaints_letters_suppressed_total",
    "complaints_letters_refused_total",
    "complaints_oldest_unacknowledged_working_days",
    "complaints_acknowledgement_budget_working_days",
    "complaints_deadlines",
    "complaints_database_up",
)


def test_metrics_exposes_every_measure(console: Console) -> None:
    response = console.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    for name in METRIC_NAMES:
        assert f"# TYPE {name.removesuffix('_total')}" in response.text, name
    assert 'complaints_deadlines{risk="overdue"} 1.0' in response.text
    assert "complaints_triage_queue_open 1.0" in response.text
    assert "complaints_oldest_unacknowledged_working_days 0.0" in response.text


def test_operations_page_shows_health(console: Console) -> None:
    console.login("ops")
    page = console.client.get("/operations")
    assert page.status_code == 200
    assert "Deadlines overdue" in page.text


def test_security_headers(console: Console) -> None:
    response = console.client.get("/complain")
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


# -- configuration --------------------------------------------------------------------------------


def test_without_a_staff_file_accounts_come_from_the_database(tmp_path: Path) -> None:
    # Issue 9: accounts live in the database; the TOML file is an import path.
    from worker.web.auth import DatabaseDirectory

    assert isinstance(load_directory({}), DatabaseDirectory)


def test_dev_user_needs_no_password_and_no_secret(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    web = create_app(app, environ={"COMPLAINTS_WEB_DEV_USER": "demo:manager"})
    with TestClient(web) as client:
        token = CSRF.search(client.get("/login").text).group(1)  # type: ignore[union-attr]
        response = client.post(
            "/login", data={"username": "demo", "csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303
        assert client.get("/cases").status_code == 200


def test_staff_file_needs_a_secret_key(tmp_path: Path) -> None:
    staff = tmp_path / "staff.toml"
    staff.write_text(
        f'[[staff]]\nusername = "asha"\nname = "Asha Patel"\nrole = "handler"\n'
        f'password = "{hash_password("a long password here")}"\n'
    )
    env = {"COMPLAINTS_STAFF_FILE": str(staff)}
    loaded = load_directory(env)
    user = loaded.authenticate("asha", "a long password here")
    assert user is not None and user.name == "Asha Patel"
    assert loaded.authenticate("asha", "wrong") is None
    with pytest.raises(ConfigurationError, match="COMPLAINTS_SECRET_KEY"):
        create_app(make_app(tmp_path), environ=env)


def test_bad_staff_file_is_one_line_error(tmp_path: Path) -> None:
    staff = tmp_path / "staff.toml"
    staff.write_text('[[staff]]\nusername = "asha"\nrole = "boss"\npassword = "x"\n')
    with pytest.raises(ConfigurationError, match="role must be one of"):
        load_directory({"COMPLAINTS_STAFF_FILE": str(staff)})


def test_password_hash_round_trip() -> None:
    encoded = hash_password("s3cret-enough")
    assert encoded.startswith("scrypt$")
    assert verify_password("s3cret-enough", encoded)
    assert not verify_password("s3cret-enougH", encoded)
    assert not verify_password("x", "garbage")


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_console_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    app = make_app(tmp_path, pg_url)
    seeded = seed(app)
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    try:
        with TestClient(web) as client:
            console = Console(app, client, seeded)
            console.login()
            page = client.get("/cases").text
            assert seeded.overdue in page and "Overdue" in page
            response = console.post(
                f"/triage/{seeded.triage_item}",
                {"decision": "accept", "reason": "A service complaint."},
                page="/triage",
            )
            assert response.status_code == 303, response.text
            assert client.get("/healthz").json()["checks"]["database"]["ok"] is True
            assert 'complaints_deadlines{risk="overdue"} 1.0' in client.get("/metrics").text
    finally:
        app.db.dispose()
