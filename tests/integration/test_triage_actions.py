"""What a person does with the triage queue beyond accept and refuse: relabel a pending item as a
service request or as mail not from a resident, and resolve the review items that are not a
decision on a pending case. On the embedded defaults (real SQLite file, .eml outbox, in-process
jobs), with messages stored and run through the pipeline as they arrive."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import (
    AuditEvent,
    Case,
    InboundMessage,
    Letter,
    Quarantine,
    ReviewItem,
    ServiceRequest,
)
from worker.bootstrap import App, bootstrap
from worker.cli import main
from worker.domain.errors import UserError
from worker.ports import RawInbound
from worker.residents import ResidentService
from worker.services import StaffService
from worker.settings import load_settings
from worker.stages.receive_mail import store

COURT = (
    "Disrepair claim",
    "Our solicitors issued a claim against you in the County Court on 3 November 2026, claim "
    "number K7QZ1234, about the disrepair in my flat.",
)
OUT_OF_OFFICE = (
    "Automatic reply: Out of office",
    "I am out of the office until Monday.\n\nAlso I am very unhappy that my boiler repair was "
    "never done and nobody called me back, this is a complaint.",
)


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        cwd=tmp_path,
    )
    return bootstrap(settings, clock=FixedClock(datetime(2026, 11, 10, 10, 0, tzinfo=UTC)))


_uid = iter(range(1, 10_000))


def deliver(
    app: App,
    subject: str,
    body: str,
    sender: str = "kim.lowe@example.org",
    headers: dict[str, str] | None = None,
) -> int:
    msg = EmailMessage()
    msg["From"] = f"Kim Lowe <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    inbound_id, fresh = store(app, RawInbound("test", 1, next(_uid), bytes(msg)))
    assert fresh
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    return inbound_id


def pending_case(app: App) -> str:
    deliver(app, *COURT)
    with app.db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "pending_triage"
        return case.ref


def open_item(app: App, label: str | None = None) -> ReviewItem:
    with app.db.session() as s:
        query = select(ReviewItem).where(ReviewItem.status == "open")
        if label:
            query = query.where(ReviewItem.proposed_label == label)
        item = s.scalars(query).one()
        s.expunge(item)
        return item


def kinds(app: App) -> list[str]:
    with app.db.session() as s:
        return [x.kind for x in s.scalars(select(Letter).order_by(Letter.id))]


def actions(app: App) -> list[str]:
    with app.db.session() as s:
        return list(s.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def eml_text(app: App, letter_kind: str) -> str:
    with app.db.session() as s:
        letter = s.scalars(select(Letter).where(Letter.kind == letter_kind)).one()
        message_id = letter.message_id
    for eml in Path(app.settings.outbox_dir).glob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=default)
        if message["Message-ID"] == message_id:
            return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    raise AssertionError(f"{letter_kind} not in the outbox")


# -- relabelling a pending case ------------------------------------------------------------------


def test_relabel_as_service_request_logs_it_ends_the_case_and_sends_the_acknowledgement(
    app: App,
) -> None:
    ref = pending_case(app)
    result = StaffService(app).decide_triage(
        ref,
        decision="service_request",
        reason="A first request to repair the disrepair; no complaint about our service yet.",
        by="Sam Patel",
    )
    assert result["status"] == "withdrawn"
    assert result["letter"] == "service_request_acknowledgement"
    sr_ref = result["service_request"]
    with app.db.session() as s:
        case = s.scalar(select(Case).where(Case.ref == ref))
        sr = s.scalar(select(ServiceRequest).where(ServiceRequest.ref == sr_ref))
        assert case is not None and sr is not None
        assert sr.origin_inbound_id == case.origin_inbound_id
        assert sr.resident_id == case.resident_id
        origin = s.get(InboundMessage, case.origin_inbound_id)
        assert origin is not None and origin.service_request_id == sr.id
        item = s.scalars(select(ReviewItem)).one()
        assert item.status == "decided" and item.decision == "service_request"
        assert item.decided_by == "Sam Patel" and item.decided_at is not None
        withdraw = s.scalars(
            select(AuditEvent).where(
                AuditEvent.case_id == case.id, AuditEvent.action == "case.withdraw"
            )
        ).one()
        assert sr_ref in withdraw.why and withdraw.actor == "Sam Patel"
        letter = s.scalars(
            select(Letter).where(Letter.kind == "service_request_acknowledgement")
        ).one()
        assert letter.status == "sent" and not letter.automatic
        assert letter.ref == sr_ref and letter.service_request_id == sr.id
    assert kinds(app) == ["receipt", "service_request_acknowledgement"]
    assert "triage.service_request" in actions(app)
    text = eml_text(app, "service_request_acknowledgement")
    assert sr_ref in text and "complain" in text.lower()


def test_relabel_needs_a_pending_case_and_a_reason(app: App) -> None:
    ref = pending_case(app)
    staff = StaffService(app)
    with pytest.raises(UserError, match="written reason"):
        staff.decide_triage(ref, decision="service_request", reason=" ", by="Sam")
    staff.decide_triage(ref, decision="accept", reason="It is about our service.", by="Sam")
    with pytest.raises(UserError, match="only a case waiting in triage"):
        staff.decide_triage(ref, decision="service_request", reason="on second thoughts", by="Sam")
    with pytest.raises(UserError, match="decision must be one of"):
        staff.decide_triage(ref, decision="ignore", reason="no", by="Sam")
    with app.db.session() as s:
        assert s.scalars(select(ServiceRequest)).all() == []


def test_not_resident_mail_ends_the_case_with_no_letter_and_is_audited(app: App) -> None:
    ref = pending_case(app)
    result = StaffService(app).decide_triage(
        ref,
        decision="not_resident_mail",
        mail_reason="spam",
        reason="A phishing message dressed up as a court claim.",
        by="Sam Patel",
    )
    assert result == {
        "ref": ref,
        "decision": "not_resident_mail",
        "status": "withdrawn",
        "letter": None,
    }
    assert kinds(app) == ["receipt"]  # nothing more is written
    with app.db.session() as s:
        item = s.scalars(select(ReviewItem)).one()
        assert item.status == "decided" and item.decision == "not_resident_mail"
        assert s.scalars(select(Quarantine.kind)).all() == ["spam"]  # kept for sampling
    assert "triage.not_resident_mail" in actions(app)
    with pytest.raises(UserError, match="kind of mail"):
        StaffService(app).decide_triage(
            ref, decision="not_resident_mail", mail_reason="junk", reason="x", by="Sam"
        )


def test_cli_case_decide_takes_the_new_decisions(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = pending_case(app)
    monkeypatch.setattr("worker.cli._staff", lambda: StaffService(app))
    code = main(
        [
            "case",
            "decide",
            ref,
            "--decision",
            "service_request",
            "--reason",
            "A repair request.",
            "--by",
            "Sam",
        ]
    )
    assert code == 0
    assert '"decision": "service_request"' in capsys.readouterr().out
    code = main(
        ["case", "decide", ref, "--decision", "not_resident_mail", "--reason", "x", "--by", "Sam"]
    )
    assert code == 2
    assert "only a case waiting in triage" in capsys.readouterr().err


# -- review items that are not a decision on a pending case ------------------------------------


def _acknowledged_case(app: App) -> str:
    deliver(
        app,
        "Damp in my bedroom",
        "I am unhappy that the damp in my bedroom has still not been treated. It has been there "
        "since March and nobody has come back to me.",
    )
    with app.db.session() as s:
        case = s.scalars(select(Case)).one()
        assert case.status == "stage1_acknowledged"
        return case.ref


def test_reply_from_a_new_address_confirmed_as_the_resident_adds_the_address(app: App) -> None:
    ref = _acknowledged_case(app)
    deliver(app, f"Re: {ref}", "More photos attached of the damp.", sender="kim@work.example.com")
    item = open_item(app, "reply_from_new_address")
    staff = StaffService(app)
    with pytest.raises(UserError, match="same_resident or different_person"):
        staff.resolve_review(item.id, outcome="done", reason="x", by="Sam")
    result = staff.resolve_review(
        item.id, outcome="same_resident", reason="Kim confirmed by phone.", by="Sam Patel"
    )
    assert result["ref"] == ref and result["status"] == "decided"
    shown = ResidentService(app).show("kim.lowe@example.org")
    assert shown["other_emails"] == ["kim@work.example.com"]
    with app.db.session() as s:
        done = s.get(ReviewItem, item.id)
        assert done is not None and done.decision == "same_resident"
        assert done.decided_by == "Sam Patel" and done.decision_reason == "Kim confirmed by phone."
    assert "resident.other_email_added" in actions(app) and "review.same_resident" in actions(app)
    with pytest.raises(UserError, match="already decided"):
        staff.resolve_review(item.id, outcome="same_resident", reason="again", by="Sam")


def test_reply_from_a_different_person_adds_nothing(app: App) -> None:
    ref = _acknowledged_case(app)
    deliver(app, f"Re: {ref}", "I am her neighbour.", sender="neighbour@example.net")
    item = open_item(app, "reply_from_new_address")
    StaffService(app).resolve_review(
        item.id, outcome="different_person", reason="A neighbour, not Kim.", by="Sam"
    )
    assert ResidentService(app).show("kim.lowe@example.org")["other_emails"] == []
    assert "review.different_person" in actions(app)


def test_reply_after_a_refusal_is_resolved_with_what_was_done(app: App) -> None:
    ref = pending_case(app)
    StaffService(app).decide_triage(
        ref, decision="refuse", reason="Before the County Court.", by="Sam"
    )
    deliver(app, f"Re: {ref}", "I do not agree with your decision.")
    item = open_item(app, "reply_after_final")
    with pytest.raises(UserError, match="needs a reason"):
        StaffService(app).resolve_review(item.id, outcome="done", reason="", by="Sam")
    result = StaffService(app).resolve_review(
        item.id, outcome="done", reason="Phoned Kim and explained the Ombudsman route.", by="Sam"
    )
    assert result["kind"] == "reply_after_final" and result["ref"] == ref


def test_a_pending_decision_cannot_be_resolved_as_a_review(app: App) -> None:
    pending_case(app)
    item = open_item(app)
    with pytest.raises(UserError, match="decision on a case waiting in triage"):
        StaffService(app).resolve_review(item.id, outcome="done", reason="x", by="Sam")
    with pytest.raises(UserError, match="no review item"):
        StaffService(app).resolve_review(9999, outcome="done", reason="x", by="Sam")


def test_automatic_looking_mail_with_a_complaint_in_it_opens_a_stage1_case(app: App) -> None:
    inbound_id = deliver(app, *OUT_OF_OFFICE, headers={"Auto-Submitted": "auto-replied"})
    item = open_item(app, "not_resident_mail")
    assert item.case_id is None and kinds(app) == []
    result = StaffService(app).resolve_review(
        item.id,
        outcome="open_case",
        reason="The out-of-office carries a complaint about the boiler repair.",
        by="Sam Patel",
    )
    assert result["status"] == "decided" and result["letters"] == ["stage1_acknowledgement"]
    ref = result["ref"]
    shown = StaffService(app).show(ref)
    assert shown["status"] == "stage1_acknowledged"
    assert [x["kind"] for x in shown["letters"]] == ["stage1_acknowledgement"]
    assert shown["deadlines"]["respond_by"] is not None
    with app.db.session() as s:
        row = s.get(InboundMessage, inbound_id)
        assert row is not None and row.label == "complaint" and row.case_id is not None
        done = s.get(ReviewItem, item.id)
        assert done is not None and done.case_id == row.case_id
        assert done.decision == "open_case" and done.decided_by == "Sam Patel"
    assert "case.opened_from_review" in actions(app) and "review.open_case" in actions(app)


def test_automatic_looking_mail_with_nothing_for_us_is_closed_without_a_letter(app: App) -> None:
    deliver(app, *OUT_OF_OFFICE, headers={"Auto-Submitted": "auto-replied"})
    item = open_item(app, "not_resident_mail")
    with pytest.raises(UserError, match="open_case or no_action"):
        StaffService(app).resolve_review(item.id, outcome="done", reason="x", by="Sam")
    StaffService(app).resolve_review(
        item.id, outcome="no_action", reason="Already logged from her own email.", by="Sam"
    )
    assert kinds(app) == []
    with app.db.session() as s:
        assert s.scalars(select(Case)).all() == []


def test_cli_review_resolve(
    app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deliver(app, *OUT_OF_OFFICE, headers={"Auto-Submitted": "auto-replied"})
    item = open_item(app, "not_resident_mail")
    monkeypatch.setattr("worker.cli._staff", lambda: StaffService(app))
    argv = ["review", "resolve", str(item.id), "--outcome", "no_action", "--reason", "x"]
    assert main([*argv, "--by", "Sam"]) == 0
    assert '"outcome": "no_action"' in capsys.readouterr().out
    assert main([*argv, "--by", "Sam"]) == 2
    assert "already decided" in capsys.readouterr().err
