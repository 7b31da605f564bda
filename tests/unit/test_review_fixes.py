"""Regression tests for defects found in review."""

from __future__ import annotations

import asyncio
import email.message
import mailbox
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.support.dovecot import HOST, free_port
from worker.adapters.clock import FixedClock
from worker.adapters.db_models import Letter, Quarantine
from worker.adapters.maildir import MaildirMailbox
from worker.adapters.smtp import SmtpSender
from worker.bootstrap import App, bootstrap
from worker.domain.errors import DeliveryUncertain, TransientError
from worker.ports import RawInbound
from worker.settings import load_settings
from worker.stages import send
from worker.stages.receive_mail import store


def _deliver(root: Path, n: int) -> None:
    path = root / "new" / f"{1700000000 + n}.M{n}P1.testhost"
    path.write_bytes(
        f"From: r{n}@example.org\nSubject: Repair {n}\nMessage-ID: <m{n}@example.org>\n\n"
        "Fix it.\n".encode()
    )
    os.utime(path, (1700000000 + n, 1700000000 + n))


def test_read_only_maildir_hands_over_every_message_past_the_fetch_limit(tmp_path: Path) -> None:
    # `complaints demo --maildir` reads a Maildir read-only and polls in batches: with more
    # messages than one batch, the later ones were never fetched (silently lost).
    mailbox.Maildir(tmp_path / "inbox", create=True)
    root = tmp_path / "inbox"
    for n in range(1, 6):
        _deliver(root, n)
    box = MaildirMailbox(root, read_only=True)

    seen: list[int] = []
    for _ in range(5):
        batch = box.fetch_new(limit=2)
        if not batch:
            break
        for item in batch:
            seen.append(item.uid)
            box.mark_processed(item)

    assert seen == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in (root / "new").iterdir()) != []  # nothing was moved


class _SlowAfterData:
    """Takes the whole message, then answers DATA too late for the client's timeout."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append(bytes(envelope.content))
        await asyncio.sleep(3)
        return "250 OK"


def _letter() -> email.message.EmailMessage:
    msg = email.message.EmailMessage()
    msg["From"] = "Complaints <complaints@landlord.example>"
    msg["To"] = "resident@example.org"
    msg["Subject"] = "Your complaint CMP-2026-00001"
    msg["Message-ID"] = "<ack-slow@landlord.example>"
    msg.set_content("We have received your complaint.\n")
    return msg


def test_a_connection_lost_during_data_is_not_reported_as_safe_to_retry() -> None:
    # The server took the letter but its answer never arrived: retrying would send it twice.
    handler = _SlowAfterData()
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    try:
        sender = SmtpSender.from_url(f"smtp://{HOST}:{port}", timeout=1)
        called: list[bool] = []
        with pytest.raises(DeliveryUncertain):
            sender.send(_letter(), lambda: called.append(True))
        assert called == [True]
        assert len(handler.received) == 1
    finally:
        controller.stop()


def test_before_data_failures_stay_transient() -> None:
    # Nothing listening: nothing was handed over, so a retry is safe.
    sender = SmtpSender.from_url(f"smtp://{HOST}:{free_port()}", timeout=1)
    with pytest.raises(TransientError):
        sender.send(_letter(), lambda: None)


class _LostAnswerSender:
    def __init__(self) -> None:
        self.calls = 0

    def send(
        self, message: email.message.EmailMessage, before_data: Callable[[], None] | None = None
    ) -> str:
        self.calls += 1
        if before_data is not None:
            before_data()
        raise DeliveryUncertain("SMTP relay: TimeoutError after DATA")


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
        },
        cwd=tmp_path,
    )
    return bootstrap(
        settings,
        clock=FixedClock(datetime(2026, 11, 10, 10, 0, tzinfo=UTC)),
        sender=_LostAnswerSender(),
    )


def test_an_uncertain_delivery_goes_to_a_person_and_is_never_resent(app: App) -> None:
    now = app.clock.now()
    with app.db.session() as session:
        letter = Letter(
            dedupe_key="CMP-2026-00001:stage1_acknowledgement",
            ref="CMP-2026-00001",
            kind="stage1_acknowledgement",
            automatic=True,
            recipient="resident@example.org",
            subject="Your complaint CMP-2026-00001: we have received it",
            text="text",
            html="<p>html</p>",
            message_id="<ack@landlord.example>",
            status="pending",
            created_at=now,
            next_attempt_at=now,
        )
        session.add(letter)
        session.flush()
        letter_id = letter.id

    send.run(app, [letter_id])
    send.run(app, [letter_id])  # a redelivered job, or the recovery sweep

    assert app.sender.calls == 1  # type: ignore[attr-defined]
    with app.db.session() as session:
        row = session.get(Letter, letter_id)
        assert row is not None and row.status == "uncertain"
        kinds = session.scalars(
            select(Quarantine.kind).where(Quarantine.letter_id == letter_id)
        ).all()
    assert kinds == ["uncertain_delivery"]


_cap_uid = iter(range(1, 10_000))


def _replay_app(tmp_path: Path) -> App:
    settings = load_settings(
        {
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "COMPLAINTS_OUTBOX_DIR": str(tmp_path / "outbox"),
            "COMPLAINTS_SENDER_DAILY_CAP": "2",
        },
        cwd=tmp_path,
    )
    return bootstrap(
        settings, clock=FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)), replay=True
    )


def _complaint(app: App, day: int, n: int) -> None:
    msg = email.message.EmailMessage()
    msg["From"] = "pat@example.org"
    msg["To"] = "complaints@thrivehomes.org.uk"
    msg["Subject"] = f"complaint number {n}"
    msg["Message-ID"] = f"<cap{n}@example.org>"
    msg["Date"] = format_datetime(datetime(2026, 11, day, 10, 0, tzinfo=UTC))
    msg.set_content(
        f"I am unhappy: the repair to my window{n} was never done and nobody called back. "
        "I want it fixed."
    )
    inbound_id, fresh = store(app, RawInbound("test", 1, next(_cap_uid), bytes(msg)))
    assert fresh
    app.jobs.enqueue("parse", inbound_id)
    app.jobs.run_until_idle()  # type: ignore[attr-defined]


def test_demo_replay_counts_the_sender_cap_per_day_the_mail_arrived(tmp_path: Path) -> None:
    # `complaints demo` replays a mailbox: complaints from one resident on different days are
    # each acknowledged, as a worker running then would have; the cap is per day (SPEC 6).
    app = _replay_app(tmp_path)
    for n, day in enumerate((2, 3, 4, 5), start=1):
        _complaint(app, day, n)
    with app.db.session() as session:
        statuses = session.scalars(
            select(Letter.status).where(Letter.kind == "stage1_acknowledgement")
        ).all()
    assert len(statuses) == 4
    assert "suppressed" not in statuses


def test_demo_replay_still_caps_letters_to_one_sender_on_one_day(tmp_path: Path) -> None:
    app = _replay_app(tmp_path)
    for n in (11, 12, 13):
        _complaint(app, 9, n)
    with app.db.session() as session:
        statuses = session.scalars(
            select(Letter.status).where(Letter.kind == "stage1_acknowledgement")
        ).all()
    assert sorted(statuses).count("suppressed") == 1


@pytest.mark.parametrize(
    ("argv", "names"),
    [
        (["deadlines", "--stage", "1", "--received", "9999-12-30"], "9999-12-30"),
        (["deadlines", "--stage", "2", "--escalated", "9999-12-01"], "9999-12-01"),
        (["working-days", "--from", "9999-12-30", "--to", "9999-12-31"], "9999"),
        (["case", "complete-action", "CMP-2026-00001", "99999999999999999999", "--by", "Sam"],
         "99999999999999999999"),
        (["review", "resolve", "99999999999999999999", "--outcome", "done", "--reason", "x",
          "--by", "y"], "99999999999999999999"),
        (["case", "respond", "CMP-2026-00001", "--decision", "upheld", "--reasons", "r",
          "--remedy", "money", "--remedy-amount", "nan", "--by", "Sam"], "--remedy-amount"),
        (["case", "respond", "CMP-2026-00001", "--decision", "upheld", "--reasons", "r",
          "--remedy", "money", "--remedy-amount", "-50", "--by", "Sam"], "--remedy-amount"),
    ],
)  # fmt: skip
def test_out_of_range_input_is_one_line_and_exit_2_not_a_traceback(
    argv: list[str], names: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from worker.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("COMPLAINTS_OUTBOX_DIR", str(tmp_path / "outbox"))
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main(argv))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert names in err
