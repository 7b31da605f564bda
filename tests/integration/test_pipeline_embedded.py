"""The pipeline on the embedded defaults (real SQLite file, .eml outbox, in-process jobs):
triage decisions by a person, the acknowledgement asking for what the resident left out, and a
message that keeps failing being quarantined instead of looping."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from worker.adapters.clock import FixedClock
from worker.adapters.db_models import Case, InboundMessage, Letter, Quarantine, ReviewItem
from worker.bootstrap import App, bootstrap
from worker.domain.errors import TransitionRefused
from worker.ports import RawInbound
from worker.services import StaffService
from worker.settings import load_settings
from worker.stages.receive_mail import store
from worker.stages.recover import sweep


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
            "COMPLAINTS_MAX_ATTEMPTS": "3",
        },
        cwd=tmp_path,
    )
    return bootstrap(settings, clock=FixedClock(datetime(2026, 11, 10, 10, 0, tzinfo=UTC)))


_uid = iter(range(1, 10_000))


def deliver(app: App, subject: str, body: str, sender: str = "kim.lowe@example.org") -> int:
    msg = EmailMessage()
    msg["From"] = f"Kim Lowe <{sender}>"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="example.org")
    msg.set_content(body)
    inbound_id, fresh = store(app, RawInbound("test", 1, next(_uid), bytes(msg)))
    assert fresh
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    return inbound_id


def letter_text(app: App, letter: Letter) -> str:
    path = Path(app.settings.outbox_dir)
    for eml in path.glob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=default)
        if message["Message-ID"] == letter.message_id:
            return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    raise AssertionError(f"letter {letter.message_id} not in the outbox")


def test_acknowledgement_asks_for_the_details_the_resident_left_out(app: App) -> None:
    # What and since when are given; no staff names and no outcome sought.
    deliver(
        app,
        "Damp in my bedroom",
        "I am unhappy that the damp in my bedroom has still not been treated. It has been "
        "there since March and the wallpaper is peeling off. Nobody has come back to me.",
    )
    with app.db.session() as session:
        letter = session.scalars(select(Letter).where(Letter.kind != "hazard_notification")).one()
    assert letter.kind == "stage1_acknowledgement"
    text = letter_text(app, letter)
    assert "names of anyone" in text  # staff they dealt with (policy page)
    assert "What would you like us to do to put things right?" in text  # outcome (5.6)
    assert "When did the problem start" not in text  # given: "since March"


def test_acknowledgement_does_not_ask_for_what_was_given(app: App) -> None:
    deliver(
        app,
        "Complaint about my repair",
        "I am not happy with how my kitchen leak has been handled since 2 October. I spoke to "
        "Dave Smith in repairs on 5 October and he promised a plumber who never came. I want the "
        "leak fixed this week and an apology.",
    )
    with app.db.session() as session:
        letter = session.scalars(select(Letter).where(Letter.kind != "hazard_notification")).one()
    text = letter_text(app, letter)
    assert "We need a little more information" not in text


def test_a_person_refuses_a_proposed_exclusion_with_reasons_and_the_refusal_goes(app: App) -> None:
    deliver(
        app,
        "Disrepair claim",
        "Our solicitors issued a claim against you in the County Court on 3 November 2026, claim "
        "number K7QZ1234, about the disrepair in my flat.",
    )
    with app.db.session() as session:
        case = session.scalars(select(Case)).one()
        assert case.status == "pending_triage"
        assert case.proposed_reason == "legal_proceedings"
        assert [x.kind for x in session.scalars(select(Letter))] == ["receipt"]
        ref = case.ref
    staff = StaffService(app)
    with pytest.raises(TransitionRefused):
        staff.decide_triage(ref, decision="refuse", reason="in court", by="system")
    result = staff.decide_triage(
        ref,
        decision="refuse",
        reason="The matters in your complaint are now before the County Court.",
        by="Sam Patel",
    )
    assert result == {"ref": ref, "decision": "refuse", "status": "refused", "letter": "refusal"}
    with app.db.session() as session:
        refusal = session.scalars(select(Letter).where(Letter.kind == "refusal")).one()
        review = session.scalars(select(ReviewItem)).one()
    assert review.status == "decided" and review.decided_by == "Sam Patel"
    text = letter_text(app, refusal)
    assert "County Court" in text and "0300 111 3000" in text


def test_survey_feedback_confirmed_by_a_person_gets_the_how_to_complain_reply(app: App) -> None:
    deliver(
        app,
        "Re: How did we do?",
        "7 out of 10. The plumber was fine but arrived late.\n\n> How did we do? Please reply "
        "with a score from 1 to 10 for your recent repair.",
    )
    with app.db.session() as session:
        ref = session.scalars(select(Case.ref)).one()
    StaffService(app).decide_triage(
        ref,
        decision="refuse",
        exclusion="survey_feedback",
        reason="This is feedback on a survey, not a complaint.",
        by="Sam Patel",
    )
    with app.db.session() as session:
        kinds = [x.kind for x in session.scalars(select(Letter).order_by(Letter.id))]
    assert kinds[-1] == "survey_reply"


def test_a_person_accepts_an_item_and_the_acknowledgement_goes(app: App) -> None:
    deliver(
        app,
        "Old issue",
        "Back in 2023 your contractor damaged my fence and I reported it then. Nothing was ever "
        "done and I am fed up with being ignored.",
    )
    with app.db.session() as session:
        case = session.scalars(select(Case)).one()
        ref = case.ref
    assert case.status == "pending_triage"  # older than 12 months: a person decides (2.3)
    StaffService(app).decide_triage(
        ref, decision="accept", reason="Accepted with discretion (2.3): ongoing impact.", by="Jo"
    )
    shown = StaffService(app).show(ref)
    assert shown["status"] == "stage1_acknowledged"
    assert [x["kind"] for x in shown["letters"]] == ["receipt", "stage1_acknowledgement"]


class Exploding:
    def triage(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("model crashed")


def test_a_message_that_keeps_failing_is_quarantined_not_retried_forever(app: App) -> None:
    app.__dict__["triager"] = Exploding()
    inbound_id = deliver(app, "Anything", "My window will not close and it is freezing.")
    for _ in range(5):
        sweep(app, older_than=timedelta(0))
        app.jobs.run_until_idle()  # type: ignore[attr-defined]
    with app.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None and row.status == "quarantined"
        quarantine = session.scalars(select(Quarantine)).one()
    assert quarantine.kind == "poison"
    assert "model crashed" in quarantine.reason and "triage step" in quarantine.reason
    assert quarantine.raw is not None  # the raw message is kept for staff


def test_automatic_letters_to_one_sender_stop_at_the_daily_cap(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'cap.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
            "COMPLAINTS_SENDER_DAILY_CAP": "2",
        },
        cwd=tmp_path,
    )
    app = bootstrap(settings, clock=FixedClock(datetime(2026, 11, 10, 10, 0, tzinfo=UTC)))
    for n in range(3):
        deliver(
            app,
            f"Complaint {n}",
            f"I am unhappy that repair number {n} to my bathroom was never finished, again.",
        )
    with app.db.session() as session:
        statuses = [x.status for x in session.scalars(select(Letter).order_by(Letter.id))]
        cases = session.scalars(select(Case)).all()
    # Every message is still a case (nothing lost); only the letter is held back.
    assert len(cases) == 3
    assert statuses == ["sent", "sent", "suppressed"]
    with app.db.session() as session:
        held = session.scalars(select(ReviewItem)).all()
    # ... and a person is asked to reach the resident another way.
    assert [x.proposed_label for x in held] == ["letter_suppressed"]


def test_a_complaint_with_no_sender_address_is_kept_for_a_person(app: App) -> None:
    raw = (
        b"To: complaints@thrivehomes.org.uk\r\nSubject: No heating\r\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0000\r\nMessage-ID: <noaddr@example.org>\r\n\r\n"
        b"I am very unhappy that my heating has been broken for two weeks and nobody came.\r\n"
    )
    inbound_id, _ = store(app, RawInbound("test", 1, next(_uid), raw))
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    with app.db.session() as session:
        row = session.get(InboundMessage, inbound_id)
        assert row is not None and row.status == "done" and row.case_id is not None
        assert session.scalars(select(Letter)).all() == []
        review = session.scalars(select(ReviewItem)).one()
    assert review.proposed_label == "no_reply_address"


def test_accepting_an_item_with_no_sender_address_keeps_the_letter_for_staff(app: App) -> None:
    raw = (
        b"To: complaints@thrivehomes.org.uk\r\nSubject: Mould\r\n"
        b"Date: Tue, 10 Nov 2026 09:00:00 +0000\r\nMessage-ID: <noaddr2@example.org>\r\n\r\n"
        b"Back in 2023 the mould in my flat was never treated and I am still upset about it.\r\n"
    )
    inbound_id, _ = store(app, RawInbound("test", 1, next(_uid), raw))
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    with app.db.session() as session:
        case = session.scalars(select(Case)).one()
    StaffService(app).decide_triage(case.ref, decision="accept", reason="Accepted.", by="Jo")
    with app.db.session() as session:
        letters = session.scalars(select(Letter)).all()
    to_resident = [(x.kind, x.status) for x in letters if x.kind != "hazard_notification"]
    assert to_resident == [("stage1_acknowledgement", "no_address")]


def test_a_resident_who_asked_for_post_gets_letters_kept_for_posting(app: App) -> None:
    from worker.residents import ResidentService

    deliver(app, "Lift", "I am fed up: the lift has been broken for three weeks again.")
    with app.db.session() as session:
        ref = session.scalars(select(Case.ref)).one()
    ResidentService(app).record_adjustments(
        "kim.lowe@example.org",
        adjustments="Letters by post in large print",
        large_print=True,
        preferred_channel="post",
        review_on=datetime(2027, 5, 1).date(),
        by="Sam Patel",
    )
    StaffService(app).respond(
        ref, decision="not_upheld", reasons="The lift was repaired on 2 November.", by="Sam Patel"
    )
    with app.db.session() as session:
        response = session.scalars(select(Letter).where(Letter.kind == "stage1_response")).one()
    assert response.status == "by_post"
    assert "large-print" in response.html


def test_a_service_request_from_a_resident_who_asked_for_post_is_kept_for_posting(
    app: App,
) -> None:
    from worker.residents import ResidentService

    deliver(app, "Lift", "I am fed up: the lift has been broken for three weeks again.")
    ResidentService(app).record_adjustments(
        "kim.lowe@example.org",
        adjustments="Letters by post",
        preferred_channel="post",
        review_on=datetime(2027, 5, 1).date(),
        by="Sam Patel",
    )
    deliver(app, "Tap", "Hello, my kitchen tap is dripping. Could someone come and fix it please?")
    with app.db.session() as session:
        kinds = {x.kind: x.status for x in session.scalars(select(Letter))}
    assert kinds["service_request_acknowledgement"] == "by_post"


class WorkerDied(BaseException):
    """Stands for the process dying (kill -9, the OOM killer, a crash in C code): nothing in the
    worker catches it, so the rest of the job never runs."""


class KillsOnOne:
    """A triager that takes the worker down whenever it meets one particular message."""

    def __init__(self, real: object, poison_subject: str) -> None:
        self.real = real
        self.poison = poison_subject

    def _check(self, items: object) -> None:
        for item in items:  # type: ignore[attr-defined]
            if item.subject == self.poison:
                raise WorkerDied

    def triage_many(self, items: object, **kwargs: object) -> object:
        self._check(items)
        return self.real.triage_many(items, **kwargs)  # type: ignore[attr-defined]

    def triage(self, item: object, **kwargs: object) -> object:
        self._check([item])
        return self.real.triage(item, **kwargs)  # type: ignore[attr-defined]


def _run_surviving(app: App) -> None:
    try:
        app.jobs.run_until_idle()  # type: ignore[attr-defined]
    except WorkerDied:
        app.jobs._pending.clear()  # type: ignore[attr-defined]  # a dead process's memory


def test_a_poison_message_is_quarantined_alone_and_its_batch_neighbours_go_through(
    app: App,
) -> None:
    subjects = ["Broken boiler", "POISON", "Damp bedroom", "Leaking roof", "Lift broken"]
    ids = []
    for n, subject in enumerate(subjects):
        raw = EmailMessage()
        raw["From"] = f"Resident {n} <resident{n}@example.org>"
        raw["To"] = "complaints@thrivehomes.org.uk"
        raw["Subject"] = subject
        raw["Date"] = format_datetime(datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
        raw["Message-ID"] = make_msgid(domain="example.org")
        raw.set_content(f"I am unhappy: {subject.lower()} has not been fixed after three visits.")
        ids.append(store(app, RawInbound("test", 1, next(_uid), bytes(raw)))[0])
    app.__dict__["triager"] = KillsOnOne(app.triager, "POISON")
    app.jobs.enqueue("parse", ids)  # one job, one batch of five
    _run_surviving(app)
    # The batch died with its worker at triage, inside the transaction that parses, triages and
    # routes a fresh batch: nothing of it stayed, and every message's attempt was counted first.
    with app.db.session() as session:
        rows = [session.get(InboundMessage, i) for i in ids]
        assert {(r.status, r.attempts) for r in rows} == {("stored", 1)}  # type: ignore[union-attr]
    # The recovery sweep (or the queue giving the job back) retries them one at a time.
    for _ in range(app.settings.max_attempts + 2):
        sweep(app, older_than=timedelta(0))
        _run_surviving(app)
    with app.db.session() as session:
        rows = [session.get(InboundMessage, i) for i in ids]
        quarantined = session.scalars(select(Quarantine)).all()
    assert {subjects[n]: r.status for n, r in enumerate(rows)} == {  # type: ignore[union-attr]
        "Broken boiler": "done",
        "POISON": "quarantined",
        "Damp bedroom": "done",
        "Leaking roof": "done",
        "Lift broken": "done",
    }
    assert [(q.inbound_id, q.kind) for q in quarantined] == [(ids[1], "poison")]


def test_letters_a_failed_send_left_claimed_are_freed_at_once_but_never_one_still_sending(
    app: App,
) -> None:
    """The database went away between claiming letters and handing them over: the send failed
    and its letters stayed "sending" under this live process's claim. The sweep frees them at
    once (not after the five minutes a stale claim waits), but never a letter a send in this
    process still holds."""
    from worker.adapters.db_models import AuditEvent
    from worker.stages.send import _sending

    deliver(
        app,
        "Rude call handler",
        "I want to complain about how I was spoken to on the phone on Monday. The call handler "
        "was rude, laughed at me and put the phone down.",
    )
    with app.db.session() as session:
        letter = session.scalars(select(Letter)).one()
        letter.status = "sending"
        letter.claimed_by = app.instance_id
        letter.claimed_at = app.clock.now() - timedelta(seconds=20)
        letter_id = letter.id

    with _sending({letter_id}):
        sweep(app, older_than=timedelta(0))
        with app.db.session() as session:
            assert session.get(Letter, letter_id).status == "sending"  # type: ignore[union-attr]

    sweep(app, older_than=timedelta(0))
    app.jobs.run_until_idle()  # type: ignore[attr-defined]
    with app.db.session() as session:
        assert session.get(Letter, letter_id).status == "sent"  # type: ignore[union-attr]
        reclaimed = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "letter.reclaimed")
        ).all()
    assert reclaimed == ["letter.reclaimed"]
