"""One complaint from first email to final response, on the real services (Dovecot IMAP,
PostgreSQL, an SMTP server), with the staff actions a complaints team takes along the way."""

from __future__ import annotations

from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import select

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import Case, CaseAction
from worker.adapters.imap import ImapMailbox
from worker.bootstrap import bootstrap
from worker.domain.errors import TransitionRefused
from worker.services import StaffService
from worker.settings import load_settings
from worker.stages.receive_mail import poll_once

pytestmark = pytest.mark.integration

RESIDENT = "amara.jones@example.org"


def message(subject: str, body: str, *, in_reply_to: str = "", when: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Amara Jones <{RESIDENT}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain="example.org")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content(body)
    return bytes(msg)


def plain(mail) -> str:  # type: ignore[no-untyped-def]
    return mail.message.get_body(("plain",)).get_content()


def test_one_complaint_through_every_step_of_the_code(imap_mailbox, smtp_server, pg_url, tmp_path):  # type: ignore[no-untyped-def]
    clock = FixedClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))  # Monday
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": pg_url,
            "COMPLAINTS_IMAP_URL": imap_mailbox.url,
            "COMPLAINTS_SMTP_URL": smtp_server.url,
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        cwd=tmp_path,
    )
    app = bootstrap(settings, clock=clock)
    mailbox = ImapMailbox.from_url(imap_mailbox.url)
    staff = StaffService(app)

    def process() -> None:
        poll_once(app, mailbox)
        app.jobs.run_until_idle()  # type: ignore[attr-defined]

    # 1. Email in -> stage 1 case, acknowledged the same day.
    imap_mailbox.append(
        message(
            "Heating broken for three weeks",
            "My heating has not worked since 12 October. I reported it to your repairs line "
            "twice and spoke to Dave in repairs, who promised an engineer that never came. I "
            "have a newborn baby and the flat is freezing. This is not good enough. I want the "
            "boiler fixed this week and compensation for the electric heaters I have had to buy.",
            when=clock.now(),
        )
    )
    process()
    acknowledgement = smtp_server.wait_for_letters(1)[0]
    with app.db.session() as session:
        ref = session.scalars(select(Case.ref)).one()
    assert acknowledgement.message["X-Complaints-Letter-Kind"] == "stage1_acknowledgement"
    shown = staff.show(ref)
    assert shown["status"] == "stage1_acknowledged"
    assert shown["deadlines"] == {"acknowledge_by": "2026-11-09", "respond_by": "2026-11-16"}

    # 2. A handler takes it and extends, telling the resident before the original date.
    staff.assign(ref, "Sam Patel", by="Kim Manager")
    clock.moment = datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    extended = staff.extend(
        ref, days=5, reason="We are waiting for the heating contractor's report", by="Sam Patel"
    )
    assert extended["respond_by"] == "2026-11-23"
    notice = smtp_server.wait_for_letters(2)[1]
    assert notice.message["X-Complaints-Letter-Kind"] == "extension_notice"
    assert "Monday 23 November 2026" in plain(notice)
    assert "0300 111 3000" in plain(notice)
    with pytest.raises(TransitionRefused):
        staff.extend(ref, days=6, reason="more", by="Sam Patel")  # 11 days > 10 without approval

    # 3. The stage 1 response, with a remedy and an outstanding action.
    clock.moment = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    staff.respond(
        ref,
        decision="partly_upheld",
        reasons="Our repairs policy says heating faults are attended within 24 hours in winter.",
        remedy="£120 for the heaters and the missed appointment",
        remedy_amount=120.0,
        actions=[("Replace the boiler", date(2026, 12, 4))],
        by="Sam Patel",
    )
    response = smtp_server.wait_for_letters(3)[2]
    assert response.message["X-Complaints-Letter-Kind"] == "stage1_response"
    assert "stage 2" in plain(response).lower()
    assert "Replace the boiler" in plain(response)

    # 4. The resident replies that they are still unhappy -> stage 2 request, acknowledged.
    clock.moment = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    imap_mailbox.append(
        message(
            f"Re: {response.message['Subject']}",
            "I am not happy with this response. £120 does not cover what I have spent and the "
            "boiler is still not fixed. I want to escalate my complaint to stage 2.",
            in_reply_to=response.message["Message-ID"],
            when=clock.now(),
        )
    )
    process()
    stage2_ack = smtp_server.wait_for_letters(4)[3]
    assert stage2_ack.message["X-Complaints-Letter-Kind"] == "stage2_acknowledgement"
    assert staff.show(ref)["status"] == "stage2_acknowledged"

    # 5. Stage 2 cannot go to the stage 1 handler (6.13); a different manager takes it.
    with pytest.raises(TransitionRefused):
        staff.assign(ref, "Sam Patel", by="Kim Manager")
    staff.assign(ref, "Jo Senior", by="Kim Manager")

    # 6. The final response, with the Ombudsman route.
    clock.moment = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
    staff.respond(
        ref,
        decision="upheld",
        reasons="The delay breached our repairs policy and the Ombudsman's spotlight report on "
        "heating outages.",
        remedy="A further £150, making £270 in all",
        remedy_amount=150.0,
        by="Jo Senior",
    )
    final = smtp_server.wait_for_letters(5)[4]
    assert final.message["X-Complaints-Letter-Kind"] == "stage2_final_response"
    body = plain(final)
    assert "final" in body.lower()
    assert "Housing Ombudsman" in body and "0300 111 3000" in body

    # 7. The outstanding action is completed and recorded.
    with app.db.session() as session:
        action_id = session.scalars(select(CaseAction.id).where(CaseAction.kind == "action")).one()
    staff.complete_action(ref, action_id, by="Sam Patel", on=date(2026, 12, 3))
    shown = staff.show(ref)
    assert shown["status"] == "stage2_responded"
    assert [a["completed_on"] for a in shown["actions"] if a["kind"] == "action"] == ["2026-12-03"]
    assert [letter["kind"] for letter in shown["letters"]] == [
        "stage1_acknowledgement",
        "extension_notice",
        "stage1_response",
        "stage2_acknowledgement",
        "stage2_final_response",
    ]
    assert all(letter["sent_at"] for letter in shown["letters"])
    assert len(smtp_server.letters) == 5
    mailbox.close()
