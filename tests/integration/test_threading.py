"""Replies thread to their case (Code 5.12, 6.8, 6.10-6.12): by the reference in the subject, by
In-Reply-To alone, through a forwarded chain, and from another address of the same resident.
Runs the real pipeline on the embedded defaults (a real SQLite file, .eml outbox)."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import Case, InboundMessage, Letter, ReviewItem
from worker.bootstrap import App, bootstrap
from worker.ports import RawInbound
from worker.services import StaffService
from worker.settings import load_settings
from worker.stages.receive_mail import store

RESIDENT = "lee.morgan@example.org"
COMPLAINT = (
    "I am very unhappy. The communal front door at Elm Court has been broken since August and "
    "anyone can walk in. I reported it four times and nothing has been done. I want it repaired "
    "and an explanation of why it has taken so long."
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
    return bootstrap(settings, clock=FixedClock(datetime(2026, 11, 3, 10, 0, tzinfo=UTC)))


_uid = iter(range(1, 10_000))


def deliver(app: App, raw: bytes) -> int:
    inbound_id, fresh = store(app, RawInbound("test", 1, next(_uid), raw))
    if fresh:
        app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    return inbound_id


def mail(
    subject: str, body: str, *, sender: str = RESIDENT, headers: dict[str, str] | None = None
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Lee Morgan <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return bytes(msg)


def opened_case(app: App) -> tuple[str, Letter]:
    deliver(app, mail("Broken communal door", COMPLAINT))
    with app.db.session() as session:
        case = session.scalars(select(Case)).one()
        letter = session.scalars(select(Letter).where(Letter.case_id == case.id)).one()
        return case.ref, letter


def case_count(app: App) -> int:
    with app.db.session() as session:
        return session.scalar(select(func.count(Case.id))) or 0


def inbound_case(app: App, inbound_id: int) -> int | None:
    with app.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None
        return row.case_id


def test_reply_with_reference_in_subject_joins_the_open_case(app: App) -> None:
    ref, _ = opened_case(app)
    reply = deliver(
        app,
        mail(f"Re: Your complaint {ref}", "I forgot to say: the door closer is missing too."),
    )
    assert case_count(app) == 1
    with app.db.session() as session:
        case = session.scalars(select(Case)).one()
        assert inbound_case(app, reply) == case.id
        assert case.status == "stage1_acknowledged"
        # Adding information sends no second acknowledgement.
        assert session.scalar(select(func.count(Letter.id))) == 1


def test_reply_threads_by_in_reply_to_alone(app: App) -> None:
    ref, letter = opened_case(app)
    reply = deliver(
        app,
        mail(
            "Re: door",  # no reference anywhere in the subject or body
            "Also the lock on the bin store is broken.",
            headers={"In-Reply-To": letter.message_id, "References": letter.message_id},
        ),
    )
    assert case_count(app) == 1
    with app.db.session() as session:
        assert session.scalar(select(Case.id).where(Case.ref == ref)) == inbound_case(app, reply)


def test_forwarded_chain_quoting_our_letter_threads_to_the_case(app: App) -> None:
    ref, letter = opened_case(app)
    with app.db.session() as session:
        ack_text = session.get(Letter, letter.id).text  # type: ignore[union-attr]
    body = (
        "Please see below, I still have not heard anything.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Thrive Homes <complaints@thrivehomes.org.uk>\n"
        f"Subject: Your complaint {ref}: we have received it\n\n" + ack_text
    )
    reply = deliver(app, mail("Fwd: my complaint", body))
    assert case_count(app) == 1
    assert inbound_case(app, reply) is not None


def test_reply_from_another_address_threads_and_asks_a_person_to_confirm(app: App) -> None:
    ref, letter = opened_case(app)
    reply = deliver(
        app,
        mail(
            f"Re: Your complaint {ref}",
            "Writing from my work email. Any news on the door?",
            sender="lee.morgan@work.example.com",
        ),
    )
    assert case_count(app) == 1
    with app.db.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.ref == ref))
        assert inbound_case(app, reply) == case_id
        review = session.scalars(select(ReviewItem).where(ReviewItem.inbound_id == reply)).one()
        assert review.proposed_label == "reply_from_new_address"
        # Nothing is sent to an address we cannot yet tie to the resident.
        assert session.scalar(select(func.count(Letter.id))) == 1


def test_dissatisfied_reply_after_stage1_response_becomes_stage2_request(app: App) -> None:
    ref, _ = opened_case(app)
    staff = StaffService(app)
    staff.respond(
        ref,
        decision="not_upheld",
        reasons="The door was repaired on 20 October according to our records.",
        by="Sam Patel",
    )
    with app.db.session() as session:
        response = session.scalars(select(Letter).where(Letter.kind == "stage1_response")).one()
    deliver(
        app,
        mail(
            f"Re: {response.subject}",
            "That is not true, the door is still broken today. I am not satisfied with your "
            "response and want this looked at again.",
            headers={"In-Reply-To": response.message_id},
        ),
    )
    shown = staff.show(ref)
    assert shown["stage"] == 2
    assert shown["status"] == "stage2_acknowledged"
    assert shown["letters"][-1]["kind"] == "stage2_acknowledgement"
    assert case_count(app) == 1


def test_reply_on_another_matter_before_the_response_is_shown_to_a_person(app: App) -> None:
    ref, _ = opened_case(app)
    reply = deliver(
        app,
        mail(
            f"Re: Your complaint {ref}",
            "I am also really unhappy that my rent account shows arrears I do not owe and the "
            "income officer was rude to me on the phone.",
        ),
    )
    assert case_count(app) == 1  # nothing is split automatically
    with app.db.session() as session:
        review = session.scalars(select(ReviewItem).where(ReviewItem.inbound_id == reply)).one()
    assert review.proposed_label == "possibly_new_issue"


def test_reply_on_the_same_matter_is_not_sent_for_review(app: App) -> None:
    ref, _ = opened_case(app)
    reply = deliver(
        app,
        mail(f"Re: Your complaint {ref}", "The communal door was wedged open again last night."),
    )
    with app.db.session() as session:
        assert session.scalars(select(ReviewItem).where(ReviewItem.inbound_id == reply)).all() == []


def test_reply_to_a_service_request_joins_it_instead_of_opening_another(app: App) -> None:
    deliver(
        app,
        mail(
            "Leaking tap", "Hello, my kitchen tap is dripping. Can someone come and fix it please?"
        ),
    )
    with app.db.session() as session:
        letter = session.scalars(select(Letter)).one()
        assert letter.kind == "service_request_acknowledgement"
    reply = deliver(
        app,
        mail(
            f"Re: {letter.subject}",
            "Thanks. I am in every morning except Wednesdays.",
            headers={"In-Reply-To": letter.message_id},
        ),
    )
    with app.db.session() as session:
        from worker.adapters.db_models import ServiceRequest

        assert session.scalar(select(func.count(ServiceRequest.id))) == 1
        row = session.get(InboundMessage, reply)
        assert row is not None and row.outcome == "threaded"
        assert row.service_request_id is not None
        assert session.scalar(select(func.count(Letter.id))) == 1


def test_a_person_can_open_a_new_case_for_an_unrelated_reply(app: App) -> None:
    ref, _ = opened_case(app)
    reply = deliver(
        app,
        mail(
            f"Re: Your complaint {ref}",
            "I am also really unhappy that my rent account shows arrears I do not owe and the "
            "income officer was rude to me on the phone.",
        ),
    )
    with app.db.session() as session:
        item_id = session.scalars(select(ReviewItem.id).where(ReviewItem.inbound_id == reply)).one()
    result = StaffService(app).resolve_review(
        item_id, outcome="open_case", reason="A new issue about the rent account (6.8).", by="Jo"
    )
    assert result["ref"] != ref and result["letters"] == ["stage1_acknowledgement"]
    assert case_count(app) == 2


def test_acknowledgement_goes_to_the_sender_not_an_unconfirmed_reply_to(app: App) -> None:
    deliver(
        app,
        mail(
            "Broken communal door",
            COMPLAINT,
            headers={"Reply-To": "someone.else@example.net"},
        ),
    )
    with app.db.session() as session:
        letter = session.scalars(select(Letter)).one()
    assert letter.recipient == RESIDENT


def test_more_information_during_stage_2_is_correspondence_not_a_review(app: App) -> None:
    ref, _ = opened_case(app)
    staff = StaffService(app)
    staff.respond(ref, decision="not_upheld", reasons="Repaired on 20 October.", by="Sam Patel")
    staff.escalate(ref, by="Kim")
    reply = deliver(
        app,
        mail(f"Re: Your complaint {ref}", "Here are photos of the communal door still broken."),
    )
    with app.db.session() as session:
        assert session.scalars(select(ReviewItem).where(ReviewItem.inbound_id == reply)).all() == []
        row = session.get(InboundMessage, reply)
        assert row is not None and row.outcome == "threaded"


def test_a_case_closed_after_stage_1_can_still_be_escalated_by_reply(app: App) -> None:
    ref, _ = opened_case(app)
    staff = StaffService(app)
    staff.respond(ref, decision="not_upheld", reasons="Repaired on 20 October.", by="Sam Patel")
    assert staff.close(ref, by="Sam Patel", why="Answered.")["status"] == "closed"
    with app.db.session() as session:
        response = session.scalars(select(Letter).where(Letter.kind == "stage1_response")).one()
    deliver(
        app,
        mail(
            f"Re: {response.subject}",
            "I am not satisfied with your response, the door is still broken. Please escalate.",
            headers={"In-Reply-To": response.message_id},
        ),
    )
    assert staff.show(ref)["status"] == "stage2_acknowledged"
