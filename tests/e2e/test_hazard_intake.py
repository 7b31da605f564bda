"""Awaab's Law at intake, on the real services (Dovecot IMAP, PostgreSQL, an SMTP server, and
Redis with a real `complaints worker` process): a report of black mould in a child's bedroom
starts a hazard record with its 10-working-day clock, the damp-and-mould team is told at once and
the resident's acknowledgement says what happens by when; an emergency shows at the top of the
staff console, served by the real web app, as soon as the worker has routed it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.browser.seed import PASSWORD, SECRET, directory
from tests.support.worker_process import WorkerProcess, service_env, upgrade_database
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import Case, Hazard, InboundMessage, PollState, ServiceRequest
from worker.adapters.imap import ImapMailbox
from worker.bootstrap import bootstrap
from worker.settings import load_settings
from worker.stages.receive_mail import poll_once
from worker.web.app import create_app

pytestmark = pytest.mark.integration

# The [hazards] table of config/landlord.toml, the profile these tests run with.
DAMP_MOULD_TEAM = "dampandmould@thrivehomes.org.uk"
REPAIRS_TEAM = "repairs@thrivehomes.org.uk"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def message(sender: str, name: str, subject: str, body: str, when: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body)
    return bytes(msg)


def plain(mail: Any) -> str:
    return str(mail.message.get_body(("plain",)).get_content())


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_black_mould_in_a_childs_bedroom_starts_the_clock_tells_the_team_and_the_resident(
    imap_mailbox: Any, smtp_server: Any, pg_url: str, tmp_path: Path
) -> None:
    # Monday 2 November 2026, 09:30: ten working days on (no bank holiday in between) is
    # Monday 16 November 2026 (reg 6).
    clock = FixedClock(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
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

    def process() -> None:
        poll_once(app, mailbox)
        app.jobs.run_until_idle()  # type: ignore[attr-defined]

    imap_mailbox.append(
        message(
            "priya.shah@example.org",
            "Priya Shah",
            "Black mould in my daughter's bedroom",
            "Hello, there is black mould spreading across the wall behind my daughter's bed. "
            "She is 4 and has had a cough for weeks. I have wiped it off twice but it keeps "
            "coming back and the room smells musty. Please can someone come and look at it.\n\n"
            "Priya Shah, 12 Elm Court, 07700 900123",
            when=clock.now(),
        )
    )
    process()
    mails = smtp_server.wait_for(2)
    by_recipient = {m.rcpt_tos: m for m in mails}
    assert set(by_recipient) == {("priya.shah@example.org",), (DAMP_MOULD_TEAM,)}

    with app.db.session() as session:
        row = session.scalars(select(InboundMessage)).one()
        [hazard] = session.scalars(select(Hazard)).all()
        case = session.get(Case, row.case_id) if row.case_id else None
        request = (
            session.get(ServiceRequest, row.service_request_id) if row.service_request_id else None
        )
        assert (case is None) != (request is None), "a case or a service request, not both"
        ref = case.ref if case is not None else request.ref  # type: ignore[union-attr]
        assert (hazard.case_id, hazard.service_request_id) == (
            row.case_id,
            row.service_request_id,
        )
        assert hazard.ref == ref
        assert (hazard.kind, hazard.severity, hazard.status) == (
            "damp_mould",
            "significant",
            "open",
        )
        assert hazard.aware_at == clock.now()  # the message's arrival, not the working day
        assert hazard.investigate_by == date(2026, 11, 16)

    # The team is told at once, with the resident's own words and how to reach them.
    note = by_recipient[(DAMP_MOULD_TEAM,)]
    assert note.message["X-Complaints-Letter-Kind"] == "hazard_notification"
    note_text = plain(note)
    assert ref in note_text
    assert "She is 4 and has had a cough for weeks" in note_text
    assert "priya.shah@example.org" in note_text
    assert "Monday 16 November 2026" in note_text

    # The resident's acknowledgement says it is treated as a potential hazard, and by when.
    ack = by_recipient[("priya.shah@example.org",)]
    assert ack.message["X-Complaints-Letter-Kind"] in {
        "stage1_acknowledgement",
        "service_request_acknowledgement",
    }
    assert ack.message["X-Complaints-Case-Ref"] == ref
    ack_text = " ".join(plain(ack).split())
    assert "potential hazard" in ack_text
    assert "We will investigate it by Monday 16 November 2026" in ack_text
    assert "written summary" in ack_text

    # Polling and routing again doubles nothing.
    process()
    with app.db.session() as session:
        assert len(session.scalars(select(Hazard)).all()) == 1
    assert len(smtp_server.messages) == 2
    app.db.dispose()


class Console:
    """The staff console, served by the real web app on the worker's database."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def login(self, username: str = "hana") -> None:
        page = self.client.get("/login").text
        token = CSRF.search(page)
        assert token, "no CSRF token on /login"
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert response.status_code == 303

    def banner(self, path: str) -> str:
        """The emergency hazards section of a page ("" when there is none), checked to come
        before the page's own content."""
        response = self.client.get(path)
        assert response.status_code == 200
        html = response.text
        start = html.find('<section class="emergency-hazards')
        if start < 0:
            return ""
        assert start < html.index('<main id="main"'), "the banner is at the top of the page"
        return html[start : html.index("</section>", start)]


def test_an_emergency_shows_at_the_top_of_the_console_within_seconds_of_arriving(
    imap_mailbox: Any, smtp_server: Any, pg_url: str, redis_url: str, tmp_path: Path
) -> None:
    env = service_env(
        pg_url=pg_url,
        redis_url=redis_url,
        imap_url=imap_mailbox.url,
        smtp_url=smtp_server.url,
        outbox_dir=tmp_path / "outbox",
    )
    upgrade_database(env)
    worker = WorkerProcess(env, tmp_path / "worker.log")
    app = bootstrap(
        load_settings(
            {"COMPLAINTS_DATABASE_URL": pg_url, "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "web")},
            cwd=tmp_path,
        ),
        upgrade=False,
    )
    web = create_app(app, directory=directory(), environ={"COMPLAINTS_SECRET_KEY": SECRET})
    try:
        with TestClient(web) as client:
            console = Console(client)
            console.login()
            assert console.banner("/cases") == ""

            worker.start()

            def polled() -> bool:
                with app.db.session() as session:
                    return session.scalar(select(PollState.last_poll_at)) is not None

            wait_until(polled, 60, "the worker's first poll of the mailbox")
            imap_mailbox.append(
                message(
                    "tom.briggs@example.org",
                    "Tom Briggs",
                    "Gas",
                    "I can smell gas really strongly in my kitchen near the cooker and it is "
                    "getting worse. What should I do? Tom Briggs, 3 Mill Lane.",
                    when=datetime.now(UTC),
                )
            )
            arrived = time.monotonic()
            # The first message a fresh worker triages waits for it to load the triage model.
            banner = wait_until(
                lambda: console.banner("/cases"), 60, "the emergency at the top of /cases"
            )
            seconds = time.monotonic() - arrived
            print(f"first emergency at the top of the console {seconds:.1f}s after it arrived")

            with app.db.session() as session:
                hazard = session.scalars(select(Hazard)).one()
                ref, hazard_id = hazard.ref, hazard.id
                assert (hazard.kind, hazard.severity) == ("gas_smell", "emergency")
            assert "1 emergency hazard: investigate and make safe within 24 hours" in banner
            assert ref in banner and f"hazard {hazard_id}" in banner
            assert "Smell of gas or a gas leak" in banner
            assert "Within 24 hours" in banner  # its state in words, not colour alone

            # Every staff page has it at the top, the operations page too, with the counts.
            assert ref in console.banner("/triage")
            operations = client.get("/operations").text
            assert ref in console.banner("/operations")
            assert "Hazards (Awaab&#39;s Law)" in operations or "Hazards (Awaab's Law)" in (
                operations
            )
            metrics = client.get("/metrics").text
            assert 'complaints_hazards_open{severity="emergency",state="on_track"} 1.0' in metrics

            # The repairs team was told by email, through the real SMTP server.
            wait_until(
                lambda: any(m.rcpt_tos == (REPAIRS_TEAM,) for m in smtp_server.messages),
                30,
                "the notification to the repairs team",
            )
            [note] = [m for m in smtp_server.messages if m.rcpt_tos == (REPAIRS_TEAM,)]
            assert note.message["X-Complaints-Letter-Kind"] == "hazard_notification"
            assert "I can smell gas really strongly" in plain(note)

            # A second emergency, to a worker already running, joins it at the top.
            imap_mailbox.append(
                message(
                    "ann.cole@example.org",
                    "Ann Cole",
                    "Water in the lights",
                    "Water is dripping out of the light fitting in my hallway ceiling since the "
                    "flat above had a leak this morning. Ann Cole, 5 Mill Lane.",
                    when=datetime.now(UTC),
                )
            )
            arrived = time.monotonic()
            banner = wait_until(
                lambda: "2 emergency hazards" in (b := console.banner("/cases")) and b,
                30,
                "the second emergency at the top of /cases",
            )
            seconds = time.monotonic() - arrived
            print(f"second emergency at the top of the console {seconds:.1f}s after it arrived")
            assert "Water getting into electrics" in banner

            # Once made safe and investigated, it leaves the top of the console.
            from worker.service.hazards import HazardService

            service = HazardService(app)
            service.record(hazard_id, "investigated", by="Gas engineer")
            service.record(hazard_id, "safety_work_done", by="Gas engineer")
            banner = console.banner("/cases")
            assert ref not in banner and "1 emergency hazard:" in banner
    finally:
        worker.stop()
        app.db.dispose()
        if worker.log.exists():
            print(worker.log_tail())
