"""Mail in -> case and letter out, on the real services: Dovecot IMAP, Redis + dramatiq,
PostgreSQL and an SMTP server. The worker runs as a real `complaints worker` process, so it can
be killed mid-batch and restarted as an operator would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from tests.support.smtp import STAFF_NOTICE_KINDS
from tests.support.worker_process import REPO, service_env, upgrade_database
from tests.support.worker_process import WorkerProcess as Worker
from worker.adapters.db_models import Case, InboundMessage, Letter, Quarantine
from worker.adapters.smtp import DEFAULT_POOL_SIZE

pytestmark = pytest.mark.integration


def complaint(n: int, sender: str = "", body: str = "", subject: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Resident {n} <{sender or f'resident{n}@example.org'}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject or f"Still no repair to my bathroom ceiling, flat {n}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(idstring=f"walk{n}", domain="example.org")
    msg.set_content(
        body
        or (
            f"I am writing to complain. Water has been coming through my bathroom ceiling at flat "
            f"{n} since September and I have reported it three times. Your contractor did not turn "
            "up on 14 October and nobody rang me. The mould is now spreading and my son has "
            "asthma. I am really unhappy with how this has been handled. I want the leak fixed "
            "this month and compensation for my ruined towels and the time off work.\n\n"
            f"Resident {n}"
        )
    )
    return bytes(msg)


@pytest.fixture
def services(imap_mailbox, smtp_server, pg_url, redis_url, tmp_path) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    env = service_env(
        pg_url=pg_url,
        redis_url=redis_url,
        imap_url=imap_mailbox.url,
        smtp_url=smtp_server.url,
        outbox_dir=tmp_path / "outbox",
    )
    upgrade_database(env)
    worker = Worker(env, tmp_path / "worker.log")
    engine = create_engine(pg_url)
    try:
        yield {
            "imap": imap_mailbox,
            "smtp": smtp_server,
            "worker": worker,
            "engine": engine,
            "env": env,
        }
    finally:
        worker.stop()
        engine.dispose()
        if worker.log.exists():
            print(worker.log.read_text(errors="replace")[-4000:])


def wait_until(predicate, timeout: float = 30.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def count(engine, model, *where) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_email_in_dovecot_yields_one_case_and_one_acknowledgement(services) -> None:  # type: ignore[no-untyped-def]
    services["imap"].append(complaint(1))
    services["worker"].start()
    mails = services["smtp"].wait_for_letters(1, timeout=60)
    time.sleep(2)  # anything doubled would arrive now
    assert len(services["smtp"].letters) == 1
    letter = mails[0].message
    assert count(services["engine"], Case) == 1
    with Session(services["engine"]) as session:
        case = session.scalars(select(Case)).one()
        respond_by = case.stages[0].respond_by
    assert case.ref in letter["Subject"]
    assert letter["X-Complaints-Case-Ref"] == case.ref
    assert letter["X-Complaints-Letter-Kind"] == "stage1_acknowledgement"
    assert letter["Auto-Submitted"] == "auto-replied"
    assert mails[0].rcpt_tos == ("resident1@example.org",)
    body = letter.get_body(("plain",)).get_content()
    assert case.ref in body
    assert f"{respond_by.day} " in body and respond_by.strftime("%B %Y") in body
    assert "bathroom ceiling" in body  # our understanding of the complaint
    assert "0300 111 3000" in body and "info@housing-ombudsman.org.uk" in body
    assert letter.get_body(("html",)) is not None
    # The message was moved out of INBOX only after it was stored.
    wait_until(lambda: services["imap"].list_uids("INBOX") == [], what="message moved")
    assert len(services["imap"].list_uids("Processed")) == 1


def test_same_message_delivered_twice_gives_one_case_and_one_letter(services) -> None:  # type: ignore[no-untyped-def]
    raw = complaint(2)
    services["imap"].append(raw)
    services["imap"].append(raw)
    services["worker"].start()
    services["smtp"].wait_for_letters(1, timeout=60)
    engine = services["engine"]
    wait_until(lambda: count(engine, InboundMessage) == 2, what="both deliveries recorded")
    time.sleep(3)
    assert count(engine, Case) == 1
    assert len(services["smtp"].letters) == 1
    assert count(engine, InboundMessage, InboundMessage.status == "duplicate") == 1


def test_killed_worker_restarted_loses_nothing_and_doubles_nothing(services) -> None:  # type: ignore[no-untyped-def]
    total = 12
    for n in range(total):
        services["imap"].append(complaint(100 + n))
    worker = services["worker"]
    worker.start()
    services["smtp"].wait_for_letters(1, timeout=60)
    worker.kill()  # mid-batch: letters are being handed to the SMTP server right now
    worker.start()
    engine = services["engine"]
    # Every complaint here reports mould, so the damp-and-mould team is notified of each too.
    to_residents = Letter.kind.not_in(STAFF_NOTICE_KINDS)

    def settled() -> bool:
        with Session(engine) as session:
            statuses = session.scalars(select(Letter.status).where(to_residents)).all()
        return len(statuses) == total and all(s in ("sent", "uncertain") for s in statuses)

    wait_until(settled, timeout=120, what="every letter sent or handed to a person")
    time.sleep(3)  # anything doubled would arrive now
    assert count(engine, Case) == total
    received = [m.rcpt_tos[0] for m in services["smtp"].letters]
    assert len(received) == len(set(received)), "a resident got the same letter twice"
    with Session(engine) as session:
        letters = session.scalars(select(Letter).where(to_residents)).all()
        uncertain = [x for x in letters if x.status == "uncertain"]
        quarantined = session.scalars(
            select(Quarantine.letter_id)
            .join(Letter, Letter.id == Quarantine.letter_id)
            .where(Quarantine.kind == "uncertain_delivery", to_residents)
        ).all()
    # Every letter reached the server, except those whose worker died while the server was
    # taking them: those are shown to staff to check, never silently resent or dropped.
    for letter in letters:
        if letter.status == "sent":
            assert letter.recipient in received
    assert sorted(quarantined) == sorted(x.id for x in uncertain)
    # At most the group being handed over at the kill: one pool of connections.
    assert len(uncertain) <= DEFAULT_POOL_SIZE
    assert {x.recipient for x in letters} == {
        f"resident{100 + n}@example.org" for n in range(total)
    }


def test_automatic_mail_gets_no_reply_and_is_recorded(services) -> None:  # type: ignore[no-untyped-def]
    fixtures = REPO / "tests" / "fixtures" / "emails"
    for name in (
        "08_outlook_out_of_office.eml",
        "10_postfix_mailer_daemon_bounce.eml",
        "11_mailing_list.eml",
    ):
        services["imap"].append((fixtures / name).read_bytes())
    services["imap"].append(complaint(3))  # a real complaint, so we know the worker has run
    services["worker"].start()
    services["smtp"].wait_for_letters(1, timeout=60)
    engine = services["engine"]
    wait_until(
        lambda: count(engine, InboundMessage, InboundMessage.status == "done") == 4,
        what="all four handled",
    )
    time.sleep(2)
    assert [m.rcpt_tos for m in services["smtp"].letters] == [("resident3@example.org",)]
    with Session(engine) as session:
        rows = session.scalars(
            select(InboundMessage).where(InboundMessage.label == "not_resident_mail")
        ).all()
        assert sorted(r.reason for r in rows) == ["auto_reply", "bounce", "bulk"]
        assert all(r.outcome == "recorded" for r in rows)


def test_letter_waits_while_smtp_is_down_and_is_delivered_once_back(services) -> None:  # type: ignore[no-untyped-def]
    smtp = services["smtp"]
    smtp.stop()
    services["imap"].append(complaint(4))
    services["worker"].start()
    engine = services["engine"]
    wait_until(lambda: count(engine, Case) == 1, timeout=60, what="case opened")
    wait_until(
        lambda: (
            count(
                engine,
                Letter,
                Letter.attempts >= 1,
                Letter.status == "pending",
                Letter.kind.not_in(STAFF_NOTICE_KINDS),
            )
            == 1
        ),
        timeout=30,
        what="a failed delivery attempt",
    )
    smtp.start()
    smtp.wait_for_letters(1, timeout=60)
    time.sleep(3)
    assert len(smtp.letters) == 1
    with engine.connect() as conn:
        status = conn.execute(
            text("select status, message_id from letters where kind = 'stage1_acknowledgement'")
        ).one()
    assert status[0] == "sent"
    assert smtp.letters[0].message["Message-ID"] == status[1]


def test_two_workers_on_one_mailbox_handle_each_message_once(services) -> None:  # type: ignore[no-untyped-def]
    total = 10
    for n in range(total):
        services["imap"].append(complaint(200 + n))
    first = services["worker"]
    second = Worker(services["env"], first.log.with_name("worker2.log"))
    first.start()
    second.start()
    try:
        services["smtp"].wait_for_letters(total, timeout=120)
        time.sleep(3)  # anything doubled would arrive now
    finally:
        second.stop()
    engine = services["engine"]
    assert count(engine, Case) == total
    assert count(engine, InboundMessage) == total
    received = sorted(m.rcpt_tos[0] for m in services["smtp"].letters)
    assert received == sorted(f"resident{200 + n}@example.org" for n in range(total))
